"""A loopback Twilio Verify v2 that the real twilio library can talk to, with Verify's own rules.

- POST /v2/Services/{ServiceSid}/Verifications (To, Channel): texts a 6-digit code valid 10 minutes;
  asking again within that time resends the same pending verification; the 6th send to a number within
  10 minutes is HTTP 429 error 60203.
- POST /v2/Services/{ServiceSid}/VerificationCheck (To or VerificationSid, Code): a wrong code answers
  200 status=pending; the 6th check of one verification is 429 error 60202; an approved, expired or
  unknown verification is 404 error 20404.

Every call needs HTTP Basic auth with the account SID and the auth token (both halves), as Twilio does;
anything else is answered 401 with Twilio's error 20003 and recorded in `refused`.

Tests read the texted codes from `sent` (the "phone") and move the fake's clock with `advance`.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.loopback import JsonHandler, LoopbackServer

CODE_TTL = timedelta(minutes=10)
MAX_CHECKS = 5
MAX_SENDS = 5
SEND_WINDOW = timedelta(minutes=10)
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token-not-a-secret"


@dataclass
class Verification:
    """One pending verification of a number."""

    sid: str
    service_sid: str
    to: str
    code: str
    created: datetime
    checks: int = 0
    status: str = "pending"
    sends: list[datetime] = field(default_factory=list)


class FakeVerify(LoopbackServer):
    """The fake server: start(), base_url, sent codes, a movable clock, stop()."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.refused: list[str] = []  # paths of calls answered 401 (wrong or missing credentials)
        self.verifications: dict[tuple[str, str], Verification] = {}
        self.send_log: dict[str, list[datetime]] = {}
        self.sent: list[tuple[str, str]] = []  # (to, code), the SMS a real phone would receive
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.offset = timedelta()
        self.lock = threading.Lock()

    def now(self) -> datetime:
        """The fake's clock."""
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        """Let time pass for codes and send windows."""
        self.offset += delta

    def last_code(self, to: str) -> str:
        """The last code texted to a number."""
        return next(code for number, code in reversed(self.sent) if number == to)

    # --- Verify's behaviour -------------------------------------------------------------------

    def create_verification(self, service_sid: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """POST .../Verifications."""
        to, channel = form.get("To", ""), form.get("Channel", "")
        if not to or channel not in ("sms", "call", "email", "whatsapp"):
            return 400, _error(60200, "Invalid parameter", 400)
        now = self.now()
        with self.lock:
            recent = [t for t in self.send_log.get(to, []) if now - t < SEND_WINDOW]
            if len(recent) >= MAX_SENDS:
                return 429, _error(60203, "Max send attempts reached", 429)
            self.send_log[to] = [*recent, now]
            current = self.verifications.get((service_sid, to))
            if current is None or current.status != "pending" or now - current.created >= CODE_TTL:
                current = Verification(
                    sid="VE" + secrets.token_hex(16),
                    service_sid=service_sid,
                    to=to,
                    code=f"{secrets.randbelow(10**6):06d}",
                    created=now,
                )
                self.verifications[(service_sid, to)] = current
            current.sends.append(now)
            self.sent.append((to, current.code))
            return 201, self._resource(current, channel)

    def check(self, service_sid: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """POST .../VerificationCheck."""
        now = self.now()
        with self.lock:
            current = self._find(service_sid, form)
            if current is None or current.status != "pending" or now - current.created >= CODE_TTL:
                detail = f"The requested resource /Services/{service_sid}/VerificationCheck was not found"
                return 404, _error(20404, detail, 404)
            if current.checks >= MAX_CHECKS:
                return 429, _error(60202, "Max check attempts reached", 429)
            current.checks += 1
            if secrets.compare_digest(form.get("Code", ""), current.code):
                current.status = "approved"
                del self.verifications[(service_sid, current.to)]
            return 200, self._resource(current, "sms")

    def _find(self, service_sid: str, form: dict[str, str]) -> Verification | None:
        if form.get("VerificationSid"):
            return next((v for v in self.verifications.values() if v.sid == form["VerificationSid"]), None)
        return self.verifications.get((service_sid, form.get("To", "")))

    def _resource(self, v: Verification, channel: str) -> dict[str, Any]:
        stamp = v.created.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "sid": v.sid,
            "service_sid": v.service_sid,
            "account_sid": self.account_sid,
            "to": v.to,
            "channel": channel,
            "status": v.status,
            "valid": v.status == "approved",
            "amount": None,
            "payee": None,
            "date_created": stamp,
            "date_updated": stamp,
            "lookup": {"carrier": None},
            "send_code_attempts": [
                {
                    "time": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "channel": channel,
                    "attempt_sid": "VL" + secrets.token_hex(16),
                }
                for t in v.sends
            ],
            "sna": None,
            "url": f"https://verify.twilio.com/v2/Services/{v.service_sid}/Verifications/{v.sid}",
        }


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class _Handler(JsonHandler):
    verify: FakeVerify

    def do_POST(self) -> None:
        """Route a Verify API call."""
        length = int(self.headers.get("content-length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        parts = self.path.split("?")[0].strip("/").split("/")
        if not self._authorised():
            with self.verify.lock:
                self.verify.refused.append(self.path)
            return self.send_json(401, _error(20003, "Authenticate", 401))
        self.verify.requests.append((self.path, form))
        if len(parts) == 4 and parts[:2] == ["v2", "Services"] and parts[3] == "Verifications":
            return self.send_json(*self.verify.create_verification(parts[2], form))
        if len(parts) == 4 and parts[:2] == ["v2", "Services"] and parts[3] == "VerificationCheck":
            return self.send_json(*self.verify.check(parts[2], form))
        return self.send_json(404, _error(20404, f"The requested resource {self.path} was not found", 404))

    def _authorised(self) -> bool:
        return self.basic_auth() == (self.verify.account_sid, self.verify.auth_token)


FakeVerify.handler_class = _Handler
FakeVerify.handler_attribute = "verify"
