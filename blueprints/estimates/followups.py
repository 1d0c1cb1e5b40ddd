"""Follow-ups: the daily job expires estimates past their validity and reminds each estimator (email) of estimates
sent and not viewed after N days and viewed and not decided after M (the rate book's settings), once per
estimate per stage; the same notice table carries the "your estimate was accepted" email.

A notice is a row (unique per estimate and kind, so a stage is reminded once however often the job runs)
queued through the outbox. Its delivery calls the SMTP provider between two short transactions of its own:
claim (read what to send) in one, send outside any transaction, record the outcome in a second; a transient
SMTP error raises so the queue retries, a redelivered sent notice does nothing. The "accepted" notice carries
the signed PDF, downloaded outside any transaction too (gone: the notice fails; storage down: retried).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from blueprints.estimates import rate_book, store
from blueprints.estimates.models import Estimate, EstimateNotice
from blueprints.estimates.schemas import FOLLOW_UP_QUEUE, NoticeTask
from blueprints.estimates.transitions import OPEN, Event, Status, next_status
from blueprints.identity import service as identity
from shared import audit, clock
from shared.auth import system_principal
from shared.config import get_settings
from shared.db import session_scope, set_tenant
from shared.providers import SendError, email
from shared.storage import enqueue

SUBJECTS = {
    "accepted": "Accepted: {title}",
    "unviewed": "Follow up: {title} was sent {days} days ago and not opened yet",
    "undecided": "Follow up: {title} was viewed {days} days ago and not decided yet",
}


def queue_notice(session: Session, estimate: Estimate, kind: str) -> bool:
    """Write the estimator's notice of this kind for the estimate once, and queue it after commit."""
    stmt = (
        insert(EstimateNotice)
        .values(
            id=uuid.uuid4(),
            tenant_id=estimate.tenant_id,
            estimate_id=estimate.id,
            kind=kind,
            status="queued",
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(constraint="uq_estimate_notices_estimate_kind")
        .returning(EstimateNotice.id)
    )
    notice_id = session.execute(stmt).scalar()
    if notice_id is None:
        return False
    enqueue(session, FOLLOW_UP_QUEUE, NoticeTask(tenant_id=estimate.tenant_id, notice_id=notice_id))
    return True


def _expire(session: Session, tenant_id: uuid.UUID) -> int:
    stmt = select(Estimate).where(
        Estimate.tenant_id == tenant_id,
        Estimate.deleted_at.is_(None),
        Estimate.status.in_([s.value for s in OPEN]),
        Estimate.valid_until <= clock.now(),
    )
    expired = 0
    for estimate in session.scalars(stmt.with_for_update(skip_locked=True)):
        before = estimate.status
        estimate.status = next_status(before, Event.EXPIRE).value
        estimate.updated_at = clock.now()
        audit.record(
            session,
            tenant_id=tenant_id,
            actor=audit.SYSTEM,
            action="estimates.expired",
            entity="estimate",
            entity_id=estimate.id,
            before={"status": before},
            after={"status": estimate.status},
        )
        expired += 1
    session.flush()
    return expired


def follow_up(*, session: Session, tenant_id: uuid.UUID) -> int:
    """Expire overdue estimates and queue due reminders in the session; returns how many things it did."""
    done = _expire(session, tenant_id)
    book = rate_book.book_at(session, tenant_id, rate_book.current_version(session, tenant_id))
    now = clock.now()
    stages = (
        ("unviewed", Estimate.status == Status.SENT.value, Estimate.sent_at, book.follow_up_unviewed_days),
        ("undecided", Estimate.status == Status.VIEWED.value, Estimate.viewed_at, book.follow_up_undecided_days),
    )
    for kind, in_stage, since, days in stages:
        due = select(Estimate).where(
            Estimate.tenant_id == tenant_id,
            Estimate.deleted_at.is_(None),
            in_stage,
            since <= now - timedelta(days=days),
            ~select(EstimateNotice.id)
            .where(EstimateNotice.estimate_id == Estimate.id, EstimateNotice.kind == kind)
            .exists(),
        )
        done += sum(queue_notice(session, estimate, kind) for estimate in session.scalars(due).all())
    return done


@dataclass(frozen=True)
class _Draft:
    """A claimed notice: what to email, and the signed PDF to attach (accepted notices)."""

    to: str
    subject: str
    body: str
    message_key: str
    pdf_path: str | None = None
    pdf_filename: str = ""


def _email(notice: EstimateNotice, estimate: Estimate, to: str, days: int) -> _Draft:
    base = get_settings().public_base_url.rstrip("/")
    subject = SUBJECTS[notice.kind].format(title=estimate.title, days=days)
    lines = [f"{subject}.", "", f"Estimate: {estimate.title} (revision {estimate.revision}, now {estimate.status})"]
    if notice.kind == "accepted":
        lines.append(f"Signed by {estimate.signer_name}; total {estimate.accepted_total_cents} cents.")
        lines.append(f"Signed PDF SHA-256: {estimate.signed_pdf_sha256}")
    lines += ["", f"Open it in Tradeops: {base}/api/v1/estimates/{estimate.id}"]
    signed = notice.kind == "accepted" and estimate.signed_pdf_path
    return _Draft(
        to=to,
        subject=" ".join(subject.split())[:200],
        body="\n".join(lines) + "\n",
        message_key=f"estimate-notice-{notice.id}",
        pdf_path=estimate.signed_pdf_path if signed else None,
        pdf_filename=f"signed-proposal-revision-{estimate.decided_revision}.pdf",
    )


def _build(draft: _Draft) -> EmailMessage:
    """The notice as sent, the signed PDF attached (read from storage outside any transaction)."""
    from azure.core.exceptions import ResourceNotFoundError  # heavy SDK: loaded on first use

    attachments = []
    if draft.pdf_path:
        try:
            data = store.get(draft.pdf_path)
        except ResourceNotFoundError:
            raise SendError(code="attachment_missing", detail="The signed PDF is not stored", transient=False) from None
        attachments.append(email.FileAttachment(data=data, filename=draft.pdf_filename, content_type="application/pdf"))
    return email.build(
        to=draft.to,
        subject=draft.subject,
        body=draft.body,
        sender=get_settings().smtp_from,
        message_key=draft.message_key,
        attachments=attachments,
    )


def _claim(task: NoticeTask) -> _Draft | str:
    with session_scope(tenant_id=task.tenant_id) as session:
        notice = session.get(EstimateNotice, task.notice_id)
        if notice is None:
            return "missing"
        if notice.status != "queued":
            return "done"
        estimate = session.get(Estimate, notice.estimate_id)
        owner = (
            identity.get_user(session=session, principal=system_principal(task.tenant_id), user_id=estimate.owner_id)
            if estimate
            else None
        )
        stale = estimate is None or estimate.deleted_at is not None
        if notice.kind != "accepted" and not stale and estimate is not None:
            stale = estimate.status not in OPEN  # decided or expired since: no reminder
        if stale or owner is None or not owner.email or estimate is None:
            notice.status = "skipped"
            return "skipped"
        book = rate_book.book_at(session, task.tenant_id, rate_book.current_version(session, task.tenant_id))
        days = book.follow_up_unviewed_days if notice.kind == "unviewed" else book.follow_up_undecided_days
        return _email(notice, estimate, owner.email, days)


def deliver_notice(task: NoticeTask) -> str:
    """Email one notice to the estimator; a transient SMTP error raises (the queue retries)."""

    claimed = _claim(task)
    if isinstance(claimed, str):
        return claimed
    try:
        email.send_email(_build(claimed))
    except SendError as error:
        if error.transient:
            raise
        _record(task, status="failed", error=f"{error.code}: {error.detail}")
        return "failed"
    _record(task, status="sent")
    return "sent"


def give_up(task: NoticeTask) -> None:
    """The queue retried the notice until it gave up: the row shows it failed (a copy of a sent one changes nothing)."""
    _record(task, status="failed", error="gave up after repeated transient errors", only_if_queued=True)


def _record(task: NoticeTask, *, status: str, error: str | None = None, only_if_queued: bool = False) -> None:
    with session_scope() as session:
        set_tenant(session, task.tenant_id)
        notice = session.get(EstimateNotice, task.notice_id, with_for_update=True)
        if notice is None or (only_if_queued and notice.status != "queued"):
            return
        notice.status, notice.error = status, (error or None) and (error or "")[:300]
        notice.sent_at = clock.now() if status == "sent" else None
