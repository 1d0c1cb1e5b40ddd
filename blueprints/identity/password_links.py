"""Emailed password links: an invitation to choose a first password, or a reset of a forgotten one.

Inviting someone by email without an initial password issues an `invitation` link (INVITATION_TTL_HOURS,
7 days); asking for a reset (POST /api/v1/auth/password-resets, answered the same whether or not the
email has an account) issues a `reset` link (PASSWORD_RESET_TTL_MINUTES, 60). Either is queued on
`password-links` through the outbox and emailed over SMTP by the queue trigger. The token is
`<link id>.<HMAC-SHA256 of the id>` under a key derived from JWT_SIGNING_KEY for this use alone, so
neither the table nor the queue message holds it. A link works once, until it expires, and only while
it is the person's newest one. Using it sets the password (a reset also ends every open session) and,
through the API, signs in. Managers resend an invitation with POST /api/v1/users/{id}/invitation.
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
from typing import Literal

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from blueprints.identity import passwords, sessions
from blueprints.identity.lookups import locked_user
from blueprints.identity.models import PasswordLink, Tenant, User
from blueprints.identity.schemas import PASSWORD_LINK_QUEUE, InvitationOut, LinkTask, ResetRequested, TokenPair
from shared import audit, clock, html, ratelimit
from shared.auth import Principal
from shared.config import get_settings
from shared.db import session_scope, set_tenant
from shared.errors import Conflict, Forbidden, Gone
from shared.providers import SendError, email
from shared.storage import enqueue

QUEUE = PASSWORD_LINK_QUEUE
Purpose = Literal["invitation", "reset"]


__all__ = ["LinkTask"]  # the queue message: in schemas, so the trigger declares its queue without this module


@dataclass(frozen=True)
class Opened:
    """A usable link with its person and business."""

    link: PasswordLink
    user: User
    tenant_name: str


def _mac(link_id: uuid.UUID) -> str:
    key = hmac.new(get_settings().jwt_signing_key.encode(), b"tradeops-password-link-v1", hashlib.sha256).digest()
    digest = hmac.new(key, link_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_for(link_id: uuid.UUID) -> str:
    """The secret part of a link."""
    return f"{link_id.hex}.{_mac(link_id)}"


def url_for(link_id: uuid.UUID) -> str:
    """The page the email points at."""
    return f"{get_settings().public_base_url.rstrip('/')}/api/v1/auth/password-links/{token_for(link_id)}"


def _link_id(token: str) -> uuid.UUID:
    """The link a token names; 403 when it was not made by us."""
    hex_id, _, mac = token.partition(".")
    try:
        link_id = uuid.UUID(hex=hex_id)
    except ValueError:
        raise Forbidden("This link is not valid", code="link_invalid") from None
    if not hmac.compare_digest(_mac(link_id).encode(), mac.encode("utf-8", "replace")):
        raise Forbidden("This link is not valid", code="link_invalid")
    return link_id


def issue(
    session: Session, *, user: User, purpose: Purpose, created_by: uuid.UUID | None, actor: audit.Actor
) -> PasswordLink:
    """A new link for user (their older open links stop working), emailed after commit."""
    settings = get_settings()
    now = clock.now()
    lifetime = (
        timedelta(hours=settings.invitation_ttl_hours)
        if purpose == "invitation"
        else timedelta(minutes=settings.password_reset_ttl_minutes)
    )
    session.execute(
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None), PasswordLink.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    link = PasswordLink(
        id=uuid.uuid4(),
        user_id=user.id,
        tenant_id=user.tenant_id,
        purpose=purpose,
        created_by=created_by,
        created_at=now,
        expires_at=now + lifetime,
        email_status="queued",
    )
    session.add(link)
    session.flush()
    enqueue(session, QUEUE, LinkTask(link_id=link.id))
    action = "users.invitation_issued" if purpose == "invitation" else "auth.password_reset_requested"
    audit.record(
        session,
        tenant_id=user.tenant_id,
        actor=actor,
        action=action,
        entity="user",
        entity_id=user.id,
        after={"expires_at": link.expires_at.isoformat()},
    )
    return link


def invite(session: Session, *, user: User, created_by: uuid.UUID | None, actor: audit.Actor) -> InvitationOut:
    """Email user a link to choose their first password."""
    link = issue(session, user=user, purpose="invitation", created_by=created_by, actor=actor)
    return InvitationOut(expires_at=link.expires_at, email_status="queued")


def resend(*, session: Session, principal: Principal, user_id: uuid.UUID, actor: audit.Actor) -> InvitationOut:
    """A fresh invitation for someone who has not set a password yet (409 otherwise)."""
    user = locked_user(session, principal, user_id)
    if user.role == "owner":
        principal.require("users.grant_owner")
    if user.disabled:
        raise Conflict("This person may not sign in; enable them first", code="user_disabled")
    if not user.email:
        raise Conflict("This person has no email; they sign in with a texted code", code="no_email")
    if user.password_hash:
        raise Conflict("This person has already set a password", code="already_active")
    return invite(session, user=user, created_by=principal.user_id, actor=actor)


def request_reset(*, session: Session, email: str, actor: audit.Actor) -> ResetRequested:
    """Email a reset link if this address signs in to an enabled account; the answer is the same either way."""
    address = passwords.normalise_email(email)
    limits = sessions.sign_in_limits()
    for limit, subject in sessions.ordered(
        [(limits["reset_ip"], actor.ip or "unknown"), (limits["reset_email"], address)]
    ):
        ratelimit.consume(session, limit=limit, subject=subject, detail="Too many reset requests; try again later")
    login = sessions.find_login(session, "email", address)
    if login is not None:
        set_tenant(session, login.tenant_id)
        user = session.get(User, login.user_id, with_for_update=True)
        if user is not None and not user.disabled and user.email:
            issue(session, user=user, purpose="reset", created_by=None, actor=actor)
    return ResetRequested()


def _bind_to_link(session: Session, link_id: uuid.UUID) -> None:
    """Bind the transaction to the link's tenant (password_links is under RLS; the link id is all we know)."""
    tenant_id = session.execute(text("SELECT app_password_link_tenant(:id)"), {"id": link_id}).scalar_one()
    set_tenant(session, tenant_id)


def open_link(session: Session, token: str, *, lock: bool = False) -> Opened:
    """The link a token names, if it can still be used (403 forged, 410 used, replaced or expired)."""
    link_id = _link_id(token)
    _bind_to_link(session, link_id)
    link = session.get(PasswordLink, link_id, with_for_update=lock)
    if link is None:
        raise Forbidden("This link is not valid", code="link_invalid")
    if link.used_at is not None:
        raise Gone("This link was already used; sign in with your password", code="link_used")
    if link.revoked_at is not None:
        raise Gone("A newer link replaced this one; use the one in the latest email", code="link_replaced")
    if clock.now() >= link.expires_at:
        raise Gone("This link has expired; ask for a new one", code="link_expired")
    set_tenant(session, link.tenant_id)
    user = session.get(User, link.user_id, with_for_update=lock)
    tenant = session.get(Tenant, link.tenant_id)
    if user is None or tenant is None or user.disabled:
        raise Gone("This account may no longer sign in", code="user_disabled")
    return Opened(link=link, user=user, tenant_name=tenant.name)


def set_password(session: Session, opened: Opened, *, password: str, actor: audit.Actor) -> Opened:
    """Use a link opened with lock=True: the password is set, the link stops working, and a reset ends
    every open session."""
    opened.user.password_hash = passwords.hash_password(password)
    opened.link.used_at = clock.now()
    session.flush()
    if opened.link.purpose == "reset":
        sessions.revoke_user_sessions(session, user_id=opened.user.id, reason="password_reset")
    action = "users.invitation_accepted" if opened.link.purpose == "invitation" else "auth.password_reset"
    audit.record(
        session,
        tenant_id=opened.user.tenant_id,
        actor=actor,
        user_id=opened.user.id,
        action=action,
        entity="user",
        entity_id=opened.user.id,
    )
    return opened


def accept(*, session: Session, token: str, password: str, actor: audit.Actor) -> TokenPair:
    """Set the password and sign in (the PWA's path)."""
    opened = set_password(session, open_link(session, token, lock=True), password=password, actor=actor)
    method = "invitation" if opened.link.purpose == "invitation" else "reset"
    return sessions.start_session(session, user=opened.user, method=method, actor=actor)


def _email(link: PasswordLink, user: User, tenant: Tenant) -> EmailMessage:

    minutes = max(1, round((link.expires_at - clock.now()).total_seconds() / 60))
    lasts = f"{minutes // 60} hours" if minutes >= 120 else f"{minutes} minutes"
    if link.purpose == "invitation":
        subject = f"{tenant.name} invited you to Tradeops"
        body = (
            f"Hello {user.name},\n\n{tenant.name} invited you to Tradeops.\n\n"
            f"Choose your password here (the link works once, for the next {lasts}):\n"
            f"{url_for(link.id)}\n\nThen sign in with {user.email}.\n\n"
            "If you were not expecting this, ignore this email.\n"
        )
    else:
        subject = f"Reset your Tradeops password for {tenant.name}"
        body = (
            f"Hello {user.name},\n\nSomeone asked to reset the password you use for {tenant.name}.\n\n"
            f"Choose a new one here (the link works once, for the next {lasts}):\n{url_for(link.id)}\n\n"
            "If it was not you, ignore this email: your password stays as it is.\n"
        )
    return email.build(
        to=user.email or "",
        subject=" ".join(subject.split()),
        body=body,
        sender=get_settings().smtp_from,
        message_key=f"password-link-{link.id}",
    )


def deliver(task: LinkTask) -> str:
    """Email one link; a transient SMTP error raises (the queue retries), a permanent one is recorded."""

    with session_scope() as session:
        _bind_to_link(session, task.link_id)
        link = session.get(PasswordLink, task.link_id)
        if link is None:
            return "missing"
        if link.email_status != "queued":  # sent, or refused for good: a redelivered task does nothing
            return "done"
        if link.used_at or link.revoked_at or clock.now() >= link.expires_at:
            return "stale"
        set_tenant(session, link.tenant_id)
        user, tenant = session.get(User, link.user_id), session.get(Tenant, link.tenant_id)
        if user is None or tenant is None or not user.email or user.disabled:
            return "stale"
        message = _email(link, user, tenant)
    try:
        email.send_email(message)
    except SendError as error:
        if error.transient:
            raise
        _record(task.link_id, status="failed", error=f"{error.code}: {error.detail}")
        return "failed"
    _record(task.link_id, status="sent")
    return "sent"


def give_up(task: LinkTask) -> str:
    """The queue retried the email until it gave up: the link shows it failed (a sent one stays sent)."""
    before = _record(task.link_id, status="failed", error="gave up after repeated transient errors", unless_final=True)
    return "email failed" if before == "queued" else f"nothing changed: email {before or 'link gone'}"


def _record(link_id: uuid.UUID, *, status: str, error: str | None = None, unless_final: bool = False) -> str | None:
    """Record the email's outcome on its link; the link's email status before (None: no such link)."""
    with session_scope() as session:
        _bind_to_link(session, link_id)
        link = session.get(PasswordLink, link_id, with_for_update=True)
        if link is None:
            return None
        before = link.email_status
        # A poison copy delivered after the email went (or failed for good) must not record a second outcome.
        if unless_final and before != "queued":
            return before
        link.email_status, link.email_error = status, (error or None) and error[:200]  # type: ignore[assignment]
        set_tenant(session, link.tenant_id)
        action = "users.password_link_emailed" if status == "sent" else "users.password_link_email_failed"
        audit.record(
            session,
            tenant_id=link.tenant_id,
            actor=audit.SYSTEM,
            action=action,
            entity="user",
            entity_id=link.user_id,
            after={"purpose": link.purpose, **({"error": error} if error else {})},
        )
        return before


def form_page(opened: Opened, *, action: str, error: str | None = None) -> str:
    """The link's page: whose password this is, and a form to choose it (works without JavaScript)."""
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    who, business = escape(opened.user.name), escape(opened.tenant_name)
    email = escape(opened.user.email or "")
    if opened.link.purpose == "invitation":
        heading, intro = f"Welcome to {business}", f"Hello {who}, choose a password to sign in as {email}."
    else:
        heading, intro = f"New password for {business}", f"Hello {who}, choose a new password for {email}."
    body = (
        f'<h1>{heading}</h1><p>{intro}</p>{problem}<form method="post" action="{escape(action)}">'
        '<label>Password (at least 10 characters)<input type="password" name="password" minlength="10" '
        'maxlength="256" autocomplete="new-password" required></label>'
        '<label>The same password again<input type="password" name="password_confirm" minlength="10" '
        'maxlength="256" autocomplete="new-password" required></label>'
        '<button type="submit">Set my password</button></form>'
    )
    return html.page(f"{opened.tenant_name}: your password", body)


def done_page(opened: Opened) -> str:
    """What the page shows once the password is set."""
    body = (
        f'<h1>You\'re all set</h1><p role="status">Your password is set. Sign in to '
        f"{escape(opened.tenant_name)} with {escape(opened.user.email or '')}.</p>"
    )
    return html.page("Password set", body)


def error_page(message: str) -> str:
    """A refused link, said plainly."""
    return html.page("Link not available", f"<h1>Link not available</h1><p>{escape(message)}</p>")
