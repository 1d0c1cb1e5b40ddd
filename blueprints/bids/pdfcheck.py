"""Checking a committed plan set: streamed from Blob to a local file, then opened once to refuse encrypted,
malformed, empty or too-long PDFs. Workers keep the file in a per-process work directory so every page
activity of a document reads the same local copy instead of downloading 50 MB again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from shared import pdfium as shared_pdfium
from shared import uploads
from shared.config import get_settings
from shared.errors import Unprocessable


def work_dir() -> Path:
    """Where plan sets are kept while they are analysed (BIDS_WORK_DIR, else the system temp directory)."""
    path = Path(get_settings().bids_work_dir or tempfile.gettempdir()) / "tradeops-bids"
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_copy(blob_name: str, *, size_bytes: int | None = None) -> Path:
    """The blob as a local file, downloaded (streamed) unless a complete copy is already there."""
    path = work_dir() / (hashlib.sha256(blob_name.encode()).hexdigest()[:32] + ".pdf")
    if path.exists() and (size_bytes is None or path.stat().st_size == size_bytes):
        return path
    partial = path.with_suffix(f".{os.getpid()}.part")
    uploads.download_to(blob_name, partial)
    partial.replace(path)  # atomic: a reader never sees half a file
    return path


def forget(blob_name: str) -> None:
    """Drop the local copy of a blob."""
    (work_dir() / (hashlib.sha256(blob_name.encode()).hexdigest()[:32] + ".pdf")).unlink(missing_ok=True)


def page_count(path: Path, *, max_pages: int) -> int:
    """The page count of a PDF we can analyse; 422 for encrypted, malformed, empty or too-long files."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    with shared_pdfium.exclusive():  # PDFium is not thread-safe: open, check and close under the process's lock
        try:
            document = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            code = getattr(exc, "err_code", None)
            if code == pdfium_c.FPDF_ERR_PASSWORD:
                raise Unprocessable(
                    "The PDF is encrypted; upload it without a password", code="pdf_encrypted"
                ) from None
            if _has_no_pages(path):  # PDFium refuses an empty page tree (its error code may be left over)
                raise Unprocessable("The PDF has no pages", code="pdf_empty") from None
            raise Unprocessable("The file is not a readable PDF", code="pdf_malformed") from None
        try:
            if pdfium_c.FPDF_GetSecurityHandlerRevision(document.raw) != -1:
                raise Unprocessable("The PDF is encrypted; upload it without a password", code="pdf_encrypted")
            count = len(document)
        finally:
            document.close()
    if count == 0:
        raise Unprocessable("The PDF has no pages", code="pdf_empty")
    if count > max_pages:
        raise Unprocessable(f"The PDF has {count} pages; the limit is {max_pages}", code="pdf_too_many_pages")
    return count


def _has_no_pages(path: Path) -> bool:
    """Whether pdfminer reads the file as a PDF with an empty page tree (only asked after PDFium refused it)."""
    import pdfplumber

    try:
        with pdfplumber.open(str(path)) as pdf:
            return len(pdf.pages) == 0
    except Exception:
        return False
