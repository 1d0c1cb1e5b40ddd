"""The customer's proposal page behind a signed link: the options with prices, the add-ons, the terms and the
validity date; the customer picks one option and any add-ons and types their name to sign, or declines.

The page is server-rendered, escapes everything it shows and needs no JavaScript. Viewing marks the
estimate viewed (the first view time is kept). Accepting records the option, add-ons, name, time, IP and
user agent, locks the revision's total, stores a signed copy of the PDF with its SHA-256, and emails it
(to the customer through messaging, consent applying; to the estimator as a notice). A link to an older
revision answers "this estimate was updated"; a second answer is 409.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from html import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.estimates import documents, followups, photos, store
from blueprints.estimates.models import Estimate, EstimateRevision
from blueprints.estimates.schemas import OptionOut, Proposal, Signed
from blueprints.estimates.sending import DOCUMENT, PROPOSAL, document_url
from blueprints.estimates.transitions import OPEN, Event, Status, next_status
from blueprints.identity import service as identity
from blueprints.messaging import schemas as messaging_schemas
from blueprints.messaging import service as messaging
from shared import audit, clock, html, signed_links
from shared.auth import system_principal
from shared.db import set_tenant
from shared.errors import AppError, Forbidden, Gone, NotFound, Unprocessable

log = logging.getLogger("tradeops.estimates")
MODULE = "estimates"
SIGNED_COPY_TTL = timedelta(days=7)
_STYLE = ".price{font-weight:600;float:right}.muted{color:#555;font-size:.9em}.status{font-weight:600}"


@dataclass
class Opened:
    """A verified link's estimate (row-locked), its revision and what was sent."""

    estimate: Estimate
    revision: EstimateRevision
    proposal: Proposal


def _open(session: Session, token: str, purpose: str = PROPOSAL) -> Opened:
    claims = signed_links.verify(token, purpose=purpose, id_count=2, expired_message="This link has expired")
    set_tenant(session, claims.tenant_id)
    tenant, _ = identity.get_tenant(session=session, principal=system_principal(claims.tenant_id))
    if MODULE not in tenant.enabled_modules:
        raise Forbidden("Estimates are not enabled for this business", code="module_disabled")
    estimate_id, revision_id = claims.ids
    estimate = session.scalars(
        select(Estimate)
        .where(Estimate.id == estimate_id, Estimate.tenant_id == claims.tenant_id, Estimate.deleted_at.is_(None))
        .with_for_update()
    ).first()
    revision = session.get(EstimateRevision, revision_id)
    if estimate is None or revision is None or revision.estimate_id != estimate.id:
        raise NotFound("No such estimate")
    return Opened(estimate=estimate, revision=revision, proposal=Proposal.model_validate(revision.snapshot))


def _current(opened: Opened) -> None:
    estimate = opened.estimate
    if opened.revision.revision != estimate.revision or estimate.status == Status.DRAFT:
        raise Gone("This estimate was updated; ask us for the new link", code="estimate_updated")


def _expired(opened: Opened) -> bool:
    estimate = opened.estimate
    late = estimate.valid_until is not None and clock.now() >= estimate.valid_until
    return estimate.status == Status.EXPIRED or (estimate.status in OPEN and late)


def _view(session: Session, opened: Opened) -> None:
    estimate = opened.estimate
    if estimate.status != Status.SENT:
        return
    estimate.status = next_status(estimate.status, Event.VIEW).value
    estimate.viewed_at = estimate.viewed_at or clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=estimate.tenant_id,
        actor=audit.SYSTEM,
        action="estimates.viewed",
        entity="estimate",
        entity_id=estimate.id,
        after={"revision": estimate.revision},
    )


def render_for_customer(*, session: Session, token: str, action: str) -> str:
    """The customer's page for a valid link (marks the estimate viewed)."""
    opened = _open(session, token)
    _current(opened)
    if not _expired(opened):
        _view(session, opened)
    return _page(opened, action)


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
    accept = (
        f'<form method="post" action="{escape(action)}"><h3>Choose an option</h3>{options}{_addons(proposal)}{terms}'
        '<label>Type your full name to sign <input type="text" name="name" autocomplete="name" maxlength="200">'
        '</label><button type="submit" name="decision" value="accept">Accept and sign</button></form>'
    )
    decline = (
        f'<form method="post" action="{escape(action)}"><h3>Not for you?</h3>'
        '<label>Tell us why (optional) <textarea name="reason" rows="2" maxlength="1000"></textarea></label>'
        '<button type="submit" name="decision" value="decline" style="background:#777">Decline</button></form>'
    )
    return html.page(f"{proposal.business_name}: {estimate.title}", intro + accept + decline, style=_STYLE)


def answer(*, session: Session, token: str, form: dict[str, str], ip: str | None, user_agent: str | None) -> None:
    """Record the customer's acceptance or decline (409 when already answered, 410 when expired or outdated)."""
    opened = _open(session, token)
    _current(opened)
    # The link answers once: a second acceptance or decline of this revision is 409.
    decided = opened.estimate.accepted_at or opened.estimate.declined_at
    signed_links.require_unused(decided, message="This estimate was already answered")
    if _expired(opened):
        raise Gone("This estimate has expired; ask us for a new one", code="estimate_expired")
    decision = form.get("decision", "")
    if decision == "accept":
        _accept(session, opened, form, ip=ip, user_agent=user_agent)
    elif decision == "decline":
        _decline(session, opened, form.get("reason", ""), ip=ip, user_agent=user_agent)
    else:
        raise Unprocessable("Choose to accept or decline", code="decision_required")


def _chosen(opened: Opened, form: dict[str, str]) -> tuple[OptionOut, list[uuid.UUID]]:
    try:
        option = opened.proposal.option(uuid.UUID(form.get("option", "")))
    except ValueError:
        option = None
    if option is None:
        raise Unprocessable("Choose one of the options", code="option_required")
    addons = [a.id for a in opened.proposal.estimate.addons if form.get(f"addon-{a.id}") == "on"]
    return option, addons


def _accept(session: Session, opened: Opened, form: dict[str, str], *, ip: str | None, user_agent: str | None) -> None:
    estimate, proposal = opened.estimate, opened.proposal
    status = next_status(estimate.status, Event.ACCEPT)  # 409 when already answered
    option, addon_ids = _chosen(opened, form)
    name = " ".join(form.get("name", "").split())[:200]
    if not name:
        raise Unprocessable("Type your name to sign", code="name_required")
    addon_cents = sum(a.price_cents for a in proposal.estimate.addons if a.id in addon_ids)
    signed = Signed(
        option_id=option.id,
        addon_ids=addon_ids,
        name=name,
        accepted_at=clock.now().replace(microsecond=0),
        ip=ip,
        user_agent=(user_agent or "")[:500] or None,
        total_cents=option.totals.total_cents + addon_cents,
    )
    pdf = documents.render(proposal, signed, pictures=photos.load_pictures(proposal.pictures))
    path = store.path_of(estimate.tenant_id, estimate.id, opened.revision.revision, signed=True)
    store.put(path, pdf)
    estimate.status, estimate.decided_revision = status.value, opened.revision.revision
    estimate.accepted_option_id, estimate.accepted_addon_ids = option.id, [str(a) for a in addon_ids]
    estimate.signer_name, estimate.accepted_at = signed.name, signed.accepted_at
    estimate.decision_ip, estimate.decision_user_agent = signed.ip, signed.user_agent
    estimate.accepted_total_cents = signed.total_cents
    estimate.signed_pdf_path, estimate.signed_pdf_sha256 = path, documents.sha256(pdf)
    estimate.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=estimate.tenant_id,
        actor=audit.Actor(ip=ip, user_agent=signed.user_agent),
        action="estimates.accepted",
        entity="estimate",
        entity_id=estimate.id,
        after={
            "revision": estimate.decided_revision,
            "option": option.name,
            "addon_ids": estimate.accepted_addon_ids,
            "signer_name": name,
            "total_cents": signed.total_cents,
            "signed_pdf_sha256": estimate.signed_pdf_sha256,
        },
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
    try:
        messaging.send(
            session=session,
            tenant_id=estimate.tenant_id,
            customer_id=estimate.customer_id,
            channel="email",
            subject=f"{proposal.business_name}: your signed proposal",
            body=body,
            purpose="transactional",
            related_type="estimate",
            related_id=estimate.id,
            dedupe_key=f"estimate-{estimate.id}-accepted",
            attachments=[attachment],
        )
    except AppError as refused:  # no email address, messaging off: the estimator's notice still goes
        log.warning("signed copy not emailed to the customer: %s", refused.code)


def _decline(session: Session, opened: Opened, reason: str, *, ip: str | None, user_agent: str | None) -> None:
    estimate = opened.estimate
    estimate.status = next_status(estimate.status, Event.DECLINE).value
    estimate.decided_revision, estimate.declined_at = opened.revision.revision, clock.now()
    estimate.decline_reason = " ".join(reason.split())[:1000] or None
    estimate.decision_ip, estimate.decision_user_agent = ip, (user_agent or "")[:500] or None
    estimate.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=estimate.tenant_id,
        actor=audit.Actor(ip=ip, user_agent=user_agent),
        action="estimates.declined",
        entity="estimate",
        entity_id=estimate.id,
        after={"revision": estimate.decided_revision, "reason": estimate.decline_reason},
    )


def document_for_customer(*, session: Session, token: str) -> tuple[bytes, str]:
    """A revision's PDF behind a signed document link (the signed copy once that revision was accepted)."""
    opened = _open(session, token, DOCUMENT)
    estimate = opened.estimate
    signed = estimate.decided_revision == opened.revision.revision and estimate.signed_pdf_path
    path = estimate.signed_pdf_path if signed else opened.revision.pdf_path
    if not path:
        raise NotFound("No such document")
    suffix = "-signed" if signed else ""
    return store.get(path), f"estimate-{estimate.id}-revision-{opened.revision.revision}{suffix}.pdf"
