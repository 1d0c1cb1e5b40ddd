"""A person's review of the takeoff: the fixture list with filters, confirm/reject/edit/add, bulk confirm, the
takeoff with counts, fixture units and the "to check" list, and the review that freezes it as a version.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from blueprints.bids import catalog, merge
from blueprints.bids.analysis import settings_row
from blueprints.bids.models import BidDocument, BidFixture, BidPage, BidScheduleRow, BidSettings, BidTakeoff
from blueprints.bids.projects import document_or_raise
from blueprints.bids.schemas import (
    BulkConfirmIn,
    BulkConfirmOut,
    CheckItem,
    FixtureIn,
    FixtureOut,
    FixturePage,
    FixturePatch,
    FixtureQuery,
    PageSummary,
    ReviewOut,
    ReviewPage,
    ScheduleRowOut,
    SettingsIn,
    SettingsOut,
    TakeoffOut,
    TypeCount,
)
from blueprints.bids.transitions import decide
from shared import audit, clock
from shared.auth import Principal
from shared.db import affected
from shared.errors import Conflict, NotFound, Unprocessable
from shared.etag import check_version, flush_versioned
from shared.pagination import paginate

ENTITY = "bid_fixture"


def fixture_out(fixture: BidFixture) -> FixtureOut:
    """A fixture row as the API shows it."""
    box = {"x0": fixture.x0, "top": fixture.top, "x1": fixture.x1, "bottom": fixture.bottom}
    data = {c: getattr(fixture, c) for c in FixtureOut.model_fields if c != "box"}
    return FixtureOut.model_validate({**data, "box": box})


def _editable(session: Session, principal: Principal, document_id: uuid.UUID) -> BidDocument:
    document = document_or_raise(session, principal.tenant_id, document_id, lock=True)
    if document.status != "analyzed":
        raise Conflict(
            f"The document is {document.status}; fixtures can be reviewed once it is analyzed", code="not_analyzed"
        )
    document.reviewed_at = None  # a change after a review needs a new review (the frozen version stays)
    return document


def _fixture_or_raise(
    session: Session, principal: Principal, document_id: uuid.UUID, fixture_id: uuid.UUID
) -> BidFixture:
    fixture = session.scalar(
        select(BidFixture)
        .where(
            BidFixture.tenant_id == principal.tenant_id,
            BidFixture.document_id == document_id,
            BidFixture.id == fixture_id,
        )
        .with_for_update()
    )
    if fixture is None:
        raise NotFound("No such fixture")
    return fixture


def list_fixtures(
    *, session: Session, principal: Principal, document_id: uuid.UUID, query: FixtureQuery
) -> FixturePage:
    """The document's fixtures by page, filtered by type, sheet, page, state and source (hidden ones on request)."""
    document_or_raise(session, principal.tenant_id, document_id)
    stmt = select(BidFixture).where(BidFixture.tenant_id == principal.tenant_id, BidFixture.document_id == document_id)
    if query.fixture_type:
        stmt = stmt.where(BidFixture.fixture_type == query.fixture_type)
    if query.sheet:
        stmt = stmt.where(BidFixture.sheet_number == query.sheet.upper())
    if query.page:
        stmt = stmt.where(BidFixture.page_number == query.page)
    if query.state:
        stmt = stmt.where(BidFixture.state == query.state)
    elif not query.include_hidden:
        stmt = stmt.where(BidFixture.state != "hidden")
    if query.source:
        stmt = stmt.where(BidFixture.sources.contains([query.source]))
    rows, cursor = paginate(session, stmt, keys=[BidFixture.page_number, BidFixture.id], query=query)
    return FixturePage(items=[fixture_out(r) for r in rows], next_cursor=cursor)


def get_fixture(*, session: Session, principal: Principal, document_id: uuid.UUID, fixture_id: uuid.UUID) -> FixtureOut:
    """One fixture."""
    document_or_raise(session, principal.tenant_id, document_id)
    fixture = session.scalar(
        select(BidFixture).where(
            BidFixture.tenant_id == principal.tenant_id,
            BidFixture.document_id == document_id,
            BidFixture.id == fixture_id,
        )
    )
    if fixture is None:
        raise NotFound("No such fixture")
    return fixture_out(fixture)


def _resolve_tag(session: Session, document_id: uuid.UUID, tag: str | None) -> str | None:
    if tag is None:
        return None
    return session.scalar(
        select(BidScheduleRow.tag).where(BidScheduleRow.document_id == document_id, BidScheduleRow.tag == tag)
    )


def update_fixture(
    *,
    session: Session,
    principal: Principal,
    document_id: uuid.UUID,
    fixture_id: uuid.UUID,
    patch: FixturePatch,
    expected: frozenset[int] | None,
    actor: audit.Actor,
) -> FixtureOut:
    """Confirm, reject, or change a fixture's type, tag or box (412 when stale)."""
    _editable(session, principal, document_id)
    fixture = _fixture_or_raise(session, principal, document_id, fixture_id)
    check_version(fixture.version, expected)
    before = fixture_out(fixture)
    changes = patch.model_dump(exclude_unset=True, exclude_none=True)
    # read before writing: a query after the first change would autoflush it (and count a second version)
    schedule_tag = _resolve_tag(session, document_id, changes["tag"]) if "tag" in changes else fixture.schedule_tag
    if "box" in changes:
        fixture.x0, fixture.top, fixture.x1, fixture.bottom = (changes["box"][k] for k in ("x0", "top", "x1", "bottom"))
    if "tag" in changes:
        fixture.tag, fixture.schedule_tag = changes["tag"], schedule_tag
    if "fixture_type" in changes:
        fixture.fixture_type = changes["fixture_type"]
    if "state" in changes:
        fixture.state = decide(fixture.state, changes["state"])
    elif changes:
        fixture.state = decide(fixture.state, "confirmed")  # a person's edit is a person's decision
    fixture.edited = True
    fixture.updated_at = clock.now()
    flush_versioned(session)
    after = fixture_out(fixture)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.fixture_updated",
        entity=ENTITY,
        entity_id=fixture.id,
        before={k: v for k, v in audit.snapshot(before).items() if k in (*changes, "state")},
        after={k: v for k, v in audit.snapshot(after).items() if k in (*changes, "state")},
    )
    return after


def add_fixture(
    *, session: Session, principal: Principal, document_id: uuid.UUID, fixture_in: FixtureIn, actor: audit.Actor
) -> FixtureOut:
    """A fixture the detectors missed, added by a person (confirmed, source `person`)."""
    document = _editable(session, principal, document_id)
    page = session.get(BidPage, (document_id, fixture_in.page_number))
    if fixture_in.page_number > (document.page_count or 0):
        raise Unprocessable("page_number is past the document's last page", code="unknown_page")
    fixture = BidFixture(
        id=uuid.uuid4(),
        tenant_id=principal.tenant_id,
        document_id=document_id,
        page_number=fixture_in.page_number,
        sheet_number=page.sheet_number if page else None,
        fixture_type=fixture_in.fixture_type,
        tag=fixture_in.tag,
        schedule_tag=_resolve_tag(session, document_id, fixture_in.tag),
        label=fixture_in.tag or fixture_in.fixture_type,
        x0=fixture_in.box.x0,
        top=fixture_in.box.top,
        x1=fixture_in.box.x1,
        bottom=fixture_in.box.bottom,
        sources=["person"],
        confidence=1.0,
        state="confirmed",
        edited=True,
        added_by=principal.user_id,
    )
    session.add(fixture)
    session.flush()
    out = fixture_out(fixture)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.fixture_added",
        entity=ENTITY,
        entity_id=fixture.id,
        after=audit.snapshot(out),
    )
    return out


def bulk_confirm(
    *, session: Session, principal: Principal, document_id: uuid.UUID, bulk: BulkConfirmIn, actor: audit.Actor
) -> BulkConfirmOut:
    """Confirm many fixtures in one statement (unknown ids are skipped)."""
    _editable(session, principal, document_id)
    count = affected(
        session,
        update(BidFixture)
        .where(
            BidFixture.tenant_id == principal.tenant_id,
            BidFixture.document_id == document_id,
            BidFixture.id.in_(bulk.fixture_ids),
        )
        .values(state="confirmed", edited=True, updated_at=clock.now(), version=BidFixture.version + 1)
        .execution_options(synchronize_session=False),
    )
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.fixtures_confirmed",
        entity="bid_document",
        entity_id=document_id,
        after={"confirmed": count},
    )
    return BulkConfirmOut(confirmed=count)


def _counted(session: Session, document_id: uuid.UUID) -> list[BidFixture]:
    return list(
        session.scalars(
            select(BidFixture)
            .where(BidFixture.document_id == document_id, BidFixture.state.in_(merge.COUNTED))
            .order_by(BidFixture.page_number, BidFixture.id)
        )
    )


def _totals(fixtures: list[BidFixture], code: str) -> dict[str, Any]:
    by_type: dict[str, dict[str, Any]] = {}
    for f in fixtures:
        entry = by_type.setdefault(f.fixture_type, {"count": 0, "by_sheet": {}, "schedule_tags": set()})
        entry["count"] += 1
        sheet = f.sheet_number or f"page {f.page_number}"
        entry["by_sheet"][sheet] = entry["by_sheet"].get(sheet, 0) + 1
        if f.schedule_tag:
            entry["schedule_tags"].add(f.schedule_tag)
    dfu, wsfu = catalog.fixture_units(code, {kind: e["count"] for kind, e in by_type.items()})
    counts = [
        {
            "fixture_type": kind,
            "count": e["count"],
            "by_sheet": e["by_sheet"],
            "schedule_tags": sorted(e["schedule_tags"]),
        }
        for kind, e in sorted(by_type.items())
    ]
    return {"counts": counts, "total_fixtures": len(fixtures), "dfu": str(dfu), "wsfu": str(wsfu), "code": code}


def get_takeoff(*, session: Session, principal: Principal, document_id: uuid.UUID) -> TakeoffOut:
    """Counts by type and sheet, fixture units under the business's code, the schedule and what to check."""
    document = document_or_raise(session, principal.tenant_id, document_id)
    code = settings_row(session, principal.tenant_id).code
    fixtures = _counted(session, document_id)
    totals = _totals(fixtures, code)
    schedule = list(
        session.scalars(
            select(BidScheduleRow).where(BidScheduleRow.document_id == document_id).order_by(BidScheduleRow.tag)
        )
    )
    pending = list(
        session.scalars(select(BidFixture).where(BidFixture.document_id == document_id, BidFixture.state == "pending"))
    )
    takeoff = merge.Takeoff(schedule=[{"tag": r.tag, "quantity": r.quantity} for r in schedule], fixtures=[])
    takeoff.fixtures = [_as_merged(f) for f in fixtures]
    unscheduled: dict[str, list[int]] = {}
    for f in fixtures:
        if f.tag and not f.schedule_tag and catalog.type_of_tag(f.tag):
            unscheduled.setdefault(f.tag, []).append(f.page_number)
    items = [CheckItem.model_validate(i) for i in merge.to_check(takeoff, unscheduled) if i["kind"] != "low_confidence"]
    items += [
        CheckItem(kind="low_confidence", tag=f.tag, fixture_type=f.fixture_type, fixture_id=f.id, pages=[f.page_number])
        for f in pending
    ]
    page_rows = session.scalars(select(BidPage).where(BidPage.document_id == document_id).order_by(BidPage.page_number))
    return TakeoffOut(
        document_id=document.id,
        status=document.status,  # type: ignore[arg-type]
        version=document.takeoff_version,
        reviewed=document.reviewed_at is not None,
        code=code,  # type: ignore[arg-type]
        counts=[TypeCount.model_validate(c) for c in totals["counts"]],
        total_fixtures=totals["total_fixtures"],
        drainage_fixture_units=Decimal(totals["dfu"]),
        water_supply_fixture_units=Decimal(totals["wsfu"]),
        schedule=[ScheduleRowOut.model_validate(r) for r in schedule],
        to_check=items,
        pages=[
            PageSummary(page=p.page_number, kind=p.kind, status=p.status, sheet=p.sheet_number, discipline=p.discipline)
            for p in page_rows
        ],
    )


def _as_merged(f: BidFixture) -> merge.MergedFixture:
    return merge.MergedFixture(
        page=f.page_number,
        fixture_type=f.fixture_type,
        tag=f.tag,
        schedule_tag=f.schedule_tag,
        box=(f.x0, f.top, f.x1, f.bottom),
        sources=list(f.sources),
        confidence=f.confidence,
        state=f.state,
        label=f.label,
    )


def review(*, session: Session, principal: Principal, document_id: uuid.UUID, actor: audit.Actor) -> ReviewOut:
    """Freeze the takeoff as reviewed: a version with its totals and counted fixtures (409 while any is pending)."""
    document = _editable(session, principal, document_id)
    waiting = session.scalar(
        select(BidFixture.id).where(BidFixture.document_id == document_id, BidFixture.state == "pending").limit(1)
    )
    if waiting is not None:
        raise Conflict("Some fixtures still wait for a decision; confirm or reject them first", code="fixtures_pending")
    fixtures = _counted(session, document_id)
    code = settings_row(session, principal.tenant_id).code
    totals = _totals(fixtures, code)
    version = document.takeoff_version
    exists = session.scalar(
        select(BidTakeoff.id).where(BidTakeoff.document_id == document_id, BidTakeoff.version == version)
    )
    if exists is not None:
        version = document.takeoff_version = document.takeoff_version + 1  # reviewed again after changes
    now = clock.now()
    frozen = [fixture_out(f).model_dump(mode="json") for f in fixtures]
    session.add(
        BidTakeoff(
            id=uuid.uuid4(),
            tenant_id=principal.tenant_id,
            document_id=document_id,
            version=version,
            reviewed_by=principal.user_id,
            code=code,
            totals=totals,
            fixtures=frozen,
        )
    )
    document.reviewed_at, document.reviewed_by, document.updated_at = now, principal.user_id, now
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.takeoff_reviewed",
        entity="bid_document",
        entity_id=document_id,
        after={"version": version, "total_fixtures": totals["total_fixtures"]},
    )
    return ReviewOut.model_validate(
        {"document_id": document_id, "version": version, "reviewed_at": now, "totals": totals, "fixtures": frozen}
    )


def list_reviews(*, session: Session, principal: Principal, document_id: uuid.UUID) -> ReviewPage:
    """Every frozen version of the document's takeoff, newest first, with its fixtures."""
    document_or_raise(session, principal.tenant_id, document_id)
    rows = session.scalars(
        select(BidTakeoff).where(BidTakeoff.document_id == document_id).order_by(BidTakeoff.version.desc())
    )
    return ReviewPage(
        items=[
            ReviewOut.model_validate(
                {
                    "document_id": r.document_id,
                    "version": r.version,
                    "reviewed_at": r.created_at,
                    "totals": r.totals,
                    "fixtures": r.fixtures,
                }
            )
            for r in rows
        ]
    )


def get_settings_of(*, session: Session, principal: Principal) -> SettingsOut:
    """The business's takeoff settings."""
    return SettingsOut.model_validate(settings_row(session, principal.tenant_id))


def put_settings(*, session: Session, principal: Principal, settings_in: SettingsIn, actor: audit.Actor) -> SettingsOut:
    """Save the business's code and thresholds (they apply to the next analysis)."""
    row = session.get(BidSettings, principal.tenant_id, with_for_update=True)
    if row is None:
        row = BidSettings(tenant_id=principal.tenant_id)
        session.add(row)
    row.code, row.auto_accept, row.hide_below = settings_in.code, settings_in.auto_accept, settings_in.hide_below
    if "licence_number" in settings_in.model_fields_set:
        row.licence_number = settings_in.licence_number or None
    row.updated_at = clock.now()
    session.flush()
    out = SettingsOut.model_validate(row)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.settings_changed",
        entity="bid_settings",
        entity_id=principal.tenant_id,
        after=audit.snapshot(out),
    )
    return out
