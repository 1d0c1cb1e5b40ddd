"""The lead responder run by the lead-responses queue trigger: first answer, its confirmation, follow-ups,
the owner's notice.

Every task names a lead and what to do (`kind`); each delivery locks the lead row first, so copies of a
task handled at once run one after the other, and each kind checks what the lead already records:

- `answer`: SMS when consent allows and it is not quiet hours in the lead's zone (its own zone when known,
  else the business's), else email (rules.first_answer). In quiet hours a lead who may be emailed gets the
  email at once (messaging holds only texts in quiet hours); one who may only be texted gets the SMS at the
  opening hour (this task again, with a queue visibility delay). The owner is told whenever the answer does
  not go at once, and about a lead no channel reaches. The message
  goes through `messaging.service.send` with the dedupe key `lead:<id>:answer`, so however often the task is
  delivered there is one answer. Follow-ups are queued with it.
- `confirm`: records `first_response_at` once messaging has it: the message's `sent_at`, set when the
  provider accepted it (Twilio answered 201, the SMTP relay 250). Until then it looks again with a backoff.
- `follow_up` (n: which one): sent only while the lead is `new`, has not replied and is answered at all.
- `notify_owner`: the one task that calls a provider itself (an email to the owner, who is no customer).
  It claims the notice in a short transaction that leases it, sends outside any transaction, and records
  the outcome in a second one; a copy arriving during the lease looks again after it.

Answer, confirm and follow-up run in one transaction each: they call no provider (messaging.send writes
the message and queues it after commit).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.identity import service as identity
from blueprints.leads import rules, schemas, service, transitions
from blueprints.leads.models import Lead
from blueprints.messaging import service as messaging
from shared import audit, clock
from shared.config import get_settings
from shared.db import session_scope
from shared.errors import AppError, NotFound
from shared.pagination import PageQuery
from shared.providers import Receipt, SendError, email
from shared.storage import MAX_VISIBILITY_SECONDS, enqueue

log = logging.getLogger(__name__)

NOT_SENT = frozenset({"blocked", "failed", "undelivered"})
NOTICE_LEASE = timedelta(seconds=60)
NOTICE_ATTEMPTS = 5
CONFIRM_POLLS = 200  # about 100 minutes of looking at a message that is neither sent nor final


def process(task: schemas.LeadTask) -> str:
    """Run one delivery of a task; returns what happened (the handler's log line)."""
    if task.kind == "notify_owner":
        return _notify_owner(task)
    with session_scope(tenant_id=task.tenant_id) as session:
        lead = _locked(session, task)
        if lead is None:
            return "missing"
        if task.kind == "answer":
            return _answer(session, lead)
        if task.kind == "confirm":
            return _confirm(session, lead, task.n)
        return _follow_up(session, lead, task.n)


def _locked(session: Session, task: schemas.LeadTask) -> Lead | None:
    stmt = select(Lead).where(Lead.tenant_id == task.tenant_id, Lead.id == task.lead_id).with_for_update()
    return session.scalars(stmt).first()


def _later(session: Session, lead: Lead, kind: schemas.TaskKind, at: datetime, n: int = 0) -> None:
    delay = min(MAX_VISIBILITY_SECONDS, max(0, math.ceil((at - clock.now()).total_seconds())))
    task = schemas.LeadTask(tenant_id=lead.tenant_id, lead_id=lead.id, kind=kind, n=n)
    enqueue(session, schemas.RESPONDER_QUEUE, task, delay_seconds=delay)


def _values(lead: Lead, business_name: str) -> dict[str, str]:
    first = lead.name.split()[0] if lead.name.strip() and not lead.name.startswith("+") else "there"
    return {"first_name": first, "customer_name": lead.name, "business_name": business_name}


# --- the first answer -------------------------------------------------------------------------------------


def _answer(session: Session, lead: Lead) -> str:
    if lead.answer_message_id is not None:
        return "already answered"
    if lead.status not in transitions.OPEN:
        lead.answer_state = "skipped"
        return "skipped: no longer new"
    now = clock.now()
    if lead.answer_state == "scheduled" and lead.answer_scheduled_for and lead.answer_scheduled_for > now:
        return "already scheduled"
    tenant, _ = identity.get_tenant(session=session, principal=service.system_principal(lead.tenant_id))
    settings = service.settings_of(session, lead.tenant_id) or schemas.LeadSettingsIn(slug="unset")
    try:
        customer = messaging.get_customer(session=session, tenant_id=lead.tenant_id, customer_id=lead.customer_id)
    except NotFound:
        lead.answer_state = "skipped"
        return "skipped: customer deleted"
    quiet_hours = (tenant.quiet_hours.start, tenant.quiet_hours.end) if tenant.quiet_hours else None
    zone = rules.lead_zone(lead.timezone or customer.timezone, tenant.timezone)
    decision = rules.first_answer(
        sms_allowed=bool(customer.phone) and _granted(session, lead, "sms"),
        email_allowed=bool(customer.email) and _granted(session, lead, "email"),
        texts_open=messaging.texts_open_at(now=now, zone=zone, quiet_hours=quiet_hours),
    )
    if decision.action == rules.Action.SCHEDULE_SMS:
        assert decision.at is not None
        lead.answer_state, lead.answer_scheduled_for, lead.updated_at = "scheduled", decision.at, now
        _later(session, lead, "answer", decision.at + timedelta(seconds=1))
        _notice(session, lead, "scheduled")
        return f"scheduled for {clock.iso_utc(decision.at)}"
    if decision.action == rules.Action.NONE:
        lead.answer_state, lead.updated_at = "unreachable", now
        _notice(session, lead, "unreachable")
        return "unreachable: no channel with consent"
    channel = "sms" if decision.action == rules.Action.SMS else "email"
    values = _values(lead, tenant.name)
    body = (settings.sms_template if channel == "sms" else settings.email_template).format_map(values)
    try:
        message = messaging.send(
            session=session,
            tenant_id=lead.tenant_id,
            customer_id=lead.customer_id,
            channel=channel,
            body=body,
            purpose="transactional",
            subject=settings.email_subject.format_map(values) if channel == "email" else None,
            related_type="lead",
            related_id=lead.id,
            dedupe_key=f"lead:{lead.id}:answer",
        )
    except AppError as exc:  # messaging switched off, the customer lost their number...
        lead.answer_state, lead.updated_at = "failed", now
        _notice(session, lead, "failed")
        return f"failed: {exc.code}"
    lead.answer_message_id, lead.answer_channel, lead.answer_queued_at = message.id, channel, now
    lead.answer_state, lead.answer_scheduled_for, lead.updated_at = "queued", decision.at, now
    if decision.tell_owner:
        _notice(session, lead, "held")
    _later(session, lead, "confirm", now + timedelta(seconds=1))
    for n, days in enumerate(settings.follow_up_days):
        _later(session, lead, "follow_up", now + timedelta(days=days), n=n)
    return f"answer queued by {channel}"


def _granted(session: Session, lead: Lead, channel: str) -> bool:
    consent = messaging.current_consent(
        session=session,
        tenant_id=lead.tenant_id,
        customer_id=lead.customer_id,
        channel=channel,
        purpose="transactional",
    )
    return consent is not None and consent.granted


def _confirm(session: Session, lead: Lead, n: int) -> str:
    if lead.first_response_at is not None:
        return "already recorded"
    if lead.answer_message_id is None:
        return "nothing to confirm"
    thread = messaging.list_thread(
        session=session, tenant_id=lead.tenant_id, related_type="lead", related_id=lead.id, limit=50
    )
    message = next((m for m in thread if m.id == lead.answer_message_id), None)
    now = clock.now()
    if message is not None and message.sent_at is not None:
        lead.first_response_at, lead.answer_state, lead.updated_at = message.sent_at, "sent", now
        seconds = (message.sent_at - lead.created_at).total_seconds()
        return f"answered by {lead.answer_channel} after {seconds:.1f} s"
    if message is None or message.status in NOT_SENT:
        lead.answer_state, lead.updated_at = "failed", now
        _notice(session, lead, "failed")
        return f"answer {message.status if message else 'missing'}"
    if n >= CONFIRM_POLLS:
        return "stopped watching"
    wait = timedelta(seconds=min(30, 2**n))
    at = max(now + wait, (message.scheduled_for or now) + timedelta(seconds=1))
    _later(session, lead, "confirm", at, n=n + 1)
    return f"answer {message.status}; looking again"


# --- follow-ups -----------------------------------------------------------------------------------------------


def _follow_up(session: Session, lead: Lead, n: int) -> str:
    if lead.status not in transitions.OPEN:
        lead.follow_ups_stopped = lead.follow_ups_stopped or "status"
        return f"follow-up {n} stopped: lead {lead.status}"
    if lead.follow_ups_stopped:
        return f"follow-up {n} stopped: {lead.follow_ups_stopped}"
    if lead.answer_message_id is None or lead.answer_channel is None:
        return f"follow-up {n} skipped: never answered"
    if _replied(session, lead):
        lead.follow_ups_stopped, lead.updated_at = "replied", clock.now()
        return f"follow-up {n} stopped: the lead replied"
    tenant, _ = identity.get_tenant(session=session, principal=service.system_principal(lead.tenant_id))
    settings = service.settings_of(session, lead.tenant_id) or schemas.LeadSettingsIn(slug="unset")
    values = _values(lead, tenant.name)
    try:
        messaging.send(
            session=session,
            tenant_id=lead.tenant_id,
            customer_id=lead.customer_id,
            channel="sms" if lead.answer_channel == "sms" else "email",
            body=settings.follow_up_template.format_map(values),
            purpose="transactional",
            subject=settings.email_subject.format_map(values) if lead.answer_channel == "email" else None,
            related_type="lead",
            related_id=lead.id,
            dedupe_key=f"lead:{lead.id}:follow_up:{n}",
        )
    except AppError as exc:
        return f"follow-up {n} not sent: {exc.code}"
    lead.follow_ups_sent = max(lead.follow_ups_sent, n + 1)
    lead.updated_at = clock.now()
    return f"follow-up {n} queued"


def _replied(session: Session, lead: Lead) -> bool:
    """Whether the customer wrote to the business since the lead came in (not counting the text that made it)."""
    if lead.replied_at is not None:
        return True
    thread = messaging.list_thread(session=session, tenant_id=lead.tenant_id, customer_id=lead.customer_id, limit=50)
    replies = [
        m
        for m in thread
        if m.direction == "inbound" and m.created_at > lead.created_at and m.id != lead.inbound_message_id
    ]
    if replies:
        lead.replied_at = min(m.created_at for m in replies)
    return bool(replies)


# --- the owner's notice ------------------------------------------------------------------------------------------


def _notice(session: Session, lead: Lead, why: str) -> None:
    """Queue the owner's notice (once per lead: a later reason replaces an earlier one only before it is sent)."""
    if lead.owner_notified_at is not None:
        return
    lead.owner_notice = why
    _later(session, lead, "notify_owner", clock.now())


@dataclass(frozen=True)
class Notice:
    """A claimed owner's notice, ready to send."""

    to: str
    sender: str
    subject: str
    body: str


def _notify_owner(task: schemas.LeadTask) -> str:
    """Claim, send outside any transaction, record (see the module docstring)."""
    with session_scope(tenant_id=task.tenant_id) as session:
        claimed = _claim_notice(session, task)
    if isinstance(claimed, str):
        return claimed
    try:
        outcome: Receipt | SendError = email.send_email(
            email.build(
                to=claimed.to,
                subject=claimed.subject,
                body=claimed.body,
                sender=claimed.sender,
                message_key=f"lead-notice-{task.lead_id}",
            )
        )
    except SendError as exc:
        outcome = exc
    with session_scope(tenant_id=task.tenant_id) as session:
        return _record_notice(session, task, outcome)


def _claim_notice(session: Session, task: schemas.LeadTask) -> Notice | str:
    lead = _locked(session, task)
    if lead is None:
        return "missing"
    if lead.owner_notified_at is not None or lead.owner_notice in (None, "failed_to_send"):
        return "owner already told"
    now = clock.now()
    if lead.owner_notice_lease_until and lead.owner_notice_lease_until > now:
        _later(session, lead, "notify_owner", lead.owner_notice_lease_until + timedelta(seconds=1), n=task.n)
        return "notice in flight"
    system = service.system_principal(lead.tenant_id)
    owners = identity.list_users(session=session, principal=system, query=PageQuery(limit=200)).items
    to = next((u.email for u in owners if u.role == "owner" and not u.disabled and u.email), None)
    sender = messaging.get_settings(session=session, tenant_id=lead.tenant_id).email_from or get_settings().smtp_from
    if not to or not sender:
        lead.owner_notice = "failed_to_send"
        return "no owner email or sender"
    tenant, _ = identity.get_tenant(session=session, principal=system)
    lead.owner_notice_lease_until = now + NOTICE_LEASE
    subject, body = _notice_text(lead, tenant.name, tenant.timezone)
    return Notice(to=to, sender=sender, subject=subject, body=body)


def _notice_text(lead: Lead, business: str, zone_name: str) -> tuple[str, str]:
    zone = rules.lead_zone(lead.timezone, zone_name)
    received = lead.created_at.astimezone(zone).strftime("%a %d %b %H:%M %Z")
    why = {
        "scheduled": "It is quiet hours where they are, so no text may go out now and there is no email to use.",
        "unreachable": "They gave no channel we may use (no texting consent and no email address).",
        "failed": "The automatic answer could not be sent.",
        "held": "It is quiet hours where they are: the emailed answer goes out at the opening hour.",
    }.get(lead.owner_notice or "", "The automatic answer has not gone out.")
    when = ""
    if lead.owner_notice == "scheduled" and lead.answer_scheduled_for:
        at = lead.answer_scheduled_for.astimezone(zone).time().replace(second=0, microsecond=0)
        when = f" The text is scheduled for {time.strftime(at, '%H:%M')} their time."
    body = (
        f"New {lead.source} lead for {business}: {lead.name}, received {received}.\n\n{why}{when}\n\n"
        f"Their message: {lead.message or '(none)'}\n"
        f"Contact: {lead.phone or 'no phone'} / {lead.email or 'no email'}\n"
    )
    return f"New lead waiting: {lead.name}", body


def _record_notice(session: Session, task: schemas.LeadTask, outcome: Receipt | SendError) -> str:
    lead = _locked(session, task)
    assert lead is not None
    now = clock.now()
    lead.owner_notice_lease_until = None
    if isinstance(outcome, Receipt):
        lead.owner_notified_at, lead.updated_at = now, now
        audit.record(
            session,
            tenant_id=lead.tenant_id,
            actor=audit.SYSTEM,
            action="leads.owner_notified",
            entity="lead",
            entity_id=lead.id,
            after={"reason": lead.owner_notice},
        )
        return f"owner told ({lead.owner_notice})"
    if outcome.transient and task.n + 1 < NOTICE_ATTEMPTS:
        _later(session, lead, "notify_owner", now + timedelta(seconds=2 ** (task.n + 2)), n=task.n + 1)
        return f"notice retrying after {outcome.code}"
    lead.owner_notice = "failed_to_send"
    log.error("owner notice of lead %s not sent: %s", lead.id, outcome.code)
    return f"notice failed: {outcome.code}"


def give_up(task: schemas.LeadTask) -> str:
    """The host gave up on a task (poison queue): say so on the lead, never lose it silently; returns what the
    lead now records (the poison handler's log line)."""
    with session_scope(tenant_id=task.tenant_id) as session:
        lead = _locked(session, task)
        if lead is None:
            return "lead missing"
        return _give_up(session, lead, task)


def _give_up(session: Session, lead: Lead, task: schemas.LeadTask) -> str:
    if task.kind == "answer":
        if lead.answer_message_id is not None or lead.answer_state not in ("pending", "scheduled"):
            return f"nothing changed: answer {lead.answer_state}"
        told = lead.owner_notified_at is not None  # the owner hears once per lead (see _notice)
        lead.answer_state, lead.updated_at = "failed", clock.now()
        _notice(session, lead, "failed")
        return "answer failed; owner already told" if told else "answer failed; owner's notice queued"
    if task.kind == "notify_owner":  # a copy of it may still be queued (a lease's wait): left to try
        return f"nothing changed: owner {'already told' if lead.owner_notified_at else 'not told'}"
    what = f"follow-up {task.n}" if task.kind == "follow_up" else "confirmation"
    return f"nothing changed: {what} dropped, answer {lead.answer_state}"
