"""The Verify adapter drives the real twilio library against the loopback fake and maps Verify's errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from shared.config import reset_settings_cache
from shared.errors import BadGateway, RateLimited
from shared.providers import twilio_verify
from tests.builders import unique_phone
from tests.fakes.twilio_verify import FakeVerify


@pytest.fixture
def verify(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVerify]:
    fake = FakeVerify().start()
    monkeypatch.setenv("TWILIO_BASE_URL", fake.base_url)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", fake.auth_token)
    monkeypatch.setenv("TWILIO_VERIFY_SERVICE_SID", "VA" + "2" * 32)
    reset_settings_cache()
    twilio_verify.reset_client()
    yield fake
    fake.stop()
    monkeypatch.undo()
    reset_settings_cache()
    twilio_verify.reset_client()


def test_the_sixth_send_in_ten_minutes_is_verify_error_60203(verify: FakeVerify) -> None:
    phone = unique_phone()
    assert [twilio_verify.send_code(phone) for _ in range(5)] == ["pending"] * 5
    with pytest.raises(RateLimited) as caught:
        twilio_verify.send_code(phone)
    assert caught.value.code == "too_many_sends"
    assert len({code for to, code in verify.sent if to == phone}) == 1  # resends carry the same code
    verify.advance(timedelta(minutes=10))
    assert twilio_verify.send_code(phone) == "pending"


def test_checks_pending_approved_and_gone(verify: FakeVerify) -> None:
    phone = unique_phone()
    twilio_verify.send_code(phone)
    code = verify.last_code(phone)
    assert twilio_verify.check_code(phone, "000000" if code != "000000" else "111111").approved is False
    assert twilio_verify.check_code(phone, code).approved is True
    with pytest.raises(twilio_verify.VerificationNotFound):  # an approved verification cannot be checked again
        twilio_verify.check_code(phone, code)


def test_the_sixth_check_is_verify_error_60202(verify: FakeVerify) -> None:
    phone = unique_phone()
    twilio_verify.send_code(phone)
    for _ in range(5):
        twilio_verify.check_code(phone, "999999" if verify.last_code(phone) != "999999" else "888888")
    with pytest.raises(RateLimited) as caught:
        twilio_verify.check_code(phone, verify.last_code(phone))
    assert caught.value.code == "too_many_checks"


@pytest.mark.parametrize(
    ("setting", "value"), [("TWILIO_ACCOUNT_SID", "AC" + "9" * 32), ("TWILIO_AUTH_TOKEN", "not-the-auth-token")]
)
def test_calls_with_another_account_sid_or_auth_token_are_refused(
    verify: FakeVerify, monkeypatch: pytest.MonkeyPatch, setting: str, value: str
) -> None:
    # given the right SID with a wrong token (or the other way round)
    monkeypatch.setenv(setting, value)
    reset_settings_cache()
    twilio_verify.reset_client()
    phone = unique_phone()
    # when a code is requested, Verify answers 401 / 20003 and the adapter reports the service unusable
    with pytest.raises(BadGateway) as caught:
        twilio_verify.send_code(phone)
    assert caught.value.code == "verify_unavailable"
    # then the fake refused the call for its credentials, and no code was texted
    assert len(verify.refused) == 1
    assert [to for to, _ in verify.sent if to == phone] == []
