"""Sending an estimate: freeze the revision, render and store its proposal PDF, text or email the signed link.

Sending happens in the estimator's request: the PDF goes to Blob (idempotent: a retry overwrites the same
revision's blob) and the message is written through messaging.service.send, which queues it after commit;
consent, quiet hours and limits apply in messaging's pipeline. A send messaging refuses outright (module off,
no address) is still a sent revision with its link, and the answer says why no message went.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.crm import service as crm
from blueprints.estimates import documents, photos, reading, store
from blueprints.estimates.access import estimate_or_raise, require_edit
from blueprints.estimates.models import Estimate, EstimateRevision
from blueprints.estimates.rate_book import book_at
from blueprints.estimates.schemas import Party, PdfLink, Proposal, SendIn, SendOut
from blueprints.estimates.transitions import Event, next_status
from blueprints.identity import service as identity
from blueprints.messaging import service as messaging
from shared import audit, clock, signed_links
from shared.auth import Principal, system_principal
from shared.config import get_settings
from shared.errors import AppError, NotFound

log = logging.getLogger("tradeops.estimates")
PROPOSAL = "estimate"  # the customer's page
DOCUMENT = "estimate-document"  # a revision's PDF (the signed copy once accepted)
READ_CUSTOMERS = frozenset({"customers.read", "customers.read_all"})


def proposal_url(
    tenant_id: uuid.UUID, estimate_id: uuid.UUID, revision_id: uuid.UUID, ttl: timedelta
) -> tuple[str, object]:
    """The signed link to the customer's page of a revision, and when it expires."""
    ids = (estimate_id, revision_id)
    return signed_links.url("v1/estimate-proposals/{token}", purpose=PROPOSAL, tenant_id=tenant_id, ids=ids, ttl=ttl)


def document_url(
    tenant_id: uuid.UUID, estimate_id: uuid.UUID, revision_id: uuid.UUID, ttl: timedelta
) -> tuple[str, object]:
    """A signed, short-lived link to a revision's PDF (its signed copy once accepted)."""
    ids = (estimate_id, revision_id)
    return signed_links.url("v1/estimate-documents/{token}", purpose=DOCUMENT, tenant_id=tenant_id, ids=ids, ttl=ttl)


def _proposal(session: Session, principal: Principal, estimate: Estimate) -> Proposal:
    out = reading.read(session, principal, estimate.id)
    book = book_at(session, estimate.tenant_id, estimate.rate_book_version)
    system = system_principal(estimate.tenant_id, permissions=READ_CUSTOMERS)
    customer, _ = crm.get_customer(session=session, principal=system, customer_id=estimate.customer_id)
    tenant, _ = identity.get_tenant(session=session, principal=system)
    owner = identity.get_user(session=session, principal=system, user_id=estimate.owner_id)
    now = clock.now().replace(microsecond=0)
    return Proposal(
        estimate=out,
        revision=estimate.revision,
        business_name=tenant.name,
        brand_colour=tenant.brand_colour,
        customer=Party(name=customer.name, email=customer.email, phone=customer.phone),
        estimator=Party(name=owner.name if owner else tenant.name, email=owner.email if owner else None),
        terms=book.terms,
        show_cost_lines=book.show_cost_lines,
        deposit_percent=book.deposit_percent,
        sent_at=now,
        valid_until=now + timedelta(days=book.validity_days),
        pictures=photos.proposal_pictures(session, estimate.tenant_id, estimate.id),
    )


def _message(proposal: Proposal, channel: str, url: str) -> tuple[str, str]:
    cheapest = min((o.totals.total_cents for o in proposal.estimate.options), default=0)
    price = documents.money(cheapest, proposal.estimate.currency)
    valid = proposal.valid_until.strftime("%B %d, %Y")
    subject = f"{proposal.business_name}: your estimate for {proposal.estimate.title}"
    if channel == "sms":
        return (
            subject,
            f'{proposal.business_name}: your estimate "{proposal.estimate.title}" (from {price}) is ready: {url}',
        )
    body = (
        f"Hello {proposal.customer.name},\n\n{proposal.business_name} prepared your estimate"
        f' "{proposal.estimate.title}" (from {price}, valid until {valid}).\n\n'
        f"See the options, choose one and sign here:\n{url}\n\n"
        f"Questions? Reply to {proposal.estimator.name}.\n"
    )
    return subject, body


def send_estimate(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID, send_in: SendIn
) -> SendOut:
    """Freeze the draft as its revision, store its PDF, and send the customer the signed link."""
    estimate = estimate_or_raise(session, principal, estimate_id, lock=True)
    require_edit(session, principal, estimate)
    status = next_status(estimate.status, Event.SEND)
    proposal = _proposal(session, principal, estimate)
    pdf = documents.render(proposal, pictures=photos.load_pictures(proposal.pictures))
    digest = documents.sha256(pdf)
    path = store.path_of(estimate.tenant_id, estimate.id, estimate.revision)
    store.put(path, pdf)
    revision_id = uuid.uuid4()
    url, link_expires = proposal_url(estimate.tenant_id, estimate.id, revision_id, timedelta(days=send_in.ttl_days))
    subject, body = _message(proposal, send_in.channel, url)
    message_id, message_status = None, "queued"
    try:
        message = messaging.send(
            session=session,
            tenant_id=estimate.tenant_id,
            customer_id=estimate.customer_id,
            channel=send_in.channel,
            body=body,
            subject=subject,
            purpose="transactional",
            related_type="estimate",
            related_id=estimate.id,
            actor_user_id=principal.user_id,
            dedupe_key=f"estimate-{estimate.id}-r{estimate.revision}-{send_in.channel}",
        )
        message_id, message_status = message.id, message.status
    except AppError as refused:  # reported to the estimator with the revision; the link stays valid
        message_status = f"not_sent: {refused.code}"
    session.add(
        EstimateRevision(
            id=revision_id,
            tenant_id=estimate.tenant_id,
            estimate_id=estimate.id,
            revision=estimate.revision,
            rate_book_version=estimate.rate_book_version,
            snapshot=proposal.model_dump(mode="json"),
            channel=send_in.channel,
            sent_at=proposal.sent_at,
            link_expires_at=link_expires,
            valid_until=proposal.valid_until,
            message_id=message_id,
            pdf_path=path,
            pdf_sha256=digest,
            sent_by=principal.user_id,
        )
    )
    estimate.status, estimate.sent_at, estimate.valid_until = status.value, proposal.sent_at, proposal.valid_until
    estimate.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=estimate.tenant_id,
        actor=actor,
        action="estimates.sent",
        entity="estimate",
        entity_id=estimate.id,
        after={
            "revision": estimate.revision,
            "channel": send_in.channel,
            "message": message_status,
            "pdf_sha256": digest,
        },
    )
    return SendOut(
        estimate_id=estimate.id,
        revision=estimate.revision,
        url=url,
        link_expires_at=link_expires,  # type: ignore[arg-type]
        valid_until=proposal.valid_until,
        message_id=message_id,
        message_status=message_status,
        pdf_sha256=digest,
    )


def latest_revision(session: Session, estimate: Estimate) -> EstimateRevision | None:
    """The newest sent revision of an estimate."""
    stmt = (
        select(EstimateRevision)
        .where(EstimateRevision.estimate_id == estimate.id, EstimateRevision.tenant_id == estimate.tenant_id)
        .order_by(EstimateRevision.revision.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def pdf_link(*, session: Session, principal: Principal, estimate_id: uuid.UUID) -> PdfLink:
    """A short-lived read URL of the newest sent revision's PDF (the signed copy once accepted)."""
    estimate = estimate_or_raise(session, principal, estimate_id)
    revision = latest_revision(session, estimate)
    if revision is None:
        raise NotFound("This estimate has not been sent yet, so it has no proposal PDF", code="not_sent")
    ttl = timedelta(seconds=get_settings().estimate_pdf_url_ttl_seconds)
    url, expires = document_url(estimate.tenant_id, estimate.id, revision.id, ttl)
    signed = estimate.decided_revision == revision.revision and estimate.signed_pdf_sha256 is not None
    digest = estimate.signed_pdf_sha256 if signed else revision.pdf_sha256
    return PdfLink(url=url, expires_at=expires, sha256=digest or "", signed=signed)  # type: ignore[arg-type]
