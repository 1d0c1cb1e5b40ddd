"""ElevenLabs' post-call webhook signature (`ElevenLabs-Signature: t=…,v0=…`), with vectors computed here by hand
(hmac of "{t}.{raw body}" with SHA-256, as ElevenLabs documents), never by the code under test."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator

import pytest

from blueprints.estimates.voice import check_tool_secret, verify_signature
from shared.config import reset_settings_cache
from shared.errors import Forbidden

SECRET = "wsec_test_0123456789abcdef"
BODY = b'{"type":"post_call_transcription","event_timestamp":1764600000,"data":{"conversation_id":"conv_1"}}'
T = 1764600000


def _header(t: int, body: bytes, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={t},v0={digest}"


@pytest.fixture(autouse=True)
def secrets() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("ELEVENLABS_WEBHOOK_SECRET", "ELEVENLABS_TOOL_SECRET")}
    os.environ["ELEVENLABS_WEBHOOK_SECRET"] = SECRET
    os.environ["ELEVENLABS_TOOL_SECRET"] = "tool-secret-abc"
    reset_settings_cache()
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_settings_cache()


def test_a_fixed_vector_matches_the_documented_scheme() -> None:
    # worked out with `printf '%s' "1764600000.$BODY" | openssl dgst -sha256 -hmac "$SECRET"`
    digest = "0eda47d0188036bd8a067fba08998149cd7da5f175a6ed28a38c8efd401003cb"
    assert verify_signature(header=f"t={T},v0={digest}", body=BODY, now=T + 5) == T


def test_a_signed_webhook_within_thirty_minutes_passes() -> None:
    assert verify_signature(header=_header(T, BODY), body=BODY, now=T + 29 * 60) == T


@pytest.mark.parametrize(
    ("header", "body", "now", "code"),
    [
        (None, BODY, T, "invalid_signature"),  # unsigned
        ("", BODY, T, "invalid_signature"),
        (f"t={T}", BODY, T, "invalid_signature"),  # no v0
        (_header(T, BODY, secret="someone-else"), BODY, T, "invalid_signature"),  # forged
        (_header(T, BODY), BODY.replace(b"conv_1", b"conv_2"), T, "invalid_signature"),  # tampered body
        (_header(T, BODY).replace(f"t={T}", f"t={T + 1}"), BODY, T, "invalid_signature"),  # tampered timestamp
        (_header(T, BODY), BODY, T + 31 * 60, "stale_signature"),  # replayed after the window
        (_header(T + 3600, BODY), BODY, T, "stale_signature"),  # from the future
        ("t=abc,v0=00", BODY, T, "invalid_signature"),
    ],
)
def test_unsigned_forged_tampered_and_stale_webhooks_are_refused(
    header: str | None, body: bytes, now: int, code: str
) -> None:
    with pytest.raises(Forbidden) as refused:
        verify_signature(header=header, body=body, now=now)
    assert refused.value.code == code


def test_without_a_configured_secret_everything_is_refused() -> None:
    os.environ["ELEVENLABS_WEBHOOK_SECRET"] = ""
    reset_settings_cache()
    with pytest.raises(Forbidden):
        verify_signature(header=_header(T, BODY, secret=""), body=BODY, now=T)


def test_the_tool_secret_header_must_match() -> None:
    check_tool_secret("tool-secret-abc")
    for wrong in (None, "", "tool-secret-abd", "tool-secret-abc "):
        with pytest.raises(Forbidden):
            check_tool_secret(wrong)
