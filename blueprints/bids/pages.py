"""One page of a plan set: what kind it is, the local detector over it, and the vision detector when needed.

Kinds: `vector_text` (vector with a text layer: the local detector reads it), `vector_outlined` (vector, text
drawn as outlines: no words to read) and `raster` (a scan: one image over the page). Pages without usable
text need the vision detector; with none configured they are reported `needs_vision`, never silently empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from blueprints.bids import detect_text
from shared import pdfium as shared_pdfium

MIN_TEXT_CHARS = 20  # fewer characters than a title block holds: no usable text layer


class VisionDetector(Protocol):
    """Finds fixtures on a rendered page; boxes in PDF points, top-left origin (see vision.py)."""

    def detect_page(self, pdf_path: Path, page_number: int) -> tuple[list[detect_text.Hit], list[str]]:
        """(hits, provider request ids) for one page."""
        ...


@dataclass
class PageKind:
    """What a page is made of."""

    kind: str
    width: float
    height: float
    chars: int


def classify(pdf_path: Path, page_number: int) -> PageKind:
    """vector_text, vector_outlined or raster, from pypdfium2's text layer and page objects."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    with shared_pdfium.exclusive():  # PDFium is not thread-safe: open, read and close under the process's lock
        document = pdfium.PdfDocument(str(pdf_path))
        try:
            page = document[page_number - 1]
            width, height = page.get_size()
            chars = page.get_textpage().count_chars()
            if chars >= MIN_TEXT_CHARS:
                return PageKind("vector_text", width, height, chars)
            covered = 0.0
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
                left, bottom, right, top = obj.get_bounds()
                covered += max(0.0, right - left) * max(0.0, top - bottom)
            kind = "raster" if covered >= 0.5 * width * height else "vector_outlined"
            return PageKind(kind, width, height, chars)
        finally:
            document.close()


def analyze_page(
    pdf_path: Path, page_number: int, *, vision: VisionDetector | None, vision_all: bool = False
) -> dict[str, Any]:
    """Classify a page and run the detectors it needs; a JSON-ready result."""
    import pdfplumber

    kind = classify(pdf_path, page_number)
    result: dict[str, Any] = {
        "page": page_number,
        "kind": kind.kind,
        "width": kind.width,
        "height": kind.height,
        "discipline": "UNKNOWN",
        "sheet_number": None,
        "schedule_rows": [],
        "finish_codes": [],
        "hits": [],
        "status": "done",
        "detectors": [],
        "request_ids": [],
    }
    if kind.kind == "vector_text":
        with pdfplumber.open(str(pdf_path), pages=[page_number]) as pdf:
            read = detect_text.read_page(pdf.pages[0], page_number=page_number).to_json()
        result.update({k: read[k] for k in ("discipline", "sheet_number", "schedule_rows", "finish_codes", "hits")})
        result["detectors"].append("text")
    if kind.kind != "vector_text" or vision_all:
        if vision is None:
            if kind.kind != "vector_text":
                result["status"] = "needs_vision"
        else:
            hits, request_ids = vision.detect_page(pdf_path, page_number)
            result["hits"] += [detect_text.asdict(h) for h in hits]
            result["request_ids"] = request_ids
            result["detectors"].append("vision")
    return result
