"""The steps of the bid generation orchestration, each idempotent and run in its own tenant session:

1. freeze   price the revision with its price book version and freeze it as the proposal (once per revision);
2. render   render the proposal PDF and store it (a retry re-renders the same bytes to the same blob);
3. email    email the customer the signed link through messaging.service.send (its dedupe key makes it once);
4. record   the bid becomes sent, with the revision's dates and the email (once).

A step that finds its work done returns what it recorded. A revision edited while it was being sent is stale:
the steps stop and the newer revision is sent on its own.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.bids import bid_documents, price_book, pricing
from blueprints.bids.analysis import settings_row
from blueprints.bids.bid_schemas import BidContent, BidProposal, Party
from blueprints.bids.bid_transitions import Event, Status, next_status
from blueprints.bids.bidding import bid_or_raise, instance_of, number_of
from blueprints.bids.models import Bid, BidProject, BidRevision
from blueprints.crm import service as crm
from blueprints.identity import service as identity
from blueprints.messaging import service as messaging
from shared import audit, clock, signed_links
from shared.auth import system_principal
from shared.errors import AppError, NotFound

log = logging.getLogger("tradeops.bids")
PROPOSAL = "bid"  # the customer's page
DOCUMENT = "bid-document"  # a revision's PDF (the signed copy once accepted)
READ_CUSTOMERS = frozenset({"customers.read", "customers.read_all"})


def proposal_url(bid: Bid, revision_id: uuid.UUID, ttl: timedelta) -> tuple[str, Any]:
    """The signed link to the customer's page of a revision, and when it expires."""
    ids = (bid.id, revision_id)
    return signed_links.url("v1/bid-proposals/{token}", purpose=PROPOSAL, tenant_id=bid.tenant_id, ids=ids, ttl=ttl)


def document_url(bid: Bid, revision_id: uuid.UUID, ttl: timedelta) -> tuple[str, Any]:
    """A signed, short-lived link to a revision's PDF (its signed copy once accepted)."""
    ids = (bid.id, revision_id)
    return signed_links.url("v1/bid-documents/{token}", purpose=DOCUMENT, tenant_id=bid.tenant_id, ids=ids, ttl=ttl)


def _revision(session: Session, bid_id: uuid.UUID, revision: int) -> BidRevision | None:
    stmt = select(BidRevision).where(BidRevision.bid_id == bid_id, BidRevision.revision == revision)
    return session.scalars(stmt).first()


def _revision_or_raise(session: Session, tenant_id: uuid.UUID, revision_id: uuid.UUID) -> BidRevision:
    revision = session.get(BidRevision, revision_id, with_for_update=True)
    if revision is None or revision.tenant_id != tenant_id:
        raise NotFound("No such bid revision")
    return revision


def proposal_of(session: Session, bid: Bid, user_id: uuid.UUID | None) -> BidProposal:
    """The bid as the customer will see it, priced with the price book version it recorded."""
    system = system_principal(bid.tenant_id, permissions=READ_CUSTOMERS)
    project = session.get(BidProject, bid.project_id)
    assert project is not None  # a foreign key
    customer, _ = crm.get_customer(session=session, principal=system, customer_id=project.customer_id)
    tenant, _ = identity.get_tenant(session=session, principal=system)
    estimator = identity.get_user(session=session, principal=system, user_id=user_id) if user_id else None
    book = price_book.book_at(session, bid.tenant_id, bid.price_book_version)
    content = BidContent.model_validate(bid.content)
    now = clock.now().replace(microsecond=0)
    return BidProposal(
        bid_id=bid.id,
        number=number_of(bid),
        revision=bid.revision,
        business_name=tenant.name,
        brand_colour=tenant.brand_colour,
        licence_number=settings_row(session, bid.tenant_id).licence_number,
        customer=Party(name=customer.name, email=customer.email, phone=customer.phone),
        estimator=Party(
            name=estimator.name if estimator else tenant.name, email=estimator.email if estimator else None
        ),
        project_name=project.name,
        address=project.address,
        currency=book.currency,
        content=content,
        priced=pricing.price_bid(content, book),
        payment_terms=content.payment_terms or book.payment_terms,
        sent_at=now,
        valid_until=now + timedelta(days=content.validity_days or book.validity_days),
    )


def freeze(
    *, session: Session, tenant_id: uuid.UUID, bid_id: uuid.UUID, revision: int, user_id: uuid.UUID | None
) -> dict[str, Any]:
    """Price and freeze the revision as its proposal (once); {"stale": True} when the bid moved on."""
    bid = bid_or_raise(session, tenant_id, bid_id, lock=True)
    existing = _revision(session, bid_id, revision)
    if existing is not None:
        return {"revision_id": str(existing.id), "total_cents": existing.snapshot["priced"]["totals"]["total_cents"]}
    if bid.revision != revision or bid.status != Status.DRAFT or bid.instance_id != instance_of(bid):
        return {"stale": True}
    proposal = proposal_of(session, bid, user_id or bid.created_by)
    row = BidRevision(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        bid_id=bid.id,
        revision=revision,
        price_book_version=bid.price_book_version,
        snapshot=proposal.model_dump(mode="json"),
        sent_at=proposal.sent_at,
        valid_until=proposal.valid_until,
        sent_by=user_id,
    )
    session.add(row)
    session.flush()
    return {"revision_id": str(row.id), "total_cents": proposal.priced.totals.total_cents}


def render(*, session: Session, tenant_id: uuid.UUID, revision_id: uuid.UUID) -> dict[str, Any]:
    """Render the revision's proposal PDF and store it (once; a retry before recording writes the same blob)."""
    revision = _revision_or_raise(session, tenant_id, revision_id)
    if revision.pdf_sha256 is None:
        pdf = bid_documents.render(BidProposal.model_validate(revision.snapshot))
        path = bid_documents.path_of(tenant_id, revision.bid_id, revision.revision)
        bid_documents.put(path, pdf)
        revision.pdf_path, revision.pdf_sha256 = path, bid_documents.sha256(pdf)
        session.flush()
    return {"pdf_sha256": revision.pdf_sha256}


def _message(proposal: BidProposal, url: str) -> tuple[str, str]:
    total = bid_documents.money(proposal.priced.totals.total_cents, proposal.currency)
    valid = proposal.valid_until.strftime("%B %d, %Y")
    subject = f"{proposal.business_name}: proposal {proposal.number} for {proposal.content.title}"
    alternates = f" and {len(proposal.priced.alternates)} alternates" if proposal.priced.alternates else ""
    body = (
        f"Hello {proposal.customer.name},\n\n{proposal.business_name} prepared proposal {proposal.number} for"
        f' "{proposal.content.title}" ({total} for the base bid{alternates}, valid until {valid}).\n\n'
        f"Read it, choose any alternates and sign here:\n{url}\n\n"
        f"Questions? Reply to {proposal.estimator.name}.\n"
    )
    return subject, body


def email(*, session: Session, tenant_id: uuid.UUID, revision_id: uuid.UUID, ttl_days: int) -> dict[str, Any]:
    """Email the customer the signed link to the proposal (once: messaging's dedupe key and the recorded id)."""
    revision = _revision_or_raise(session, tenant_id, revision_id)
    if revision.message_status is not None:
        return {
            "message_id": str(revision.message_id) if revision.message_id else None,
            "status": revision.message_status,
        }
    bid = bid_or_raise(session, tenant_id, revision.bid_id)
    proposal = BidProposal.model_validate(revision.snapshot)
    url, expires = proposal_url(bid, revision.id, timedelta(days=ttl_days))
    subject, body = _message(proposal, url)
    project = session.get(BidProject, bid.project_id)
    assert project is not None
    try:
        message = messaging.send(
            session=session,
            tenant_id=tenant_id,
            customer_id=project.customer_id,
            channel="email",
            subject=subject,
            body=body,
            purpose="transactional",
            related_type="bid",
            related_id=bid.id,
            actor_user_id=revision.sent_by,
            dedupe_key=f"bid-{bid.id}-r{revision.revision}",
        )
        revision.message_id, revision.message_status = message.id, message.status
    except AppError as refused:  # no address, messaging off: the bid is still sent with its link
        revision.message_status = f"not_sent: {refused.code}"[:64]
    revision.link_expires_at = expires
    session.flush()
    return {"message_id": str(revision.message_id) if revision.message_id else None, "status": revision.message_status}


def record(*, session: Session, tenant_id: uuid.UUID, revision_id: uuid.UUID) -> dict[str, Any]:
    """The bid becomes sent with the revision's dates and email (once)."""
    revision = _revision_or_raise(session, tenant_id, revision_id)
    bid = bid_or_raise(session, tenant_id, revision.bid_id, lock=True)
    if revision.recorded_at is not None or bid.revision != revision.revision or bid.status != Status.DRAFT:
        return {"status": bid.status}
    bid.status = next_status(bid.status, Event.SEND).value
    bid.sent_at, bid.valid_until, bid.updated_at = revision.sent_at, revision.valid_until, clock.now()
    revision.recorded_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=tenant_id,
        actor=audit.SYSTEM,
        action="bids.bid_sent",
        entity="bid",
        entity_id=bid.id,
        after={
            "revision": revision.revision,
            "message": revision.message_status,
            "message_id": str(revision.message_id) if revision.message_id else None,
            "pdf_sha256": revision.pdf_sha256,
            "total_cents": revision.snapshot["priced"]["totals"]["total_cents"],
        },
    )
    return {"status": bid.status}


def fail(*, session: Session, tenant_id: uuid.UUID, bid_id: uuid.UUID, revision: int, error: str) -> dict[str, Any]:
    """A generation that failed after its retries: the draft may be sent again."""
    bid = bid_or_raise(session, tenant_id, bid_id, lock=True)
    if bid.status == Status.DRAFT and bid.revision == revision and bid.instance_id == instance_of(bid):
        bid.instance_id, bid.updated_at = None, clock.now()
        session.flush()
    audit.record(
        session,
        tenant_id=tenant_id,
        actor=audit.SYSTEM,
        action="bids.bid_send_failed",
        entity="bid",
        entity_id=bid_id,
        after={"revision": revision, "error": error[:500]},
    )
    log.warning("bid generation failed for revision %s: %s", revision, error[:200])
    return {"status": bid.status}


def pdf_link(*, session: Session, principal: Any, bid_id: uuid.UUID, ttl: timedelta) -> dict[str, Any]:
    """A short-lived link to the newest sent revision's PDF (the signed copy once accepted), its hash and kind."""
    bid = bid_or_raise(session, principal.tenant_id, bid_id)
    stmt = (
        select(BidRevision)
        .where(BidRevision.bid_id == bid.id, BidRevision.pdf_path.is_not(None))
        .order_by(BidRevision.revision.desc())
        .limit(1)
    )
    revision = session.scalars(stmt).first()
    if revision is None:
        raise NotFound("This bid has not been sent yet, so it has no proposal PDF", code="not_sent")
    url, expires = document_url(bid, revision.id, ttl)
    signed = bid.decided_revision == revision.revision and bid.signed_pdf_sha256 is not None
    digest = bid.signed_pdf_sha256 if signed else revision.pdf_sha256
    return {"url": url, "expires_at": expires, "sha256": digest or "", "signed": signed}
