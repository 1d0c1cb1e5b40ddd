"""Invitations against the real database: the link expires, a refused email is recorded, a disabled person is out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from blueprints.identity import invitations, service
from blueprints.identity.models import Invitation, User
from blueprints.identity.permissions import ROLE_PERMISSIONS
from blueprints.identity.schemas import UserInvite
from shared import audit, clock
from shared.auth import Principal
from shared.config import reset_settings_cache
from shared.db import session_scope
from shared.errors import Forbidden, Gone
from tests.builders import create_tenant, create_user, unique_email
from tests.conftest import Database

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_smtp(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SMTP_HOST", "")
    reset_settings_cache()
    clock.pin(START)
    yield
    clock.unpin()
    reset_settings_cache()


def _invited() -> tuple[uuid.UUID, uuid.UUID]:
    """A committed invitation for a new tech; returns (invitation id, user id)."""
    with session_scope() as session:
        tenant = create_tenant(session, name=f"Shop {uuid.uuid4().hex[:6]}")
        owner = create_user(session, tenant=tenant, role="owner")
        principal = Principal(user_id=owner.id, tenant_id=tenant.id, role="owner",
                              permissions=ROLE_PERMISSIONS["owner"])  # fmt: skip
        user = service.invite_user(session=session, principal=principal, actor=audit.Actor(),
                                   invite=UserInvite(name="Tess", role="tech", email=unique_email("tess")))  # fmt: skip
        invitation = session.query(Invitation).filter(Invitation.user_id == user.id).one()
        return invitation.id, user.id


def test_a_link_stops_working_after_seven_days_and_is_not_emailed_late() -> None:
    invitation_id, _ = _invited()
    token = invitations.token_for(invitation_id)
    clock.pin(START + timedelta(days=7) - timedelta(seconds=1))
    with session_scope() as session:
        assert invitations.open_invitation(session, token).user.name == "Tess"
    clock.pin(START + timedelta(days=7))
    with pytest.raises(Gone) as expired, session_scope() as session:
        invitations.open_invitation(session, token)
    assert expired.value.code == "invitation_expired"
    assert invitations.deliver(invitations.InvitationTask(invitation_id=invitation_id)) == "stale"


def test_a_forged_or_unknown_link_is_refused() -> None:
    invitation_id, _ = _invited()
    for token in (invitations.token_for(invitation_id)[:-1] + "x", invitations.token_for(uuid.uuid4()), "nonsense"):
        with pytest.raises(Forbidden), session_scope() as session:
            invitations.open_invitation(session, token)


def test_an_email_the_relay_refuses_for_good_is_recorded_on_the_invitation() -> None:
    invitation_id, _ = _invited()
    assert invitations.deliver(invitations.InvitationTask(invitation_id=invitation_id)) == "failed"
    with session_scope() as session:
        invitation = session.get(Invitation, invitation_id)
        assert invitation is not None and invitation.email_status == "failed"
        assert invitation.email_error and invitation.email_error.startswith("no_smtp")
    # The queue delivering the same task again changes nothing (no second attempt, no second audit row).
    assert invitations.deliver(invitations.InvitationTask(invitation_id=invitation_id)) == "done"


def test_a_person_disabled_after_the_invitation_cannot_use_it() -> None:
    invitation_id, user_id = _invited()
    with session_scope() as session:
        tenant_id = session.get(Invitation, invitation_id).tenant_id  # type: ignore[union-attr]
    with session_scope(tenant_id=tenant_id) as session:
        session.execute(update(User).where(User.id == user_id).values(disabled=True))
    with pytest.raises(Gone) as refused, session_scope() as session:
        invitations.set_password(session, token=invitations.token_for(invitation_id), password="long enough 123",
                                 actor=audit.Actor())  # fmt: skip
    assert refused.value.code == "user_disabled"
