"""The outbound pipeline run by the outbound-messages queue trigger.

Each delivery of a task runs, in order: the business still has messaging on, consent, quiet hours,
limits, then the send. The checks and
the claim happen in one short transaction that locks the message row; the provider is called outside
any transaction; the outcome is recorded in a second one. The guard against sending twice:

- a task names the message and its dispatch number (`seq`); a task from an earlier dispatch is stale;
- a message already sent, or blocked/failed, is final: a redelivered task does nothing;
- the claim sets status `sending` with a lease: a duplicate arriving meanwhile is re-queued to look
  again after the lease; a claim whose lease ran out without an outcome (the process died between the
  provider call and the commit) may or may not have gone out, so it is failed `outcome_unknown`
  rather than risk a second text.

Quiet hours and limits re-queue the message with a visibility delay (capped at Azure's 7 days; the
next delivery checks again); transient provider errors retry with exponential backoff up to
MESSAGING_MAX_ATTEMPTS, then the message is `failed` with the provider's code.

An email's attachments are downloaded from Blob storage at delivery, outside any transaction like the
provider call: a blob that is gone fails the message `attachment_missing`, more than
MESSAGING_MAX_ATTACHMENT_BYTES together `attachments_too_large` (both permanent); storage unreachable
retries like a transient provider error.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from blueprints.crm import schemas as crm_schemas
from blueprints.identity import service as identity
from blueprints.messaging import rules, schemas
from blueprints.messaging import service as messaging
from blueprints.messaging.models import Message
from shared import audit, clock, tracing
from shared.config import get_settings
from shared.db import session_scope
from shared.errors import Forbidden, NotFound
from shared.providers import Receipt, SendError, email, twilio_messaging
from shared.storage import MAX_VISIBILITY_SECONDS, blob_service, enqueue
from shared.uploads import check_name

log = logging.getLogger(__name__)

FINAL = frozenset({"sent", "delivered", "undelivered", "failed", "blocked", "received"})
CUSTOMER_LIMIT, CUSTOMER_WINDOW = 20, timedelta(hours=24)
TENANT_LIMIT, TENANT_WINDOW = 200, timedelta(hours=1)


@dataclass(frozen=True)
class Job:
    """A claimed message and what the provider needs to send it."""

    tenant_id: uuid.UUID
    message_id: uuid.UUID
    channel: str
    to: str
    body: str
    subject: str | None
    from_number: str | None
    messaging_service_sid: str | None
    email_from: str | None
    purpose: str | None
    attachments: tuple[schemas.Attachment, ...] = ()


def process(task: schemas.OutboundTask) -> str:
    """Run one delivery of a task; returns what happened (for logs and tests)."""
    with session_scope(tenant_id=task.tenant_id) as session:
        job_or_outcome = _prepare(session, task)
    if isinstance(job_or_outcome, str):
        return job_or_outcome
    job = job_or_outcome
    try:
        receipt: Receipt | SendError = _deliver(job)
    except SendError as exc:
        receipt = exc
        provider = "twilio" if job.channel == "sms" else "smtp"
        tracing.provider_errors.add(1, {"provider": provider, "code": exc.code, "transient": exc.transient})
    with session_scope(tenant_id=task.tenant_id) as session:
        return _record(session, job, receipt)


def _locked(session: Session, tenant_id: uuid.UUID, message_id: uuid.UUID) -> Message | None:
    stmt = select(Message).where(Message.tenant_id == tenant_id, Message.id == message_id).with_for_update()
    return session.scalars(stmt).first()


def _prepare(session: Session, task: schemas.OutboundTask) -> Job | str:
    message = _locked(session, task.tenant_id, task.message_id)
    if message is None:
        return "missing"
    if task.seq != message.dispatch_seq:
        return "stale"
    if message.status in FINAL:
        return "done"
    now = clock.now()
    if message.status == "sending":
        if message.lease_until and message.lease_until > now:
            _requeue(session, message, message.lease_until + timedelta(seconds=1), status="sending", bump=False)
            return "in_flight"
        _fail(session, message, code="outcome_unknown", detail="The send was interrupted before its outcome was known")
        return "failed"
    try:
        customer = messaging.get_customer(session=session, tenant_id=message.tenant_id, customer_id=message.customer_id)  # type: ignore[arg-type]
    except NotFound:
        return _block(session, message, "customer_deleted")
    return _check(session, message, customer, now)


def _check(session: Session, message: Message, customer: crm_schemas.CustomerOut, now: datetime) -> Job | str:
    tenant, _ = identity.get_tenant(session=session, principal=messaging.system_principal(message.tenant_id))
    if messaging.MODULE not in tenant.enabled_modules:  # switched off after this was queued
        return _block(session, message, "messaging_disabled")
    consent = messaging.current_consent(
        session=session,
        tenant_id=message.tenant_id,
        customer_id=customer.id,
        channel=message.channel,
        purpose=message.purpose or "transactional",
    )
    if consent is None or not consent.granted:
        return _block(session, message, "no_consent" if consent is None else "consent_revoked")
    quiet = rules.windows(
        tenant.quiet_hours.start if tenant.quiet_hours else None, tenant.quiet_hours.end if tenant.quiet_hours else None
    )
    zone = rules.recipient_zone(
        customer_zone=customer.timezone,
        phone=message.to_address if message.channel == "sms" else None,
        tenant_zone=tenant.timezone,
    )
    # Quiet hours are calling hours: they hold texts. An email waits in the inbox until it is read, so it goes
    # at once (a lead who writes at 23:30 is answered then, not at 08:00).
    opens = rules.next_open(now, zone, quiet) if message.channel == "sms" else None
    if opens is not None:
        _requeue(session, message, opens, status="scheduled", reason="quiet_hours")
        return "scheduled"
    settings = messaging.get_settings(session=session, tenant_id=message.tenant_id)
    free_at = _limits(session, message, settings, now)
    if free_at is not None:
        _requeue(session, message, free_at, status="deferred", reason="rate_limited")
        return "deferred"
    return _claim(session, message, settings, now)


def _limits(session: Session, message: Message, settings: schemas.SettingsOut, now: datetime) -> datetime | None:
    """When the customer's and the tenant's windows have room (None: now); exact under a per-tenant lock."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"messaging-limits:{message.tenant_id}"},
    )
    checks = [
        (
            min(CUSTOMER_LIMIT, settings.limit_per_customer_day or CUSTOMER_LIMIT),
            CUSTOMER_WINDOW,
            Message.customer_id == message.customer_id,
        ),
        (min(TENANT_LIMIT, settings.limit_per_tenant_hour or TENANT_LIMIT), TENANT_WINDOW, None),
    ]
    latest: datetime | None = None
    for limit, window, extra in checks:
        conditions = [Message.tenant_id == message.tenant_id, Message.counted_at > now - window]
        if extra is not None:
            conditions.append(extra)
        count = session.scalar(select(func.count()).where(*conditions)) or 0
        if count < limit:
            continue
        # The window has room again when the (count - limit + 1)th oldest counted message ages out.
        oldest = session.scalar(
            select(Message.counted_at).where(*conditions).order_by(Message.counted_at).offset(count - limit).limit(1)
        )
        frees = (oldest or now) + window
        latest = frees if latest is None or frees > latest else latest
    return latest


def _claim(session: Session, message: Message, settings: schemas.SettingsOut, now: datetime) -> Job:
    message.status = "sending"
    message.lease_until = now + timedelta(seconds=get_settings().messaging_send_lease_seconds)
    message.attempts += 1
    message.counted_at = message.counted_at or now
    message.scheduled_for = None
    message.reason = None
    message.updated_at = now
    email_sender = settings.email_from or get_settings().smtp_from or None
    sender = email_sender if message.channel == "email" else settings.sms_from_number
    message.from_address = sender
    session.flush()
    return Job(
        tenant_id=message.tenant_id,
        message_id=message.id,
        channel=message.channel,
        to=message.to_address or "",
        body=message.body,
        subject=message.subject,
        from_number=settings.sms_from_number,
        messaging_service_sid=settings.messaging_service_sid,
        email_from=sender if message.channel == "email" else None,
        purpose=message.purpose,
        attachments=tuple(schemas.Attachment.model_validate(a) for a in message.attachments or ()),
    )


def _deliver(job: Job) -> Receipt:
    """Hand the message to its provider (outside any transaction)."""
    if job.channel == "sms":
        return twilio_messaging.send_sms(
            to=job.to,
            body=job.body,
            from_number=job.from_number,
            messaging_service_sid=job.messaging_service_sid,
            status_callback=status_callback_url(job),
        )
    if not job.email_from:
        raise SendError(code="no_sender", detail="No sender address is configured", transient=False)
    headers = {"X-Tradeops-Message-Id": str(job.message_id)}
    message = email.build(
        to=job.to,
        subject=job.subject or "",
        body=job.body,
        sender=job.email_from,
        message_key=str(job.message_id),
        headers=headers,
        attachments=_download(job),
    )
    return email.send_email(message)


def _download(job: Job) -> list[email.FileAttachment]:
    """The job's attachments' bytes from Blob storage, checked against the size cap before and while reading."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError  # heavy SDK: loaded on first use

    cap = get_settings().messaging_max_attachment_bytes
    files: list[email.FileAttachment] = []
    total = 0
    for attachment in job.attachments:
        try:  # checked at send too; a stored row is not trusted
            check_name(attachment.blob_name, tenant_id=job.tenant_id)
        except Forbidden:
            raise SendError(
                code="attachment_not_issued", detail="Not a blob of this business", transient=False
            ) from None
        container = attachment.container or get_settings().uploads_container
        blob = blob_service().get_blob_client(container, attachment.blob_name)
        try:
            size = blob.get_blob_properties().size
            if total + size > cap:
                raise _too_large(cap)
            data = blob.download_blob().readall()
        except ResourceNotFoundError:
            raise SendError(
                code="attachment_missing", detail=f"The attachment {attachment.filename} is not stored", transient=False
            ) from None
        except AzureError as exc:
            raise SendError(code="attachment_unavailable", detail=type(exc).__name__, transient=True) from None
        total += len(data)
        if total > cap:  # replaced by a bigger blob between the two calls
            raise _too_large(cap)
        files.append(
            email.FileAttachment(data=data, filename=attachment.filename, content_type=attachment.content_type)
        )
    return files


def _too_large(cap: int) -> SendError:
    detail = f"The attachments are larger than {cap} bytes together"
    return SendError(code="attachments_too_large", detail=detail, transient=False)


def status_callback_url(job: Job) -> str:
    """Where Twilio reports delivery: the public URL naming tenant and message (Twilio signs the query too)."""
    base = get_settings().public_base_url.rstrip("/")
    return f"{base}/api/webhooks/twilio/status?tenant_id={job.tenant_id}&message_id={job.message_id}"


def _record(session: Session, job: Job, outcome: Receipt | SendError) -> str:
    message = _locked(session, job.tenant_id, job.message_id)
    assert message is not None
    now = clock.now()
    message.lease_until = None
    message.updated_at = now
    if isinstance(outcome, Receipt):
        message.provider_sid = message.provider_sid or outcome.provider_id
        message.sent_at = message.sent_at or now
        # A send that outlived its lease was failed outcome_unknown meanwhile; its receipt says it went.
        unknown = message.status == "failed" and message.error_code == "outcome_unknown"
        message.error_code = message.error_detail = None
        if message.status == "sending" or unknown:  # a fast status webhook may already have moved it on
            message.status = "sent"
        message.provider_status = message.provider_status or outcome.status
        session.flush()
        audit.record(
            session,
            tenant_id=job.tenant_id,
            actor=audit.SYSTEM,
            action="messages.sent",
            entity="message",
            entity_id=message.id,
            after={"channel": job.channel, "attempts": message.attempts},
        )
        return "sent"
    message.error_code, message.error_detail = outcome.code, outcome.detail
    if outcome.transient and message.attempts < get_settings().messaging_max_attempts:
        delay = get_settings().messaging_retry_base_seconds * 2 ** (message.attempts - 1)
        _requeue(session, message, now + timedelta(seconds=min(delay, 3600)), status="queued", reason="retrying")
        log.warning("provider error %s on message %s; retry %d", outcome.code, message.id, message.attempts)
        return "retrying"
    _fail(session, message, code=outcome.code, detail=outcome.detail)
    return "failed"


def _requeue(
    session: Session, message: Message, at: datetime, *, status: str, reason: str | None = None, bump: bool = True
) -> None:
    """Put the message back on the queue to be looked at again at `at` (a new dispatch unless bump=False)."""
    if bump:
        message.dispatch_seq += 1
        message.status = status
        message.reason = reason
        message.scheduled_for = at
        message.updated_at = clock.now()
    delay = min(MAX_VISIBILITY_SECONDS, max(0, math.ceil((at - clock.now()).total_seconds())))
    session.flush()
    task = schemas.OutboundTask(tenant_id=message.tenant_id, message_id=message.id, seq=message.dispatch_seq)
    enqueue(session, schemas.OUTBOUND_QUEUE, task, delay_seconds=delay)


def _block(session: Session, message: Message, reason: str) -> str:
    message.status = "blocked"
    message.reason = reason
    message.scheduled_for = None
    message.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=message.tenant_id,
        actor=audit.SYSTEM,
        action="messages.blocked",
        entity="message",
        entity_id=message.id,
        after={"reason": reason, "channel": message.channel},
    )
    return "blocked"


def _fail(session: Session, message: Message, *, code: str, detail: str) -> None:
    message.status = "failed"
    message.error_code, message.error_detail = code[:32], detail[:500]
    message.lease_until = message.scheduled_for = None
    message.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=message.tenant_id,
        actor=audit.SYSTEM,
        action="messages.failed",
        entity="message",
        entity_id=message.id,
        after={"error_code": code[:32], "attempts": message.attempts},
    )


def give_up(task: schemas.OutboundTask) -> str:
    """The host gave up on a task (poison queue): fail the message unless it went out or is still in flight."""
    with session_scope(tenant_id=task.tenant_id) as session:
        message = _locked(session, task.tenant_id, task.message_id)
        if message is None or message.status in FINAL or task.seq != message.dispatch_seq:
            return "ignored"
        if message.status == "sending" and message.lease_until and message.lease_until > clock.now():
            _requeue(session, message, message.lease_until + timedelta(seconds=1), status="sending", bump=False)
            return "in_flight"
        _fail(
            session,
            message,
            code=message.error_code or "gave_up",
            detail=message.error_detail or "The message could not be processed",
        )
        return "failed"
