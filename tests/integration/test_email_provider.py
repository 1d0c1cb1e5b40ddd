"""The SMTP adapter speaks each SMTP_TLS mode (starttls, tls, none) to a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.config import reset_settings_cache
from shared.providers import SendError, email
from tests.fakes.smtp import FakeSmtp


@pytest.fixture
def relay(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmtp]:
    server = FakeSmtp(mode=request.param).start()
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    yield server
    server.stop()
    monkeypatch.undo()
    reset_settings_cache()


def _email(to: str) -> object:
    return email.build(
        to=to, subject="Invoice", body="Thanks.", sender="shop@example.com", message_key="m-1", headers={}
    )


@pytest.mark.parametrize(
    ("relay", "encrypted"), [("starttls", True), ("tls", True), ("none", False)], indirect=["relay"]
)
def test_each_smtp_tls_mode_reaches_a_relay_that_speaks_it(relay: FakeSmtp, encrypted: bool) -> None:
    receipt = email.send_email(_email("ada@example.com"))  # type: ignore[arg-type]
    received = relay.wait_for("ada@example.com")
    assert received.tls is encrypted and received.authenticated
    assert receipt.provider_id == received.message["Message-ID"]


@pytest.mark.parametrize("relay", ["tls"], indirect=True)
def test_smtp_tls_none_against_an_implicit_tls_relay_does_not_send(
    relay: FakeSmtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the mode is really used: plain SMTP to a port that expects TLS first fails, and nothing arrives
    monkeypatch.setenv("SMTP_TLS", "none")
    monkeypatch.setenv("SMTP_TIMEOUT_SECONDS", "3")
    reset_settings_cache()
    with pytest.raises(SendError) as caught:
        email.send_email(_email("bea@example.com"))  # type: ignore[arg-type]
    assert caught.value.transient and caught.value.code == "smtp_unreachable"
    assert relay.messages == []
