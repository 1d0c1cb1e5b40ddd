"""Password links against the real database: expiry, forgery, refused emails, disabled people, and resets
that answer the same for any email, end every open session and are limited per address."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text, update

from blueprints.identity import password_links, service, sessions
from blueprints.identity.models import AuthSession, PasswordLink, User, UserLogin
from blueprints.identity.permissions import ROLE_PERMISSIONS
from blueprints.identity.schemas import LoginIn, TokenPair, UserInvite
from shared import audit, clock
from shared.auth import Principal
from shared.config import reset_settings_cache
from shared.db import session_scope
from shared.errors import Forbidden, Gone, RateLimited
from shared.providers import SendError
from tests.builders import PASSWORD, create_tenant, create_user, unique_email
from tests.conftest import Database
from tests.fakes.smtp import FakeSmtp

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NEW_PASSWORD = "a brand new password 42"


@pytest.fixture(autouse=True)
def no_smtp(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SMTP_HOST", "")
    reset_settings_cache()
    clock.pin(START)
    yield
    clock.unpin()
    reset_settings_cache()


def _tenant_of_user(user_id: uuid.UUID) -> uuid.UUID:
    with session_scope() as session:  # user_logins is a global lookup table (no RLS)
        return session.scalars(select(UserLogin.tenant_id).where(UserLogin.user_id == user_id)).first()


def _tenant_of_link(link_id: uuid.UUID) -> uuid.UUID:
    with session_scope() as session:
        return session.execute(text("SELECT app_password_link_tenant(:id)"), {"id": link_id}).scalar_one()


def _links_of(user_id: uuid.UUID) -> list[PasswordLink]:
    with session_scope(tenant_id=_tenant_of_user(user_id)) as session:
        links = session.scalars(
            select(PasswordLink).where(PasswordLink.user_id == user_id).order_by(PasswordLink.created_at)
        ).all()
        session.expunge_all()
        return list(links)


def _invited(email: str | None = None) -> tuple[uuid.UUID, uuid.UUID]:
    """A committed invitation for a new tech; returns (link id, user id)."""
    with session_scope() as session:
        tenant = create_tenant(session, name=f"Shop {uuid.uuid4().hex[:6]}")
        owner = create_user(session, tenant=tenant, role="owner")
        principal = Principal(
            user_id=owner.id, tenant_id=tenant.id, role="owner", permissions=ROLE_PERMISSIONS["owner"]
        )
        user = service.invite_user(
            session=session,
            principal=principal,
            actor=audit.Actor(),
            invite=UserInvite(name="Tess", role="tech", email=email or unique_email("tess")),
        )
    [link] = _links_of(user.id)
    return link.id, user.id


def _member() -> User:
    """A committed person with a password, signed in once (an open session)."""
    with session_scope() as session:
        tenant = create_tenant(session, name=f"Shop {uuid.uuid4().hex[:6]}")
        user = create_user(session, tenant=tenant, role="advisor", email=unique_email("ada"))
        session.expunge(user)
    with session_scope() as session:
        signed_in = sessions.login(
            session=session,
            login_in=LoginIn(email=user.email or "", password=PASSWORD),
            actor=audit.Actor(ip="203.0.113.40"),
        )
        assert isinstance(signed_in, TokenPair)
    return user


def _reset(email: str, ip: str = "203.0.113.41") -> None:
    with session_scope() as session:
        answer = password_links.request_reset(session=session, email=email, actor=audit.Actor(ip=ip))
    assert answer.status == "sent_if_known"


def test_a_link_stops_working_after_seven_days_and_is_not_emailed_late() -> None:
    link_id, _ = _invited()
    token = password_links.token_for(link_id)
    clock.pin(START + timedelta(days=7) - timedelta(seconds=1))
    with session_scope() as session:
        assert password_links.open_link(session, token).user.name == "Tess"
    clock.pin(START + timedelta(days=7))
    with pytest.raises(Gone) as expired, session_scope() as session:
        password_links.open_link(session, token)
    assert expired.value.code == "link_expired"
    assert password_links.deliver(password_links.LinkTask(link_id=link_id)) == "stale"


def test_a_forged_or_unknown_link_is_refused() -> None:
    link_id, _ = _invited()
    forged = password_links.token_for(link_id)[:-1] + "x"
    for token in (forged, password_links.token_for(uuid.uuid4()), "nonsense"):
        with pytest.raises(Forbidden), session_scope() as session:
            password_links.open_link(session, token)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmtp]:
    """A real SMTP relay on loopback (STARTTLS, AUTH) instead of the module's no-SMTP default."""
    server = FakeSmtp().start()
    for name, value in {**server.env(), "SMTP_FROM": "hello@tradeops.example.com"}.items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    yield server
    server.stop()


def _email_state(link_id: uuid.UUID) -> tuple[str, str | None]:
    with session_scope(tenant_id=_tenant_of_link(link_id)) as session:
        link = session.get(PasswordLink, link_id)
        assert link is not None
        return link.email_status, link.email_error


def _audited(link_id: uuid.UUID, user_id: uuid.UUID) -> list[str]:
    with session_scope(tenant_id=_tenant_of_link(link_id)) as session:
        return list(
            session.scalars(
                select(audit.AuditLog.action)
                .where(audit.AuditLog.entity_id == str(user_id))
                .order_by(audit.AuditLog.created_at)
            )
        )


def test_an_email_the_relay_refuses_for_good_fails_the_link_at_once(smtp: FakeSmtp) -> None:
    # given a relay that answers 550 for the invited address
    address = unique_email("gone")
    smtp.refuse(address, permanent=True)
    link_id, user_id = _invited(address)
    # when the queue delivers the task, the refusal is recorded on the link, with no retry asked for
    assert password_links.deliver(password_links.LinkTask(link_id=link_id)) == "failed"
    status, error = _email_state(link_id)
    assert status == "failed" and error and error.startswith("smtp_550")
    assert smtp.attempts[address] == 1 and smtp.messages == []
    # and the queue delivering the same task again changes nothing (no second attempt, no second audit row)
    assert password_links.deliver(password_links.LinkTask(link_id=link_id)) == "done"
    assert smtp.attempts[address] == 1
    assert _audited(link_id, user_id).count("users.password_link_email_failed") == 1


def test_a_transient_refusal_raises_for_the_queue_to_retry_and_the_give_up_fails_the_link(smtp: FakeSmtp) -> None:
    # given a relay that answers 451 (try later) for the invited address
    address = unique_email("busy")
    smtp.refuse(address, permanent=False)
    link_id, user_id = _invited(address)
    # when the queue delivers the task, the error goes back to the queue (which retries), the link still queued
    for attempt in (1, 2):
        with pytest.raises(SendError) as caught:
            password_links.deliver(password_links.LinkTask(link_id=link_id))
        assert caught.value.transient and caught.value.code == "smtp_451"
        assert _email_state(link_id) == ("queued", None) and smtp.attempts[address] == attempt
    # when the host gives up (the poison queue's handler), the link shows it failed
    password_links.give_up(password_links.LinkTask(link_id=link_id))
    status, error = _email_state(link_id)
    assert status == "failed" and error and "gave up" in error
    assert password_links.deliver(password_links.LinkTask(link_id=link_id)) == "done"
    assert smtp.attempts[address] == 2 and "users.password_link_email_failed" in _audited(link_id, user_id)


def test_without_an_smtp_relay_the_link_fails_as_no_smtp() -> None:
    link_id, _ = _invited()
    assert password_links.deliver(password_links.LinkTask(link_id=link_id)) == "failed"
    status, error = _email_state(link_id)
    assert status == "failed" and error and error.startswith("no_smtp")


def test_a_person_disabled_after_the_invitation_cannot_use_it() -> None:
    link_id, user_id = _invited()
    with session_scope(tenant_id=_tenant_of_link(link_id)) as session:
        session.execute(update(User).where(User.id == user_id).values(disabled=True))
    with pytest.raises(Gone) as refused, session_scope() as session:
        opened = password_links.open_link(session, password_links.token_for(link_id), lock=True)
        password_links.set_password(session, opened, password=NEW_PASSWORD, actor=audit.Actor())
    assert refused.value.code == "user_disabled"


def test_a_reset_answers_the_same_for_unknown_emails_and_makes_nothing(database: Database) -> None:
    moment = START + timedelta(days=17, minutes=3, microseconds=4711)  # a time no other test makes links at
    clock.pin(moment)
    _reset(unique_email("nobody"))
    # read as the owner role, which RLS does not limit: no link of any business was made at that moment
    engine = create_engine(database.owner_url)
    try:
        with engine.connect() as owner:
            made = owner.execute(text("SELECT id FROM password_links WHERE created_at = :at"), {"at": moment}).all()
    finally:
        engine.dispose()
    assert made == []


def test_a_reset_link_lasts_an_hour_sets_the_password_and_ends_every_session() -> None:
    user = _member()
    _reset(user.email or "")
    [link] = _links_of(user.id)
    assert (link.purpose, link.expires_at - START) == ("reset", timedelta(hours=1))
    with session_scope() as session:
        opened = password_links.open_link(session, password_links.token_for(link.id), lock=True)
        password_links.set_password(session, opened, password=NEW_PASSWORD, actor=audit.Actor())
        assert opened.link.purpose == "reset"
    with session_scope() as session:
        open_sessions = session.scalars(select(AuthSession).where(AuthSession.user_id == user.id)).all()
        assert open_sessions and all(s.revoked_reason == "password_reset" for s in open_sessions)
        old = sessions.login(
            session=session,
            login_in=LoginIn(email=user.email or "", password=PASSWORD),
            actor=audit.Actor(ip="203.0.113.42"),
        )
        new = sessions.login(
            session=session,
            login_in=LoginIn(email=user.email or "", password=NEW_PASSWORD),
            actor=audit.Actor(ip="203.0.113.43"),
        )
    assert not isinstance(old, TokenPair) and isinstance(new, TokenPair)


def test_a_newer_reset_replaces_the_older_link_and_requests_are_limited_per_email() -> None:
    user = _member()
    for n in range(3):
        clock.pin(START + timedelta(minutes=n))
        _reset(user.email or "", ip=f"203.0.113.{50 + n}")
    links = _links_of(user.id)
    assert len(links) == 3 and [link.revoked_at is None for link in links] == [False, False, True]
    with pytest.raises(RateLimited):
        _reset(user.email or "", ip="203.0.113.60")


def test_reset_requests_per_address_are_limited_by_password_resets_per_ip(monkeypatch: pytest.MonkeyPatch) -> None:
    # the default: five requests from one address (for five different emails), then 429
    clock.pin(START + timedelta(days=40))
    for _ in range(5):
        _reset(unique_email("someone"), ip="203.0.113.70")
    with pytest.raises(RateLimited):
        _reset(unique_email("someone"), ip="203.0.113.70")
    _reset(unique_email("someone"), ip="203.0.113.71")  # another address is not affected
    # the setting is what decides: lowered to 2, the third request from a fresh address is refused
    monkeypatch.setenv("PASSWORD_RESETS_PER_IP", "2")
    reset_settings_cache()
    for _ in range(2):
        _reset(unique_email("someone"), ip="203.0.113.72")
    with pytest.raises(RateLimited):
        _reset(unique_email("someone"), ip="203.0.113.72")
