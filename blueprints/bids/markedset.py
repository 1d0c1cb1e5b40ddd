"""The marked set: the plan set itself with each counted fixture's box and tag drawn over it (vector, with
pypdfium2), for the estimator and the customer. The original drawing stays as it is underneath.
"""

from __future__ import annotations

import ctypes
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.bids import merge, pdfcheck
from blueprints.bids.models import BidFixture
from blueprints.bids.projects import document_or_raise
from shared import pdfium as shared_pdfium
from shared.auth import Principal
from shared.errors import Conflict

COLOURS = {"confirmed": (0, 153, 51), "auto_accepted": (0, 102, 204), "pending": (230, 120, 0)}


def _wide(text: str) -> ctypes.Array[ctypes.c_ushort]:
    encoded = (text + "\0").encode("utf-16-le")
    return (ctypes.c_ushort * (len(encoded) // 2)).from_buffer_copy(encoded)


def draw(pdf_path: Path, fixtures: list[BidFixture], out_path: Path) -> None:
    """Write a copy of the PDF with a box and a label over every fixture."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as c

    with shared_pdfium.exclusive():  # PDFium is not thread-safe: open, draw, save and close under the lock
        document = pdfium.PdfDocument(str(pdf_path))
        try:
            by_page: dict[int, list[BidFixture]] = {}
            for f in fixtures:
                by_page.setdefault(f.page_number, []).append(f)
            for number, items in by_page.items():
                page = document[number - 1]
                height = page.get_height()
                for f in items:
                    red, green, blue = COLOURS.get(f.state, (200, 0, 0))
                    rect = c.FPDFPageObj_CreateNewRect(
                        f.x0 - 2, height - f.bottom - 2, f.x1 - f.x0 + 4, f.bottom - f.top + 4
                    )
                    c.FPDFPageObj_SetStrokeColor(rect, red, green, blue, 255)
                    c.FPDFPageObj_SetStrokeWidth(rect, 1.2)
                    c.FPDFPath_SetDrawMode(rect, c.FPDF_FILLMODE_NONE, True)
                    c.FPDFPage_InsertObject(page.raw, rect)
                    label = c.FPDFPageObj_NewTextObj(document.raw, b"Helvetica-Bold", 6.0)
                    c.FPDFText_SetText(label, _wide(f.schedule_tag or f.tag or f.fixture_type.replace("_", " ")))
                    c.FPDFPageObj_SetFillColor(label, red, green, blue, 255)
                    c.FPDFPageObj_Transform(label, 1, 0, 0, 1, f.x0, height - f.top + 4)
                    c.FPDFPage_InsertObject(page.raw, label)
                c.FPDFPage_GenerateContent(page.raw)
            document.save(str(out_path))
        finally:
            document.close()


def marked_set(*, session: Session, principal: Principal, document_id: uuid.UUID) -> bytes:
    """The marked-set PDF of an analysed document (counted fixtures only)."""
    document = document_or_raise(session, principal.tenant_id, document_id)
    if document.status != "analyzed":
        raise Conflict(
            f"The document is {document.status}; the marked set exists once it is analyzed", code="not_analyzed"
        )
    fixtures = list(
        session.scalars(
            select(BidFixture)
            .where(BidFixture.document_id == document_id, BidFixture.state.in_(merge.COUNTED))
            .order_by(BidFixture.page_number, BidFixture.id)
        )
    )
    source = pdfcheck.local_copy(document.blob_name, size_bytes=document.size_bytes)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "marked.pdf"
        draw(source, fixtures, out)
        return out.read_bytes()
