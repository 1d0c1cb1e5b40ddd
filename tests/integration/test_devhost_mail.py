"""`make dev`'s mail catcher: what the app sends over SMTP is saved as .eml files and goes nowhere else."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest

from devhost.services import MailCatcher
from shared.config import reset_settings_cache
from shared.providers import email as outbound


@pytest.fixture
def catcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailCatcher]:
    running = MailCatcher(tmp_path / "mail").start()
    for name, value in running.env().items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    yield running
    running.stop()
    reset_settings_cache()


def test_an_email_the_app_sends_is_saved_whole(catcher: MailCatcher) -> None:
    message = outbound.build(
        to="tess@example.com",
        subject="Edgar's Auto invited you",
        sender="no-reply@example.com",
        body="Choose your password: http://127.0.0.1:7071/api/v1/auth/password-links/x.y\n",
        message_key="invitation-1",
    )
    receipt = outbound.send_email(message)
    saved = sorted(catcher.directory.glob("*.eml"))
    assert len(saved) == 1 and receipt.provider_id == "<invitation-1@example.com>"
    parsed = email.message_from_bytes(saved[0].read_bytes(), policy=policy.default)
    assert parsed["To"] == "tess@example.com" and parsed["Subject"] == "Edgar's Auto invited you"
    assert "/api/v1/auth/password-links/x.y" in parsed.get_content()


def test_an_email_with_an_attachment_is_saved_with_its_bytes_filename_and_type(catcher: MailCatcher) -> None:
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"%%EOF\n"
    message = outbound.build(
        to="rosa@example.com",
        subject="Your signed proposal",
        sender="jobs@example.com",
        body="Attached.\n",
        message_key="signed-1",
        attachments=[outbound.FileAttachment(data=pdf, filename="Signed proposal.pdf", content_type="application/pdf")],
    )
    outbound.send_email(message)
    (saved,) = sorted(catcher.directory.glob("*.eml"))
    parsed = email.message_from_bytes(saved.read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == "<signed-1@example.com>"
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().strip() == "Attached."
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "Signed proposal.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_payload(decode=True) == pdf
