"""Sessions against the real database: refresh rotation and reuse, the 7-day and 30-day limits, sign-in limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.identity import sessions
from blueprints.identity.schemas import LoginIn, RegisterIn, TokenPair
from shared import audit, clock
from shared.audit import AuditLog
from shared.errors import AppError, RateLimited
from tests.builders import PASSWORD, create_tenant, create_user, unique_email

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    clock.pin(START)
    yield
    clock.unpin()


def _actor(ip: str = "203.0.113.10") -> audit.Actor:
    return audit.Actor(ip=ip, user_agent="pytest", request_id="test")


def _sign_in(session: Session, *, ip: str = "203.0.113.10") -> TokenPair:
    tenant = create_tenant(session)
    user = create_user(session, tenant=tenant)
    outcome = sessions.login(session=session, login_in=LoginIn(email=user.email, password=PASSWORD), actor=_actor(ip))
    assert isinstance(outcome, TokenPair), outcome
    return outcome


def _refresh(session: Session, token: str) -> TokenPair | AppError:
    return sessions.refresh(session=session, refresh_token=token, actor=_actor())


def test_register_creates_an_owner_signed_in(db_session: Session) -> None:
    email = unique_email()
    register_in = RegisterIn(
        tenant_name="Pinpoint Painting", name="Pat", email=email, password=PASSWORD, timezone="America/Denver"
    )
    pair = sessions.register(session=db_session, actor=_actor(), register_in=register_in)
    assert isinstance(pair, TokenPair), pair
    assert pair.token_type == "Bearer" and pair.expires_in == 900
    actions = db_session.scalars(select(AuditLog.action).order_by(AuditLog.created_at)).all()
    assert {"tenant.registered", "auth.signed_in"} <= set(actions)


def test_each_refresh_rotates_the_token(db_session: Session) -> None:
    first = _sign_in(db_session)
    second = _refresh(db_session, first.refresh_token)
    assert isinstance(second, TokenPair)
    assert second.refresh_token != first.refresh_token
    third = _refresh(db_session, second.refresh_token)
    assert isinstance(third, TokenPair)


def test_a_refresh_token_used_twice_revokes_its_whole_family(db_session: Session) -> None:
    # given a session whose first refresh token was already swapped
    first = _sign_in(db_session)
    second = _refresh(db_session, first.refresh_token)
    assert isinstance(second, TokenPair)
    # when the old token comes back (stolen, replayed)
    replayed = _refresh(db_session, first.refresh_token)
    # then it is refused and the legitimate newer token stops working too
    assert isinstance(replayed, AppError) and replayed.code == "refresh_token_reused"
    after = _refresh(db_session, second.refresh_token)
    assert isinstance(after, AppError) and after.code == "session_ended"
    assert "auth.session_reuse" in db_session.scalars(select(AuditLog.action)).all()


def test_a_session_unused_for_7_days_ends(db_session: Session) -> None:
    pair = _sign_in(db_session)
    # used every 6 days it lives on past the first week
    for _ in range(2):
        clock.advance(timedelta(days=6, hours=23))
        renewed = _refresh(db_session, pair.refresh_token)
        assert isinstance(renewed, TokenPair), renewed
        pair = renewed
    # left alone for 7 days it ends
    clock.advance(timedelta(days=7))
    expired = _refresh(db_session, pair.refresh_token)
    assert isinstance(expired, AppError) and expired.code == "session_expired"


def test_a_session_ends_after_30_days_however_often_it_is_used(db_session: Session) -> None:
    pair = _sign_in(db_session)
    for _ in range(4):  # day 6, 12, 18, 24: still alive
        clock.advance(timedelta(days=6))
        renewed = _refresh(db_session, pair.refresh_token)
        assert isinstance(renewed, TokenPair), renewed
        pair = renewed
    clock.advance(timedelta(days=6))  # day 30
    expired = _refresh(db_session, pair.refresh_token)
    assert isinstance(expired, AppError) and expired.code == "session_expired"


def test_an_unknown_refresh_token_is_refused(db_session: Session) -> None:
    outcome = _refresh(db_session, "not-a-token-we-issued")
    assert isinstance(outcome, AppError) and outcome.status == 401


def test_five_failed_logins_lock_the_account_even_for_the_right_password(db_session: Session) -> None:
    tenant = create_tenant(db_session)
    user = create_user(db_session, tenant=tenant)
    for attempt in range(5):  # from five different addresses: the account's own limit applies
        wrong = sessions.login(
            session=db_session,
            login_in=LoginIn(email=user.email, password="wrong-password"),
            actor=_actor(f"198.51.100.{attempt}"),
        )
        assert isinstance(wrong, AppError) and wrong.code == "invalid_credentials"
    with pytest.raises(RateLimited) as caught:
        sessions.login(
            session=db_session, login_in=LoginIn(email=user.email, password=PASSWORD), actor=_actor("198.51.100.99")
        )
    assert 1 <= caught.value.retry_after <= 900
    assert caught.value.headers["Retry-After"] == str(caught.value.retry_after)
    # after the window the right password works again
    clock.advance(timedelta(minutes=15))
    ok = sessions.login(session=db_session, login_in=LoginIn(email=user.email, password=PASSWORD), actor=_actor())
    assert isinstance(ok, TokenPair)


def test_five_failures_from_one_address_block_that_address_for_every_account(db_session: Session) -> None:
    tenant = create_tenant(db_session)
    victim = create_user(db_session, tenant=tenant)
    for _ in range(5):
        sessions.login(
            session=db_session,
            login_in=LoginIn(email=unique_email(), password="guess-guess"),
            actor=_actor("192.0.2.77"),
        )
    with pytest.raises(RateLimited):
        sessions.login(
            session=db_session, login_in=LoginIn(email=victim.email, password=PASSWORD), actor=_actor("192.0.2.77")
        )
    ok = sessions.login(
        session=db_session, login_in=LoginIn(email=victim.email, password=PASSWORD), actor=_actor("192.0.2.78")
    )
    assert isinstance(ok, TokenPair)


def test_a_disabled_user_cannot_sign_in(db_session: Session) -> None:
    tenant = create_tenant(db_session)
    user = create_user(db_session, tenant=tenant, disabled=True)
    outcome = sessions.login(session=db_session, login_in=LoginIn(email=user.email, password=PASSWORD), actor=_actor())
    assert isinstance(outcome, AppError) and outcome.code == "invalid_credentials"
