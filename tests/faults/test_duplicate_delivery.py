"""Duplicate delivery: every queue message type the app defines, delivered twice (and late, out of order,
where order can matter), has one effect. Deliveries come both as the same queue message handed over
again (the host's admin API: one message id) and as copies put on the real queue (new message ids)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from azure.storage.queue import QueueClient

from devhost.services import free_azurite
from shared.twilio_signature import compute
from tests.app_index import queue_triggers
from tests.builders import Account, client_ip, register, unique_email, unique_phone
from tests.conftest import Database, RunningHost, start_host
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio_messaging import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioMessaging


@dataclass
class Stack:
    """A dev host with its fakes, the storage it polls, and a signed-in owner."""

    host: RunningHost
    client: httpx.Client
    twilio: FakeTwilioMessaging
    smtp: FakeSmtp
    storage: str
    owner_url: str
    owner: Account

    def deliver(self, function: str, queue: str, payload: dict[str, Any]) -> None:
        """Hand the same message to a queue trigger twice, then put two copies on its queue and let them drain."""
        for _ in range(2):
            fired = self.host.fire(function, payload)
            assert fired.status_code == 200, fired.text
        client = QueueClient.from_connection_string(self.storage, queue)
        for _ in range(2):
            client.send_message(base64.b64encode(json.dumps(payload).encode()).decode())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and client.get_queue_properties().approximate_message_count:
            time.sleep(0.2)
        time.sleep(1)  # the last copy fetched is being handled

    def rows(self, sql: str, *params: object) -> list[tuple]:
        """Rows of one query as the owner (row-level security does not apply)."""
        with psycopg.connect(self.owner_url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def stack(database: Database) -> Iterator[Stack]:
    """The app against this worker's database, its own Azurite (no other host takes its messages), a fake
    Twilio and a fake SMTP relay."""
    azurite = free_azurite().start()
    twilio, smtp = FakeTwilioMessaging().start(), FakeSmtp().start()
    storage = azurite.connection_string
    env = {
        "AzureWebJobsStorage": storage,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": twilio.base_url,
        "SMTP_FROM": "shop@example.com",
        "RENDER_RETRY_BASE_SECONDS": "1",
        **smtp.env(),
    }
    host = start_host("function_app:app", env=env)
    client = host.client()
    try:
        owner = register(client, tenant_name="Twice Auto")
        yield Stack(host, client, twilio, smtp, storage, database.owner_url, owner)
    finally:
        host.stop()
        twilio.stop()
        smtp.stop()
        azurite.stop()


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not condition():
        time.sleep(0.2)
    assert condition(), f"timed out waiting for {what}"


def _sent_text(stack: Stack) -> dict[str, Any]:
    put = stack.client.put(
        "/api/v1/messaging/settings", headers=stack.owner.headers, json={"sms_from_number": unique_phone()}
    )
    assert put.status_code == 200, put.text
    customer = stack.client.post(
        "/api/v1/crm/customers", headers=stack.owner.headers, json={"name": "Ada", "phone": unique_phone()}
    ).json()
    consent = stack.client.post(
        f"/api/v1/messaging/customers/{customer['id']}/consents",
        headers=stack.owner.headers,
        json={"channel": "sms", "purpose": "transactional", "granted": True, "source": "counter"},
    )
    assert consent.status_code == 201, consent.text
    message = stack.client.post(
        "/api/v1/messages",
        headers=stack.owner.headers,
        json={"customer_id": customer["id"], "channel": "sms", "purpose": "transactional", "body": "Ready"},
    ).json()
    _wait(lambda: _message(stack, message["id"])["status"] == "sent", "the text to be sent")
    return {"message": message, "phone": customer["phone"]}


def _message(stack: Stack, message_id: str) -> dict[str, Any]:
    return stack.client.get(f"/api/v1/messages/{message_id}", headers=stack.owner.headers).json()


def outbound_text(stack: Stack) -> None:
    """A text's task delivered four more times: the provider still got it once."""
    sent = _sent_text(stack)
    task = {"tenant_id": stack.owner.tenant_id, "message_id": sent["message"]["id"], "seq": 0}
    stack.deliver("messaging_outbound", "outbound-messages", task)
    assert len(stack.twilio.sent_to(sent["phone"])) == 1
    assert _message(stack, sent["message"]["id"])["status"] == "sent"


def outbound_text_poison(stack: Stack) -> None:
    """A sent text's task reaching the poison queue four times: it stays sent and is not failed or resent."""
    sent = _sent_text(stack)
    task = {"tenant_id": stack.owner.tenant_id, "message_id": sent["message"]["id"], "seq": 0}
    stack.deliver("messaging_outbound_poison", "outbound-messages-poison", task)
    assert _message(stack, sent["message"]["id"])["status"] == "sent"
    assert len(stack.twilio.sent_to(sent["phone"])) == 1


def _emails_to(stack: Stack, address: str) -> list[Any]:
    with stack.smtp.lock:
        return [m for m in stack.smtp.messages if address in m.rcpt_tos]


def _invited(stack: Stack) -> tuple[str, str]:
    """Someone invited by email without a password: (their user id, their link id), the email sent once."""
    email = unique_email("twice")
    invited = stack.client.post(
        "/api/v1/users", headers=stack.owner.headers, json={"name": "Ivy", "email": email, "role": "advisor"}
    )
    assert invited.status_code == 201, invited.text
    user_id = invited.json()["id"]
    _wait(lambda: len(_emails_to(stack, email)) == 1, "the invitation email")
    [(link_id,)] = stack.rows("SELECT id::text FROM password_links WHERE user_id = %s", user_id)
    return email, link_id


def password_link_email(stack: Stack) -> None:
    """An invitation's email task delivered four more times: one email, one 'emailed' audit row."""
    email, link_id = _invited(stack)
    stack.deliver("identity_password_link_email", "password-links", {"link_id": link_id})
    assert len(_emails_to(stack, email)) == 1
    assert stack.rows("SELECT email_status FROM password_links WHERE id = %s", link_id) == [("sent",)]


def password_link_email_poison(stack: Stack) -> None:
    """A sent invitation's task reaching the poison queue four times: the link stays sent, no failure recorded."""
    email, link_id = _invited(stack)
    stack.deliver("identity_password_link_email_poison", "password-links-poison", {"link_id": link_id})
    assert stack.rows("SELECT email_status FROM password_links WHERE id = %s", link_id) == [("sent",)]
    failures = stack.rows(
        "SELECT count(*) FROM audit_logs WHERE action = 'users.password_link_email_failed' AND entity_id::text = "
        "(SELECT user_id::text FROM password_links WHERE id = %s)",
        link_id,
    )
    assert failures == [(0,)]
    assert len(_emails_to(stack, email)) == 1


def _estimate_notice(stack: Stack) -> tuple[str, str]:
    """An acceptance notice queued for the owner's estimate: (the notice id, the tenant id)."""
    book = {"products": [{"name": "Eggshell", "coverage_sqft_per_gallon": "350", "price_per_gallon_cents": 4500}]}
    assert stack.client.put("/api/v1/estimates/rate-book", headers=stack.owner.headers, json=book).status_code == 200
    customer = stack.client.post(
        "/api/v1/crm/customers", headers=stack.owner.headers, json={"name": "Paint customer", "phone": unique_phone()}
    )
    assert customer.status_code == 201, customer.text
    estimate = stack.client.post(
        "/api/v1/estimates", headers=stack.owner.headers, json={"customer_id": customer.json()["id"], "title": "Twice"}
    )
    assert estimate.status_code == 201, estimate.text
    notice_id = str(uuid.uuid4())
    stack.rows(
        "INSERT INTO estimate_notices (id, tenant_id, estimate_id, kind, status) "
        "SELECT %s, tenant_id, id, 'accepted', 'queued' FROM estimates WHERE id = %s RETURNING id",
        notice_id,
        estimate.json()["id"],
    )
    return notice_id, stack.owner.tenant_id


def estimate_notice(stack: Stack) -> None:
    """An estimator's notice delivered four more times: one email, the notice sent."""
    notice_id, tenant_id = _estimate_notice(stack)
    stack.deliver("estimates_notice", "estimate-notices", {"tenant_id": tenant_id, "notice_id": notice_id})
    assert stack.rows("SELECT status FROM estimate_notices WHERE id = %s", notice_id) == [("sent",)]
    assert len(_emails_to(stack, stack.owner.email or "")) == 1


def estimate_notice_poison(stack: Stack) -> None:
    """A sent notice's task reaching the poison queue: the notice stays sent."""
    notice_id, tenant_id = _estimate_notice(stack)
    task = {"tenant_id": tenant_id, "notice_id": notice_id}
    assert stack.host.fire("estimates_notice", task).status_code == 200
    stack.deliver("estimates_notice_poison", "estimate-notices-poison", task)
    assert stack.rows("SELECT status FROM estimate_notices WHERE id = %s", notice_id) == [("sent",)]


def _voice_call(stack: Stack) -> tuple[str, str]:
    """A post-call webhook of three spoken rooms, signed by hand and received: (the call id, the tenant id)."""
    book = {"products": [{"name": "Eggshell", "coverage_sqft_per_gallon": "350", "price_per_gallon_cents": 4500}]}
    assert stack.client.put("/api/v1/estimates/rate-book", headers=stack.owner.headers, json=book).status_code == 200
    customer = stack.client.post(
        "/api/v1/crm/customers", headers=stack.owner.headers, json={"name": "Voice customer", "phone": unique_phone()}
    )
    estimate = stack.client.post(
        "/api/v1/estimates", headers=stack.owner.headers, json={"customer_id": customer.json()["id"], "title": "Said"}
    ).json()
    session = stack.client.post(f"/api/v1/estimates/{estimate['id']}/voice-sessions", headers=stack.owner.headers)
    assert session.status_code == 201, session.text
    said = "Kitchen ten by twelve. Den nine by nine, no ceiling. Office eight by ten, two windows."
    body = json.dumps(
        {
            "type": "post_call_transcription",
            "event_timestamp": int(time.time()),
            "data": {
                "agent_id": "local-agent",
                "conversation_id": f"conv_{uuid.uuid4().hex[:16]}",
                "status": "done",
                "transcript": [{"role": "user", "message": said, "time_in_call_secs": 3}],
                "analysis": {"data_collection_results": {}},
                "conversation_initiation_client_data": {
                    "dynamic_variables": {"tradeops_session": session.json()["id"]}
                },
            },
        }
    ).encode()
    t = int(time.time())
    secret = os.environ["ELEVENLABS_WEBHOOK_SECRET"].encode()
    signature = f"t={t},v0=" + hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    posted = stack.client.post(
        "/api/webhooks/elevenlabs/post-call",
        content=body,
        headers={"content-type": "application/json", "elevenlabs-signature": signature},
    )
    assert posted.status_code == 200 and posted.json()["status"] == "queued", posted.text
    _wait(
        lambda: (
            stack.rows("SELECT status FROM estimate_voice_calls WHERE session_id = %s", session.json()["id"])
            == [("processed",)]
        ),
        "the post-call webhook processed",
    )
    ((call_id,),) = stack.rows("SELECT id::text FROM estimate_voice_calls WHERE session_id = %s", session.json()["id"])
    return call_id, stack.owner.tenant_id


def voice_call(stack: Stack) -> None:
    """A processed post-call webhook delivered four more times: still three draft rooms."""
    call_id, tenant_id = _voice_call(stack)
    stack.deliver("estimates_voice_call", "estimate-voice-calls", {"tenant_id": tenant_id, "call_id": call_id})
    drafts = stack.rows(
        "SELECT d.name FROM estimate_voice_drafts d JOIN estimate_voice_calls c ON c.session_id = d.session_id "
        "WHERE c.id = %s ORDER BY d.name",
        call_id,
    )
    assert drafts == [("Den",), ("Kitchen",), ("Office",)]
    assert stack.rows("SELECT status, drafts FROM estimate_voice_calls WHERE id = %s", call_id) == [("processed", 3)]


def voice_call_poison(stack: Stack) -> None:
    """A processed call's task reaching the poison queue: it stays processed with its drafts."""
    call_id, tenant_id = _voice_call(stack)
    stack.deliver(
        "estimates_voice_call_poison", "estimate-voice-calls-poison", {"tenant_id": tenant_id, "call_id": call_id}
    )
    assert stack.rows("SELECT status, drafts FROM estimate_voice_calls WHERE id = %s", call_id) == [("processed", 3)]


def _render_job(stack: Stack) -> dict[str, Any]:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"finish": {"type": "string", "enum": ["oak", "walnut"]}},
        "required": ["finish"],
        "additionalProperties": False,
    }
    product = stack.client.post(
        "/api/v1/configurator/products",
        headers=stack.owner.headers,
        json={
            "name": f"Cabinet {uuid.uuid4().hex[:6]}",
            "config_schema": schema,
            "template_blob_path": "products/twice/1.blend",
            "template_version": "1",
        },
    )
    assert product.status_code == 201, product.text
    configuration = stack.client.post(
        "/api/v1/configurator/configurations",
        headers=stack.owner.headers,
        json={"product_id": product.json()["id"], "name": "Twice", "config_data": {"finish": "oak"}},
    )
    assert configuration.status_code == 201, configuration.text
    job = stack.client.post(
        "/api/v1/configurator/jobs", headers=stack.owner.headers, json={"configuration_id": configuration.json()["id"]}
    )
    assert job.status_code == 202, job.text
    return job.json()


def _report(job: dict[str, Any], tenant_id: str, **fields: Any) -> dict[str, Any]:
    """A worker's report on the job's first attempt (the request's `attempt`, echoed)."""
    return {"job_id": job["id"], "tenant_id": tenant_id, "worker_attempt": 1, "attempt": 1, **fields}


def render_results(stack: Stack) -> None:
    """A worker's reports, each four more times and a late progress after the end: the job ends COMPLETED once."""
    job = _render_job(stack)
    tenant = stack.owner.tenant_id
    deliver = stack.deliver
    deliver("configurator_render_results", "render-results", _report(job, tenant, status="PROCESSING", progress=40))
    path = f"renders/tenants/{tenant}/twice.glb"
    completed = _report(job, tenant, status="COMPLETED", progress=100, output_blob_path=path, render_ms=900)
    deliver("configurator_render_results", "render-results", completed)
    # a progress report overtaken by the completion arrives last
    deliver("configurator_render_results", "render-results", _report(job, tenant, status="PROCESSING", progress=60))
    done = stack.client.get(f"/api/v1/configurator/jobs/{job['id']}", headers=stack.owner.headers).json()
    assert (done["status"], done["progress"], done["retry_count"]) == ("COMPLETED", 100, 0), done


def _render_job_now(stack: Stack, job_id: str) -> dict[str, Any]:
    return stack.client.get(f"/api/v1/configurator/jobs/{job_id}", headers=stack.owner.headers).json()


def render_results_recoverable_failure(stack: Stack) -> None:
    """One recoverable failure delivered four times is one retry, not four; the next attempt's failure counts."""
    job = _render_job(stack)
    tenant = stack.owner.tenant_id
    failed = _report(job, tenant, status="FAILED", progress=0, error_code="render_error", recoverable=True)
    stack.deliver("configurator_render_results", "render-results", failed)
    after = _render_job_now(stack, job["id"])
    assert after["retry_count"] == 1, after
    # the retry (attempt 2) fails too: that report is new and counts (the admin API's message id is taken)
    results = QueueClient.from_connection_string(stack.storage, "render-results")
    results.send_message(base64.b64encode(json.dumps({**failed, "attempt": 2}).encode()).decode())
    _wait(lambda: _render_job_now(stack, job["id"])["retry_count"] == 2, "attempt 2's failure to count")


def _committed_photo(stack: Stack) -> tuple[str, str]:
    """A photo uploaded by its SAS URL, committed and with its thumbnails made: (estimate path, photo id)."""
    import io

    from PIL import Image

    notice_id, _ = _estimate_notice(stack)
    [(estimate_id,)] = stack.rows("SELECT estimate_id::text FROM estimate_notices WHERE id = %s", notice_id)
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (222, 218, 210)).save(out, "JPEG")
    base = f"/api/v1/estimates/{estimate_id}/photos"
    body = {"content_type": "image/jpeg", "bytes": len(out.getvalue())}
    ticket = stack.client.post(f"{base}/uploads", headers=stack.owner.headers, json=body).json()
    put = httpx.put(ticket["upload_url"], content=out.getvalue(), headers=ticket["upload_headers"], timeout=30)
    assert put.status_code == 201, put.text
    photo_id = ticket["photo"]["id"]
    commit = stack.client.post(f"{base}/{photo_id}/commit", headers=stack.owner.headers, json={})
    assert commit.status_code == 200, commit.text
    _wait(lambda: _photo_row(stack, photo_id)[0] == "ready", "the thumbnails")
    return base, photo_id


def _photo_row(stack: Stack, photo_id: str) -> tuple:
    [row] = stack.rows("SELECT thumbnail_status, version, updated_at FROM estimate_photos WHERE id = %s", photo_id)
    return row


def photo_thumbnails(stack: Stack) -> None:
    """A photo's thumbnail task delivered four more times: the photo is ready and unchanged."""
    _, photo_id = _committed_photo(stack)
    before = _photo_row(stack, photo_id)
    task = {"tenant_id": stack.owner.tenant_id, "photo_id": photo_id}
    stack.deliver("estimates_thumbnails", "estimate-photo-thumbnails", task)
    assert _photo_row(stack, photo_id) == before


def photo_thumbnails_poison(stack: Stack) -> None:
    """A made photo's thumbnail task reaching the poison queue: the photo stays ready."""
    _, photo_id = _committed_photo(stack)
    before = _photo_row(stack, photo_id)
    task = {"tenant_id": stack.owner.tenant_id, "photo_id": photo_id}
    stack.deliver("estimates_thumbnails_poison", "estimate-photo-thumbnails-poison", task)
    assert _photo_row(stack, photo_id) == before


def _made_preview(stack: Stack) -> str:
    base, photo_id = _committed_photo(stack)
    body = {"colour": {"name": "Sage", "hex": "#8a9a5b"}, "surfaces": ["walls"]}
    asked = stack.client.post(f"{base}/{photo_id}/previews", headers=stack.owner.headers, json=body)
    assert asked.status_code == 202, asked.text
    preview_id = asked.json()["id"]
    _wait(lambda: _preview_row(stack, preview_id)[0] == "ready", "the preview")
    return preview_id


def _preview_row(stack: Stack, preview_id: str) -> tuple:
    [row] = stack.rows("SELECT status, attempts, blob_name, version FROM estimate_previews WHERE id = %s", preview_id)
    return row


def colour_preview(stack: Stack) -> None:
    """A preview's task delivered four more times: one attempt, the preview ready and unchanged."""
    preview_id = _made_preview(stack)
    before = _preview_row(stack, preview_id)
    assert before[1] == 1
    task = {"tenant_id": stack.owner.tenant_id, "preview_id": preview_id, "attempt": 0}
    stack.deliver("estimates_preview", "estimate-previews", task)
    assert _preview_row(stack, preview_id) == before


def colour_preview_poison(stack: Stack) -> None:
    """A made preview's task reaching the poison queue: the preview stays ready."""
    preview_id = _made_preview(stack)
    before = _preview_row(stack, preview_id)
    task = {"tenant_id": stack.owner.tenant_id, "preview_id": preview_id, "attempt": 0}
    stack.deliver("estimates_preview_poison", "estimate-previews-poison", task)
    assert _preview_row(stack, preview_id) == before


# --- leads (leads engineer's block) -------------------------------------------------------------------------
def _zone_at_local_hour(hour: int) -> str:
    offset = ((hour - datetime.now(UTC).hour + 12) % 24) - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def _leads_business(stack: Stack) -> tuple[Account, str, str]:
    """A business of its own where it is now 14:00, texting from a number, with its intake slug."""
    owner = register(stack.client, tenant_name=f"Twice Plumbing {uuid.uuid4().hex[:6]}")
    zone = {"timezone": _zone_at_local_hour(14)}
    assert (
        stack.client.patch("/api/v1/tenant", headers={**owner.headers, "If-Match": "*"}, json=zone).status_code == 200
    )
    number, slug = unique_phone(), f"twice-{uuid.uuid4().hex[:8]}"
    put = stack.client.put("/api/v1/messaging/settings", headers=owner.headers, json={"sms_from_number": number})
    assert put.status_code == 200, put.text
    put = stack.client.put("/api/v1/leads/settings", headers=owner.headers, json={"slug": slug})
    assert put.status_code == 200, put.text
    return owner, number, slug


def _answered_lead(stack: Stack) -> tuple[Account, dict[str, Any], str]:
    owner, _, slug = _leads_business(stack)
    phone = unique_phone()
    form = {"name": "Hank", "phone": phone, "consent": True, "consent_text": "Text me"}
    assert stack.client.post(f"/api/v1/leads/intake/{slug}", json=form, headers=client_ip()).status_code == 202

    def answered() -> bool:
        items = stack.client.get("/api/v1/leads", headers=owner.headers).json()["items"]
        return bool(items) and items[0]["first_response_at"] is not None

    _wait(answered, "the lead to be answered")
    return owner, stack.client.get("/api/v1/leads", headers=owner.headers).json()["items"][0], phone


def lead_answer(stack: Stack) -> None:
    """A lead's answer task delivered four more times (and its confirmation): Twilio got one text."""
    owner, lead, phone = _answered_lead(stack)
    for kind in ("answer", "confirm"):
        task = {"tenant_id": owner.tenant_id, "lead_id": lead["id"], "kind": kind, "n": 0}
        stack.deliver("leads_responder", "lead-responses", task)
    assert len(stack.twilio.sent_to(phone)) == 1
    again = stack.client.get(f"/api/v1/leads/{lead['id']}", headers=owner.headers).json()
    assert (again["answer_message_id"], again["first_response_at"]) == (
        lead["answer_message_id"],
        lead["first_response_at"],
    )


def lead_answer_poison(stack: Stack) -> None:
    """An answered lead's task reaching the poison queue four times: it stays answered, nothing is resent."""
    owner, lead, phone = _answered_lead(stack)
    task = {"tenant_id": owner.tenant_id, "lead_id": lead["id"], "kind": "answer", "n": 0}
    stack.deliver("leads_responder_poison", "lead-responses-poison", task)
    again = stack.client.get(f"/api/v1/leads/{lead['id']}", headers=owner.headers).json()
    assert (again["answer_state"], again["owner_notified_at"]) == ("sent", None)
    assert len(stack.twilio.sent_to(phone)) == 1


def _texted_lead(stack: Stack) -> tuple[Account, dict[str, Any]]:
    owner, number, _ = _leads_business(stack)
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": unique_phone(), "To": number, "Body": "Burst pipe!"}
    url = f"{stack.host.base_url}/api/webhooks/twilio/inbound"
    signed = {"X-Twilio-Signature": compute(AUTH_TOKEN, url, params.items())}
    assert stack.client.post(url, data=params, headers=signed).status_code == 200
    _wait(lambda: bool(stack.client.get("/api/v1/leads", headers=owner.headers).json()["items"]), "the text's lead")
    [(message_id, received_at)] = stack.rows(
        "SELECT inbound_message_id, created_at FROM leads WHERE tenant_id = %s", owner.tenant_id
    )
    task = {
        "tenant_id": owner.tenant_id,
        "message_id": str(message_id),
        "from_number": params["From"],
        "body": params["Body"],
        "received_at": received_at.isoformat(),
    }
    return owner, task


def lead_from_text(stack: Stack) -> None:
    """An unknown number's text delivered four more times: still one lead."""
    owner, task = _texted_lead(stack)
    stack.deliver("leads_inbound_text", "inbound-from-unknown", task)
    assert len(stack.client.get("/api/v1/leads", headers=owner.headers).json()["items"]) == 1


def lead_from_text_poison(stack: Stack) -> None:
    """The same text reaching the poison queue four times: it changes nothing, still one lead."""
    owner, task = _texted_lead(stack)
    stack.deliver("leads_inbound_text_poison", "inbound-from-unknown-poison", task)
    assert len(stack.client.get("/api/v1/leads", headers=owner.headers).json()["items"]) == 1


# --- end of leads block ---------------------------------------------------------------------------------------


# Every queue trigger of the app, and the scenarios that deliver its messages twice.
SCENARIOS: dict[str, list[Callable[[Stack], None]]] = {
    "messaging_outbound": [outbound_text],
    "messaging_outbound_poison": [outbound_text_poison],
    "identity_password_link_email": [password_link_email],
    "identity_password_link_email_poison": [password_link_email_poison],
    "configurator_render_results": [render_results, render_results_recoverable_failure],
    "estimates_notice": [estimate_notice],
    "estimates_notice_poison": [estimate_notice_poison],
    "estimates_thumbnails": [photo_thumbnails],
    "estimates_thumbnails_poison": [photo_thumbnails_poison],
    "estimates_preview": [colour_preview],
    "estimates_preview_poison": [colour_preview_poison],
    "leads_responder": [lead_answer],
    "leads_responder_poison": [lead_answer_poison],
    "leads_inbound_text": [lead_from_text],
    "leads_inbound_text_poison": [lead_from_text_poison],
    "estimates_voice_call": [voice_call],
    "estimates_voice_call_poison": [voice_call_poison],
}


def test_every_queue_trigger_of_the_app_has_a_duplicate_delivery_scenario() -> None:
    assert set(queue_triggers()) == set(SCENARIOS), "add a scenario for each new queue message type"


@pytest.mark.parametrize(
    "scenario", [pytest.param(s, id=s.__name__) for scenarios in SCENARIOS.values() for s in scenarios]
)
def test_a_message_delivered_again_has_one_effect(stack: Stack, scenario: Callable[[Stack], None]) -> None:
    scenario(stack)
