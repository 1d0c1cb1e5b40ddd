"""The customer's proposal page behind a signed link: the scope, fixtures, base bid, alternates with prices,
allowances, inclusions, exclusions, payment terms and validity; the customer accepts the base bid with any
alternates by typing their name, or declines with a reason.

Server-rendered, everything escaped, no JavaScript. The first open marks the bid viewed. Accepting records the
alternates, name, time, IP and user agent, locks the accepted totals, stores a signed copy of the PDF with its
SHA-256 and emails its link to the customer (messaging) and the estimator (a notice). A link to an older revision
answers "this bid was updated"; a second answer is 409; past the validity date the bid is expired (410).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from html import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.bids import bid_documents
from blueprints.bids.bid_generation import DOCUMENT, PROPOSAL, document_url
from blueprints.bids.bid_schemas import AcceptedAlternate, AcceptedTotals, BidProposal
from blueprints.bids.bid_transitions import Event, Status, next_status
from blueprints.bids.bidding import expire_if_due
from blueprints.bids.models import Bid, BidProject, BidRevision
from blueprints.identity import service as identity
from blueprints.messaging import service as messaging
from shared import audit, clock, html, signed_links
from shared.auth import system_principal
from shared.db import set_tenant
from shared.errors import AppError, Forbidden, Gone, NotFound, Unprocessable

log = logging.getLogger("tradeops.bids")
MODULE = "bids"
SIGNED_COPY_TTL = timedelta(days=7)
_STYLE = (
    ".price{font-weight:600;float:right}.muted{color:#555;font-size:.9em}table{width:100%;border-collapse:collapse}"
    "td{padding:4px 0;border-bottom:1px solid #eee}td.n{text-align:right}.total{font-size:1.2em;font-weight:700}"
)


@dataclass
class Opened:
    """A verified link's bid (row-locked), its revision and the proposal that was sent."""

    bid: Bid
    revision: BidRevision
    proposal: BidProposal


def open_link(session: Session, token: str, purpose: str = PROPOSAL) -> Opened:
    """The bid and revision a valid link names (403 tampered, 410 expired, 403 module off, 404 gone)."""
    claims = signed_links.verify(token, purpose=purpose, id_count=2, expired_message="This link has expired")
    set_tenant(session, claims.tenant_id)
    tenant, _ = identity.get_tenant(session=session, principal=system_principal(claims.tenant_id))
    if MODULE not in tenant.enabled_modules:
        raise Forbidden("Bids are not enabled for this business", code="module_disabled")
    bid_id, revision_id = claims.ids
    bid = session.scalars(
        select(Bid).where(Bid.id == bid_id, Bid.tenant_id == claims.tenant_id).with_for_update()
    ).first()
    revision = session.get(BidRevision, revision_id)
    if bid is None or revision is None or revision.bid_id != bid.id:
        raise NotFound("No such bid")
    return Opened(bid=bid, revision=revision, proposal=BidProposal.model_validate(revision.snapshot))


def _current(opened: Opened) -> None:
    if opened.revision.revision != opened.bid.revision or opened.bid.status == Status.DRAFT:
        raise Gone("This proposal was updated; ask us for the new link", code="bid_updated")


def render_for_customer(*, session: Session, token: str, action: str) -> str:
    """The customer's page for a valid link (the first open marks the bid viewed)."""
    opened = open_link(session, token)
    _current(opened)
    bid = opened.bid
    if not expire_if_due(session, bid) and bid.status == Status.SENT:
        bid.status = next_status(bid.status, Event.VIEW).value
        bid.viewed_at = bid.viewed_at or clock.now()
        session.flush()
        audit.record(
            session,
            tenant_id=bid.tenant_id,
            actor=audit.SYSTEM,
            action="bids.bid_viewed",
            entity="bid",
            entity_id=bid.id,
            after={"revision": bid.revision},
        )
    return _page(opened, action)


def _money(cents: int, proposal: BidProposal) -> str:
    return escape(bid_documents.money(cents, proposal.currency))


def _list(title: str, items: list[str]) -> str:
    if not items:
        return ""
    return f"<h3>{escape(title)}</h3><ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def _summary(proposal: BidProposal) -> str:
    rows = "".join(
        f'<tr><td>{escape(line.description)}</td><td class="n">{escape(bid_documents.quantity_text(line.quantity))}'
        f" {escape(line.unit)}</td></tr>"
        for line in proposal.priced.lines
    )
    allowances = _list(
        "Allowances (included)",
        [f"{a.name}: {bid_documents.money(a.amount_cents, proposal.currency)}" for a in proposal.content.allowances],
    )
    units = _list(
        "Unit prices for added work",
        [
            f"{u.description}: {bid_documents.money(u.price_cents, proposal.currency)} per {u.unit}"
            for u in proposal.content.unit_prices
        ],
    )
    scope = f"<p>{escape(proposal.content.scope)}</p>" if proposal.content.scope else ""
    total = proposal.priced.totals.total_cents
    return (
        f"{scope}<h3>Work</h3><table>{rows}</table>"
        f'<p class="total">Base bid <span class="price">{_money(total, proposal)}</span></p>'
        f"{allowances}{units}{_list('Included', proposal.content.inclusions)}"
        f"{_list('Excluded', proposal.content.exclusions)}"
    )


def _decided(opened: Opened) -> str | None:
    bid, proposal = opened.bid, opened.proposal
    if bid.status == Status.ACCEPTED and bid.accepted_totals:
        locked = AcceptedTotals.model_validate(bid.accepted_totals)
        names = ", ".join(escape(a.name) for a in locked.alternates) or "none"
        when = clock.iso_utc(bid.accepted_at) if bid.accepted_at else ""
        return (
            f'<p class="status">Accepted by {escape(bid.signer_name or "")} on {escape(when)}.</p>'
            f"<p>Alternates accepted: {names}.</p>"
            f'<p class="total">Accepted total <span class="price">{_money(locked.total_cents, proposal)}</span></p>'
        )
    if bid.status == Status.DECLINED:
        return '<p class="status">You declined this proposal. Thank you for letting us know.</p>'
    if bid.status == Status.EXPIRED:
        return '<p class="status">This proposal has expired; ask us for a new one.</p>'
    return None


def _page(opened: Opened, action: str) -> str:
    proposal = opened.proposal
    title = f"{proposal.business_name}: proposal {proposal.number}"
    valid = proposal.valid_until.strftime("%B %d, %Y")
    pdf_url, _ = document_url(opened.bid, opened.revision.id, SIGNED_COPY_TTL)
    licence = f" Licence {escape(proposal.licence_number)}." if proposal.licence_number else ""
    intro = (
        f"<h1>{escape(proposal.business_name)}</h1><h2>{escape(proposal.content.title)}</h2>"
        f"<p>Proposal {escape(proposal.number)} for {escape(proposal.customer.name)}, {escape(proposal.address)}."
        f" Valid until {escape(valid)}.{licence}</p>"
        f'<p><a href="{escape(pdf_url)}">The proposal as a PDF</a></p>{_summary(proposal)}'
    )
    terms = f'<h3>Payment terms</h3><p class="muted">{escape(proposal.payment_terms)}</p>'
    decided = _decided(opened)
    if decided is not None:
        return html.page(title, intro + decided + terms, style=_STYLE)
    alternates = "".join(
        f'<label><input type="checkbox" name="alternate-{a.id}" value="on"> {escape(a.name)}'
        f' <span class="price">{_money(a.totals.total_cents, proposal)}</span></label>'
        + (f'<p class="muted">{escape(a.description)}</p>' if a.description else "")
        for a in proposal.priced.alternates
    )
    alternates_block = f"<fieldset><legend>Alternates (add any)</legend>{alternates}</fieldset>" if alternates else ""
    accept = (
        f'<form method="post" action="{escape(action)}"><h3>Accept</h3>{alternates_block}{terms}'
        '<label>Type your full name to sign <input type="text" name="name" autocomplete="name" maxlength="200">'
        '</label><button type="submit" name="decision" value="accept">Accept and sign</button></form>'
    )
    decline = (
        f'<form method="post" action="{escape(action)}"><h3>Not for you?</h3>'
        '<label>Tell us why (optional) <textarea name="reason" rows="2" maxlength="1000"></textarea></label>'
        '<button type="submit" name="decision" value="decline" style="background:#777">Decline</button></form>'
    )
    return html.page(title, intro + accept + decline, style=_STYLE)


@dataclass(frozen=True)
class Answered:
    """Which bid the customer answered, and whether they accepted it."""

    tenant_id: uuid.UUID
    bid_id: uuid.UUID
    accepted: bool


def answer(*, session: Session, token: str, form: dict[str, str], ip: str | None, user_agent: str | None) -> Answered:
    """Record the customer's acceptance or decline (409 when already answered, 410 when expired or outdated)."""
    opened = open_link(session, token)
    _current(opened)
    signed_links.require_unused(
        opened.bid.accepted_at or opened.bid.declined_at, message="This proposal was already answered"
    )
    if expire_if_due(session, opened.bid) or opened.bid.status == Status.EXPIRED:
        raise Gone("This proposal has expired; ask us for a new one", code="bid_expired")
    decision = form.get("decision", "")
    if decision not in ("accept", "decline"):
        raise Unprocessable("Choose to accept or decline", code="decision_required")
    if decision == "accept":
        _accept(session, opened, form, ip=ip, user_agent=user_agent)
    else:
        _decline(session, opened, form.get("reason", ""), ip=ip, user_agent=user_agent)
    return Answered(tenant_id=opened.bid.tenant_id, bid_id=opened.bid.id, accepted=decision == "accept")


def locked_totals(proposal: BidProposal, alternate_ids: list[uuid.UUID]) -> AcceptedTotals:
    """The base bid plus the chosen alternates, as accepted."""
    chosen = [a for a in proposal.priced.alternates if a.id in alternate_ids]
    base = proposal.priced.totals.total_cents
    return AcceptedTotals(
        base_total_cents=base,
        alternates=[AcceptedAlternate(id=a.id, name=a.name, total_cents=a.totals.total_cents) for a in chosen],
        total_cents=base + sum(a.totals.total_cents for a in chosen),
    )


def _accept(session: Session, opened: Opened, form: dict[str, str], *, ip: str | None, user_agent: str | None) -> None:
    bid, proposal = opened.bid, opened.proposal
    status = next_status(bid.status, Event.ACCEPT)
    name = " ".join(form.get("name", "").split())[:200]
    if not name:
        raise Unprocessable("Type your name to sign", code="name_required")
    alternate_ids = [a.id for a in proposal.priced.alternates if form.get(f"alternate-{a.id}") == "on"]
    locked = locked_totals(proposal, alternate_ids)
    accepted_at = clock.now().replace(microsecond=0)
    agent = (user_agent or "")[:500] or None
    names = ", ".join(a.name for a in locked.alternates) or "none"
    detail = (
        f"Base bid {bid_documents.money(locked.base_total_cents, proposal.currency)}; alternates accepted: {names};"
        f" accepted total {bid_documents.money(locked.total_cents, proposal.currency)}."
        f" Recorded from {ip or 'unknown address'} with {agent or 'unknown browser'}."
    )
    pdf = bid_documents.render(proposal, bid_documents.signature(name, accepted_at, detail))
    path = bid_documents.path_of(bid.tenant_id, bid.id, opened.revision.revision, signed=True)
    bid_documents.put(path, pdf)
    bid.status, bid.decided_revision = status.value, opened.revision.revision
    bid.accepted_alternate_ids = [str(a) for a in alternate_ids]
    bid.accepted_totals = locked.model_dump(mode="json")
    bid.signer_name, bid.accepted_at = name, accepted_at
    bid.decision_ip, bid.decision_user_agent = ip, agent
    bid.signed_pdf_path, bid.signed_pdf_sha256 = path, bid_documents.sha256(pdf)
    bid.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=bid.tenant_id,
        actor=audit.Actor(ip=ip, user_agent=agent),
        action="bids.bid_accepted",
        entity="bid",
        entity_id=bid.id,
        after={
            "revision": bid.decided_revision,
            "alternate_ids": bid.accepted_alternate_ids,
            "signer_name": name,
            "total_cents": locked.total_cents,
            "signed_pdf_sha256": bid.signed_pdf_sha256,
        },
    )
    _email_signed_copy(session, opened)


def _email_signed_copy(session: Session, opened: Opened) -> None:
    bid, proposal = opened.bid, opened.proposal
    url, _ = document_url(bid, opened.revision.id, SIGNED_COPY_TTL)
    body = (
        f"Hello {proposal.customer.name},\n\nThank you for accepting proposal {proposal.number}"
        f' "{proposal.content.title}".\n\nYour signed proposal (PDF, link valid for 7 days):\n{url}\n\n'
        f"SHA-256 of the signed PDF: {bid.signed_pdf_sha256}\n\n{proposal.business_name}\n"
    )
    project = session.get(BidProject, bid.project_id)
    assert project is not None
    try:
        messaging.send(
            session=session,
            tenant_id=bid.tenant_id,
            customer_id=project.customer_id,
            channel="email",
            subject=f"{proposal.business_name}: your signed proposal {proposal.number}",
            body=body,
            purpose="transactional",
            related_type="bid",
            related_id=bid.id,
            dedupe_key=f"bid-{bid.id}-accepted",
        )
    except AppError as refused:  # no email address, messaging off: the estimator's notice still goes
        log.warning("signed bid copy not emailed to the customer: %s", refused.code)


def _decline(session: Session, opened: Opened, reason: str, *, ip: str | None, user_agent: str | None) -> None:
    bid = opened.bid
    bid.status = next_status(bid.status, Event.DECLINE).value
    bid.decided_revision, bid.declined_at = opened.revision.revision, clock.now()
    bid.decline_reason = " ".join(reason.split())[:1000] or None
    bid.decision_ip, bid.decision_user_agent = ip, (user_agent or "")[:500] or None
    bid.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=bid.tenant_id,
        actor=audit.Actor(ip=ip, user_agent=user_agent),
        action="bids.bid_declined",
        entity="bid",
        entity_id=bid.id,
        after={"revision": bid.decided_revision, "reason": bid.decline_reason},
    )


def document_for_customer(*, session: Session, token: str) -> tuple[bytes, str]:
    """A revision's PDF behind a signed document link (the signed copy once that revision was accepted)."""
    opened = open_link(session, token, DOCUMENT)
    bid = opened.bid
    signed = bid.decided_revision == opened.revision.revision and bid.signed_pdf_path
    path = bid.signed_pdf_path if signed else opened.revision.pdf_path
    if not path:
        raise NotFound("No such document")
    suffix = "-signed" if signed else ""
    return bid_documents.get(path), f"proposal-{opened.proposal.number}-r{opened.revision.revision}{suffix}.pdf"
