"""The customer's proposal page behind a signed link: the options with prices, the add-ons, the terms and the
validity date; the customer picks one option and any add-ons and types their name to sign, or declines.

The page is server-rendered, escapes everything it shows and needs no JavaScript. Viewing marks the
estimate viewed (the first view time is kept). Accepting records the option, add-ons, name, time, IP and
user agent, locks the revision's total, stores a signed copy of the PDF with its SHA-256, and emails it
(to the customer through messaging, consent applying; to the estimator as a notice). A link to an older
revision answers "this estimate was updated"; a second answer is 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from html import escape

from sqlalchemy.orm import Session

from blueprints.estimates import documents, followups, photos, store
from blueprints.estimates.models import Estimate, EstimateRevision
from blueprints.estimates.schemas import OptionOut, Proposal, Signed
from blueprints.estimates.sending import DOCUMENT, PROPOSAL, document_url
from blueprints.estimates.transitions import LIFECYCLE, OPEN, Status
from blueprints.identity import service as identity
from blueprints.messaging import schemas as messaging_schemas
from blueprints.messaging import service as messaging
from shared import clock, customer_decision, html
from shared.customer_decision import SIGNED_COPY_TTL, Link
from shared.errors import Unprocessable

_STYLE = ".price{font-weight:600;float:right}.muted{color:#555;font-size:.9em}.status{font-weight:600}"


@dataclass
class Opened:
    """A verified link's estimate (row-locked), its revision and what was sent."""

    estimate: Estimate
    revision: EstimateRevision
    proposal: Proposal


def _opened(link: Link[Estimate, EstimateRevision]) -> Opened:
    return Opened(
        estimate=link.record, revision=link.revision, proposal=Proposal.model_validate(link.revision.snapshot)
    )


def _late(estimate: Estimate) -> bool:
    """Expired, or open past its validity date (the daily timer records the expiry; a read only sees it)."""
    late = estimate.valid_until is not None and clock.now() >= estimate.valid_until
    return estimate.status == Status.EXPIRED or (estimate.status in OPEN and late)


def _expired(opened: Opened) -> bool:
    return _late(opened.estimate)


DESK = customer_decision.Desk(
    module="estimates",
    entity="estimate",
    noun="estimate",
    lifecycle=LIFECYCLE,
    expired=lambda session, estimate: _late(estimate),
    record=Estimate,
    revision=EstimateRevision,
    services=customer_decision.Services(tenant=identity.get_tenant, send=messaging.send),
    purposes=(PROPOSAL, DOCUMENT),
    actions=customer_decision.Actions("estimates.viewed", "estimates.accepted", "estimates.declined"),
)


def render_for_customer(*, session: Session, token: str, action: str) -> str:
    """The customer's page for a valid link (marks the estimate viewed)."""
    return _page(_opened(customer_decision.show(session, DESK, token)), action)


def _money(cents: int, proposal: Proposal) -> str:
    return escape(documents.money(cents, proposal.estimate.currency))


def _option(option: OptionOut, proposal: Proposal, checked: bool) -> str:
    rooms = ", ".join(escape(room.name) for room in option.rooms) or "No rooms"
    description = f"<p>{escape(option.description)}</p>" if option.description else ""
    deposit = option.totals.deposit_cents
    deposit_line = f'<p class="muted">Deposit on acceptance: {_money(deposit, proposal)}</p>' if deposit else ""
    return (
        f'<fieldset><legend><label><input type="radio" name="option" value="{option.id}"'
        f"{' checked' if checked else ''}> {escape(option.name)}</label></legend>"
        f'<p><span class="price">{_money(option.totals.total_cents, proposal)}</span>{rooms}</p>'
        f"{description}{deposit_line}</fieldset>"
    )


def _addons(proposal: Proposal) -> str:
    if not proposal.estimate.addons:
        return ""
    boxes = "".join(
        f'<label><input type="checkbox" name="addon-{a.id}" value="on"> {escape(a.name)}'
        f' <span class="price">{_money(a.price_cents, proposal)}</span></label>'
        for a in proposal.estimate.addons
    )
    return f"<fieldset><legend>Add-ons</legend>{boxes}</fieldset>"


def _decided(opened: Opened) -> str | None:
    estimate, proposal = opened.estimate, opened.proposal
    if estimate.status == Status.ACCEPTED and estimate.accepted_option_id:
        option = proposal.option(estimate.accepted_option_id)
        when = clock.iso_utc(estimate.accepted_at) if estimate.accepted_at else ""
        url, _ = document_url(estimate.tenant_id, estimate.id, opened.revision.id, SIGNED_COPY_TTL)
        return (
            f'<p class="status" role="status">Accepted by {escape(estimate.signer_name or "")} on {escape(when)}: '
            f"{escape(option.name if option else '')}, {_money(estimate.accepted_total_cents or 0, proposal)}.</p>"
            f'<p><a href="{escape(url)}">Download your signed proposal (PDF)</a></p>'
        )
    if estimate.status == Status.DECLINED:
        return '<p class="status" role="status">You declined this estimate. Thank you for letting us know.</p>'
    if _expired(opened):
        return '<p class="status" role="status">This estimate has expired; ask us for a new one.</p>'
    return None


def _pictures_note(proposal: Proposal) -> str:
    """What the PDF shows beyond the prices: its photos, and its colour previews with their AI label and note."""
    photos_count = sum(p.kind == "photo" for p in proposal.pictures)
    previews = [p for p in proposal.pictures if p.kind == "preview"]
    if not photos_count and not previews:
        return ""
    parts = [f"{photos_count} photo{'s' if photos_count != 1 else ''}"] if photos_count else []
    if previews:
        parts.append(f"{len(previews)} colour preview{'s' if len(previews) != 1 else ''}")
    notes = " ".join(sorted({escape(p.note or "") for p in previews}))
    label = f' labelled "{escape(previews[0].label or "")}". {notes}' if previews else "."
    return f'<p class="muted">The PDF shows {" and ".join(parts)}{label}</p>'


def _page(opened: Opened, action: str) -> str:
    proposal, estimate = opened.proposal, opened.proposal.estimate
    valid = proposal.valid_until.strftime("%B %d, %Y")
    where = f", {escape(estimate.job_address)}" if estimate.job_address else ""
    pdf_url, _ = document_url(opened.estimate.tenant_id, estimate.id, opened.revision.id, SIGNED_COPY_TTL)
    intro = (
        f"<h1>{escape(proposal.business_name)}</h1><h2>{escape(estimate.title)}</h2>"
        f"<p>Prepared for {escape(proposal.customer.name)}{where}. Valid until {escape(valid)}.</p>"
        f'<p><a href="{escape(pdf_url)}">The proposal as a PDF</a></p>'
        f"{_pictures_note(proposal)}"
    )
    terms = f'<h3>Terms</h3><p class="muted">{escape(proposal.terms)}</p>'
    decided = _decided(opened)
    if decided is not None:
        return html.page(f"{proposal.business_name}: {estimate.title}", intro + decided + terms, style=_STYLE)
    options = "".join(_option(o, proposal, len(estimate.options) == 1) for o in estimate.options)
    accept = customer_decision.accept_form(action, "Choose an option", f"{options}{_addons(proposal)}{terms}")
    decline = customer_decision.decline_form(action)
    return html.page(f"{proposal.business_name}: {estimate.title}", intro + accept + decline, style=_STYLE)


def answer(*, session: Session, token: str, form: dict[str, str], ip: str | None, user_agent: str | None) -> None:
    """Record the customer's acceptance or decline (409 when already answered, 410 when expired or outdated)."""
    reply = customer_decision.Reply(form=form, ip=ip, user_agent=user_agent)
    customer_decision.answer(session, DESK, token, reply, accept=partial(_accept, session))


def _chosen(opened: Opened, form: Mapping[str, str]) -> tuple[OptionOut, list[uuid.UUID]]:
    try:
        option = opened.proposal.option(uuid.UUID(form.get("option", "")))
    except ValueError:
        option = None
    if option is None:
        raise Unprocessable("Choose one of the options", code="option_required")
    addons = [a.id for a in opened.proposal.estimate.addons if form.get(f"addon-{a.id}") == "on"]
    return option, addons


def _accept(session: Session, link: Link[Estimate, EstimateRevision], reply: customer_decision.Reply) -> None:
    opened = _opened(link)
    estimate, proposal = opened.estimate, opened.proposal
    status = customer_decision.accepting(DESK, estimate)  # 409 when already answered
    option, addon_ids = _chosen(opened, reply.form)
    signing = customer_decision.signature(status, reply)  # 422 without a name
    addon_cents = sum(a.price_cents for a in proposal.estimate.addons if a.id in addon_ids)
    signed = Signed(
        option_id=option.id,
        addon_ids=addon_ids,
        name=signing.name,
        accepted_at=signing.accepted_at,
        ip=signing.ip,
        user_agent=signing.user_agent,
        total_cents=option.totals.total_cents + addon_cents,
    )
    pdf = documents.render(proposal, signed, pictures=photos.load_pictures(proposal.pictures))
    path = store.path_of(estimate.tenant_id, estimate.id, opened.revision.revision, signed=True)
    store.put(path, pdf)
    estimate.accepted_option_id, estimate.accepted_addon_ids = option.id, [str(a) for a in addon_ids]
    estimate.accepted_total_cents = signed.total_cents
    chosen = {"option": option.name, "addon_ids": estimate.accepted_addon_ids}
    customer_decision.record_acceptance(
        session, DESK, link, signing, path=path, pdf=pdf, total_cents=signed.total_cents, chosen=chosen
    )
    _email_signed_copy(session, opened)
    followups.queue_notice(session, estimate, "accepted")


def signed_copy_filename(revision: int) -> str:
    """The file name the signed copy is emailed under."""
    return f"signed-proposal-revision-{revision}.pdf"


def _email_signed_copy(session: Session, opened: Opened) -> None:
    estimate, proposal = opened.estimate, opened.proposal
    url, _ = document_url(estimate.tenant_id, estimate.id, opened.revision.id, SIGNED_COPY_TTL)
    body = (
        f'Hello {proposal.customer.name},\n\nThank you for accepting "{proposal.estimate.title}".\n\n'
        f"Your signed proposal is attached (PDF). It is also at this link for 7 days:\n{url}\n\n"
        f"{proposal.business_name}\n"
    )
    attachment = messaging_schemas.Attachment(
        blob_name=estimate.signed_pdf_path or "",
        filename=signed_copy_filename(opened.revision.revision),
        content_type="application/pdf",
        container=store.container(),
    )
    customer_decision.email_signed_copy(
        session,
        DESK,
        estimate,
        customer_id=estimate.customer_id,
        subject=f"{proposal.business_name}: your signed proposal",
        body=body,
        attachments=[attachment],
    )


def document_for_customer(*, session: Session, token: str) -> tuple[bytes, str]:
    """A revision's PDF behind a signed document link (the signed copy once that revision was accepted)."""
    found = customer_decision.document(session, DESK, token)
    name = f"estimate-{found.link.record.id}-revision-{found.link.revision.revision}{found.suffix}.pdf"
    return store.get(found.path), name
