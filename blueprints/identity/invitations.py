"""Invitations by email: a link with which an invited person sets their first password.

Inviting someone by email without an initial password issues an invitation (INVITATION_TTL_HOURS,
7 days by default) and queues `user-invitations` through the outbox; the queue trigger emails the link
over SMTP. The link's token is `<invitation id>.<HMAC-SHA256 of the id>` under a key derived from
JWT_SIGNING_KEY for this use alone, so neither the table nor the queue message holds it. A link works
once, until it expires, and only while it is the person's newest one; accepting it sets the password
and (through the API) signs in. Managers resend a link with POST /api/v1/users/{id}/invitation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from html import escape

from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.orm import Session

from blueprints.identity import passwords, sessions
from blueprints.identity.models import Invitation, Tenant, User
from blueprints.identity.schemas import INVITATION_QUEUE, InvitationOut, TokenPair
from shared import audit, clock, html
from shared.auth import Principal
from shared.config import get_settings
from shared.db import session_scope, set_tenant
from shared.errors import Conflict, Forbidden, Gone, NotFound
from shared.storage import enqueue

QUEUE = INVITATION_QUEUE
SYSTEM = audit.Actor()


class InvitationTask(BaseModel):
    """What the queue carries: which invitation to email (never the link itself)."""

    invitation_id: uuid.UUID


@dataclass(frozen=True)
class Invited:
    """A usable invitation with its person and business, ready to accept."""

    invitation: Invitation
    user: User
    tenant_name: str


def _mac(invitation_id: uuid.UUID) -> str:
    key = hmac.new(get_settings().jwt_signing_key.encode(), b"tradeops-invitation-link-v1", hashlib.sha256).digest()
    digest = hmac.new(key, invitation_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_for(invitation_id: uuid.UUID) -> str:
    """The secret part of an invitation's link."""
    return f"{invitation_id.hex}.{_mac(invitation_id)}"


def link_for(invitation_id: uuid.UUID) -> str:
    """The page the email points at."""
    return f"{get_settings().public_base_url.rstrip('/')}/api/v1/auth/invitations/{token_for(invitation_id)}"


def _invitation_id(token: str) -> uuid.UUID:
    """The invitation a token names; 403 when it was not made by us."""
    hex_id, _, mac = token.partition(".")
    try:
        invitation_id = uuid.UUID(hex=hex_id)
    except ValueError:
        raise Forbidden("This invitation link is not valid", code="invitation_invalid") from None
    if not hmac.compare_digest(_mac(invitation_id).encode(), mac.encode("utf-8", "replace")):
        raise Forbidden("This invitation link is not valid", code="invitation_invalid")
    return invitation_id


def issue(session: Session, *, user: User, created_by: uuid.UUID | None, actor: audit.Actor) -> InvitationOut:
    """A new invitation for user (their older open ones stop working), emailed after commit."""
    now = clock.now()
    session.execute(update(Invitation).where(Invitation.user_id == user.id, Invitation.used_at.is_(None),
                                             Invitation.revoked_at.is_(None)).values(revoked_at=now))  # fmt: skip
    invitation = Invitation(id=uuid.uuid4(), user_id=user.id, tenant_id=user.tenant_id, created_by=created_by,
                            created_at=now, expires_at=now + timedelta(hours=get_settings().invitation_ttl_hours),
                            email_status="queued")  # fmt: skip
    session.add(invitation)
    session.flush()
    enqueue(session, QUEUE, InvitationTask(invitation_id=invitation.id))
    audit.record(session, tenant_id=user.tenant_id, actor=actor, action="users.invitation_issued", entity="user",
                 entity_id=user.id, after={"expires_at": invitation.expires_at.isoformat()})  # fmt: skip
    return InvitationOut(expires_at=invitation.expires_at, email_status="queued")


def resend(*, session: Session, principal: Principal, user_id: uuid.UUID, actor: audit.Actor) -> InvitationOut:
    """A fresh link for someone who has not set a password yet (409 otherwise)."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.tenant_id != principal.tenant_id:
        raise NotFound("No such user")
    if user.role == "owner":
        principal.require("users.grant_owner")
    if user.disabled:
        raise Conflict("This person may not sign in; enable them first", code="user_disabled")
    if not user.email:
        raise Conflict("This person has no email; they sign in with a texted code", code="no_email")
    if user.password_hash:
        raise Conflict("This person has already set a password", code="already_active")
    return issue(session, user=user, created_by=principal.user_id, actor=actor)


def open_invitation(session: Session, token: str, *, lock: bool = False) -> Invited:
    """The invitation a link names, if it can still be accepted (403 forged, 410 used, replaced or expired)."""
    invitation = session.get(Invitation, _invitation_id(token), with_for_update=lock)
    if invitation is None:
        raise Forbidden("This invitation link is not valid", code="invitation_invalid")
    if invitation.used_at is not None:
        raise Gone("This invitation was already used; sign in with your password", code="invitation_used")
    if invitation.revoked_at is not None:
        raise Gone("A newer invitation replaced this one; use the link in the latest email", code="invitation_replaced")
    if clock.now() >= invitation.expires_at:
        raise Gone("This invitation has expired; ask for a new one", code="invitation_expired")
    set_tenant(session, invitation.tenant_id)
    user = session.get(User, invitation.user_id, with_for_update=lock)
    tenant = session.get(Tenant, invitation.tenant_id)
    if user is None or tenant is None or user.disabled:
        raise Gone("This account may no longer sign in", code="user_disabled")
    return Invited(invitation=invitation, user=user, tenant_name=tenant.name)


def set_password(session: Session, *, token: str, password: str, actor: audit.Actor) -> Invited:
    """Use the invitation up: the person's password is set and the link stops working."""
    invited = open_invitation(session, token, lock=True)
    invited.user.password_hash = passwords.hash_password(password)
    invited.invitation.used_at = clock.now()
    session.flush()
    audit.record(session, tenant_id=invited.user.tenant_id, actor=actor, user_id=invited.user.id,
                 action="users.invitation_accepted", entity="user", entity_id=invited.user.id)  # fmt: skip
    return invited


def accept(*, session: Session, token: str, password: str, actor: audit.Actor) -> TokenPair:
    """Set the first password and sign in (the PWA's path)."""
    invited = set_password(session, token=token, password=password, actor=actor)
    return sessions.start_session(session, user=invited.user, method="invitation", actor=actor)


def _email(invitation: Invitation, user: User, tenant: Tenant) -> EmailMessage:
    from shared.providers import email

    hours = max(1, round((invitation.expires_at - clock.now()).total_seconds() / 3600))
    body = (f"Hello {user.name},\n\n{tenant.name} invited you to Tradeops.\n\n"
            f"Choose your password here (the link works once, for the next {hours} hours):\n"
            f"{link_for(invitation.id)}\n\nThen sign in with {user.email}.\n\n"
            "If you were not expecting this, ignore this email.\n")  # fmt: skip
    subject = " ".join(f"{tenant.name} invited you to Tradeops".split())  # one header line whatever the name holds
    return email.build(to=user.email or "", subject=subject, body=body,
                       sender=get_settings().smtp_from, message_key=f"invitation-{invitation.id}")  # fmt: skip


def deliver(task: InvitationTask) -> str:
    """Email one invitation; a transient SMTP error raises (the queue retries), a permanent one is recorded."""
    from shared.providers import SendError, email

    with session_scope() as session:
        invitation = session.get(Invitation, task.invitation_id)
        if invitation is None:
            return "missing"
        if invitation.email_status != "queued":  # sent, or refused for good: a redelivered task does nothing
            return "done"
        if invitation.used_at or invitation.revoked_at or clock.now() >= invitation.expires_at:
            return "stale"
        set_tenant(session, invitation.tenant_id)
        user, tenant = session.get(User, invitation.user_id), session.get(Tenant, invitation.tenant_id)
        if user is None or tenant is None or not user.email or user.disabled:
            return "stale"
        message = _email(invitation, user, tenant)
    try:
        email.send_email(message)
    except SendError as error:
        if error.transient:
            raise
        _record(task.invitation_id, status="failed", error=f"{error.code}: {error.detail}")
        return "failed"
    _record(task.invitation_id, status="sent")
    return "sent"


def give_up(task: InvitationTask) -> None:
    """The queue retried the email until it gave up: the invitation shows it failed."""
    _record(task.invitation_id, status="failed", error="gave up after repeated transient errors")


def _record(invitation_id: uuid.UUID, *, status: str, error: str | None = None) -> None:
    with session_scope() as session:
        invitation = session.get(Invitation, invitation_id, with_for_update=True)
        if invitation is None:
            return
        invitation.email_status, invitation.email_error = status, (error or None) and error[:200]  # type: ignore[assignment]
        set_tenant(session, invitation.tenant_id)
        action = "users.invitation_emailed" if status == "sent" else "users.invitation_email_failed"
        audit.record(session, tenant_id=invitation.tenant_id, actor=SYSTEM, action=action, entity="user",
                     entity_id=invitation.user_id, after={"error": error} if error else None)  # fmt: skip


def form_page(invited: Invited, *, action: str, error: str | None = None) -> str:
    """The invitation page: who invited whom, and a form to choose a password (works without JavaScript)."""
    problem = f"<p class=\"error\" role=\"alert\">{escape(error)}</p>" if error else ""
    body = (f"<h1>Welcome to {escape(invited.tenant_name)}</h1>"
            f"<p>Hello {escape(invited.user.name)}, choose a password to sign in as {escape(invited.user.email or '')}."
            f"</p>{problem}<form method=\"post\" action=\"{escape(action)}\">"
            "<label>Password (at least 10 characters)<input type=\"password\" name=\"password\" minlength=\"10\" "
            "maxlength=\"256\" autocomplete=\"new-password\" required></label>"
            "<label>The same password again<input type=\"password\" name=\"password_confirm\" minlength=\"10\" "
            "maxlength=\"256\" autocomplete=\"new-password\" required></label>"
            "<button type=\"submit\">Set my password</button></form>")  # fmt: skip
    return html.page(f"{invited.tenant_name}: your invitation", body)


def done_page(invited: Invited) -> str:
    """What the page shows once the password is set."""
    body = (f"<h1>You're all set</h1><p role=\"status\">Your password is set. Sign in to "
            f"{escape(invited.tenant_name)} with {escape(invited.user.email or '')}.</p>")  # fmt: skip
    return html.page("Password set", body)


def error_page(message: str) -> str:
    """A refused link, said plainly."""
    return html.page("Invitation not available", f"<h1>Invitation not available</h1><p>{escape(message)}</p>")
