"""Twilio Verify through the twilio library: send a one-time code by SMS and check it.

The library's Verify domain takes an assignable base URL (TWILIO_BASE_URL), so tests point the real
client at a loopback fake that speaks Verify's wire format.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from shared.config import get_settings
from shared.errors import BadGateway, RateLimited

# Verify's documented error codes.
MAX_CHECK_ATTEMPTS = 60202
MAX_SEND_ATTEMPTS = 60203
NOT_FOUND = 20404
# Verify's own window: codes live 10 minutes, and its send/check limits reset with them.
WINDOW_SECONDS = 600

_lock = threading.Lock()
_client: Any = None


class VerificationNotFound(Exception):
    """No pending verification for the number: it expired, was approved or never existed."""


@dataclass(frozen=True)
class CheckResult:
    """What Verify said about a code."""

    approved: bool
    status: str


def _verify_service() -> Any:
    global _client
    settings = get_settings()
    with _lock:
        if _client is None:
            from twilio.rest import Client  # heavy SDK: loaded on first use (cold start)

            client = Client(settings.twilio_account_sid, settings.twilio_auth_token)
            if settings.twilio_base_url:
                client.verify.base_url = settings.twilio_base_url.rstrip("/")
            _client = client
    return _client.verify.v2.services(settings.twilio_verify_service_sid)


def reset_client() -> None:
    """Forget the cached client (tests that change settings)."""
    global _client
    with _lock:
        _client = None


def _translate(exc: Exception) -> Exception:
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    if status == 429 or code in (MAX_CHECK_ATTEMPTS, MAX_SEND_ATTEMPTS):
        name = "too_many_checks" if code == MAX_CHECK_ATTEMPTS else "too_many_sends"
        return RateLimited(
            "Too many attempts for this code; request a new one later", code=name, retry_after=WINDOW_SECONDS
        )
    if status == 404 or code == NOT_FOUND:
        return VerificationNotFound()
    return BadGateway("The SMS code service did not answer as expected", code="verify_unavailable")


def send_code(to: str) -> str:
    """Text a code to an E.164 number; returns the verification status ("pending")."""
    try:
        verification = _verify_service().verifications.create(to=to, channel="sms")
    except Exception as exc:  # TwilioRestException, or the HTTP client's connection errors
        raise _translate(exc) from None
    return str(verification.status)


def check_code(to: str, code: str) -> CheckResult:
    """Ask Verify whether code is the one texted to the number."""
    try:
        check = _verify_service().verification_checks.create(to=to, code=code)
    except Exception as exc:  # TwilioRestException, or the HTTP client's connection errors
        raise _translate(exc) from None
    return CheckResult(approved=check.status == "approved", status=str(check.status))
