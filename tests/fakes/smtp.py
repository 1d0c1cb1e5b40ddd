"""A real SMTP server on loopback (aiosmtpd) that requires STARTTLS and AUTH, with a throwaway CA.

`cert_file` is the self-signed certificate to trust (SMTP_CA_FILE); `messages` holds every email
received as parsed `email.message.EmailMessage` objects with the envelope alongside.

Knobs: `refuse(address, permanent=True)` answers RCPT TO for that address with 550 (a permanent refusal,
5xx), `refuse(address, permanent=False)` with 451 (transient, 4xx: try again later). `attempts[address]`
counts every RCPT TO for an address, refused or not, so a test sees how often the sender tried.
`refuse_data(times)` takes the next `times` messages whole and then answers their DATA with 451 (RFC 5321
allows a 4xx after the content: the client must try again); those copies are kept in `refused_data`, so a
test can compare what the sender sent each time.
"""

from __future__ import annotations

import datetime as dt
import shutil
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "relay-user"
PASSWORD = "relay-password-123"


@dataclass
class Received:
    """One email as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated: bool
    tls: bool


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


PERMANENT_REFUSAL = "550 5.1.1 Mailbox unavailable"
TRANSIENT_REFUSAL = "451 4.3.0 Mailbox busy, try again later"


class _Handler:
    def __init__(self, server: FakeSmtp) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        with self.server.lock:
            self.server.attempts[address] = self.server.attempts.get(address, 0) + 1
            refusal = self.server.refusals.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.server.lock:
            refused = self.server.data_refusals > 0
            self.server.data_refusals -= refused
            (self.server.refused_data if refused else self.server.messages).append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=message,  # type: ignore[arg-type]
                    authenticated=bool(session.authenticated),
                    # STARTTLS sets session.ssl; implicit TLS shows on the transport itself
                    tls=session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None,
                )
            )
        return TRANSIENT_REFUSAL if refused else "250 Message accepted for delivery"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


class FakeSmtp:
    """aiosmtpd on 127.0.0.1 with AUTH PLAIN/LOGIN; `mode` is the SMTP_TLS it speaks.

    "starttls" (default): plain connect, STARTTLS required before AUTH and mail. "tls": TLS from the first
    byte (implicit TLS, port-465 style). "none": no TLS at all (a relay on a private network).
    """

    def __init__(self, mode: str = "starttls") -> None:
        assert mode in ("starttls", "tls", "none")
        self.mode = mode
        self.directory = Path(tempfile.mkdtemp(prefix="fake-smtp-"))
        self.cert_file, self.key_file = _self_signed(self.directory)
        self.messages: list[Received] = []
        self.refusals: dict[str, str] = {}
        self.attempts: dict[str, int] = {}
        self.data_refusals = 0
        self.refused_data: list[Received] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> FakeSmtp:
        """Listen on a free loopback port."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        from devhost.services import free_port

        options: dict[str, Any] = {
            "starttls": {"tls_context": context, "require_starttls": True, "auth_require_tls": True},
            "tls": {"ssl_context": context, "auth_require_tls": False},
            "none": {"require_starttls": False, "auth_require_tls": False},
        }[self.mode]
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=free_port(),
            authenticator=_authenticator,
            server_hostname="127.0.0.1",
            **options,
        )
        self._controller.start()
        return self

    @property
    def port(self) -> int:
        """The listening port."""
        assert self._controller is not None
        return int(self._controller.port)

    def env(self) -> dict[str, str]:
        """Settings that point the app at this server."""
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.port),
            "SMTP_USERNAME": USERNAME,
            "SMTP_PASSWORD": PASSWORD,
            "SMTP_TLS": self.mode,
            "SMTP_CA_FILE": str(self.cert_file),
        }

    def refuse(self, address: str, *, permanent: bool = True) -> None:
        """Refuse mail to address at RCPT TO: 550 when permanent, else 451."""
        with self.lock:
            self.refusals[address] = PERMANENT_REFUSAL if permanent else TRANSIENT_REFUSAL

    def refuse_data(self, times: int = 1) -> None:
        """Answer the DATA of the next `times` messages with 451 after reading them whole."""
        with self.lock:
            self.data_refusals = times

    def wait_for(self, to: str, timeout: float = 30) -> Received:
        """Block until an email to this address arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [m for m in self.messages if to in m.rcpt_tos]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no email to {to} within {timeout} s")

    def stop(self) -> None:
        """Stop listening and remove the certificate's folder."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        shutil.rmtree(self.directory, ignore_errors=True)
