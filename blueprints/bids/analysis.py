"""The analysis' work, called by the orchestration's activities, each in the activity's own tenant session.

Each step is idempotent (activities are delivered at least once): pages are upserted by (document, page) and
the takeoff is replaced whole in one transaction, so a step that runs twice has one effect. Provider calls
(vision) happen outside any transaction: `detect_page` runs first with no session, then `record_page` writes
the result in a short transaction of its own.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from blueprints.bids import merge, pages, pdfcheck, vision
from blueprints.bids.models import BidDocument, BidFixture, BidPage, BidScheduleRow, BidSettings, BidVisionUsage
from blueprints.bids.transitions import RUNNING, move
from shared import clock
from shared.config import get_settings
from shared.db import session_scope


def settings_row(session: Session, tenant_id: uuid.UUID) -> BidSettings:
    """The business's takeoff settings (defaults when it never saved any)."""
    row = session.get(BidSettings, tenant_id)
    return row or BidSettings(tenant_id=tenant_id, code="IPC", auto_accept=Decimal("0.9"), hide_below=Decimal("0.4"))


def _locked(session: Session, document_id: uuid.UUID) -> BidDocument | None:
    return session.scalar(select(BidDocument).where(BidDocument.id == document_id).with_for_update())


def start(*, session: Session, document_id: uuid.UUID) -> dict[str, Any]:
    """Move a queued document to analyzing; what the pages need (page_count 0: nothing to do)."""
    document = _locked(session, document_id)
    if document is None or document.status not in RUNNING:
        return {"page_count": 0, "status": document.status if document else "missing"}
    if document.status != "analyzing":  # a redelivered start finds it analyzing already and goes on
        document.status, document.updated_at = move(document.status, "analyzing"), clock.now()
    return {
        "page_count": document.page_count or 0,
        "blob_name": document.blob_name,
        "size_bytes": document.size_bytes,
        "vision_all": document.vision_all,
        "status": "analyzing",
    }


def detect_page(
    *, tenant_id: uuid.UUID, blob_name: str, size_bytes: int | None, page: int, vision_all: bool
) -> dict[str, Any]:
    """Run the detectors over one page (no transaction open: the vision detector calls a provider).

    Tiles for the vision detector are claimed against the business's daily cap first, in a short
    transaction of their own.
    """

    def claim(tiles: int) -> bool:
        with session_scope(tenant_id=tenant_id) as session:
            return claim_tiles(session=session, tenant_id=tenant_id, tiles=tiles)

    path = pdfcheck.local_copy(blob_name, size_bytes=size_bytes)
    return pages.analyze_page(path, page, vision=vision.detector(claim), vision_all=vision_all)


def claim_tiles(*, session: Session, tenant_id: uuid.UUID, tiles: int) -> bool:
    """Count tiles against today's cap (BIDS_VISION_DAILY_TILES, UTC day); False when they do not fit."""
    cap = get_settings().bids_vision_daily_tiles
    if tiles > cap:
        return False
    table = BidVisionUsage.__table__
    stmt = insert(BidVisionUsage).values(tenant_id=tenant_id, day=clock.now().date(), tiles=tiles)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "day"],
        set_={"tiles": table.c.tiles + tiles},
        where=table.c.tiles + tiles <= cap,
    ).returning(table.c.tiles)
    return session.execute(stmt).scalar() is not None


def record_page(
    *, session: Session, tenant_id: uuid.UUID, document_id: uuid.UUID, result: dict[str, Any]
) -> dict[str, Any]:
    """Upsert one page's result (a second delivery overwrites the first); a short summary."""
    _record_page(session, tenant_id, document_id, result, status=result["status"], error=None)
    return {"page": result["page"], "status": result["status"], "hits": len(result["hits"])}


def record_failed_page(
    *, session: Session, tenant_id: uuid.UUID, document_id: uuid.UUID, page: int, error: str
) -> dict[str, Any]:
    """Record a page whose activity failed after its retries; the rest of the document still finishes."""
    result = {"page": page, "hits": [], "schedule_rows": []}
    _record_page(session, tenant_id, document_id, result, status="failed", error=error)
    return {"page": page, "status": "failed"}


def _record_page(
    session: Session,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    result: dict[str, Any],
    *,
    status: str,
    error: str | None,
) -> None:
    values = {
        "tenant_id": tenant_id,
        "document_id": document_id,
        "page_number": result["page"],
        "kind": result.get("kind"),
        "status": status,
        "discipline": result.get("discipline"),
        "sheet_number": result.get("sheet_number"),
        "width": result.get("width"),
        "height": result.get("height"),
        "error": error[:2000] if error else None,
        "result": result,
        "analyzed_at": clock.now(),
    }
    stmt = insert(BidPage).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["document_id", "page_number"],
        set_={k: stmt.excluded[k] for k in values if k not in ("tenant_id", "document_id", "page_number")},
    )
    session.execute(stmt)


def finish(*, session: Session, tenant_id: uuid.UUID, document_id: uuid.UUID) -> dict[str, Any]:
    """Merge the pages into the takeoff (replacing the detectors' fixtures, keeping people's) and mark it analyzed."""
    document = _locked(session, document_id)
    if document is None or document.status not in RUNNING:
        return {"status": document.status if document else "missing"}
    results = [p.result for p in session.scalars(select(BidPage).where(BidPage.document_id == document_id))]
    sheets = {p["page"]: p.get("sheet_number") for p in results}
    options = settings_row(session, tenant_id)
    takeoff = merge.merge(results, merge.Thresholds(float(options.auto_accept), float(options.hide_below)))
    _replace_schedule(session, tenant_id, document_id, takeoff.schedule)
    session.execute(
        delete(BidFixture).where(
            BidFixture.document_id == document_id, BidFixture.edited.is_(False), BidFixture.added_by.is_(None)
        )
    )
    rows = [_fixture_row(tenant_id, document_id, f, sheets.get(f.page)) for f in takeoff.fixtures]
    if rows:
        session.execute(insert(BidFixture), rows)
    document.status, document.analyzed_at, document.updated_at = (
        move(document.status, "analyzed"),
        clock.now(),
        clock.now(),
    )
    document.takeoff_version += 1
    return {"status": "analyzed", "fixtures": len(rows), "schedule_rows": len(takeoff.schedule)}


def _replace_schedule(
    session: Session, tenant_id: uuid.UUID, document_id: uuid.UUID, rows: list[dict[str, Any]]
) -> None:
    session.execute(delete(BidScheduleRow).where(BidScheduleRow.document_id == document_id))
    if rows:
        session.execute(
            insert(BidScheduleRow),
            [
                {
                    "tenant_id": tenant_id,
                    "document_id": document_id,
                    "page_number": row["page"],
                    **{k: row[k] for k in ("tag", "fixture_type", "description", "manufacturer", "model")},
                    **{k: row[k] for k in ("cw", "hw", "waste", "vent", "quantity")},
                }
                for row in rows
            ],
        )


def _fixture_row(
    tenant_id: uuid.UUID, document_id: uuid.UUID, fixture: merge.MergedFixture, sheet: str | None
) -> dict[str, Any]:
    x0, top, x1, bottom = fixture.box
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "document_id": document_id,
        "page_number": fixture.page,
        "sheet_number": sheet,
        "fixture_type": fixture.fixture_type,
        "tag": fixture.tag,
        "schedule_tag": fixture.schedule_tag,
        "label": fixture.label[:100],
        "x0": x0,
        "top": top,
        "x1": max(x1, x0 + 0.5),
        "bottom": max(bottom, top + 0.5),
        "sources": fixture.sources,
        "confidence": fixture.confidence,
        "state": fixture.state,
        "edited": False,
        "version": 1,
    }


def fail(*, session: Session, document_id: uuid.UUID, error: str) -> dict[str, Any]:
    """Mark a document's analysis failed (the orchestration itself could not go on)."""
    document = _locked(session, document_id)
    if document is not None and document.status in RUNNING:
        document.status, document.error, document.updated_at = (
            move(document.status, "failed"),
            error[:2000],
            clock.now(),
        )
    return {"status": "failed"}
