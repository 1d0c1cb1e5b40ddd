"""The estimator's "your proposal was accepted" email, sent by the small notice orchestration the acceptance starts.

The activity calls the SMTP provider between two short transactions of its own: claim (read what to send, or
learn it was sent) in one, send outside any transaction, record the time in a second. A transient SMTP error
raises, so the activity's retry policy tries again; the Message-ID is stable, so a receiver can drop a copy sent
twice when the record step itself failed.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage

from blueprints.bids import bid_documents
from blueprints.bids.bid_schemas import AcceptedTotals
from blueprints.bids.bidding import bid_or_raise, number_of
from blueprints.identity import service as identity
from shared import clock
from shared.auth import system_principal
from shared.config import get_settings
from shared.db import session_scope
from shared.providers import SendError, email


def _claim(tenant_id: uuid.UUID, bid_id: uuid.UUID) -> EmailMessage | str:
    with session_scope(tenant_id=tenant_id) as session:
        bid = bid_or_raise(session, tenant_id, bid_id)
        if bid.estimator_notified_at is not None:
            return "done"
        if bid.accepted_totals is None or bid.created_by is None:
            return "skipped"
        user = identity.get_user(session=session, principal=system_principal(tenant_id), user_id=bid.created_by)
        if user is None or not user.email:
            return "skipped"
        locked = AcceptedTotals.model_validate(bid.accepted_totals)
        alternates = ", ".join(a.name for a in locked.alternates) or "none"
        title = str(bid.content.get("title", ""))
        subject = f"Accepted: proposal {number_of(bid)} {title}"
        lines = [
            f"{subject}.",
            "",
            f"Signed by {bid.signer_name} at {clock.iso_utc(bid.accepted_at) if bid.accepted_at else ''}.",
            f"Base bid {bid_documents.money(locked.base_total_cents, bid.currency)}; alternates: {alternates};"
            f" accepted total {bid_documents.money(locked.total_cents, bid.currency)}.",
            f"Signed PDF SHA-256: {bid.signed_pdf_sha256}",
            "",
            f"Open it in Tradeops: {get_settings().public_base_url.rstrip('/')}/api/v1/bids/{bid.id}",
        ]
        return email.build(
            to=user.email,
            subject=" ".join(subject.split())[:200],
            body="\n".join(lines) + "\n",
            sender=get_settings().smtp_from,
            message_key=f"bid-accepted-{bid.id}",
        )


def _record(tenant_id: uuid.UUID, bid_id: uuid.UUID) -> None:
    with session_scope(tenant_id=tenant_id) as session:
        bid = bid_or_raise(session, tenant_id, bid_id, lock=True)
        bid.estimator_notified_at = bid.estimator_notified_at or clock.now()


def notify_estimator(*, tenant_id: uuid.UUID, bid_id: uuid.UUID) -> dict[str, str]:
    """Email the bid's estimator that the customer accepted (once); a transient SMTP error raises."""
    claimed = _claim(tenant_id, bid_id)
    if isinstance(claimed, str):
        return {"status": claimed}
    try:
        email.send_email(claimed)
    except SendError as error:
        if error.transient:
            raise
        return {"status": f"failed: {error.code}"}
    _record(tenant_id, bid_id)
    return {"status": "sent"}
