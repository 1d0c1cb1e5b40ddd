"""Messaging use cases: send a message, read a thread, keep the consent ledger, templates and settings.

This is the module's public API: other modules call `send`, `list_thread` and `record_consent` (and
import schemas.py), never the provider. A message is written here and queued after commit; the
outbound pipeline (pipeline.py) decides whether, when and how it goes out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blueprints.crm import schemas as crm_schemas
from blueprints.crm import service as crm
from blueprints.identity import service as identity
from blueprints.messaging import rules, schemas
from blueprints.messaging.models import ConsentEvent, Message, MessageTemplate, MessagingSettings
from shared import audit, auth, clock, uploads
from shared.auth import Principal
from shared.db import set_tenant
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.pagination import PageQuery, paginate
from shared.storage import enqueue

DEFAULT_FOOTER = "Reply STOP to opt out."
DEFAULT_HELP = "{business_name}: reply STOP to opt out, START to opt back in. Msg&data rates may apply."
# A transactional thread repeats the opt-out footer when the customer has not seen it for this long.
FOOTER_INTERVAL = timedelta(days=30)
MODULE = schemas.MODULE  # the feature flag a business switches messaging on and off with


def system_principal(tenant_id: uuid.UUID) -> Principal:
    """The messaging module acting for a tenant without a user (queue, webhooks): sees every customer."""
    return auth.system_principal(tenant_id, permissions=frozenset({"customers.read", "customers.read_all"}))


def _bind(session: Session, tenant_id: uuid.UUID) -> None:
    """Bind an unbound transaction to the business; one bound to another business is a programming error."""
    bound = session.info.get("tenant_id")
    if bound == str(tenant_id):
        return
    if bound is not None:
        raise RuntimeError("this transaction belongs to another business; messaging will not switch it")
    set_tenant(session, tenant_id)


def messaging_enabled(*, session: Session, tenant_id: uuid.UUID) -> bool:
    """Whether the business has the messaging module on (off: nothing is queued or sent for it)."""
    tenant, _ = identity.get_tenant(session=session, principal=system_principal(tenant_id))
    return MODULE in tenant.enabled_modules


def get_customer(*, session: Session, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> crm_schemas.CustomerOut:
    """A live customer of the tenant (404 otherwise)."""
    customer, _ = crm.get_customer(session=session, principal=system_principal(tenant_id), customer_id=customer_id)
    return customer


# --- the public API ------------------------------------------------------------------------------


def texts_open_at(*, now: datetime, zone: ZoneInfo, quiet_hours: tuple[time, time] | None) -> datetime | None:
    """When a text to someone in `zone` may go out (UTC), None when it may go now: the law's quiet hours plus the
    business's own, the rule the outbound pipeline holds texts to."""
    start, end = quiet_hours if quiet_hours else (None, None)
    return rules.next_open(now, zone, rules.windows(start, end))


def send(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    customer_id: uuid.UUID,
    channel: Literal["sms", "email"],
    body: str,
    purpose: Literal["transactional", "marketing"],
    subject: str | None = None,
    related_type: str | None = None,
    related_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
    attachments: Sequence[schemas.Attachment] = (),
) -> schemas.MessageOut:
    """Write an outbound message (status queued) and queue it after commit; a repeated dedupe_key returns the first.

    403 (module_disabled) when the business has switched messaging off; attachments go by email only (422 for a
    text) and each must be a blob name issued to this business (403 upload_not_issued).
    """
    _bind(session, tenant_id)
    if not messaging_enabled(session=session, tenant_id=tenant_id):
        raise Forbidden("The messaging module is not enabled for this business", code="module_disabled")
    _check_attachments(tenant_id, channel, attachments)
    if dedupe_key is not None:
        existing = _by_dedupe_key(session, tenant_id, dedupe_key)
        if existing is not None:
            return schemas.MessageOut.model_validate(existing)
    customer = get_customer(session=session, tenant_id=tenant_id, customer_id=customer_id)
    to_address = _address(customer, channel)
    if channel == "email" and not subject:
        raise Unprocessable("An email needs a subject", code="subject_required")
    if channel == "sms" and _needs_footer(session, tenant_id, customer_id, purpose):
        body = rules.with_footer(body, get_settings(session=session, tenant_id=tenant_id).sms_footer)
    now = clock.now()
    message_id = uuid.uuid4()
    values = dict(
        id=message_id,
        tenant_id=tenant_id,
        customer_id=customer_id,
        direction="outbound",
        channel=channel,
        purpose=purpose,
        status="queued",
        subject=subject,
        body=body,
        to_address=to_address,
        related_type=related_type,
        related_id=related_id,
        dedupe_key=dedupe_key,
        actor_user_id=actor_user_id,
        attempts=0,
        dispatch_seq=0,
        attachments=[a.model_dump() for a in attachments],
        created_at=now,
        updated_at=now,
    )
    stmt = insert(Message).values(**values)
    if dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["tenant_id", "dedupe_key"], index_where=Message.dedupe_key.isnot(None)
        )
    if session.execute(stmt.returning(Message.id)).scalar() is None:  # another caller won the dedupe race
        found = _by_dedupe_key(session, tenant_id, dedupe_key or "")
        assert found is not None
        return schemas.MessageOut.model_validate(found)
    enqueue(session, schemas.OUTBOUND_QUEUE, schemas.OutboundTask(tenant_id=tenant_id, message_id=message_id, seq=0))
    audit.record(
        session,
        tenant_id=tenant_id,
        actor=audit.Actor(user_id=actor_user_id),
        action="messages.queued",
        entity="message",
        entity_id=message_id,
        after={"channel": channel, "purpose": purpose, "customer_id": str(customer_id)}
        | ({"attachments": [a.filename for a in attachments]} if attachments else {}),
    )
    message = session.get(Message, message_id)
    assert message is not None
    return schemas.MessageOut.model_validate(message)


def _check_attachments(tenant_id: uuid.UUID, channel: str, attachments: Sequence[schemas.Attachment]) -> None:
    if not attachments:
        return
    if channel != "email":
        raise Unprocessable("A text message cannot carry attachments; send them by email", code="sms_attachments")
    if len(attachments) > schemas.MAX_ATTACHMENTS:
        raise Unprocessable(f"At most {schemas.MAX_ATTACHMENTS} attachments per email", code="too_many_attachments")
    for attachment in attachments:
        uploads.check_name(attachment.blob_name, tenant_id=tenant_id)


def list_thread(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    customer_id: uuid.UUID | None = None,
    related_type: str | None = None,
    related_id: uuid.UUID | None = None,
    limit: int = 20,
) -> list[schemas.MessageOut]:
    """The newest `limit` messages of a customer's or a record's thread, inbound and outbound, newest last."""
    _bind(session, tenant_id)
    items, _ = _thread_page(
        session,
        tenant_id,
        customer_id=customer_id,
        related_type=related_type,
        related_id=related_id,
        page=PageQuery(limit=max(1, min(limit, 200))),
    )
    return items


def _thread_page(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None,
    related_type: str | None,
    related_id: uuid.UUID | None,
    page: PageQuery,
) -> tuple[list[schemas.MessageOut], str | None]:
    """One statement: the newest page before the cursor, returned oldest first, and the cursor to older ones."""
    conditions = _thread_conditions(
        tenant_id, customer_id=customer_id, related_type=related_type, related_id=related_id
    )
    rows, older = paginate(
        session, select(Message).where(*conditions), keys=[Message.created_at, Message.id], query=page, descending=True
    )
    return [schemas.MessageOut.model_validate(m) for m in reversed(rows)], older


def recent_thread(*, tenant_id: Any, customer_id: Any, limit: int = 20) -> Select:
    """A customer's newest `limit` messages (MessageOut's columns) as a select another read may embed.

    tenant_id and customer_id may be values or SQL expressions (a bound parameter, a scalar subquery).
    """
    columns = [Message.__table__.c[name] for name in schemas.MessageOut.model_fields]
    return (
        select(*columns)
        .where(*_thread_conditions(tenant_id, customer_id=customer_id))
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(max(1, min(limit, 200)))
    )


def _thread_conditions(
    tenant_id: Any, *, customer_id: Any = None, related_type: str | None = None, related_id: uuid.UUID | None = None
) -> list[Any]:
    conditions: list[Any] = [Message.tenant_id == tenant_id]
    if customer_id is not None:
        conditions.append(Message.customer_id == customer_id)
    if related_type is not None or related_id is not None:
        conditions += [Message.related_type == related_type, Message.related_id == related_id]
    return conditions


def record_consent(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    customer_id: uuid.UUID,
    channel: Literal["sms", "email"],
    purpose: Literal["transactional", "marketing"],
    granted: bool,
    source: str,
    actor_user_id: uuid.UUID | None = None,
) -> schemas.ConsentOut:
    """Append a grant or revocation to the consent ledger (kept with its source and time) and audit it."""
    _bind(session, tenant_id)
    get_customer(session=session, tenant_id=tenant_id, customer_id=customer_id)
    current = current_consent(
        session=session, tenant_id=tenant_id, customer_id=customer_id, channel=channel, purpose=purpose
    )
    event = ConsentEvent(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        customer_id=customer_id,
        channel=channel,
        purpose=purpose,
        granted=granted,
        source=source[:64],
        actor_user_id=actor_user_id,
        created_at=clock.now(),
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        tenant_id=tenant_id,
        actor=audit.Actor(user_id=actor_user_id),
        action="consent.granted" if granted else "consent.revoked",
        entity="customer",
        entity_id=customer_id,
        before={"granted": current.granted if current else None},
        after={"channel": channel, "purpose": purpose, "granted": granted, "source": source[:64]},
    )
    return schemas.ConsentOut.model_validate(event)


# --- consent ---------------------------------------------------------------------------------------


def current_consent(
    *, session: Session, tenant_id: uuid.UUID, customer_id: uuid.UUID, channel: str, purpose: str
) -> schemas.ConsentOut | None:
    """The latest ledger entry for a customer, channel and purpose (None: never asked)."""
    stmt = (
        select(ConsentEvent)
        .where(
            ConsentEvent.tenant_id == tenant_id,
            ConsentEvent.customer_id == customer_id,
            ConsentEvent.channel == channel,
            ConsentEvent.purpose == purpose,
        )
        .order_by(ConsentEvent.created_at.desc(), ConsentEvent.id.desc())
        .limit(1)
    )
    event = session.scalars(stmt).first()
    return schemas.ConsentOut.model_validate(event) if event else None


def list_consents(*, session: Session, principal: Principal, customer_id: uuid.UUID) -> schemas.Consents:
    """A visible customer's current consent per channel and purpose."""
    crm.get_customer(session=session, principal=principal, customer_id=customer_id)
    stmt = (
        select(ConsentEvent)
        .distinct(ConsentEvent.channel, ConsentEvent.purpose)
        .where(ConsentEvent.tenant_id == principal.tenant_id, ConsentEvent.customer_id == customer_id)
        .order_by(ConsentEvent.channel, ConsentEvent.purpose, ConsentEvent.created_at.desc(), ConsentEvent.id.desc())
    )
    return schemas.Consents(items=[schemas.ConsentOut.model_validate(e) for e in session.scalars(stmt).all()])


def change_consent(
    *, session: Session, principal: Principal, customer_id: uuid.UUID, consent_in: schemas.ConsentIn
) -> schemas.ConsentOut:
    """A user records consent given (or withdrawn) in person, on paper or by phone for a visible customer."""
    crm.get_customer(session=session, principal=principal, customer_id=customer_id)
    return record_consent(
        session=session,
        tenant_id=principal.tenant_id,
        customer_id=customer_id,
        channel=consent_in.channel,
        purpose=consent_in.purpose,
        granted=consent_in.granted,
        source=consent_in.source,
        actor_user_id=principal.user_id,
    )


# --- sending on behalf of a user -------------------------------------------------------------------


def send_for_user(*, session: Session, principal: Principal, message_in: schemas.MessageIn) -> schemas.MessageOut:
    """A user's message to a customer they may see: a body, or a template filled with values (422 if any is missing)."""
    customer, _ = crm.get_customer(session=session, principal=principal, customer_id=message_in.customer_id)
    body, subject, purpose = message_in.body, message_in.subject, message_in.purpose
    if message_in.template_id is not None:
        template = _template_or_raise(session, principal.tenant_id, message_in.template_id)
        if template.channel != message_in.channel:
            raise Unprocessable(f"This template is for {template.channel}", code="template_channel_mismatch")
        tenant, _ = identity.get_tenant(session=session, principal=principal)
        values = {
            "first_name": customer.name.split()[0],
            "customer_name": customer.name,
            "business_name": tenant.name,
            **message_in.values,
        }
        body, subject = _render(template.body, values), _render(template.subject, values) or subject
        purpose = cast(schemas.Purpose, template.purpose)
    related = message_in.related
    return send(
        session=session,
        tenant_id=principal.tenant_id,
        customer_id=customer.id,
        channel=message_in.channel,
        body=body or "",
        purpose=purpose,
        subject=subject,
        related_type=related.type if related else None,
        related_id=related.id if related else None,
        actor_user_id=principal.user_id,
    )


def thread_for_user(*, session: Session, principal: Principal, query: schemas.ThreadQuery) -> schemas.Thread:
    """A thread the caller may see: roles that do not see every customer must name a customer they see."""
    if query.customer_id is not None:
        crm.get_customer(session=session, principal=principal, customer_id=query.customer_id)
    elif not principal.has("customers.read_all"):
        raise Unprocessable("Name the customer (customer_id) whose thread you want", code="customer_required")
    items, older = _thread_page(
        session,
        principal.tenant_id,
        customer_id=query.customer_id,
        related_type=query.related_type,
        related_id=query.related_id,
        page=PageQuery(limit=query.limit, cursor=query.cursor),
    )
    return schemas.Thread(items=items, next_cursor=older)


def get_message(*, session: Session, principal: Principal, message_id: uuid.UUID) -> schemas.MessageOut:
    """One message of a customer the caller may see."""
    message = session.scalars(
        select(Message).where(Message.tenant_id == principal.tenant_id, Message.id == message_id)
    ).first()
    if message is None:
        raise NotFound("No such message")
    if message.customer_id is not None:
        try:
            crm.get_customer(session=session, principal=principal, customer_id=message.customer_id)
        except NotFound:
            raise NotFound("No such message") from None
    elif not principal.has("customers.read_all"):
        raise NotFound("No such message")
    return schemas.MessageOut.model_validate(message)


# --- templates -------------------------------------------------------------------------------------


def _render(text: str | None, values: dict[str, str]) -> str | None:
    if text is None:
        return None
    try:
        return rules.render(text, values)
    except rules.TemplateError as exc:
        errors = [{"loc": "body.values", "msg": p, "type": "missing"} for p in exc.problems]
        raise Unprocessable(
            "The template needs values that were not given", code="template_values_missing", errors=errors
        ) from None


def _check_template(template_in: schemas.TemplateIn) -> None:
    texts = [template_in.body] + ([template_in.subject] if template_in.subject else [])
    try:
        rules.check_template(texts, set(template_in.placeholders))
    except rules.TemplateError as exc:
        errors = [{"loc": "body.body", "msg": p, "type": "placeholder"} for p in exc.problems]
        raise Unprocessable(
            "The template has placeholders that cannot be filled", code="invalid_placeholder", errors=errors
        ) from None


def _template_or_raise(session: Session, tenant_id: uuid.UUID, template_id: uuid.UUID) -> MessageTemplate:
    template = session.scalars(
        select(MessageTemplate).where(MessageTemplate.tenant_id == tenant_id, MessageTemplate.id == template_id)
    ).first()
    if template is None:
        raise NotFound("No such template")
    return template


def list_templates(*, session: Session, principal: Principal) -> schemas.Templates:
    """The business's templates by name."""
    stmt = (
        select(MessageTemplate).where(MessageTemplate.tenant_id == principal.tenant_id).order_by(MessageTemplate.name)
    )
    return schemas.Templates(items=[schemas.TemplateOut.model_validate(t) for t in session.scalars(stmt).all()])


def save_template(
    *, session: Session, principal: Principal, template_in: schemas.TemplateIn, template_id: uuid.UUID | None = None
) -> schemas.TemplateOut:
    """Create (or replace) a template after checking every placeholder can be filled (422 otherwise)."""
    _check_template(template_in)
    now = clock.now()
    values = template_in.model_dump()
    values["placeholders"] = sorted(set(template_in.placeholders))
    if template_id is None:
        template = MessageTemplate(
            id=uuid.uuid4(), tenant_id=principal.tenant_id, created_at=now, updated_at=now, **values
        )
        session.add(template)
    else:
        template = _template_or_raise(session, principal.tenant_id, template_id)
        for name, value in values.items():
            setattr(template, name, value)
        template.updated_at = now
    _flush_unique(session, "A template with this name exists", code="template_name_taken")
    return schemas.TemplateOut.model_validate(template)


def delete_template(*, session: Session, principal: Principal, template_id: uuid.UUID) -> None:
    """Remove a template (messages already sent keep their text)."""
    session.delete(_template_or_raise(session, principal.tenant_id, template_id))
    session.flush()


def _flush_unique(session: Session, detail: str, *, code: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(detail, code=code) from None


# --- settings ----------------------------------------------------------------------------------------


def get_settings(*, session: Session, tenant_id: uuid.UUID) -> schemas.SettingsOut:
    """The tenant's messaging settings (defaults when never saved)."""
    row = session.get(MessagingSettings, tenant_id)
    if row is None:
        return schemas.SettingsOut(
            sms_from_number=None,
            messaging_service_sid=None,
            email_from=None,
            sms_footer=DEFAULT_FOOTER,
            help_text=DEFAULT_HELP,
            limit_per_customer_day=None,
            limit_per_tenant_hour=None,
        )
    return schemas.SettingsOut.model_validate(row)


def save_settings(
    *, session: Session, principal: Principal, settings_in: schemas.SettingsIn, actor: audit.Actor
) -> schemas.SettingsOut:
    """Replace the business's messaging settings (a number or service belongs to one business: 409)."""
    before = get_settings(session=session, tenant_id=principal.tenant_id)
    values = settings_in.model_dump()
    values["help_text"] = values["help_text"] or DEFAULT_HELP
    row = session.get(MessagingSettings, principal.tenant_id)
    if row is None:
        row = MessagingSettings(tenant_id=principal.tenant_id, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    row.updated_at = clock.now()
    _flush_unique(session, "This number or messaging service belongs to another business", code="sender_taken")
    after = schemas.SettingsOut.model_validate(row)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="messaging.settings_updated",
        entity="tenant",
        entity_id=principal.tenant_id,
        before=audit.snapshot(before, exclude={"updated_at"}),
        after=audit.snapshot(after, exclude={"updated_at"}),
    )
    return after


# --- helpers -----------------------------------------------------------------------------------------


def _by_dedupe_key(session: Session, tenant_id: uuid.UUID, dedupe_key: str) -> Message | None:
    stmt = select(Message).where(Message.tenant_id == tenant_id, Message.dedupe_key == dedupe_key)
    return session.scalars(stmt).first()


def _address(customer: crm_schemas.CustomerOut, channel: str) -> str:
    address = customer.phone if channel == "sms" else customer.email
    if not address:
        kind = "mobile number" if channel == "sms" else "email address"
        raise Unprocessable(f"This customer has no {kind}", code=f"no_{'phone' if channel == 'sms' else 'email'}")
    return address


def _needs_footer(session: Session, tenant_id: uuid.UUID, customer_id: uuid.UUID, purpose: str) -> bool:
    """Marketing always carries the footer; a transactional thread when the customer has not seen it lately."""
    if purpose == "marketing":
        return True
    since = clock.now() - FOOTER_INTERVAL
    recent = select(func.count()).where(
        Message.tenant_id == tenant_id,
        Message.customer_id == customer_id,
        Message.direction == "outbound",
        Message.channel == "sms",
        Message.created_at > since,
        Message.status.notin_(("blocked", "failed")),
    )
    return not session.scalar(recent)
