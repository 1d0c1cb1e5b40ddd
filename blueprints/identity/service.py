"""Identity use cases: the business's settings, its people and roles, who is signed in, the audit log.

This is the module's public API: other modules import this file and schemas.py only.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import Subquery, delete, func, select
from sqlalchemy.orm import Session

from blueprints.identity import password_links, passwords, sessions
from blueprints.identity.lookups import locked_user
from blueprints.identity.models import AuthSession, Tenant, User
from blueprints.identity.permissions import ROLE_PERMISSIONS
from blueprints.identity.schemas import (
    AuditOut,
    AuditPage,
    AuditQuery,
    Me,
    QuietHours,
    TenantOut,
    TenantPatch,
    UserInvite,
    UserOut,
    UserPage,
    UserPatch,
)
from shared import audit, clock, idempotency, ratelimit
from shared.auth import Principal
from shared.db import affected, session_scope
from shared.errors import Conflict, Forbidden, NotFound
from shared.etag import check_version, flush_versioned
from shared.jobs import for_each_tenant
from shared.pagination import PageQuery, paginate

log = logging.getLogger(__name__)
authenticate = sessions.authenticate
# The local demo business created by `make seed` (blueprints/identity/demo.py); other modules seed into it.
DEMO_TENANT_ID = uuid.UUID("5eed0000-0000-4000-8000-00000000d3e0")


def demo_user_id(role: str) -> uuid.UUID:
    """The fixed id of the demo business's person with this role."""
    return uuid.uuid5(DEMO_TENANT_ID, role)


def tenant_out(tenant: Tenant) -> TenantOut:
    """The public view of a tenant."""
    quiet = None
    if tenant.quiet_hours_start is not None and tenant.quiet_hours_end is not None:
        quiet = QuietHours(start=tenant.quiet_hours_start, end=tenant.quiet_hours_end)
    return TenantOut(
        id=tenant.id,
        name=tenant.name,
        timezone=tenant.timezone,
        locale=tenant.locale,
        brand_colour=tenant.brand_colour,
        quiet_hours=quiet,
        enabled_modules=list(tenant.enabled_modules),
        created_at=tenant.created_at,
        updated_at=tenant.updated_at,
    )


def _tenant_or_raise(session: Session, principal: Principal, *, lock: bool = False) -> Tenant:
    tenant = session.get(Tenant, principal.tenant_id, with_for_update=lock)
    if tenant is None:
        raise NotFound("No such business")
    return tenant


def get_tenant(*, session: Session, principal: Principal) -> tuple[TenantOut, int]:
    """The caller's business and the version its ETag names."""
    tenant = _tenant_or_raise(session, principal)
    return tenant_out(tenant), tenant.version


def update_tenant(
    *, session: Session, principal: Principal, patch: TenantPatch, expected: frozenset[int] | None, actor: audit.Actor
) -> tuple[TenantOut, int]:
    """Change the business's settings (412 when it changed since the caller read it)."""
    tenant = _tenant_or_raise(session, principal, lock=True)
    check_version(tenant.version, expected)
    before = audit.snapshot(tenant_out(tenant))
    changes = patch.model_dump(exclude_unset=True)
    if "quiet_hours" in changes:
        quiet = patch.quiet_hours
        tenant.quiet_hours_start = quiet.start if quiet else None
        tenant.quiet_hours_end = quiet.end if quiet else None
    for name in ("name", "timezone", "locale", "brand_colour"):
        if name in changes:
            setattr(tenant, name, changes[name])
    if "enabled_modules" in changes:
        tenant.enabled_modules = sorted(set(changes["enabled_modules"]))
    tenant.updated_at = clock.now()
    flush_versioned(session)
    after = tenant_out(tenant)
    audit.record(
        session,
        tenant_id=tenant.id,
        actor=actor,
        action="tenant.updated",
        entity="tenant",
        entity_id=tenant.id,
        before=before,
        after=audit.snapshot(after),
    )
    return after, tenant.version


def list_users(*, session: Session, principal: Principal, query: PageQuery) -> UserPage:
    """The business's people, by name."""
    stmt = select(User).where(User.tenant_id == principal.tenant_id)
    rows, cursor = paginate(session, stmt, keys=[User.name, User.id], query=query)
    return UserPage(items=[UserOut.model_validate(u) for u in rows], next_cursor=cursor)


def get_user(*, session: Session, principal: Principal, user_id: uuid.UUID) -> UserOut | None:
    """A person of the caller's business, or None."""
    user = session.get(User, user_id)
    return UserOut.model_validate(user) if user is not None and user.tenant_id == principal.tenant_id else None


def get_user_or_raise(*, session: Session, principal: Principal, user_id: uuid.UUID) -> tuple[UserOut, int]:
    """A person of the caller's business and the version its ETag names (404 otherwise)."""
    user = session.get(User, user_id)
    if user is None or user.tenant_id != principal.tenant_id:
        raise NotFound("No such user")
    return UserOut.model_validate(user), user.version


def invite_user(*, session: Session, principal: Principal, invite: UserInvite, actor: audit.Actor) -> UserOut:
    """Add a person with a role; they sign in by email and password, or by a code texted to their phone.

    Invited by email without a password, they are emailed a link to choose one (password_links.py).
    """
    if invite.role == "owner":
        principal.require("users.grant_owner")
    email = passwords.normalise_email(invite.email) if invite.email else None
    user = User(
        id=uuid.uuid4(),
        tenant_id=principal.tenant_id,
        name=invite.name,
        email=email,
        phone=invite.phone,
        role=invite.role,
        invited_by=principal.user_id,
        password_hash=passwords.hash_password(invite.password) if invite.password else None,
    )
    session.add(user)
    session.flush()
    if email:
        sessions.add_login(session, user=user, kind="email", value=email)
    if invite.phone:
        sessions.add_login(session, user=user, kind="phone", value=invite.phone)
    session.flush()
    out = UserOut.model_validate(user)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="users.invited",
        entity="user",
        entity_id=user.id,
        after=audit.snapshot(out, exclude={"email", "phone"}),
    )
    if email and not invite.password:
        password_links.invite(session, user=user, created_by=principal.user_id, actor=actor)
    return out


def update_user(
    *,
    session: Session,
    principal: Principal,
    user_id: uuid.UUID,
    patch: UserPatch,
    expected: frozenset[int] | None,
    actor: audit.Actor,
) -> tuple[UserOut, int]:
    """Change a person's role, name or access; owners are changed only by owners, the last owner stays."""
    user = locked_user(session, principal, user_id)
    check_version(user.version, expected)
    changes = patch.model_dump(exclude_unset=True, exclude_none=True)
    if (user.role == "owner" or changes.get("role") == "owner") and ("role" in changes or "disabled" in changes):
        principal.require("users.grant_owner")
    if user.id == principal.user_id and ("role" in changes or changes.get("disabled")):
        raise Forbidden("You cannot change your own role or lock yourself out", code="self_change")
    demoted = user.role == "owner" and (changes.get("role", "owner") != "owner" or changes.get("disabled"))
    if demoted and _active_owners(session, principal.tenant_id) <= 1:
        raise Conflict("A business keeps at least one owner who can sign in", code="last_owner")
    before = UserOut.model_validate(user)
    for name, value in changes.items():
        setattr(user, name, value)
    user.updated_at = clock.now()
    flush_versioned(session)
    if changes.get("disabled"):
        sessions.revoke_user_sessions(session, user_id=user.id, reason="disabled")
    after = UserOut.model_validate(user)
    _audit_user_change(session, principal=principal, actor=actor, before=before, after=after)
    return after, user.version


def _active_owners(session: Session, tenant_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(User.tenant_id == tenant_id, User.role == "owner", User.disabled.is_(False))
    return int(session.scalar(stmt) or 0)


def _audit_user_change(
    session: Session, *, principal: Principal, actor: audit.Actor, before: UserOut, after: UserOut
) -> None:
    fields = {"role", "disabled", "name"}
    action = "users.role_changed" if before.role != after.role else "users.updated"
    if before.disabled != after.disabled:
        action = "users.disabled" if after.disabled else "users.enabled"
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action=action,
        entity="user",
        entity_id=after.id,
        before=before.model_dump(mode="json", include=fields),
        after=after.model_dump(mode="json", include=fields),
    )


def me(*, session: Session, principal: Principal) -> Me:
    """The signed-in user, their business and their permissions."""
    user = session.get(User, principal.user_id)
    if user is None:
        raise NotFound("No such user")
    tenant = _tenant_or_raise(session, principal)
    return Me(
        user=UserOut.model_validate(user),
        tenant=tenant_out(tenant),
        permissions=sorted(ROLE_PERMISSIONS.get(user.role, frozenset())),
    )


def list_audit(*, session: Session, principal: Principal, query: AuditQuery) -> AuditPage:
    """The business's audit log, newest first, filtered by entity."""
    rows, cursor = audit.list_entries(
        session, tenant_id=principal.tenant_id, query=query, entity=query.entity, entity_id=query.entity_id
    )
    return AuditPage(items=[AuditOut.model_validate(r) for r in rows], next_cursor=cursor)


def user_ids_in_tenant(*, session: Session, principal: Principal, user_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these ids are people of the caller's business."""
    stmt = select(User.id).where(User.tenant_id == principal.tenant_id, User.id.in_(user_ids))
    return set(session.scalars(stmt).all())


def housekeeping() -> int:
    """Purge expired idempotency records (per tenant), sessions ended 30 days ago and old rate-limit hits."""
    with session_scope() as session:
        cutoff = clock.now() - timedelta(days=30)
        removed = affected(
            session,
            delete(AuthSession).where((AuthSession.revoked_at < cutoff) | (AuthSession.absolute_expires_at < cutoff)),
        )
        removed += ratelimit.purge_older_than(session, clock.now() - timedelta(days=1))
    purged = for_each_tenant(lambda session, _: idempotency.purge_expired(session), name="identity housekeeping")
    return removed + purged.total()


def principal_for_user(*, session: Session, user_id: uuid.UUID) -> Principal | None:
    """The principal a user of the session's tenant acts as (seeds, jobs acting for someone); None if unknown."""
    user = session.get(User, user_id)
    tenant = session.get(Tenant, user.tenant_id) if user is not None else None
    if user is None or tenant is None or user.disabled:
        return None
    return Principal(
        user_id=user.id,
        tenant_id=user.tenant_id,
        role=user.role,
        permissions=ROLE_PERMISSIONS.get(user.role, frozenset()),
        modules=frozenset(tenant.enabled_modules),
    )


def user_projection() -> Subquery:
    """People (id and name only) as a read-only selectable for other modules' joined reads."""
    return select(User.id, User.name).subquery("users")
