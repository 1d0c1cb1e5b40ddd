"""Azurite stops for 10 s: texts asked for meanwhile still answer 202 (the outbox holds their queue
messages), are delivered once it returns, the queue trigger resumes, and the provider gets each text once."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from devhost.services import Azurite, free_azurite
from tests.builders import Account, register, unique_phone
from tests.conftest import Database, create_database, start_host
from tests.fakes.twilio_messaging import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioMessaging

OUTAGE_SECONDS = 10
DELIVERY_BOUND_SECONDS = 60  # the outbox sweeper's period and backoff, with room for a loaded machine


@pytest.fixture
def twilio() -> Iterator[FakeTwilioMessaging]:
    """The Twilio Messages API on loopback."""
    fake = FakeTwilioMessaging().start()
    yield fake
    fake.stop()


@pytest.fixture
def durable_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """An Azurite of this test alone that keeps its data on disk, so a restart is a hiccup, not a wipe."""
    ports = free_azurite()
    azurite = Azurite(
        location=Path(tmp_path_factory.mktemp("azurite")),
        blob_port=ports.blob_port,
        queue_port=ports.queue_port,
        table_port=ports.table_port,
    ).start()
    yield azurite
    azurite.stop()


def _customer_with_consent(client: httpx.Client, owner: Account) -> str:
    put = client.put("/api/v1/messaging/settings", headers=owner.headers, json={"sms_from_number": unique_phone()})
    assert put.status_code == 200, put.text
    customer = client.post(
        "/api/v1/crm/customers", headers=owner.headers, json={"name": "Ada", "phone": unique_phone()}
    )
    assert customer.status_code == 201, customer.text
    consent = client.post(
        f"/api/v1/messaging/customers/{customer.json()['id']}/consents",
        headers=owner.headers,
        json={"channel": "sms", "purpose": "transactional", "granted": True, "source": "counter"},
    )
    assert consent.status_code == 201, consent.text
    return customer.json()["id"]


def _text(client: httpx.Client, owner: Account, customer_id: str, body: str) -> httpx.Response:
    return client.post(
        "/api/v1/messages",
        headers=owner.headers,
        json={"customer_id": customer_id, "channel": "sms", "purpose": "transactional", "body": body},
    )


def _delivered(twilio: FakeTwilioMessaging) -> Counter[str]:
    """How often the provider got each of our messages (by the message id in its status callback)."""
    ids = [parse_qs(urlsplit(sent.status_callback or "").query).get("message_id", [""])[0] for sent in twilio.sent]
    return Counter(ids)


def _wait_for(twilio: FakeTwilioMessaging, ids: set[str]) -> Counter[str]:
    deadline = time.monotonic() + DELIVERY_BOUND_SECONDS
    while time.monotonic() < deadline and not ids <= set(_delivered(twilio)):
        time.sleep(0.25)
    return _delivered(twilio)


def test_texts_asked_for_while_azurite_is_down_are_held_then_sent_once(
    database: Database, durable_azurite: Azurite, twilio: FakeTwilioMessaging
) -> None:
    # A database of its own: the session's other dev hosts sweep the worker database's outbox every 10 s and
    # would send this host's held texts to their own storage, where this test's Twilio never sees them.
    own = create_database(f"tradeops_faults_{uuid.uuid4().hex[:8]}")
    env = {
        "DATABASE_URL": own.app_url,
        "DATABASE_MIGRATION_URL": own.owner_url,
        "AzureWebJobsStorage": durable_azurite.connection_string,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": twilio.base_url,
    }
    host = start_host("function_app:app", env=env)
    try:
        client = host.client()
        owner = register(client, tenant_name="Hiccup Auto")
        customer_id = _customer_with_consent(client, owner)
        before = _text(client, owner, customer_id, "Before the hiccup")
        assert before.status_code == 202, before.text
        assert _wait_for(twilio, {before.json()["id"]})[before.json()["id"]] == 1
        # when storage goes away for a while
        stopped = time.monotonic()
        durable_azurite.stop()
        during = [_text(client, owner, customer_id, f"During the hiccup {n}") for n in range(3)]
        ready = client.get("/api/ready")
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
        durable_azurite.start()
        after = _text(client, owner, customer_id, "After the hiccup")
        # then the texts asked for meanwhile were accepted (the outbox holds them) and readiness named storage
        assert [r.status_code for r in during] == [202, 202, 202], [r.text for r in during]
        assert ready.status_code == 503
        assert {c["name"]: c["ok"] for c in ready.json()["checks"]} == {"database": True, "storage": False}
        # and once it is back every text reaches the provider, the queue trigger having resumed, each once
        ids = {r.json()["id"] for r in [before, *during, after]}
        delivered = _wait_for(twilio, ids)
        assert {i: delivered[i] for i in ids} == dict.fromkeys(ids, 1), host.log_tail()
        statuses = {client.get(f"/api/v1/messages/{i}", headers=owner.headers).json()["status"] for i in ids}
        assert statuses == {"sent"}
    finally:
        host.stop()
