"""Bids: made from a document's reviewed takeoff (one line per fixture type, each keeping the takeoff version and
fixture ids it counted) or by hand, priced with the business's current price book, edited (a sent bid's edit is a
new revision), listed and read. Sending runs the generation orchestration (bid_generation, bid_orchestration).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blueprints.bids import price_book, pricing
from blueprints.bids.bid_schemas import (
    AcceptedTotals,
    BidContent,
    BidIn,
    BidOut,
    BidPage,
    BidQuery,
    BidSummary,
    LineIn,
    LineSource,
    PricedBid,
)
from blueprints.bids.bid_transitions import OPEN, Event, Status, new_revision, next_status
from blueprints.bids.models import Bid, BidDocument, BidProject, BidRevision, BidTakeoff
from blueprints.bids.projects import document_or_raise, project_or_raise
from shared import audit, clock
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.etag import check_version, flush_versioned
from shared.pagination import paginate

ENTITY = "bid"
DEFAULT_INCLUSIONS = [
    "Rough-in and trim/set of the fixtures listed, with their supply, waste and vent piping",
    "Pipe and fittings as allowed in the price",
    "Testing and the plumbing inspections",
]
DEFAULT_EXCLUSIONS = [
    "Fixtures and equipment not listed",
    "Excavation, concrete cutting and patching, and painting",
    "Fire sprinkler, gas and medical gas piping",
]


def number_of(bid: Bid) -> str:
    """The proposal number the customer sees."""
    return f"P-{bid.number:05d}"


def bid_or_raise(session: Session, tenant_id: uuid.UUID, bid_id: uuid.UUID, *, lock: bool = False) -> Bid:
    """A bid of this business, else 404."""
    stmt = select(Bid).where(Bid.tenant_id == tenant_id, Bid.id == bid_id)
    if lock:  # a row read earlier in this session is refreshed under the lock
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    bid = session.scalar(stmt)
    if bid is None:
        raise NotFound("No such bid")
    return bid


def latest_revision(session: Session, bid: Bid) -> BidRevision | None:
    """The newest sent (or being sent) revision of a bid."""
    stmt = (
        select(BidRevision)
        .where(BidRevision.tenant_id == bid.tenant_id, BidRevision.bid_id == bid.id)
        .order_by(BidRevision.revision.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def instance_of(bid: Bid) -> str:
    """The generation orchestration's instance id for the bid's current revision (one per revision)."""
    return f"bid-{bid.id}-r{bid.revision}"


def bid_out(session: Session, bid: Bid) -> BidOut:
    """A bid row as the API shows it."""
    revision = latest_revision(session, bid)
    return BidOut(
        id=bid.id,
        project_id=bid.project_id,
        document_id=bid.document_id,
        number=number_of(bid),
        status=bid.status,  # type: ignore[arg-type]
        revision=bid.revision,
        price_book_version=bid.price_book_version,
        takeoff_version=bid.takeoff_version,
        content=BidContent.model_validate(bid.content),
        priced=PricedBid.model_validate(bid.priced),
        currency=bid.currency,
        sent_at=bid.sent_at,
        viewed_at=bid.viewed_at,
        valid_until=bid.valid_until,
        sending=bid.status == Status.DRAFT and bid.instance_id == instance_of(bid),
        accepted_at=bid.accepted_at,
        signer_name=bid.signer_name,
        accepted_alternate_ids=[uuid.UUID(a) for a in bid.accepted_alternate_ids or []],
        accepted_totals=AcceptedTotals.model_validate(bid.accepted_totals) if bid.accepted_totals else None,
        declined_at=bid.declined_at,
        decline_reason=bid.decline_reason,
        signed_pdf_sha256=bid.signed_pdf_sha256,
        message_id=revision.message_id if revision is not None and revision.revision == bid.revision else None,
        created_at=bid.created_at,
        updated_at=bid.updated_at,
        version=bid.version,
    )


def expire_if_due(session: Session, bid: Bid) -> bool:
    """Mark an open bid past its validity date expired (on read, like the estimates); whether it did."""
    if bid.status not in OPEN or bid.valid_until is None or clock.now() < bid.valid_until:
        return False
    bid.status = next_status(bid.status, Event.EXPIRE).value
    bid.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=bid.tenant_id,
        actor=audit.SYSTEM,
        action="bids.bid_expired",
        entity=ENTITY,
        entity_id=bid.id,
        after={"revision": bid.revision},
    )
    return True


def expire_due(*, session: Session, tenant_id: uuid.UUID) -> int:
    """Expire the business's open bids past their validity date (the daily timer); how many."""
    stmt = select(Bid).where(
        Bid.tenant_id == tenant_id, Bid.status.in_([s.value for s in OPEN]), Bid.valid_until <= clock.now()
    )
    return sum(expire_if_due(session, bid) for bid in session.scalars(stmt.with_for_update(skip_locked=True)).all())


def _latest_takeoff(session: Session, document: BidDocument) -> BidTakeoff:
    stmt = (
        select(BidTakeoff)
        .where(BidTakeoff.tenant_id == document.tenant_id, BidTakeoff.document_id == document.id)
        .order_by(BidTakeoff.version.desc())
        .limit(1)
    )
    takeoff = session.scalars(stmt).first()
    if takeoff is None:
        raise Conflict("The document's takeoff has not been reviewed yet; review it first", code="not_reviewed")
    return takeoff


def content_from_takeoff(project: BidProject, document: BidDocument, takeoff: BidTakeoff) -> BidContent:
    """One line per fixture type of the frozen takeoff, each naming the takeoff version and its fixtures."""
    by_type: dict[str, list[uuid.UUID]] = {}
    for fixture in takeoff.fixtures:
        by_type.setdefault(fixture["fixture_type"], []).append(uuid.UUID(fixture["id"]))
    lines = [
        LineIn(
            fixture_type=kind,  # type: ignore[arg-type]
            quantity=Decimal(len(ids)),
            source=LineSource(document_id=document.id, takeoff_version=takeoff.version, fixture_ids=ids),
        )
        for kind, ids in sorted(by_type.items())
    ]
    scope = (
        f"Plumbing for {project.name} at {project.address}, per the plan set {document.filename} "
        f"(reviewed takeoff version {takeoff.version}, {len(takeoff.fixtures)} fixtures)."
    )
    return BidContent(
        title=project.name[:200],
        scope=scope,
        lines=lines,
        inclusions=list(DEFAULT_INCLUSIONS),
        exclusions=list(DEFAULT_EXCLUSIONS),
    )


def _price(session: Session, tenant_id: uuid.UUID, bid: Bid, content: BidContent) -> None:
    version = price_book.current_version(session, tenant_id)
    book = price_book.book_at(session, tenant_id, version)
    priced = pricing.price_bid(content, book)
    bid.content, bid.priced = content.model_dump(mode="json"), priced.model_dump(mode="json")
    bid.price_book_version, bid.currency, bid.total_cents = version, book.currency, priced.totals.total_cents


def create_bid(*, session: Session, principal: Principal, actor: audit.Actor, bid_in: BidIn) -> BidOut:
    """A draft bid from a document's reviewed takeoff, or by hand for a project; priced with the current book."""
    tenant_id = principal.tenant_id
    document, takeoff_version = None, None
    if bid_in.document_id is not None:
        document = document_or_raise(session, tenant_id, bid_in.document_id)
        project = project_or_raise(session, tenant_id, document.project_id)
        takeoff = _latest_takeoff(session, document)
        takeoff_version = takeoff.version
        content = bid_in.content or content_from_takeoff(project, document, takeoff)
    else:
        assert bid_in.project_id is not None and bid_in.content is not None  # the schema's rule
        project = project_or_raise(session, tenant_id, bid_in.project_id)
        content = bid_in.content
    number = (session.scalar(select(func.max(Bid.number)).where(Bid.tenant_id == tenant_id)) or 0) + 1
    bid = Bid(id=uuid.uuid4(), tenant_id=tenant_id, project_id=project.id, number=number, created_by=principal.user_id)
    bid.document_id, bid.takeoff_version, bid.status, bid.revision = (
        document.id if document else None,
        takeoff_version,
        Status.DRAFT.value,
        1,
    )
    _price(session, tenant_id, bid, content)
    try:
        with session.begin_nested():
            session.add(bid)
            session.flush()
    except IntegrityError:
        raise Conflict("Another bid took this number at the same moment; try again", code="bid_number_race") from None
    out = bid_out(session, bid)
    audit.record(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action="bids.bid_created",
        entity=ENTITY,
        entity_id=bid.id,
        after={
            "number": out.number,
            "document_id": str(bid.document_id) if bid.document_id else None,
            "takeoff_version": takeoff_version,
            "total_cents": bid.total_cents,
            "price_book_version": bid.price_book_version,
        },
    )
    return out


def get_bid(*, session: Session, principal: Principal, bid_id: uuid.UUID) -> BidOut:
    """One bid, priced (an open bid past its validity is marked expired as it is read)."""
    bid = bid_or_raise(session, principal.tenant_id, bid_id)
    if bid.status in OPEN and bid.valid_until is not None and clock.now() >= bid.valid_until:
        bid = bid_or_raise(session, principal.tenant_id, bid_id, lock=True)  # lock only to write the expiry
        expire_if_due(session, bid)
    return bid_out(session, bid)


def list_bids(*, session: Session, principal: Principal, query: BidQuery) -> BidPage:
    """The business's bids, newest change first, by status and project."""
    stmt = select(Bid).where(Bid.tenant_id == principal.tenant_id)
    if query.status:
        stmt = stmt.where(Bid.status == query.status)
    if query.project_id:
        stmt = stmt.where(Bid.project_id == query.project_id)
    rows, cursor = paginate(session, stmt, keys=[Bid.updated_at, Bid.id], query=query, descending=True)
    items = [
        BidSummary(
            id=b.id,
            project_id=b.project_id,
            number=number_of(b),
            title=str(b.content.get("title", "")),
            status=b.status,  # type: ignore[arg-type]
            revision=b.revision,
            total_cents=b.total_cents,
            currency=b.currency,
            updated_at=b.updated_at,
        )
        for b in rows
    ]
    return BidPage(items=items, next_cursor=cursor)


def update_bid(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    bid_id: uuid.UUID,
    content: BidContent,
    expected: frozenset[int] | None,
) -> BidOut:
    """Replace a bid's content and price it again; a sent bid's change is a new revision (409 once accepted)."""
    bid = bid_or_raise(session, principal.tenant_id, bid_id, lock=True)
    check_version(bid.version, expected)
    before: dict[str, Any] = {"revision": bid.revision, "status": bid.status, "total_cents": bid.total_cents}
    revise = new_revision(bid.status)
    bid.status = next_status(bid.status, Event.REVISE).value  # 409 when accepted
    if revise:
        bid.revision += 1
        bid.sent_at = bid.viewed_at = bid.valid_until = None
        bid.declined_at, bid.decline_reason, bid.decided_revision = None, None, None
    elif bid.instance_id == instance_of(bid):
        raise Conflict("The bid is being sent; wait until it is sent, then change it", code="bid_sending")
    _price(session, principal.tenant_id, bid, content)
    bid.updated_at = clock.now()
    flush_versioned(session)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.bid_changed",
        entity=ENTITY,
        entity_id=bid.id,
        before=before,
        after={"revision": bid.revision, "status": bid.status, "total_cents": bid.total_cents},
    )
    return bid_out(session, bid)


def prepare_send(
    *, session: Session, principal: Principal, actor: audit.Actor, bid_id: uuid.UUID, ttl_days: int
) -> tuple[BidOut, dict[str, Any] | None]:
    """Mark the draft as being sent: the orchestration's instance id and input (None when it is already sending)."""
    bid = bid_or_raise(session, principal.tenant_id, bid_id, lock=True)
    next_status(bid.status, Event.SEND)  # 409 unless a draft
    if bid.instance_id == instance_of(bid):
        return bid_out(session, bid), None
    bid.instance_id, bid.updated_at = instance_of(bid), clock.now()
    flush_versioned(session)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.bid_send_started",
        entity=ENTITY,
        entity_id=bid.id,
        after={"revision": bid.revision, "instance_id": bid.instance_id},
    )
    payload = {
        "tenant_id": str(bid.tenant_id),
        "bid_id": str(bid.id),
        "revision": bid.revision,
        "ttl_days": ttl_days,
        "user_id": str(principal.user_id) if principal.user_id else None,
    }
    return bid_out(session, bid), payload
