"""Leads use cases: public intake, leads from texts, the staff list, status moves, the figures and settings.

This is the module's public API. Leads sits above crm and messaging and calls only their services:
a lead is matched to (or creates) a crm customer, its consent goes to messaging's ledger, and its
answers are sent with `messaging.service.send` (the responder, responder.py, decides which and when).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Float, cast, func, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from blueprints.crm import schemas as crm_schemas
from blueprints.crm import service as crm
from blueprints.identity import service as identity
from blueprints.leads import rules, schemas, transitions
from blueprints.leads.models import Lead, LeadSettings
from blueprints.messaging import schemas as messaging_schemas
from blueprints.messaging import service as messaging
from shared import audit, auth, clock, ratelimit
from shared.auth import Principal
from shared.db import set_tenant
from shared.errors import AppError, Conflict, Forbidden, NotFound, Unprocessable
from shared.etag import check_version, flush_versioned
from shared.pagination import PageQuery, paginate
from shared.storage import enqueue

MODULE = schemas.MODULE
READ_CUSTOMERS = frozenset({"customers.read", "customers.read_all", "customers.create", "customers.update"})
# A form is posted by people: a few per address, and bursts per business well above any real day's leads.
PER_IP = ratelimit.Limit("leads-intake-ip", limit=10, window_seconds=600)
PER_BUSINESS = ratelimit.Limit("leads-intake-business", limit=1000, window_seconds=600)
EMAIL_SOURCE = "lead_enquiry"  # a lead who leaves an email address asks to be answered there
SMS_SOURCE = "sms_inbound"  # a person who texts the business asks to be answered by text
CORS_MAX_AGE = "600"


def system_principal(tenant_id: uuid.UUID) -> Principal:
    """The leads module acting for a business without a user (intake, queue): sees every customer."""
    return auth.system_principal(tenant_id, permissions=READ_CUSTOMERS)


def leads_enabled(session: Session, tenant_id: uuid.UUID) -> bool:
    """Whether the business has the leads module on."""
    tenant, _ = identity.get_tenant(session=session, principal=system_principal(tenant_id))
    return MODULE in tenant.enabled_modules


# --- public intake ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    """Who posted: the business slug, the caller's address and the Origin header."""

    business_slug: str
    client_ip: str | None
    origin: str | None


def _business_for(session: Session, business_slug: str) -> uuid.UUID:
    """The business a slug names (crossing tenants on purpose, then bound to it); 404 for none or leads off."""
    tenant_id = session.scalar(text("SELECT leads_tenant_for_slug(:slug)"), {"slug": business_slug.lower()})
    if tenant_id is None:
        raise NotFound("No such business")
    set_tenant(session, tenant_id)
    if not leads_enabled(session, tenant_id):
        raise NotFound("No such business")
    return tenant_id


def cors_headers(session: Session, tenant_id: uuid.UUID, origin: str | None) -> dict[str, str]:
    """CORS headers for an allowed site origin; 403 for a browser posting from any other site."""
    if not origin:
        return {}
    allowed = _settings_row(session, tenant_id)
    normal = origin.strip().lower().rstrip("/")
    if allowed is None or normal not in allowed.site_origins:
        raise Forbidden("This site may not post leads to this business", code="origin_not_allowed")
    return {"Access-Control-Allow-Origin": origin.strip(), "Vary": "Origin"}


def cors_headers_if_allowed(*, session: Session, intake: Intake) -> dict[str, str]:
    """The CORS headers an error answer carries when the caller is one of the business's sites (else none)."""
    if not intake.origin:
        return {}
    try:
        with session.begin_nested():
            tenant_id = session.scalar(text("SELECT leads_tenant_for_slug(:slug)"), {"slug": intake.business_slug})
            if tenant_id is None:
                return {}
            set_tenant(session, tenant_id)
            return cors_headers(session, tenant_id, intake.origin)
    except (AppError, SQLAlchemyError):
        return {}


def preflight(*, session: Session, intake: Intake) -> dict[str, str]:
    """The headers answering a browser's CORS preflight for a business's form."""
    tenant_id = _business_for(session, intake.business_slug)
    headers = cors_headers(session, tenant_id, intake.origin)
    if headers:
        headers |= {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": CORS_MAX_AGE,
        }
    return headers


def submit(*, session: Session, intake: Intake, form: schemas.IntakeIn) -> dict[str, str]:
    """Take a website form's lead (rate-limited; a filled honeypot is dropped); returns the CORS headers."""
    if intake.client_ip:
        ratelimit.consume(session, limit=PER_IP, subject=intake.client_ip, detail="Too many requests from here")
    tenant_id = _business_for(session, intake.business_slug)
    headers = cors_headers(session, tenant_id, intake.origin)
    ratelimit.consume(session, limit=PER_BUSINESS, subject=str(tenant_id), detail="Too many leads; try again soon")
    if form.website:
        return headers  # a bot filled the honeypot: answered like any post, nothing kept
    if not form.reachable():
        errors = [{"loc": "body.phone", "msg": "give a phone number or an email address", "type": "missing"}]
        raise Unprocessable("Give a phone number or an email address", code="contact_required", errors=errors)
    record_lead(
        session=session,
        tenant_id=tenant_id,
        contact=Contact(
            source="form",
            name=form.name,
            phone=form.phone,
            email=rules.normal_email(str(form.email) if form.email else None),
            address=form.address,
            message=form.message,
            timezone=form.timezone,
            consent_text=form.consent_text,
            consent_given=form.consent,
        ),
    )
    return headers


def lead_from_text(*, session: Session, task: messaging_schemas.InboundFromUnknown) -> str:
    """A text from a number no customer has becomes a lead (once per inbound text); returns what happened."""
    set_tenant(session, task.tenant_id)
    if not leads_enabled(session, task.tenant_id):
        return "leads off"
    existing = session.scalar(
        select(Lead.id).where(Lead.tenant_id == task.tenant_id, Lead.inbound_message_id == task.message_id)
    )
    if existing is not None:
        return f"lead {existing} already made"
    try:
        phone = rules.normal_phone(task.from_number)
    except ValueError:
        return "sender is not a phone number"
    assert phone is not None
    lead, created = record_lead(
        session=session,
        tenant_id=task.tenant_id,
        contact=Contact(source="sms", name=phone, phone=phone, message=task.body, inbound_message_id=task.message_id),
    )
    return f"lead {lead.id} {'made' if created else 'merged'}"


def text_given_up(*, session: Session, task: messaging_schemas.InboundFromUnknown) -> str:
    """The host gave up on making a lead of an inbound text (poison queue): whether a lead has it; returns that.

    Nothing is changed: messaging keeps the text itself (stored before it was queued), so nothing is lost.
    """
    set_tenant(session, task.tenant_id)
    existing = session.scalar(
        select(Lead.id).where(Lead.tenant_id == task.tenant_id, Lead.inbound_message_id == task.message_id)
    )
    if existing is not None:
        return f"lead {existing} already made"
    return "no lead made; messaging keeps the text"


# --- matching, merging and consent -------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """One submission of a lead, normalised."""

    source: Literal["form", "sms"]
    name: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    message: str | None = None
    timezone: str | None = None
    consent_text: str | None = None
    consent_given: bool = False
    inbound_message_id: uuid.UUID | None = None


def record_lead(*, session: Session, tenant_id: uuid.UUID, contact: Contact) -> tuple[Lead, bool]:
    """Match or create the customer, record consent, and make a lead or merge into one of the last 24 h.

    Submissions with the same phone or email are serialised by an advisory lock per contact key, so two
    copies posted at once are one customer and one lead. A new lead's first answer is queued after commit.
    """
    keys = sorted(k for k in (contact.phone, contact.email) if k)
    for key in keys:
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"leads:{tenant_id}:{key}"}
        )
    customer = _match_or_create_customer(session, tenant_id, contact)
    consent_source = _record_consent(session, tenant_id, customer, contact)
    now = clock.now()
    lead = session.scalars(
        select(Lead)
        .where(
            Lead.tenant_id == tenant_id,
            Lead.customer_id == customer.id,
            Lead.created_at > now - rules.MERGE_WINDOW,
        )
        .order_by(Lead.created_at.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if lead is not None:
        _merge(lead, contact, consent_source, now)
        session.flush()
        return lead, False
    lead = Lead(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        customer_id=customer.id,
        source=contact.source,
        status=transitions.Status.NEW.value,
        name=contact.name,
        phone=contact.phone,
        email=contact.email,
        address=contact.address,
        message=contact.message,
        timezone=contact.timezone,
        consent_text=contact.consent_text,
        consent_given=contact.consent_given,
        consent_source=consent_source,
        inbound_message_id=contact.inbound_message_id,
        submissions=1,
        last_submitted_at=now,
        answer_state="pending",
        follow_ups_sent=0,
        created_at=now,
        updated_at=now,
    )
    session.add(lead)
    session.flush()
    enqueue(session, schemas.RESPONDER_QUEUE, schemas.LeadTask(tenant_id=tenant_id, lead_id=lead.id, kind="answer"))
    audit.record(
        session,
        tenant_id=tenant_id,
        actor=audit.SYSTEM,
        action="leads.received",
        entity="lead",
        entity_id=lead.id,
        after={"source": contact.source, "customer_id": str(customer.id)},
    )
    return lead, True


def _merge(lead: Lead, contact: Contact, consent_source: str | None, now: datetime) -> None:
    """A repeat within 24 h: one lead, counted, with whatever the repeat adds."""
    lead.submissions += 1
    lead.last_submitted_at = now
    lead.updated_at = now
    lead.phone = lead.phone or contact.phone
    lead.email = lead.email or contact.email
    lead.address = lead.address or contact.address
    lead.timezone = lead.timezone or contact.timezone
    if contact.message and contact.message != lead.message:
        lead.message = f"{lead.message}\n\n{contact.message}" if lead.message else contact.message
    if contact.consent_given:
        lead.consent_given, lead.consent_text = True, contact.consent_text or lead.consent_text
        lead.consent_source = consent_source or lead.consent_source


def _owner_id(session: Session, tenant_id: uuid.UUID) -> uuid.UUID:
    """The business's first active owner by name: new customers from leads are theirs."""
    page = identity.list_users(session=session, principal=system_principal(tenant_id), query=PageQuery(limit=200))
    owners = [u for u in page.items if u.role == "owner" and not u.disabled]
    if not owners:
        raise Conflict("The business has no active owner to give the lead to", code="no_owner")
    return owners[0].id


def _customers(session: Session, tenant_id: uuid.UUID, **match: str) -> list[crm_schemas.CustomerOut]:
    query = crm_schemas.CustomerQuery(limit=5, **match)  # type: ignore[arg-type]
    return list(crm.list_customers(session=session, principal=system_principal(tenant_id), query=query).items)


def _match_or_create_customer(session: Session, tenant_id: uuid.UUID, contact: Contact) -> crm_schemas.CustomerOut:
    """The customer with the lead's phone, else its email (filling in what they lacked), else a new one."""
    found = (_customers(session, tenant_id, phone=contact.phone) if contact.phone else []) or (
        _customers(session, tenant_id, email=contact.email) if contact.email else []
    )
    if found:
        customer = found[0]
        missing: dict[str, Any] = {}
        if contact.phone and not customer.phone:
            missing["phone"] = contact.phone
        if contact.email and not customer.email:
            missing["email"] = contact.email
        if missing:
            customer, _ = crm.update_customer(
                session=session,
                principal=system_principal(tenant_id),
                customer_id=customer.id,
                patch=crm_schemas.CustomerPatch(**missing),
                expected=None,
                actor=audit.SYSTEM,
            )
        return customer
    tenant, _ = identity.get_tenant(session=session, principal=system_principal(tenant_id))
    owner = Principal(
        user_id=_owner_id(session, tenant_id), tenant_id=tenant_id, role="system", permissions=READ_CUSTOMERS
    )
    customer_in = crm_schemas.CustomerIn(
        name=contact.name,
        phone=contact.phone,
        email=contact.email,
        address=contact.address,
        # The lead's zone when the site sent it, else the business's: messaging's quiet hours then agree with ours.
        timezone=contact.timezone or tenant.timezone,
    )
    customer, _ = crm.create_customer(session=session, principal=owner, customer_in=customer_in)
    return customer


def _record_consent(
    session: Session, tenant_id: uuid.UUID, customer: crm_schemas.CustomerOut, contact: Contact
) -> str | None:
    """Record what the submission consents to in messaging's ledger; returns the form consent's source."""
    source: str | None = None
    if contact.phone and contact.consent_given:
        source = rules.consent_source(contact.consent_text) if contact.consent_text else "lead_form"
        messaging.record_consent(
            session=session,
            tenant_id=tenant_id,
            customer_id=customer.id,
            channel="sms",
            purpose="transactional",
            granted=True,
            source=source,
        )
    implied = [("email", EMAIL_SOURCE)] if contact.email else []
    if contact.source == "sms":
        implied.append(("sms", SMS_SOURCE))
    for channel, implied_source in implied:
        # Asking to be answered is consent to that answer, but never overrides a recorded choice.
        current = messaging.current_consent(
            session=session, tenant_id=tenant_id, customer_id=customer.id, channel=channel, purpose="transactional"
        )
        if current is None:
            messaging.record_consent(
                session=session,
                tenant_id=tenant_id,
                customer_id=customer.id,
                channel=channel,  # type: ignore[arg-type]
                purpose="transactional",
                granted=True,
                source=implied_source,
            )
    return source


# --- staff ---------------------------------------------------------------------------------------------


def lead_out(lead: Lead) -> schemas.LeadOut:
    """A lead row as the API shows it."""
    seconds = (lead.first_response_at - lead.created_at).total_seconds() if lead.first_response_at else None
    return schemas.LeadOut.model_validate(lead).model_copy(update={"seconds_to_first_response": seconds})


def lead_or_raise(session: Session, tenant_id: uuid.UUID, lead_id: uuid.UUID, *, lock: bool = False) -> Lead:
    """A lead of the business (404 otherwise)."""
    stmt = select(Lead).where(Lead.tenant_id == tenant_id, Lead.id == lead_id)
    lead = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if lead is None:
        raise NotFound("No such lead")
    return lead


def list_leads(*, session: Session, principal: Principal, query: schemas.LeadQuery) -> schemas.LeadPage:
    """The business's leads, newest first, filtered."""
    stmt = select(Lead).where(Lead.tenant_id == principal.tenant_id)
    if query.status:
        stmt = stmt.where(Lead.status == query.status)
    if query.source:
        stmt = stmt.where(Lead.source == query.source)
    if query.answered is not None:
        stmt = stmt.where(Lead.first_response_at.isnot(None) if query.answered else Lead.first_response_at.is_(None))
    if query.since:
        stmt = stmt.where(Lead.created_at >= query.since)
    rows, cursor = paginate(session, stmt, keys=[Lead.created_at, Lead.id], query=query, descending=True)
    return schemas.LeadPage(items=[lead_out(r) for r in rows], next_cursor=cursor)


def get_lead(*, session: Session, principal: Principal, lead_id: uuid.UUID) -> tuple[schemas.LeadDetail, int]:
    """One lead with its first answer (the message as messaging holds it), and its version."""
    lead = lead_or_raise(session, principal.tenant_id, lead_id)
    answer = None
    if lead.answer_message_id is not None:
        thread = messaging.list_thread(
            session=session, tenant_id=principal.tenant_id, related_type="lead", related_id=lead.id, limit=50
        )
        answer = next((m for m in thread if m.id == lead.answer_message_id), None)
    detail = schemas.LeadDetail(**lead_out(lead).model_dump(), answer=answer)
    return detail, lead.version


def update_status(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    lead_id: uuid.UUID,
    patch: schemas.LeadPatch,
    expected: frozenset[int] | None,
) -> tuple[schemas.LeadOut, int]:
    """Move a lead along the status table (409 for a move it refuses, 412 for a stale ETag)."""
    lead = lead_or_raise(session, principal.tenant_id, lead_id, lock=True)
    check_version(lead.version, expected)
    before = lead.status
    if patch.status == before:
        return lead_out(lead), lead.version
    lead.status = transitions.next_status(before, patch.status).value
    now = clock.now()
    if lead.status == transitions.Status.CONTACTED and lead.contacted_at is None:
        lead.contacted_at = now
    if lead.status not in transitions.OPEN and lead.follow_ups_stopped is None:
        lead.follow_ups_stopped = "status"
    lead.updated_at = now
    flush_versioned(session)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="leads.status_changed",
        entity="lead",
        entity_id=lead.id,
        before={"status": before},
        after={"status": lead.status},
    )
    return lead_out(lead), lead.version


def stats(*, session: Session, principal: Principal) -> schemas.LeadStats:
    """Median and p95 seconds from a lead's arrival to its first answer's acceptance, by source, this week."""
    tenant, _ = identity.get_tenant(session=session, principal=principal)
    since = rules.week_start(clock.now(), rules.lead_zone(None, tenant.timezone))
    waited = cast(func.extract("epoch", Lead.first_response_at - Lead.created_at), Float)
    rows = session.execute(
        select(
            Lead.source,
            func.count(),
            func.count(Lead.first_response_at),
            func.percentile_disc(0.5).within_group(waited),
            func.percentile_disc(0.95).within_group(waited),
        )
        .where(Lead.tenant_id == principal.tenant_id, Lead.created_at >= since)
        .group_by(Lead.source)
        .order_by(Lead.source)
    ).all()
    by_source = [
        schemas.SourceStats.model_validate(
            {"source": s, "leads": n, "answered": a, "median_seconds": med, "p95_seconds": p95}
        )
        for s, n, a, med, p95 in rows
    ]
    return schemas.LeadStats(since=since, by_source=by_source)


# --- settings ----------------------------------------------------------------------------------------------


def _settings_row(session: Session, tenant_id: uuid.UUID) -> LeadSettings | None:
    return session.get(LeadSettings, tenant_id)


def settings_of(session: Session, tenant_id: uuid.UUID) -> schemas.LeadSettingsIn | None:
    """The business's lead settings as saved, or None before the owner saved any."""
    row = _settings_row(session, tenant_id)
    if row is None:
        return None
    return schemas.LeadSettingsIn.model_validate(
        {name: getattr(row, name) for name in schemas.LeadSettingsIn.model_fields}
    )


def get_settings(*, session: Session, principal: Principal) -> schemas.LeadSettingsOut:
    """The business's lead settings (the defaults, without a slug, before any were saved)."""
    row = _settings_row(session, principal.tenant_id)
    if row is None:
        defaults = schemas.LeadSettingsIn(slug="unset").model_dump()
        return schemas.LeadSettingsOut.model_validate({**defaults, "slug": None, "updated_at": None})
    return schemas.LeadSettingsOut.model_validate(row)


def save_settings(
    *, session: Session, principal: Principal, actor: audit.Actor, settings_in: schemas.LeadSettingsIn
) -> schemas.LeadSettingsOut:
    """Replace the business's lead settings (a slug belongs to one business: 409)."""
    row = _settings_row(session, principal.tenant_id)
    before = schemas.LeadSettingsOut.model_validate(row).model_dump(mode="json") if row else None
    values = settings_in.model_dump()
    values["site_origins"] = sorted(set(values["site_origins"]))
    if row is None:
        row = LeadSettings(tenant_id=principal.tenant_id, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    row.updated_at = clock.now()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("Another business uses this slug", code="slug_taken") from None
    after = schemas.LeadSettingsOut.model_validate(row)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="leads.settings_updated",
        entity="tenant",
        entity_id=principal.tenant_id,
        before=before,
        after=after.model_dump(mode="json"),
    )
    return after
