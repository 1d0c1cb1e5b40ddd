"""Duplicate delivery: every queue message type the app defines, delivered twice (and late, out of order,
where order can matter), has one effect. Deliveries come both as the same queue message handed over
again (the host's admin API: one message id) and as copies put on the real queue (new message ids)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from azure.storage.queue import QueueClient

from devhost.services import free_azurite
from tests.app_index import queue_triggers
from tests.builders import Account, register, unique_email, unique_phone
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


# Every queue trigger of the app, and the scenarios that deliver its messages twice.
SCENARIOS: dict[str, list[Callable[[Stack], None]]] = {
    "messaging_outbound": [outbound_text],
    "messaging_outbound_poison": [outbound_text_poison],
    "identity_password_link_email": [password_link_email],
    "identity_password_link_email_poison": [password_link_email_poison],
    "configurator_render_results": [render_results, render_results_recoverable_failure],
    "estimates_notice": [estimate_notice],
    "estimates_notice_poison": [estimate_notice_poison],
}


def test_every_queue_trigger_of_the_app_has_a_duplicate_delivery_scenario() -> None:
    assert set(queue_triggers()) == set(SCENARIOS), "add a scenario for each new queue message type"


@pytest.mark.parametrize(
    "scenario", [pytest.param(s, id=s.__name__) for scenarios in SCENARIOS.values() for s in scenarios]
)
def test_a_message_delivered_again_has_one_effect(stack: Stack, scenario: Callable[[Stack], None]) -> None:
    scenario(stack)
