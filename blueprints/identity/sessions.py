"""Signing in and staying signed in: register, password and SMS-code login, refresh rotation, logout.

Sign-in failures must leave a trace (rate-limit hits, audit rows, a revoked token family) even though
the caller gets an error, so these functions *return* the error instead of raising it: the trigger
answers it as a problem while the request's transaction still commits what was recorded.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blueprints.identity import passwords, tokens
from blueprints.identity.models import AuthSession, RefreshToken, Tenant, User, UserLogin
from blueprints.identity.permissions import ROLE_PERMISSIONS
from blueprints.identity.schemas import (
    MODULES,
    LoginIn,
    OtpStarted,
    OtpStartIn,
    OtpVerifyIn,
    PasswordChange,
    RegisterIn,
    TokenPair,
)
from shared import audit, auth, clock, ratelimit
from shared.auth import Principal
from shared.config import get_settings
from shared.db import get_engine, set_tenant, set_tenant_with
from shared.errors import AppError, Conflict, Forbidden, Unauthorized
from shared.providers import twilio_verify

SignIn = TokenPair | AppError


def sign_in_limits() -> dict[str, ratelimit.Limit]:
    """Every sign-in limit of the identity module, by name (settings read fresh)."""
    s = get_settings()
    fail = s.login_failure_window_seconds
    return {
        "login_ip": ratelimit.Limit("login-fail-ip", s.login_failure_limit, fail),
        "login_account": ratelimit.Limit("login-fail-account", s.login_failure_limit, fail),
        "otp_check_ip": ratelimit.Limit("otp-check-fail-ip", 2 * s.login_failure_limit, fail),
        "otp_send_phone": ratelimit.Limit("otp-send-phone", s.otp_sends_per_phone, s.otp_send_window_seconds),
        "otp_send_ip": ratelimit.Limit("otp-send-ip", s.otp_sends_per_ip, s.otp_send_window_seconds),
        "register_ip": ratelimit.Limit("register-ip", s.registrations_per_ip, s.registration_window_seconds),
        "reset_ip": ratelimit.Limit("reset-ip", s.password_resets_per_ip, 3600),
        "reset_email": ratelimit.Limit("reset-email", s.password_resets_per_email, 3600),
        "password_change": ratelimit.Limit("password-change-fail", s.login_failure_limit, fail),
    }


def ordered(pairs: list[tuple[ratelimit.Limit, str]]) -> list[tuple[ratelimit.Limit, str]]:
    """Buckets in the one order they are always locked in, so two requests never wait on each other in a cycle."""
    return sorted(pairs, key=lambda pair: ratelimit.bucket_key(*pair))


def find_login(session: Session, kind: str, value: str) -> UserLogin | None:
    """The global login entry of an email or phone (no tenant is known yet)."""
    digest = passwords.login_hash(kind, value)
    return session.scalars(select(UserLogin).where(UserLogin.kind == kind, UserLogin.login_hash == digest)).first()


def add_login(session: Session, *, user: User, kind: str, value: str) -> None:
    """Make an email or phone a sign-in identifier of user (409 when another account uses it)."""
    if find_login(session, kind, value) is not None:
        raise Conflict(f"Another account already signs in with this {kind}", code=f"{kind}_taken")
    session.add(
        UserLogin(kind=kind, login_hash=passwords.login_hash(kind, value), user_id=user.id, tenant_id=user.tenant_id)
    )


def _user_of(session: Session, login: UserLogin | None) -> User | None:
    if login is None:
        return None
    set_tenant(session, login.tenant_id)
    return session.get(User, login.user_id)


def start_session(session: Session, *, user: User, method: str, actor: audit.Actor) -> TokenPair:
    """Open a session for user: a new refresh-token family and an access token; audited as a sign-in."""
    settings = get_settings()
    now = clock.now()
    auth_session = AuthSession(
        id=uuid.uuid4(),
        user_id=user.id,
        tenant_id=user.tenant_id,
        method=method,
        created_at=now,
        last_used_at=now,
        absolute_expires_at=now + timedelta(days=settings.session_max_days),
    )
    session.add(auth_session)
    session.flush()
    refresh = _new_refresh(session, auth_session, now=now)
    session.execute(update(User).where(User.id == user.id).values(last_sign_in_at=now))
    audit.record(
        session,
        tenant_id=user.tenant_id,
        actor=actor,
        user_id=user.id,
        action="auth.signed_in",
        entity="user",
        entity_id=user.id,
        after={"method": method},
    )
    return _pair(user, auth_session, refresh, now=now)


def _new_refresh(session: Session, auth_session: AuthSession, *, now: Any) -> str:
    token = tokens.new_refresh_token()
    session.add(RefreshToken(session_id=auth_session.id, token_hash=tokens.hash_token(token), created_at=now))
    session.flush()
    return token


def _pair(user: User, auth_session: AuthSession, refresh: str, *, now: Any) -> TokenPair:
    access, ttl = tokens.issue_access_token(
        user_id=user.id, tenant_id=user.tenant_id, session_id=auth_session.id, role=user.role, now=now
    )
    return TokenPair(access_token=access, expires_in=ttl, refresh_token=refresh)


def register(*, session: Session, register_in: RegisterIn, actor: audit.Actor) -> SignIn:
    """Create a business with the caller as its owner, signed in; every attempt counts against the IP's limit."""
    ratelimit.consume(
        session,
        limit=sign_in_limits()["register_ip"],
        subject=actor.ip or "unknown",
        detail="Too many sign-ups from this address; try again later",
    )
    email = passwords.normalise_email(register_in.email)
    tenant = Tenant(
        id=uuid.uuid4(),
        name=register_in.tenant_name,
        timezone=register_in.timezone,
        locale=register_in.locale,
        enabled_modules=list(MODULES),
    )
    try:
        # A savepoint: a refused sign-up leaves nothing behind but still commits its rate-limit hit.
        with session.begin_nested():
            set_tenant(session, tenant.id)
            session.add(tenant)
            session.flush()
            user = User(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                name=register_in.name,
                email=email,
                role="owner",
                password_hash=passwords.hash_password(register_in.password),
            )
            session.add(user)
            session.flush()
            add_login(session, user=user, kind="email", value=email)
            session.flush()
    except IntegrityError:  # a concurrent registration took the email between the check and the insert
        return Conflict("Another account already signs in with this email", code="email_taken")
    except Conflict as taken:
        return taken
    audit.record(
        session,
        tenant_id=tenant.id,
        actor=actor,
        user_id=user.id,
        action="tenant.registered",
        entity="tenant",
        entity_id=tenant.id,
        after={"name": tenant.name},
    )
    return start_session(session, user=user, method="password", actor=actor)


def login(*, session: Session, login_in: LoginIn, actor: audit.Actor) -> SignIn:
    """Email and password sign-in; 5 failures per 15 minutes per IP or account lock both out for a while."""
    limits = sign_in_limits()
    email = passwords.normalise_email(login_in.email)
    buckets = ordered([(limits["login_ip"], actor.ip or "unknown"), (limits["login_account"], email)])
    for limit, subject in buckets:
        ratelimit.check(session, limit=limit, subject=subject, detail="Too many failed sign-ins; try again later")
    user = _user_of(session, find_login(session, "email", email))
    matches = passwords.verify_password(user.password_hash if user else None, login_in.password)
    if not matches or user is None or user.disabled:
        for limit, subject in buckets:
            ratelimit.hit(session, limit=limit, subject=subject)
        if user is not None:
            audit.record(
                session,
                tenant_id=user.tenant_id,
                actor=actor,
                user_id=user.id,
                action="auth.sign_in_failed",
                entity="user",
                entity_id=user.id,
            )
        return Unauthorized("The email or password is wrong", code="invalid_credentials")
    if passwords.needs_rehash(user.password_hash or ""):
        session.execute(
            update(User).where(User.id == user.id).values(password_hash=passwords.hash_password(login_in.password))
        )
    return start_session(session, user=user, method="password", actor=actor)


def start_otp(*, session: Session, otp_in: OtpStartIn, actor: audit.Actor) -> OtpStarted:
    """Text a sign-in code to a known, enabled number; answers the same for any number."""
    limits = sign_in_limits()
    for limit, subject in ordered(
        [(limits["otp_send_phone"], otp_in.phone), (limits["otp_send_ip"], actor.ip or "unknown")]
    ):
        ratelimit.consume(session, limit=limit, subject=subject, detail="Too many codes requested; try again later")
    user = _user_of(session, find_login(session, "phone", otp_in.phone))
    if user is not None and not user.disabled:
        twilio_verify.send_code(otp_in.phone)
    return OtpStarted()


def verify_otp(*, session: Session, otp_in: OtpVerifyIn, actor: audit.Actor) -> SignIn:
    """Sign in with the texted code (Verify allows 5 checks per code; our IP limit caps the rest)."""
    limit = sign_in_limits()["otp_check_ip"]
    subject = actor.ip or "unknown"
    ratelimit.check(session, limit=limit, subject=subject, detail="Too many wrong codes; try again later")
    user = _user_of(session, find_login(session, "phone", otp_in.phone))
    failure: AppError | None = None
    if user is None or user.disabled:
        failure = Unauthorized("The code is wrong or has expired", code="invalid_code")
    else:
        try:
            if not twilio_verify.check_code(otp_in.phone, otp_in.code).approved:
                failure = Unauthorized("The code is wrong", code="invalid_code")
        except twilio_verify.VerificationNotFound:
            failure = Unauthorized("The code has expired or was already used; ask for a new one", code="code_expired")
    if failure is None and user is not None:
        return start_session(session, user=user, method="otp", actor=actor)
    ratelimit.hit(session, limit=limit, subject=subject)
    if user is not None:
        audit.record(
            session,
            tenant_id=user.tenant_id,
            actor=actor,
            user_id=user.id,
            action="auth.sign_in_failed",
            entity="user",
            entity_id=user.id,
            after={"method": "otp"},
        )
    return failure or Unauthorized("The code is wrong", code="invalid_code")


def _revoke(auth_session: AuthSession, reason: str) -> None:
    if auth_session.revoked_at is None:
        auth_session.revoked_at = clock.now()
        auth_session.revoked_reason = reason


def refresh(*, session: Session, refresh_token: str | None, actor: audit.Actor) -> SignIn:
    """Swap a refresh token for a new pair; a token used twice ends its whole session (family)."""
    if not refresh_token:
        return Unauthorized("Send the refresh token (body or cookie)", code="invalid_refresh_token")
    row = session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.hash_token(refresh_token)).with_for_update()
    ).first()
    auth_session = session.get(AuthSession, row.session_id, with_for_update=True) if row else None
    if row is None or auth_session is None:
        return Unauthorized("The refresh token is not valid", code="invalid_refresh_token")
    set_tenant(session, auth_session.tenant_id)
    now = clock.now()
    settings = get_settings()
    problem = _refresh_problem(row, auth_session, now=now, idle=timedelta(days=settings.session_idle_days))
    user = session.get(User, auth_session.user_id) if problem is None else None
    if problem is None and (user is None or user.disabled):
        problem = ("user_disabled", Unauthorized("This account may no longer sign in", code="session_ended"))
    if problem is not None:
        reason, error = problem
        if auth_session.revoked_at is None:
            _revoke(auth_session, reason)
            audit.record(
                session,
                tenant_id=auth_session.tenant_id,
                actor=actor,
                user_id=auth_session.user_id,
                action=f"auth.session_{reason}",
                entity="session",
                entity_id=auth_session.id,
            )
        return error
    assert user is not None
    row.used_at = now
    auth_session.last_used_at = now
    return _pair(user, auth_session, _new_refresh(session, auth_session, now=now), now=now)


def _refresh_problem(
    row: RefreshToken, auth_session: AuthSession, *, now: Any, idle: timedelta
) -> tuple[str, AppError] | None:
    if auth_session.revoked_at is not None:
        return "revoked", Unauthorized("This session has ended; sign in again", code="session_ended")
    if row.used_at is not None:
        return "reuse", Unauthorized(
            "This refresh token was already used; the session has been ended for safety", code="refresh_token_reused"
        )
    if now >= auth_session.absolute_expires_at:
        return "expired", Unauthorized("This session is older than 30 days; sign in again", code="session_expired")
    if now - auth_session.last_used_at >= idle:
        return "idle", Unauthorized("This session was unused for too long; sign in again", code="session_expired")
    return None


def logout(*, session: Session, principal: Principal, actor: audit.Actor) -> None:
    """End the caller's session: its refresh tokens stop working and its access tokens are refused."""
    auth_session = session.get(AuthSession, principal.session_id, with_for_update=True)
    if auth_session is not None and auth_session.user_id == principal.user_id:
        _revoke(auth_session, "logout")
        audit.record(
            session,
            tenant_id=principal.tenant_id,
            actor=actor,
            action="auth.signed_out",
            entity="session",
            entity_id=auth_session.id,
        )


def logout_everywhere(*, session: Session, principal: Principal, actor: audit.Actor) -> None:
    """End every session of the caller, this one included (a lost phone, a shared computer)."""
    revoke_user_sessions(session, user_id=principal.user_id, reason="logout_all")
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="auth.signed_out_everywhere",
        entity="user",
        entity_id=principal.user_id,
    )


def revoke_user_sessions(session: Session, *, user_id: uuid.UUID, reason: str, keep: uuid.UUID | None = None) -> None:
    """End every open session of a user (disabled accounts, new passwords), but `keep` when given."""
    stmt = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep)
    session.execute(stmt.values(revoked_at=clock.now(), revoked_reason=reason))


def change_password(
    *, session: Session, principal: Principal, change: PasswordChange, actor: audit.Actor
) -> AppError | None:
    """A new password for the signed-in user, who proves the current one; their other sessions end.

    A wrong current password is 403 (not 401: this session is still good) and counts: 5 in 15 minutes and
    even the right one waits. Answered without raising, so the count and the audit row commit.
    """
    limit = sign_in_limits()["password_change"]
    subject = str(principal.user_id)
    ratelimit.check(session, limit=limit, subject=subject, detail="Too many wrong passwords; try again later")
    user = session.get(User, principal.user_id, with_for_update=True)
    if user is None or user.password_hash is None:
        return Conflict("This account signs in with a texted code; it has no password to change", code="no_password")
    if not passwords.verify_password(user.password_hash, change.current_password):
        ratelimit.hit(session, limit=limit, subject=subject)
        audit.record(
            session,
            tenant_id=user.tenant_id,
            actor=actor,
            user_id=user.id,
            action="auth.password_change_failed",
            entity="user",
            entity_id=user.id,
        )
        return Forbidden("The current password is wrong", code="wrong_password")
    user.password_hash = passwords.hash_password(change.new_password)
    revoke_user_sessions(session, user_id=user.id, reason="password_changed", keep=principal.session_id)
    audit.record(
        session,
        tenant_id=user.tenant_id,
        actor=actor,
        user_id=user.id,
        action="auth.password_changed",
        entity="user",
        entity_id=user.id,
    )
    return None


_PRINCIPAL_QUERY = "SELECT * FROM app_session_principal(:session_id, :user_id, :tenant_id)"
_PRINCIPAL_SQL = text(_PRINCIPAL_QUERY)


def authenticate(raw: Any, open_session: auth.SessionOpener | None = None) -> Principal:
    """The authenticator installed in shared.auth: a valid access token of a live session and an enabled user."""
    claims = tokens.verify_access_token(tokens.bearer_token(raw.headers.get("authorization")), now=clock.now())
    # One statement per request: the role and modules are read fresh every time, so a role change, a disabled
    # user or a revoked session takes effect at once. On the request's own transaction when the caller opens it
    # (that statement also binds the transaction to the tenant: one round trip, one connection per request);
    # else on a pooled connection of its own, outside any transaction.
    params = {"session_id": claims.session_id, "user_id": claims.user_id, "tenant_id": claims.tenant_id}
    if open_session is not None:
        found = set_tenant_with(open_session(), claims.tenant_id, _PRINCIPAL_QUERY, params)
    else:
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            row = connection.execute(_PRINCIPAL_SQL, params).first()
            found = row._asdict() if row is not None else None
    if found is None or found["disabled"] or found["revoked"] or clock.now() >= found["absolute_expires_at"]:
        raise Unauthorized("This session has ended; sign in again", code="session_ended")
    return Principal(
        user_id=claims.user_id,
        tenant_id=claims.tenant_id,
        role=found["role"],
        permissions=ROLE_PERMISSIONS.get(found["role"], frozenset()),
        modules=frozenset(found["enabled_modules"]),
        session_id=claims.session_id,
    )
