"""Managing people: invitations, role changes with audit, owner protections, disabling ends sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.identity import service, sessions
from blueprints.identity.models import AuthSession
from blueprints.identity.schemas import LoginIn, TenantPatch, TokenPair, UserInvite, UserPatch
from shared import audit, jobs
from shared.audit import AuditLog
from shared.errors import Conflict, Forbidden, PreconditionFailed
from tests.builders import PASSWORD, create_tenant, create_user, principal_of, unique_email, unique_phone

ACTOR = audit.Actor(ip="203.0.113.5", user_agent="pytest", request_id="req-1")


def test_an_invitation_is_audited_without_contact_details(db_session: Session) -> None:
    tenant = create_tenant(db_session)
    owner = principal_of(create_user(db_session, tenant=tenant))
    actor = audit.Actor(user_id=owner.user_id, ip="203.0.113.5", user_agent="pytest", request_id="req-1")
    invited = service.invite_user(
        session=db_session,
        principal=owner,
        actor=actor,
        invite=UserInvite(name="Tia", phone=unique_phone(), role="tech"),
    )
    row = db_session.scalars(select(AuditLog).where(AuditLog.action == "users.invited")).one()
    assert row.entity_id == str(invited.id) and row.user_id == owner.user_id and row.ip == "203.0.113.5"
    assert row.after is not None and "phone" not in row.after and row.request_id == "req-1"


def test_an_email_already_used_elsewhere_is_409(db_session: Session) -> None:
    taken = create_user(db_session, tenant=create_tenant(db_session, name="Elsewhere")).email
    tenant = create_tenant(db_session)
    owner = principal_of(create_user(db_session, tenant=tenant))
    with pytest.raises(Conflict):
        service.invite_user(
            session=db_session, principal=owner, actor=ACTOR, invite=UserInvite(name="Dup", email=taken, role="tech")
        )


def test_role_changes_are_audited_with_before_and_after(db_session: Session) -> None:
    tenant = create_tenant(db_session)
    owner = principal_of(create_user(db_session, tenant=tenant))
    tech = create_user(db_session, tenant=tenant, role="tech")
    changed, version = service.update_user(
        session=db_session,
        principal=owner,
        user_id=tech.id,
        actor=ACTOR,
        patch=UserPatch(role="advisor"),
        expected=frozenset({1}),
    )
    assert changed.role == "advisor" and version == 2
    row = db_session.scalars(select(AuditLog).where(AuditLog.action == "users.role_changed")).one()
    assert (row.before["role"], row.after["role"]) == ("tech", "advisor")
    with pytest.raises(PreconditionFailed):
        service.update_user(
            session=db_session,
            principal=owner,
            user_id=tech.id,
            actor=ACTOR,
            patch=UserPatch(role="tech"),
            expected=frozenset({1}),
        )


def test_admins_cannot_make_or_change_owners_and_the_last_owner_stays(db_session: Session) -> None:
    tenant = create_tenant(db_session)
    owner_user = create_user(db_session, tenant=tenant)
    admin = principal_of(create_user(db_session, tenant=tenant, role="admin"))
    with pytest.raises(Forbidden):
        service.invite_user(
            session=db_session,
            principal=admin,
            actor=ACTOR,
            invite=UserInvite(name="Boss", email=unique_email(), role="owner"),
        )
    with pytest.raises(Forbidden):
        service.update_user(
            session=db_session,
            principal=admin,
            user_id=owner_user.id,
            actor=ACTOR,
            patch=UserPatch(disabled=True),
            expected=None,
        )
    second_owner = principal_of(create_user(db_session, tenant=tenant, role="owner"))
    service.update_user(
        session=db_session,
        principal=second_owner,
        user_id=owner_user.id,
        actor=ACTOR,
        patch=UserPatch(role="admin"),
        expected=None,
    )
    with pytest.raises(Forbidden):  # nobody demotes themselves, so the business cannot lose its last owner
        service.update_user(
            session=db_session,
            principal=second_owner,
            user_id=second_owner.user_id,
            actor=ACTOR,
            patch=UserPatch(role="admin"),
            expected=None,
        )


def test_disabling_a_user_ends_their_sessions(db_session: Session) -> None:
    tenant = create_tenant(db_session)
    owner = principal_of(create_user(db_session, tenant=tenant))
    tech = create_user(db_session, tenant=tenant, role="tech")
    pair = sessions.login(session=db_session, login_in=LoginIn(email=tech.email, password=PASSWORD), actor=ACTOR)
    assert isinstance(pair, TokenPair)
    service.update_user(
        session=db_session, principal=owner, user_id=tech.id, actor=ACTOR, patch=UserPatch(disabled=True), expected=None
    )
    revoked = db_session.scalars(select(AuditLog.action)).all()
    assert "users.disabled" in revoked
    live = db_session.scalars(
        select(AuthSession).where(AuthSession.user_id == tech.id, AuthSession.revoked_at.is_(None))
    ).all()
    assert live == []


def test_tenant_settings_change_with_audit(db_session: Session) -> None:
    tenant = create_tenant(db_session)
    owner = principal_of(create_user(db_session, tenant=tenant))
    patch = TenantPatch.model_validate(
        {
            "quiet_hours": {"start": "21:00", "end": "08:00"},
            "brand_colour": "#aa3300",
            "enabled_modules": ["crm", "shop", "crm"],
        }
    )
    out, version = service.update_tenant(
        session=db_session, principal=owner, patch=patch, expected=frozenset({1}), actor=ACTOR
    )
    assert out.quiet_hours is not None and out.quiet_hours.start.hour == 21
    assert out.enabled_modules == ["crm", "shop"] and version == 2
    assert db_session.scalars(select(AuditLog.action).where(AuditLog.entity == "tenant")).all() == ["tenant.updated"]
    assert tenant.id in jobs.tenant_ids(db_session)
