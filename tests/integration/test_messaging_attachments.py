"""Email attachments through the outbound pipeline: real PostgreSQL, a private Azurite and a real SMTP server.

A message carries blobs under its business's prefix; the pipeline downloads them at delivery and the SMTP
server receives them with their bytes, filename and type. A retry after a 451 sends the same Message-ID and
the same attachment; a blob gone at delivery, or too big, fails the message for good without sending; a text
with attachments, or a blob name not issued to the business, is refused before anything is stored.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from blueprints.messaging import pipeline, schemas, service
from blueprints.messaging.models import Message, MessagingSettings
from shared import clock, storage, uploads
from shared.config import get_settings, reset_settings_cache
from shared.db import session_scope
from shared.errors import Forbidden, Unprocessable
from tests.builders import create_customer, create_tenant, unique_phone
from tests.conftest import Database
from tests.fakes.smtp import FakeSmtp

NOON = datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo("America/Chicago"))
CONTAINER = "message-attachments-test"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"  # binary, so a lossy transfer would show


@pytest.fixture(scope="module")
def private_storage(database: Database) -> Iterator[str]:
    from devhost.services import free_azurite

    azurite = free_azurite().start()
    before = os.environ.get("AzureWebJobsStorage")
    os.environ["AzureWebJobsStorage"] = azurite.connection_string
    storage.reset_clients()
    yield azurite.connection_string
    if before is not None:
        os.environ["AzureWebJobsStorage"] = before
    storage.reset_clients()
    reset_settings_cache()
    azurite.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[FakeSmtp]:
    server = FakeSmtp().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch, smtp: FakeSmtp, private_storage: str) -> Iterator[None]:
    for name, value in {
        **smtp.env(),
        "MESSAGING_RETRY_BASE_SECONDS": "1",
        "AzureWebJobsStorage": private_storage,
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    with smtp.lock:
        smtp.data_refusals = 0
    clock.pin(NOON)
    yield
    clock.unpin()
    reset_settings_cache()


@dataclass
class Office:
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    email: str


def _office() -> Office:
    address = f"rosa-{uuid.uuid4().hex[:8]}@example.com"
    with session_scope() as session:
        tenant = create_tenant(session, name=f"Painters {uuid.uuid4().hex[:6]}", timezone="America/Chicago")
        customer = create_customer(session, tenant=tenant, name="Rosa Diaz", phone=unique_phone(), email=address)
        session.add(
            MessagingSettings(
                tenant_id=tenant.id,
                email_from="jobs@painters.example.com",
                sms_footer="Reply STOP to opt out.",
                help_text="Call us.",
            )
        )
        session.flush()
        for channel in ("email", "sms"):
            service.record_consent(
                session=session,
                tenant_id=tenant.id,
                customer_id=customer.id,
                channel=channel,  # type: ignore[arg-type]
                purpose="transactional",
                granted=True,
                source="signed_form",
            )
        return Office(tenant_id=tenant.id, customer_id=customer.id, email=address)


def _stored(office: Office, data: bytes = PDF) -> schemas.Attachment:
    name = uploads.blob_name_for(tenant_id=office.tenant_id, area="estimates/signed", kind="pdf")
    uploads.ensure_container(CONTAINER)
    storage.blob_service().get_blob_client(CONTAINER, name).upload_blob(data, overwrite=True)
    return schemas.Attachment(
        blob_name=name, filename="Signed proposal.pdf", content_type="application/pdf", container=CONTAINER
    )


def _send(office: Office, attachments: list[schemas.Attachment], channel: str = "email") -> schemas.OutboundTask:
    with session_scope(tenant_id=office.tenant_id) as session:
        message = service.send(
            session=session,
            tenant_id=office.tenant_id,
            customer_id=office.customer_id,
            channel=channel,  # type: ignore[arg-type]
            subject="Your signed proposal",
            body="Thank you. The signed proposal is attached.",
            purpose="transactional",
            attachments=attachments,
        )
    return schemas.OutboundTask(tenant_id=office.tenant_id, message_id=message.id, seq=0)


def _row(task: schemas.OutboundTask) -> Message:
    with session_scope(tenant_id=task.tenant_id) as session:
        message = session.scalars(select(Message).where(Message.id == task.message_id)).one()
        session.expunge(message)
        return message


def _parts(message: EmailMessage) -> tuple[str, list[tuple[str | None, str, bytes]]]:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    files = [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    ]
    return body.get_content(), files  # type: ignore[return-value]


def _received(smtp: FakeSmtp, to: str) -> list[EmailMessage]:
    with smtp.lock:
        return [m.message for m in smtp.messages if to in m.rcpt_tos]


def test_an_email_carries_its_attachment_with_the_right_bytes_filename_and_type(smtp: FakeSmtp) -> None:
    office = _office()
    task = _send(office, [_stored(office)])
    assert pipeline.process(task) == "sent"
    (received,) = _received(smtp, office.email)
    text, files = _parts(received)
    assert "The signed proposal is attached." in text
    assert files == [("Signed proposal.pdf", "application/pdf", PDF)]
    assert received["Message-ID"] == f"<{task.message_id}@painters.example.com>"
    # the thread shows what the email carried
    with session_scope(tenant_id=office.tenant_id) as session:
        (shown,) = service.list_thread(session=session, tenant_id=office.tenant_id, customer_id=office.customer_id)
    assert [(a.filename, a.content_type) for a in shown.attachments] == [("Signed proposal.pdf", "application/pdf")]


def test_a_retry_after_a_451_sends_the_same_message_id_and_attachment(smtp: FakeSmtp) -> None:
    office = _office()
    task = _send(office, [_stored(office)])
    smtp.refuse_data(1)
    assert pipeline.process(task) == "retrying"
    assert (_row(task).status, _row(task).error_code) == ("queued", "smtp_451")
    assert pipeline.process(task.model_copy(update={"seq": _row(task).dispatch_seq})) == "sent"
    with smtp.lock:
        (first,) = [m.message for m in smtp.refused_data if office.email in m.rcpt_tos]
    (second,) = _received(smtp, office.email)
    assert first["Message-ID"] == second["Message-ID"] == f"<{task.message_id}@painters.example.com>"
    assert _parts(first) == _parts(second)
    assert hashlib.sha256(_parts(second)[1][0][2]).hexdigest() == hashlib.sha256(PDF).hexdigest()


def test_a_blob_gone_at_delivery_fails_the_message_for_good_and_sends_nothing(smtp: FakeSmtp) -> None:
    office = _office()
    attachment = _stored(office)
    task = _send(office, [attachment])
    storage.blob_service().get_blob_client(CONTAINER, attachment.blob_name).delete_blob()
    assert pipeline.process(task) == "failed"
    row = _row(task)
    assert (row.status, row.error_code, row.attempts) == ("failed", "attachment_missing", 1)
    assert "Signed proposal.pdf" in (row.error_detail or "")
    assert _received(smtp, office.email) == []
    assert pipeline.process(task.model_copy(update={"seq": row.dispatch_seq})) == "done"


def test_attachments_over_the_size_cap_fail_the_message(smtp: FakeSmtp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESSAGING_MAX_ATTACHMENT_BYTES", "4096")
    reset_settings_cache()
    office = _office()
    small = _stored(office, b"%PDF-1.7\n" + b"x" * 3000)
    task = _send(office, [small, _stored(office, b"%PDF-1.7\n" + b"y" * 3000)])
    assert get_settings().messaging_max_attachment_bytes == 4096
    assert pipeline.process(task) == "failed"
    assert _row(task).error_code == "attachments_too_large"
    assert _received(smtp, office.email) == []
    # one of them alone fits
    assert pipeline.process(_send(office, [small])) == "sent"


def _count(office: Office) -> int:
    with session_scope(tenant_id=office.tenant_id) as session:
        return session.scalar(select(func.count()).select_from(Message).where(Message.tenant_id == office.tenant_id))


def test_a_text_with_attachments_and_a_name_not_issued_to_the_business_are_refused(smtp: FakeSmtp) -> None:
    office, other = _office(), _office()
    with pytest.raises(Unprocessable) as refused:
        _send(office, [_stored(office)], channel="sms")
    assert (refused.value.status, refused.value.code) == (422, "sms_attachments")
    made_up = schemas.Attachment(
        blob_name=f"tenants/{office.tenant_id}/estimates/signed/{uuid.uuid4().hex}.0123456789abcdef.pdf",
        filename="x.pdf",
        content_type="application/pdf",
    )
    for attachment in (made_up, _stored(other)):  # a name we never issued, another business's blob
        with pytest.raises(Forbidden) as forbidden:
            _send(office, [attachment])
        assert forbidden.value.code == "upload_not_issued"
    assert _count(office) == 0
