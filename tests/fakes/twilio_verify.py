"""Twilio Verify v2 on loopback for tests: devhost.sms's wire format and rules, plus Verify's limits.

- POST /v2/Services/{ServiceSid}/Verifications and .../VerificationCheck as devhost.sms describes them
  (a 6-digit code valid 10 minutes, resent while pending; a wrong code 200 status=pending; approved,
  expired or unknown 404 error 20404).
- Verify's limits: the 6th send to a number within 10 minutes is HTTP 429 error 60203; the 6th check of
  one verification is 429 error 60202.

Every call needs HTTP Basic auth with the account SID and the auth token (both halves), as Twilio does;
anything else is answered 401 with Twilio's error 20003 and recorded in `refused`.

Tests read the texted codes from `sent` (the "phone") and move the fake's clock with `advance`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from devhost.sms import Answer, Text, TwilioStandIn, Verification, twilio_error

MAX_CHECKS = 5
MAX_SENDS = 5
SEND_WINDOW = timedelta(minutes=10)
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token-not-a-secret"


class FakeVerify(TwilioStandIn):
    """The fake server: start(), base_url, sent codes, a movable clock, stop()."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__(account_sid=account_sid, auth_token=auth_token)
        self.refused: list[str] = []  # paths of calls answered 401 (wrong or missing credentials)
        self.send_log: dict[str, list[datetime]] = {}
        self.sent: list[tuple[str, str]] = []  # (to, code), the SMS a real phone would receive

    def advance(self, delta: timedelta) -> None:
        """Let time pass for codes and send windows."""
        self.offset += delta

    def last_code(self, to: str) -> str:
        """The last code texted to a number."""
        return next(code for number, code in reversed(self.sent) if number == to)

    def texted(self, text: Text) -> None:
        """Keep each code as the phone would show it."""
        if text.code is not None:
            self.sent.append((text.to, text.code))

    def send_refused(self, to: str, now: datetime) -> Answer | None:
        """429/60203 for the 6th send to a number within 10 minutes."""
        recent = [t for t in self.send_log.get(to, []) if now - t < SEND_WINDOW]
        if len(recent) >= MAX_SENDS:
            return 429, twilio_error(60203, "Max send attempts reached", 429)
        self.send_log[to] = [*recent, now]
        return None

    def check_refused(self, verification: Verification) -> Answer | None:
        """429/60202 for the 6th check of one verification."""
        if verification.checks >= MAX_CHECKS:
            return 429, twilio_error(60202, "Max check attempts reached", 429)
        return None

    def record(self, path: str, form: dict[str, str], status: int) -> None:
        """Keep the paths of refused calls too."""
        super().record(path, form, status)
        if status == 401:
            self.refused.append(path)
