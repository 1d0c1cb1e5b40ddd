"""The customer's proposal page behind a signed link: the scope, fixtures, base bid, alternates with prices,
allowances, inclusions, exclusions, payment terms and validity; the customer accepts the base bid with any
alternates by typing their name, or declines with a reason.

Server-rendered, everything escaped, no JavaScript. The first open marks the bid viewed. Accepting records the
alternates, name, time, IP and user agent, locks the accepted totals, stores a signed copy of the PDF with its
SHA-256 and emails its link to the customer (messaging) and the estimator (a notice). A link to an older revision
answers "this bid was updated"; a second answer is 409; past the validity date the bid is expired (410).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial
from html import escape

from sqlalchemy.orm import Session

from blueprints.bids import bid_documents
from blueprints.bids.bid_generation import DOCUMENT, PROPOSAL, document_url
from blueprints.bids.bid_schemas import AcceptedAlternate, AcceptedTotals, BidProposal
from blueprints.bids.bid_transitions import LIFECYCLE, Status
from blueprints.bids.bidding import expire_if_due
from blueprints.bids.models import Bid, BidProject, BidRevision
from blueprints.identity import service as identity
from blueprints.messaging import service as messaging
from shared import clock, customer_decision, html
from shared.customer_decision import SIGNED_COPY_TTL, Link

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


def _opened(link: Link[Bid, BidRevision]) -> Opened:
    return Opened(bid=link.record, revision=link.revision, proposal=BidProposal.model_validate(link.revision.snapshot))


DESK = customer_decision.Desk(
    module="bids",
    entity="bid",
    noun="proposal",
    lifecycle=LIFECYCLE,
    # An open bid past its validity date is marked expired on read (audited), like the daily timer does.
    expired=lambda session, bid: expire_if_due(session, bid) or bid.status == Status.EXPIRED,
    record=Bid,
    revision=BidRevision,
    services=customer_decision.Services(tenant=identity.get_tenant, send=messaging.send),
    purposes=(PROPOSAL, DOCUMENT),
    actions=customer_decision.Actions("bids.bid_viewed", "bids.bid_accepted", "bids.bid_declined"),
)


def render_for_customer(*, session: Session, token: str, action: str) -> str:
    """The customer's page for a valid link (the first open marks the bid viewed)."""
    return _page(_opened(customer_decision.show(session, DESK, token)), action)


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
    accept = customer_decision.accept_form(action, "Accept", f"{alternates_block}{terms}")
    return html.page(title, intro + accept + customer_decision.decline_form(action), style=_STYLE)


@dataclass(frozen=True)
class Answered:
    """Which bid the customer answered, and whether they accepted it."""

    tenant_id: uuid.UUID
    bid_id: uuid.UUID
    accepted: bool


def answer(*, session: Session, token: str, form: dict[str, str], ip: str | None, user_agent: str | None) -> Answered:
    """Record the customer's acceptance or decline (409 when already answered, 410 when expired or outdated)."""
    reply = customer_decision.Reply(form=form, ip=ip, user_agent=user_agent)
    link = customer_decision.answer(session, DESK, token, reply, accept=partial(_accept, session))
    return Answered(tenant_id=link.record.tenant_id, bid_id=link.record.id, accepted=form.get("decision") == "accept")


def locked_totals(proposal: BidProposal, alternate_ids: list[uuid.UUID]) -> AcceptedTotals:
    """The base bid plus the chosen alternates, as accepted."""
    chosen = [a for a in proposal.priced.alternates if a.id in alternate_ids]
    base = proposal.priced.totals.total_cents
    return AcceptedTotals(
        base_total_cents=base,
        alternates=[AcceptedAlternate(id=a.id, name=a.name, total_cents=a.totals.total_cents) for a in chosen],
        total_cents=base + sum(a.totals.total_cents for a in chosen),
    )


def _accept(session: Session, link: Link[Bid, BidRevision], reply: customer_decision.Reply) -> None:
    opened = _opened(link)
    bid, proposal = opened.bid, opened.proposal
    status = customer_decision.accepting(DESK, bid)
    signing = customer_decision.signature(status, reply)  # 422 without a name
    alternate_ids = [a.id for a in proposal.priced.alternates if reply.form.get(f"alternate-{a.id}") == "on"]
    locked = locked_totals(proposal, alternate_ids)
    names = ", ".join(a.name for a in locked.alternates) or "none"
    detail = (
        f"Base bid {bid_documents.money(locked.base_total_cents, proposal.currency)}; alternates accepted: {names};"
        f" accepted total {bid_documents.money(locked.total_cents, proposal.currency)}."
        f" Recorded from {signing.ip or 'unknown address'} with {signing.user_agent or 'unknown browser'}."
    )
    pdf = bid_documents.render(proposal, bid_documents.signature(signing.name, signing.accepted_at, detail))
    path = bid_documents.path_of(bid.tenant_id, bid.id, opened.revision.revision, signed=True)
    bid_documents.put(path, pdf)
    bid.accepted_alternate_ids = [str(a) for a in alternate_ids]
    bid.accepted_totals = locked.model_dump(mode="json")
    chosen = {"alternate_ids": bid.accepted_alternate_ids}
    customer_decision.record_acceptance(
        session, DESK, link, signing, path=path, pdf=pdf, total_cents=locked.total_cents, chosen=chosen
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
    customer_decision.email_signed_copy(
        session,
        DESK,
        bid,
        customer_id=project.customer_id,
        subject=f"{proposal.business_name}: your signed proposal {proposal.number}",
        body=body,
    )


def document_for_customer(*, session: Session, token: str) -> tuple[bytes, str]:
    """A revision's PDF behind a signed document link (the signed copy once that revision was accepted)."""
    found = customer_decision.document(session, DESK, token)
    number = BidProposal.model_validate(found.link.revision.snapshot).number
    return bid_documents.get(found.path), f"proposal-{number}-r{found.link.revision.revision}{found.suffix}.pdf"
