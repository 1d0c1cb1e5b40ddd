"""Outbound email over SMTP (Azure Communication Services, SendGrid or any relay) with STARTTLS or TLS."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from shared import clock
from shared.config import get_settings
from shared.providers import Receipt, SendError


def _context() -> ssl.SSLContext:
    settings = get_settings()
    return ssl.create_default_context(cafile=settings.smtp_ca_file or None)


@dataclass(frozen=True)
class FileAttachment:
    """A file carried by an email: its bytes, the name the recipient sees and its MIME type (type/subtype)."""

    data: bytes
    filename: str
    content_type: str


def build(
    *,
    to: str,
    subject: str,
    body: str,
    sender: str,
    message_key: str,
    headers: dict[str, str] | None = None,
    attachments: Sequence[FileAttachment] = (),
) -> EmailMessage:
    """The email as sent: UTF-8 text with Date, a Message-ID derived from our message id, and any attachments."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = to
    email["Subject"] = subject
    email["Date"] = format_datetime(clock.now())
    domain = sender.rpartition("@")[2] or "tradeops.local"
    # Stable per message: a retry after a transient error carries the same id, so receivers can drop a copy.
    email["Message-ID"] = f"<{message_key}@{domain}>"
    for name, value in (headers or {}).items():
        email[name] = value
    email.set_content(body)
    for attachment in attachments:  # the text becomes the first part of a multipart/mixed message
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return email


def send_email(email: EmailMessage) -> Receipt:
    """Relay one email; SendError(transient=...) when the server does not take it."""
    settings = get_settings()
    if not settings.smtp_host:
        raise SendError(code="no_smtp", detail="SMTP_HOST is not configured", transient=False)
    try:
        with _connect() as smtp:
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            refused = smtp.send_message(email)
    except smtplib.SMTPResponseException as exc:
        transient = 400 <= exc.smtp_code < 500
        raise SendError(code=f"smtp_{exc.smtp_code}", detail=_text(exc.smtp_error), transient=transient) from None
    except smtplib.SMTPRecipientsRefused as exc:
        code = next(iter(exc.recipients.values()))[0] if exc.recipients else 550
        raise SendError(code=f"smtp_{code}", detail="recipient refused", transient=400 <= code < 500) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(code="smtp_unreachable", detail=type(exc).__name__, transient=True) from None
    if refused:
        raise SendError(code="smtp_refused", detail="recipient refused", transient=False)
    return Receipt(provider_id=str(email["Message-ID"]), status="sent")


def _connect() -> smtplib.SMTP:
    settings = get_settings()
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_tls == "tls":
        return smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout, context=_context())
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    try:
        smtp.ehlo()
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=_context())
            smtp.ehlo()
    except BaseException:
        smtp.close()
        raise
    return smtp


def _text(value: bytes | str) -> str:
    return (value.decode(errors="replace") if isinstance(value, bytes) else str(value))[:200]
