"""Twilio's Verify v2 and Messages (2010-04-01) APIs on loopback, for `make dev`: every text is saved as a file.

The twilio library talks to it as to Twilio (its domains take assignable base URLs: TWILIO_BASE_URL for
Verify, TWILIO_API_BASE_URL for Messages), with HTTP Basic auth by account SID and auth token:

- POST /v2/Services/{ServiceSid}/Verifications (To, Channel): a 6-digit code valid 10 minutes; asking
  again within that time resends the same pending code.
- POST /v2/Services/{ServiceSid}/VerificationCheck (To or VerificationSid, Code): the right code answers
  status=approved (once), a wrong one 200 status=pending; an approved, expired or unknown verification
  is 404 error 20404.
- POST /2010-04-01/Accounts/{AccountSid}/Messages.json (To, Body, From or MessagingServiceSid,
  StatusCallback): 201 with the Message resource, status "queued"; 400/21211 for an invalid To,
  400/21603 without a sender, 400/21610 for a number in `opted_out`. Errors are Twilio's JSON
  {code, message, more_info, status}; bad credentials 401/20003.

`TwilioStandIn` is that wire format and those rules; `TextCatcher` (the dev host's) saves each text,
codes included, under a folder. The tests' fakes (tests/fakes/) subclass `TwilioStandIn` with their
knobs and Verify's send and check limits.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl

log = logging.getLogger("devhost.sms")

CODE_TTL = timedelta(minutes=10)
VERIFY_CHANNELS = ("sms", "call", "email", "whatsapp")
# Local stand-ins for the settings the twilio client needs; nothing real is behind them.
DEV_ACCOUNT_SID = "AC" + "de" * 16
DEV_AUTH_TOKEN = "dev-text-catcher-token-0123456789"
DEV_VERIFY_SERVICE_SID = "VA" + "de" * 16

Answer = tuple[int, dict[str, Any]]


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet handler that reads HTTP Basic credentials and answers JSON."""

    def log_message(self, format: str, *args: Any) -> None:  # numbers and codes stay out of the output
        return

    def basic_auth(self) -> tuple[str, str] | None:
        """(user, password) of an HTTP Basic Authorization header, or None without one."""
        scheme, _, value = (self.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode(errors="replace").partition(":")
        return user, password

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        """Answer status with body as JSON."""
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class LoopbackServer:
    """Serves `handler_class` on a free loopback port; the handler reaches this object as `handler_attribute`."""

    handler_class: ClassVar[type[BaseHTTPRequestHandler]]
    handler_attribute: ClassVar[str]
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        """Where it answers (what the client's base URL setting should be)."""
        assert self._server is not None, "start() it first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        """Serve on a free loopback port in a background thread."""
        handler = type("Handler", (self.handler_class,), {self.handler_attribute: self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    """Twilio's error body."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@dataclass
class Text:
    """One text a phone would receive: a message sent through the Messages API, or a Verify code."""

    sid: str
    to: str
    sender: str
    body: str
    code: str | None = None
    status_callback: str | None = None
    form: dict[str, str] = field(default_factory=dict)
    received_at: float = field(default_factory=time.time)


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


class TwilioStandIn(LoopbackServer):
    """Verify and Messages with Twilio's rules; `texted` is called for every text it accepts."""

    handler_attribute = "twilio"

    def __init__(self, account_sid: str = DEV_ACCOUNT_SID, auth_token: str | None = None) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token  # None: any password with the right account SID
        self.verifications: dict[tuple[str, str], Verification] = {}
        self.opted_out: set[str] = set()
        self.requests: list[tuple[str, dict[str, str], int]] = []
        self.offset = timedelta()
        self.lock = threading.RLock()

    def now(self) -> datetime:
        """The stand-in's clock (tests move it with `offset`)."""
        return datetime.now(UTC) + self.offset

    def authorised(self, credentials: tuple[str, str] | None) -> bool:
        """Whether HTTP Basic credentials are this account's."""
        if credentials is None or credentials[0] != self.account_sid:
            return False
        return self.auth_token is None or secrets.compare_digest(credentials[1], self.auth_token)

    def texted(self, text: Text) -> None:
        """A text was accepted; subclasses keep or save it."""

    def record(self, path: str, form: dict[str, str], status: int) -> None:
        """Keep every call and its answer's status in `requests`."""
        with self.lock:
            self.requests.append((path, form, status))

    def send_refused(self, to: str, now: datetime) -> Answer | None:
        """An error answer instead of sending a code (subclasses add Verify's limits)."""
        return None

    def check_refused(self, verification: Verification) -> Answer | None:
        """An error answer instead of checking a code (subclasses add Verify's limits)."""
        return None

    # --- Verify v2 ----------------------------------------------------------------------------------

    def create_verification(self, service_sid: str, form: dict[str, str]) -> Answer:
        """POST /v2/Services/{sid}/Verifications."""
        to, channel = form.get("To", ""), form.get("Channel", "")
        if not to or channel not in VERIFY_CHANNELS:
            return 400, twilio_error(60200, "Invalid parameter", 400)
        now = self.now()
        with self.lock:
            refused = self.send_refused(to, now)
            if refused is not None:
                return refused
            current = self.verifications.get((service_sid, to))
            if current is None or current.status != "pending" or now - current.created >= CODE_TTL:
                code = f"{secrets.randbelow(10**6):06d}"
                current = Verification("VE" + secrets.token_hex(16), service_sid, to, code, created=now)
                self.verifications[(service_sid, to)] = current
            current.sends.append(now)
            body = f"Your verification code is: {current.code}"
            self.texted(Text(sid=current.sid, to=to, sender=f"Verify {service_sid}", body=body, code=current.code))
            return 201, self._verification(current, channel)

    def check_verification(self, service_sid: str, form: dict[str, str]) -> Answer:
        """POST /v2/Services/{sid}/VerificationCheck."""
        now = self.now()
        with self.lock:
            current = self._find(service_sid, form)
            if current is None or current.status != "pending" or now - current.created >= CODE_TTL:
                detail = f"The requested resource /Services/{service_sid}/VerificationCheck was not found"
                return 404, twilio_error(20404, detail, 404)
            refused = self.check_refused(current)
            if refused is not None:
                return refused
            current.checks += 1
            if secrets.compare_digest(form.get("Code", ""), current.code):
                current.status = "approved"
                del self.verifications[(service_sid, current.to)]
            return 200, self._verification(current, "sms")

    def _find(self, service_sid: str, form: dict[str, str]) -> Verification | None:
        if form.get("VerificationSid"):
            return next((v for v in self.verifications.values() if v.sid == form["VerificationSid"]), None)
        return self.verifications.get((service_sid, form.get("To", "")))

    def _verification(self, v: Verification, channel: str) -> dict[str, Any]:
        stamp = v.created.strftime("%Y-%m-%dT%H:%M:%SZ")
        attempts = [
            {
                "time": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "channel": channel,
                "attempt_sid": "VL" + secrets.token_hex(16),
            }
            for t in v.sends
        ]
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
            "send_code_attempts": attempts,
            "sna": None,
            "url": f"https://verify.twilio.com/v2/Services/{v.service_sid}/Verifications/{v.sid}",
        }

    # --- Messages (2010-04-01) ----------------------------------------------------------------------

    def create_message(self, account_sid: str, form: dict[str, str]) -> Answer:
        """POST /2010-04-01/Accounts/{sid}/Messages.json."""
        to, body = form.get("To", ""), form.get("Body", "")
        sender = form.get("From") or form.get("MessagingServiceSid") or ""
        if not to.startswith("+") or not to[1:].isdigit():
            return 400, twilio_error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
        if not sender:
            return 400, twilio_error(21603, "A 'From' or 'MessagingServiceSid' parameter is required", 400)
        with self.lock:
            if to in self.opted_out:
                return 400, twilio_error(21610, "Attempt to send to unsubscribed recipient", 400)
            text = Text(
                sid="SM" + secrets.token_hex(16),
                to=to,
                sender=sender,
                body=body,
                status_callback=form.get("StatusCallback"),
                form=form,
            )
            self.texted(text)
        return 201, self._message(account_sid, text)

    def _message(self, account_sid: str, text: Text) -> dict[str, Any]:
        stamp = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        base = f"/2010-04-01/Accounts/{account_sid}/Messages/{text.sid}"
        return {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": text.body,
            "date_created": stamp,
            "date_sent": None,
            "date_updated": stamp,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": text.form.get("From"),
            "messaging_service_sid": text.form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": text.sid,
            "status": "queued",
            "subresource_uris": {"media": f"{base}/Media.json"},
            "to": text.to,
            "uri": f"{base}.json",
        }


class _TwilioHandler(JsonHandler):
    twilio: TwilioStandIn
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait for delayed ACKs

    def do_POST(self) -> None:
        """Route a Verify or Messages API call."""
        length = int(self.headers.get("content-length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        parts = self.path.split("?")[0].strip("/").split("/")
        if not self.twilio.authorised(self.basic_auth()):
            status, body = 401, twilio_error(20003, "Authenticate", 401)
        elif len(parts) == 4 and parts[:2] == ["v2", "Services"] and parts[3] == "Verifications":
            status, body = self.twilio.create_verification(parts[2], form)
        elif len(parts) == 4 and parts[:2] == ["v2", "Services"] and parts[3] == "VerificationCheck":
            status, body = self.twilio.check_verification(parts[2], form)
        elif len(parts) == 4 and parts[:2] == ["2010-04-01", "Accounts"] and parts[3] == "Messages.json":
            status, body = self.twilio.create_message(parts[2], form)
        else:
            status, body = 404, twilio_error(20404, f"The requested resource {self.path} was not found", 404)
        self.twilio.record(self.path, form, status)
        self.send_json(status, body)


TwilioStandIn.handler_class = _TwilioHandler


class TextCatcher(TwilioStandIn):
    """The dev host's Twilio: each text, Verify codes included, is saved as a .txt file and goes nowhere else."""

    def __init__(self, directory: Path, *, account_sid: str, auth_token: str) -> None:
        super().__init__(account_sid=account_sid, auth_token=auth_token)
        self.directory = directory

    def start(self) -> Self:
        """Make the folder, then listen on a free loopback port."""
        self.directory.mkdir(parents=True, exist_ok=True)
        return super().start()

    def texted(self, text: Text) -> None:
        """Save the text as To/From/Date lines, a blank line and the body."""
        stamp = datetime.now(UTC)
        path = self.directory / f"{stamp.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}.txt"
        path.write_text(f"To: {text.to}\nFrom: {text.sender}\nDate: {stamp.isoformat()}\n\n{text.body}\n")
        log.info("text caught: %s", path)  # the file, never the number or the code

    def record(self, path: str, form: dict[str, str], status: int) -> None:
        """Nothing: a long dev session keeps no history in memory."""

    def env(self) -> dict[str, str]:
        """Settings that point the app's Verify and Messages clients here."""
        return {
            "TWILIO_BASE_URL": self.base_url,
            "TWILIO_API_BASE_URL": self.base_url,
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token or "",
            "TWILIO_VERIFY_SERVICE_SID": DEV_VERIFY_SERVICE_SID,
        }
