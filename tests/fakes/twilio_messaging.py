"""The Twilio Messages API (2010-04-01) on loopback for tests: devhost.sms's wire format and rules, with knobs.

- POST /2010-04-01/Accounts/{AccountSid}/Messages.json as devhost.sms describes it (201 with the Message
  resource; 401/20003, 400/21211, 400/21603 and, for `opted_out` numbers, 400/21610), checking the
  account SID and auth token.
- Knobs: `fail_next(n, status=500)` answers the next n sends with a server error; `fail_next(n,
  status=400, code=21610)` with that Twilio error. `opted_out` holds numbers that always get 21610.
- `sent` records every accepted message (with the time it arrived); `requests` every call.
- `deliver(sid, status)` posts a status callback signed like Twilio (X-Twilio-Signature) to the
  message's StatusCallback URL, as the carrier's report would arrive.
"""

from __future__ import annotations

import time

import httpx

from devhost.sms import Answer, Text, TwilioStandIn, twilio_error
from shared.twilio_signature import compute

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"


SentMessage = Text  # a message the fake accepted


class FakeTwilioMessaging(TwilioStandIn):
    """The fake server: start(), base_url, sent, knobs, deliver(), stop()."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__(account_sid=account_sid, auth_token=auth_token)
        self.sent: list[SentMessage] = []
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

    # --- the Messages API, with the knobs ---------------------------------------------------------

    def create_message(self, account_sid: str, form: dict[str, str]) -> Answer:
        """POST .../Messages.json: the next knob's failure, else as Twilio answers."""
        with self.lock:
            if self._failures:
                status, code = self._failures.pop(0)
                detail = "Internal Server Error" if status >= 500 else "Refused"
                return status, twilio_error(code or 20500, detail, status)
        return super().create_message(account_sid, form)

    def texted(self, text: Text) -> None:
        """Keep each accepted message."""
        self.sent.append(text)
