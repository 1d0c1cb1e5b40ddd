"""Bids against the real database and Azurite: price book versions, a bid by hand priced with the current book,
the generation steps the orchestration runs (each run twice has one effect), an edit after sending makes a new
revision, and the customer's acceptance locks the totals and stores the signed copy with its hash."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from blueprints.bids import bid_documents, bid_generation, bidding, proposal, service
from blueprints.bids.bid_schemas import BidContent, BidIn, LineIn, PriceBookBody, SendBidIn
from blueprints.bids.models import BidRevision
from blueprints.bids.schemas import ProjectIn
from blueprints.messaging.models import Message
from shared import audit, signed_links
from shared.errors import Conflict, NotFound
from tests.builders import create_customer, create_tenant, create_user, principal_of, unique_email

ACTOR = audit.Actor()
SEVEN_DAYS = timedelta(days=7)


@pytest.fixture
def desk(db_session: Any) -> Any:
    tenant = create_tenant(db_session, name="PipelineOS Plumbing")
    user = create_user(db_session, tenant=tenant, role="owner")
    customer = create_customer(db_session, tenant=tenant, owner=user, name="Rosa", email=unique_email("rosa"))
    principal = principal_of(user)
    project = service.create_project(
        session=db_session,
        principal=principal,
        actor=ACTOR,
        project_in=ProjectIn(customer_id=customer.id, name="Riverside Clinic", address="12 River Rd"),
    )
    return principal, project


def _content(quantity: int = 2) -> BidContent:
    return BidContent(
        title="Clinic",
        lines=[LineIn(fixture_type="water_closet", quantity=Decimal(quantity))],
        alternates=[{"name": "Hose bibbs", "lines": [{"fixture_type": "hose_bibb", "quantity": "2"}]}],  # type: ignore[list-item]
    )


def _generate(session: Any, principal: Any, bid_id: Any, revision: int, *, twice: bool = False) -> str:
    """What the orchestration's activities do, in order; with twice, every step runs again (a redelivery)."""
    tenant = principal.tenant_id
    runs = 2 if twice else 1
    frozen = [
        bid_generation.freeze(session=session, tenant_id=tenant, bid_id=bid_id, revision=revision, user_id=None)
        for _ in range(runs)
    ]
    assert len({f["revision_id"] for f in frozen}) == 1
    revision_id = frozen[0]["revision_id"]
    for _ in range(runs):
        bid_generation.render(session=session, tenant_id=tenant, revision_id=revision_id)
        bid_generation.email(session=session, tenant_id=tenant, revision_id=revision_id, ttl_days=7)
        bid_generation.record(session=session, tenant_id=tenant, revision_id=revision_id)
    return revision_id


def test_a_price_book_save_is_a_new_version_and_a_bid_records_the_one_it_used(db_session: Any, desk: Any) -> None:
    principal, project = desk
    reads = {"session": db_session, "principal": principal}
    assert service.get_price_book(**reads).version == 0  # the published defaults
    saved = service.save_price_book(**reads, actor=ACTOR, book=PriceBookBody(labour_rate_cents=12_000))
    assert saved.version == 1 and service.get_price_book(**reads, version=0).labour_rate_cents == 9_500
    bid = service.create_bid(**reads, actor=ACTOR, bid_in=BidIn(project_id=project.id, content=_content()))
    assert bid.price_book_version == 1 and bid.number == "P-00001"
    # 2 WC x 4.5 h x $120 = $1,080.00 labour
    assert bid.priced.lines[0].labour_cents == 108_000
    with pytest.raises(NotFound):
        service.get_price_book(**reads, version=7)


def test_every_generation_step_run_twice_has_one_effect(db_session: Any, desk: Any) -> None:
    principal, project = desk
    reads = {"session": db_session, "principal": principal}
    bid = service.create_bid(**reads, actor=ACTOR, bid_in=BidIn(project_id=project.id, content=_content()))
    service.send_bid(**reads, actor=ACTOR, bid_id=bid.id, send_in=SendBidIn(), durable=None)
    revision_id = _generate(db_session, principal, bid.id, 1, twice=True)
    sent = service.get_bid(**reads, bid_id=bid.id)
    assert sent.status == "sent" and sent.message_id is not None and sent.valid_until is not None
    revisions = db_session.scalar(select(func.count()).select_from(BidRevision).where(BidRevision.bid_id == bid.id))
    messages = db_session.scalar(select(func.count()).select_from(Message).where(Message.related_id == bid.id))
    assert revisions == 1 and messages == 1
    revision = db_session.get(BidRevision, revision_id)
    stored = bid_documents.get(revision.pdf_path)
    assert stored.startswith(b"%PDF") and hashlib.sha256(stored).hexdigest() == revision.pdf_sha256
    # a second send of a sent bid is refused
    with pytest.raises(Conflict):
        service.send_bid(**reads, actor=ACTOR, bid_id=bid.id, send_in=SendBidIn(), durable=None)


def test_an_edit_while_sending_is_refused_and_after_sending_is_a_new_revision(db_session: Any, desk: Any) -> None:
    principal, project = desk
    reads = {"session": db_session, "principal": principal}
    bid = service.create_bid(**reads, actor=ACTOR, bid_in=BidIn(project_id=project.id, content=_content()))
    service.send_bid(**reads, actor=ACTOR, bid_id=bid.id, send_in=SendBidIn(), durable=None)
    with pytest.raises(Conflict):
        service.update_bid(**reads, actor=ACTOR, bid_id=bid.id, content=_content(3), expected=None)
    _generate(db_session, principal, bid.id, 1)
    changed = service.update_bid(**reads, actor=ACTOR, bid_id=bid.id, content=_content(3), expected=None)
    assert changed.revision == 2 and changed.status == "draft" and changed.sent_at is None
    # the old revision's steps are stale now; the frozen revision 1 stays as it was sent
    stale = bid_generation.freeze(
        session=db_session, tenant_id=principal.tenant_id, bid_id=bid.id, revision=3, user_id=None
    )
    assert stale == {"stale": True}
    first = db_session.scalars(select(BidRevision).where(BidRevision.bid_id == bid.id)).one()
    assert first.snapshot["priced"]["lines"][0]["quantity"] == "2"


def test_accepting_locks_the_totals_and_stores_the_signed_copy(db_session: Any, desk: Any) -> None:
    principal, project = desk
    reads = {"session": db_session, "principal": principal}
    bid = service.create_bid(**reads, actor=ACTOR, bid_in=BidIn(project_id=project.id, content=_content()))
    service.send_bid(**reads, actor=ACTOR, bid_id=bid.id, send_in=SendBidIn(), durable=None)
    revision_id = _generate(db_session, principal, bid.id, 1)
    row = bidding.bid_or_raise(db_session, principal.tenant_id, bid.id)
    token, _ = signed_links.sign(
        purpose=bid_generation.PROPOSAL,
        tenant_id=principal.tenant_id,
        ids=(bid.id, uuid.UUID(revision_id)),
        ttl=SEVEN_DAYS,
    )
    page = proposal.render_for_customer(session=db_session, token=token, action="/x")
    assert "Hose bibbs" in page and row.status == "viewed"
    alternate = bid.priced.alternates[0]
    form = {"decision": "accept", "name": "  Rosa   Diaz ", f"alternate-{alternate.id}": "on"}
    proposal.answer(session=db_session, token=token, form=form, ip="203.0.113.9", user_agent="Phone/1")
    accepted = service.get_bid(**reads, bid_id=bid.id)
    assert accepted.status == "accepted" and accepted.signer_name == "Rosa Diaz"
    assert accepted.accepted_totals is not None
    assert accepted.accepted_totals.total_cents == bid.priced.totals.total_cents + alternate.totals.total_cents
    signed = bid_documents.get(row.signed_pdf_path or "")
    assert hashlib.sha256(signed).hexdigest() == accepted.signed_pdf_sha256
    with pytest.raises(Conflict):
        proposal.answer(session=db_session, token=token, form={"decision": "decline"}, ip=None, user_agent=None)


def test_the_daily_timer_expires_an_open_bid_past_its_validity(db_session: Any, desk: Any) -> None:
    from shared import clock

    principal, project = desk
    reads = {"session": db_session, "principal": principal}
    bid = service.create_bid(**reads, actor=ACTOR, bid_in=BidIn(project_id=project.id, content=_content()))
    service.send_bid(**reads, actor=ACTOR, bid_id=bid.id, send_in=SendBidIn(), durable=None)
    _generate(db_session, principal, bid.id, 1)
    assert bidding.expire_due(session=db_session, tenant_id=principal.tenant_id) == 0
    clock.pin(clock.now() + timedelta(days=31))
    try:
        assert bidding.expire_due(session=db_session, tenant_id=principal.tenant_id) == 1
        assert bidding.expire_due(session=db_session, tenant_id=principal.tenant_id) == 0
    finally:
        clock.unpin()
    assert service.get_bid(**reads, bid_id=bid.id).status == "expired"
