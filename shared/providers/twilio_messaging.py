"""Outbound SMS through the twilio library's Messages API (api.twilio.com/2010-04-01).

The library's `api` domain takes an assignable base URL (TWILIO_API_BASE_URL), so tests point the real
client at a loopback fake speaking the Messages wire format. The twilio package is imported on first
use, keeping it out of the app's cold start.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from shared.config import get_settings
from shared.providers import Receipt, SendError

# Twilio errors that will not go away by retrying the same message.
PERMANENT_CODES = frozenset(
    {
        21211,
        21212,
        21217,
        21219,
        21401,
        21407,
        21408,
        21421,
        21606,
        21608,
        21610,
        21612,
        21614,
        21617,
        21635,
        30003,
        30004,
        30005,
        30006,
        30007,
    }
)
OPTED_OUT = 21610

_lock = threading.Lock()
_client: Any = None


def _twilio() -> Any:
    global _client
    with _lock:
        if _client is None:
            from twilio.http.http_client import TwilioHttpClient  # heavy SDK: loaded on first use (cold start)
            from twilio.rest import Client  # heavy SDK: loaded on first use (cold start)

            settings = get_settings()
            # The library logs each request's parameters (numbers, bodies) at INFO; ours must not.
            quiet = logging.getLogger("twilio.http_client")
            quiet.setLevel(max(quiet.level, logging.WARNING))
            http = TwilioHttpClient(timeout=settings.twilio_timeout_seconds, logger=quiet)
            client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)
            if settings.twilio_api_base_url:
                client.api.base_url = settings.twilio_api_base_url.rstrip("/")
            _client = client
    return _client


def reset_client() -> None:
    """Forget the cached client (tests that change settings)."""
    global _client
    with _lock:
        _client = None


def send_sms(
    *, to: str, body: str, from_number: str | None, messaging_service_sid: str | None, status_callback: str | None
) -> Receipt:
    """Hand one text to Twilio; SendError(transient=...) when it does not take it."""
    if not (from_number or messaging_service_sid):
        raise SendError(code="no_sender", detail="No SMS number or Messaging Service is configured", transient=False)
    params: dict[str, Any] = {"to": to, "body": body}
    if messaging_service_sid:
        params["messaging_service_sid"] = messaging_service_sid
    else:
        params["from_"] = from_number
    if status_callback:
        params["status_callback"] = status_callback
    try:
        message = _twilio().messages.create(**params)
    except Exception as exc:  # TwilioRestException, or the HTTP client's connection errors
        raise _translate(exc) from None
    return Receipt(provider_id=str(message.sid), status=str(message.status or "queued"))


def _translate(exc: Exception) -> SendError:
    from twilio.base.exceptions import TwilioRestException  # heavy SDK: loaded on first use (cold start)

    if isinstance(exc, TwilioRestException):
        status, code = int(exc.status or 0), exc.code
        transient = status >= 500 or status == 429 or (code is None and status == 0)
        if code in PERMANENT_CODES:
            transient = False
        return SendError(code=str(code or f"http_{status}"), detail=str(exc.msg or "")[:200], transient=transient)
    from requests.exceptions import ReadTimeout

    if isinstance(exc, ReadTimeout):
        # Twilio had the request but did not answer in time: the text may have gone, and the Messages API
        # takes no idempotency key, so trying again could text the customer twice. Connect errors retry.
        return SendError(code="provider_timeout", detail="Twilio did not answer in time", transient=False)
    return SendError(code="unreachable", detail=type(exc).__name__, transient=True)
