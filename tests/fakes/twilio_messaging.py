"""A loopback Twilio Messages API (2010-04-01) that the real twilio library can talk to.

- POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded (To, Body, From or
  MessagingServiceSid, StatusCallback), HTTP Basic auth with the account SID and auth token: 201 with
  the Message resource (sid "SM...", status "queued", error_code null).
- Errors answer Twilio's JSON {code, message, more_info, status}: 401/20003 for bad credentials,
  400/21211 for an invalid To, 400/21610 for a number that replied STOP.
- Knobs: `fail_next(n, status=500)` answers the next n sends with a server error; `fail_next(n,
  status=400, code=21610)` with that Twilio error. `opted_out` holds numbers that always get 21610.
- `sent` records every accepted message (with the time it arrived); `requests` every call.
- `deliver(sid, status)` posts a status callback signed like Twilio (X-Twilio-Signature) to the
  message's StatusCallback URL, as the carrier's report would arrive.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx

from shared.twilio_signature import compute
from tests.fakes.loopback import JsonHandler, LoopbackServer

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"


@dataclass
class SentMessage:
    """A message the fake accepted."""

    sid: str
    to: str
    body: str
    sender: str
    status_callback: str | None
    received_at: float
    form: dict[str, str] = field(default_factory=dict)


class FakeTwilioMessaging(LoopbackServer):
    """The fake server: start(), base_url, sent, knobs, deliver(), stop()."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sent: list[SentMessage] = []
        self.requests: list[tuple[str, dict[str, str], int]] = []
        self.opted_out: set[str] = set()
        self.lock = threading.Lock()
        self._failures: list[tuple[int, int | None]] = []

    def fail_next(self, count: int, *, status: int = 500, code: int | None = None) -> None:
        """Answer the next `count` sends with this HTTP status (and Twilio error code)."""
        with self.lock:
            self._failures.extend([(status, code)] * count)

    def reset(self) -> None:
        """Forget sent messages, requests and knobs."""
        with self.lock:
            self.sent.clear()
            self.requests.clear()
            self._failures.clear()
            self.opted_out.clear()

    def sent_to(self, to: str) -> list[SentMessage]:
        """Accepted messages for one number, in order."""
        with self.lock:
            return [m for m in self.sent if m.to == to]

    def wait_for(self, to: str, count: int = 1, timeout: float = 30) -> list[SentMessage]:
        """Block until `count` messages to a number were accepted (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.sent_to(to)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s), the fake accepted {len(self.sent_to(to))}")

    def deliver(
        self, sid: str, status: str = "delivered", *, error_code: str | None = None, auth_token: str | None = None
    ) -> httpx.Response:
        """POST a signed status callback for a message, as Twilio does."""
        message = next(m for m in self.sent if m.sid == sid)
        assert message.status_callback, "the message had no StatusCallback"
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message.to,
            "From": message.sender,
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            params["ErrorCode"] = error_code
        signature = compute(auth_token or self.auth_token, message.status_callback, params.items())
        return httpx.post(message.status_callback, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)

    # --- the Messages API --------------------------------------------------------------------------

    def create_message(self, account_sid: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """POST .../Messages.json."""
        to, body = form.get("To", ""), form.get("Body", "")
        sender = form.get("From") or form.get("MessagingServiceSid") or ""
        with self.lock:
            if self._failures:
                status, code = self._failures.pop(0)
                return status, _error(code or 20500, "Internal Server Error" if status >= 500 else "Refused", status)
            if not to.startswith("+") or not to[1:].isdigit():
                return 400, _error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
            if not sender:
                return 400, _error(21603, "A 'From' or 'MessagingServiceSid' parameter is required", 400)
            if to in self.opted_out:
                return 400, _error(21610, "Attempt to send to unsubscribed recipient", 400)
            message = SentMessage(
                sid="SM" + secrets.token_hex(16),
                to=to,
                body=body,
                sender=sender,
                status_callback=form.get("StatusCallback"),
                received_at=time.time(),
                form=form,
            )
            self.sent.append(message)
        return 201, self._resource(account_sid, message)

    def _resource(self, account_sid: str, m: SentMessage) -> dict[str, Any]:
        stamp = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        base = f"/2010-04-01/Accounts/{account_sid}/Messages/{m.sid}"
        return {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": m.body,
            "date_created": stamp,
            "date_sent": None,
            "date_updated": stamp,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": m.form.get("From"),
            "messaging_service_sid": m.form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": m.sid,
            "status": "queued",
            "subresource_uris": {"media": f"{base}/Media.json"},
            "to": m.to,
            "uri": f"{base}.json",
        }


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class _Handler(JsonHandler):
    twilio: FakeTwilioMessaging
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait for delayed ACKs

    def do_POST(self) -> None:
        """Route a Messages API call."""
        length = int(self.headers.get("content-length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        parts = self.path.split("?")[0].strip("/").split("/")
        if not self._authorised():
            status, body = 401, _error(20003, "Authenticate", 401)
        elif len(parts) == 4 and parts[0] == "2010-04-01" and parts[1] == "Accounts" and parts[3] == "Messages.json":
            status, body = self.twilio.create_message(parts[2], form)
        else:
            status, body = 404, _error(20404, f"The requested resource {self.path} was not found", 404)
        with self.twilio.lock:
            self.twilio.requests.append((self.path, form, status))
        self.send_json(status, body)

    def _authorised(self) -> bool:
        credentials = self.basic_auth()
        return credentials == (self.twilio.account_sid, self.twilio.auth_token)


FakeTwilioMessaging.handler_class = _Handler
FakeTwilioMessaging.handler_attribute = "twilio"
