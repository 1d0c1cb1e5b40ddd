"""The pricebook through the dev host against the fake ServiceTitan: connect, pull, edit, push, conflict, images."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.builders import Account, register
from tests.conftest import Database, RunningHost, start_host
from tests.fakes.servicetitan import FakeServiceTitan, settings_for

TERMINAL = ("completed", "failed")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServiceTitan]:
    server = FakeServiceTitan().start()
    server.seed(categories=14, materials=120, services=30, equipment=8, nested=2)
    server.state.export_page_size = 40  # several pages per feed
    yield server
    server.stop()


@pytest.fixture(scope="module")
def host(database: Database, fake: FakeServiceTitan) -> Iterator[RunningHost]:
    running = start_host("function_app:app", env=settings_for(fake))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def owner(host: RunningHost, fake: FakeServiceTitan) -> Account:
    account = register(host.client(), tenant_name="LAZI Home Services")
    body = {"st_tenant_id": fake.state.st_tenant_id, "client_id": "fake-client", "client_secret": "fake-secret"}
    connected = host.client().put("/api/v1/pricebook/connection", headers=account.headers, json=body)
    assert connected.status_code == 200, connected.text
    assert "client_secret" not in connected.json() and "fake-secret" not in connected.text
    return account


def wait_run(client: httpx.Client, account: Account, run_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = client.get(f"/api/v1/pricebook/syncs/{run_id}", headers=account.headers).json()
        if run["status"] in TERMINAL:
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.1)


def run(client: httpx.Client, account: Account, path: str, body: dict[str, Any]) -> dict[str, Any]:
    started = client.post(f"/api/v1/pricebook/{path}", headers=account.headers, json=body)
    assert started.status_code == 202, started.text
    return wait_run(client, account, started.json()["id"])


def count(client: httpx.Client, account: Account, kind: str) -> int:
    total, cursor = 0, None
    while True:
        params = {"limit": 200, "active": "any", **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/api/v1/pricebook/{kind}", headers=account.headers, params=params).json()
        total += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return total


def test_a_wrong_secret_is_a_clear_422_not_a_sign_out(host: RunningHost, fake: FakeServiceTitan) -> None:
    account = register(host.client(), tenant_name="Wrong secret")
    body = {"st_tenant_id": fake.state.st_tenant_id, "client_id": "fake-client", "client_secret": "nope"}
    response = host.client().put("/api/v1/pricebook/connection", headers=account.headers, json=body)
    assert response.status_code == 422 and response.json()["code"] == "servicetitan_refused"
    assert host.client().get("/api/v1/pricebook/connection", headers=account.headers).json()["connected"] is False


def test_full_pull_then_edit_push_and_conflict(host: RunningHost, fake: FakeServiceTitan, owner: Account) -> None:
    client = host.client()
    # a full pull lands exactly ServiceTitan's counts
    pulled = run(client, owner, "syncs", {"mode": "full"})
    assert pulled["status"] == "completed", pulled
    assert pulled["progress"]["materials"]["done"] and pulled["progress"]["materials"]["pages"] == 3  # 120 by 40
    for kind in ("materials", "services", "equipment"):
        assert count(client, owner, kind) == len(fake.state.items[kind])
    categories = client.get("/api/v1/pricebook/categories?limit=200&active=any", headers=owner.headers).json()
    assert len(categories["items"]) == fake.category_count() == 16  # two of them nested in their parent's record
    # a second pull while one runs is 409 naming it (started and checked at once)
    first = client.post("/api/v1/pricebook/syncs", headers=owner.headers, json={"mode": "incremental"})
    second = client.post("/api/v1/pricebook/syncs", headers=owner.headers, json={"mode": "incremental"})
    if second.status_code == 409:
        assert second.json()["running_id"] == first.json()["id"]
    wait_run(client, owner, first.json()["id"])

    # an estimator's price here, a description there
    item = client.get("/api/v1/pricebook/materials/20005", headers=owner.headers)
    patched = client.patch(
        "/api/v1/pricebook/materials/20005",
        headers={**owner.headers, "If-Match": item.headers["ETag"]},
        json={"price_cents": 4_321},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["pending_push"] is True and patched.json()["overridden"] == ["price_cents"]
    fake.edit("materials", 20_005, description="<p>Edited in ServiceTitan</p>")
    pushed = run(client, owner, "pushes", {})
    assert pushed["status"] == "completed", pushed
    assert fake.state.items["materials"][20_005]["price"] == 43.21
    assert fake.state.items["materials"][20_005]["description"] == "<p>Edited in ServiceTitan</p>"
    after = client.get("/api/v1/pricebook/materials/20005", headers=owner.headers).json()
    assert (after["price_cents"], after["description"], after["pending_push"]) == (
        4_321,
        "<p>Edited in ServiceTitan</p>",
        False,
    )

    # the same field on both sides: a conflict, nothing overwritten
    item = client.get("/api/v1/pricebook/materials/20006", headers=owner.headers)
    client.patch(
        "/api/v1/pricebook/materials/20006",
        headers={**owner.headers, "If-Match": item.headers["ETag"]},
        json={"price_cents": 1_111},
    )
    fake.edit("materials", 20_006, price=22.22)
    run(client, owner, "pushes", {})
    assert fake.state.items["materials"][20_006]["price"] == 22.22
    conflicts = client.get("/api/v1/pricebook/conflicts", headers=owner.headers).json()["items"]
    assert [(c["st_id"], c["field"], c["local"], c["remote"]) for c in conflicts] == [
        (20_006, "price_cents", 1_111, 2_222)
    ]
    # no call was ever made without our app key
    assert {call["app_key"] for call in fake.api_calls()} == {fake.state.app_key}


def test_a_burst_of_429s_slows_the_sync_but_loses_nothing(
    host: RunningHost, fake: FakeServiceTitan, owner: Account
) -> None:
    client = host.client()
    run(client, owner, "syncs", {"mode": "full"})
    fake.edit("materials", 20_010, displayName="Changed during throttling")
    fake.state.burst_429, fake.state.retry_after = 3, "1"
    throttled_before = fake.state.throttled
    pulled = run(client, owner, "syncs", {"mode": "incremental"})
    assert pulled["status"] == "completed" and fake.state.throttled - throttled_before == 3
    item = client.get("/api/v1/pricebook/materials/20010", headers=owner.headers).json()
    assert item["display_name"] == "Changed during throttling"


def test_images_come_from_servicetitan_once_then_from_us(
    host: RunningHost, fake: FakeServiceTitan, owner: Account
) -> None:
    client = host.client()
    run(client, owner, "syncs", {"mode": "full"})
    first = client.get("/api/v1/pricebook/images/materials/20000", headers=owner.headers)
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert first.content == fake.state.files["Images/Material/20000.png"]
    calls = len([c for c in fake.api_calls() if c["path"].endswith("/images")])
    again = client.get(
        "/api/v1/pricebook/images/materials/20000", headers={**owner.headers, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304
    assert len([c for c in fake.api_calls() if c["path"].endswith("/images")]) == calls
    assert client.get("/api/v1/pricebook/images/materials/20001", headers=owner.headers).status_code == 404


def test_the_nightly_timer_refreshes_every_connected_business_and_one_failure_stops_none(
    host: RunningHost, fake: FakeServiceTitan, owner: Account
) -> None:
    import uuid

    from sqlalchemy import update

    from blueprints.pricebook.models import StConnection
    from shared.db import session_scope

    client = host.client()
    run(client, owner, "syncs", {"mode": "incremental"})  # from the start when nothing was pulled yet
    # given a second connected business whose stored secret is broken
    broken = register(client, tenant_name="Broken box")
    body = {"st_tenant_id": fake.state.st_tenant_id, "client_id": "fake-client", "client_secret": "fake-secret"}
    assert client.put("/api/v1/pricebook/connection", headers=broken.headers, json=body).status_code == 200
    with session_scope(tenant_id=uuid.UUID(broken.tenant_id)) as session:
        session.execute(update(StConnection).values(secret_box="v1.broken.box"))
    fake.edit("materials", 20_011, displayName="Changed before the night")
    before = client.get("/api/v1/pricebook/connection", headers=owner.headers).json()["last_run"]["id"]
    # when the nightly timer fires
    assert host.fire("pricebook_nightly").status_code == 200, host.log_tail()
    # then our business got an incremental pull that brought the change in
    last = client.get("/api/v1/pricebook/connection", headers=owner.headers).json()["last_run"]
    assert last["id"] != before and last["mode"] == "incremental"
    assert wait_run(client, owner, last["id"])["status"] == "completed"
    item = client.get("/api/v1/pricebook/materials/20011", headers=owner.headers).json()
    assert item["display_name"] == "Changed before the night"


def test_a_retried_pull_with_the_same_idempotency_key_starts_one_sync(host: RunningHost, owner: Account) -> None:
    client = host.client()
    headers = {**owner.headers, "Idempotency-Key": "pull-once-please"}
    first = client.post("/api/v1/pricebook/syncs", headers=headers, json={"mode": "incremental"})
    again = client.post("/api/v1/pricebook/syncs", headers=headers, json={"mode": "incremental"})
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
    assert wait_run(client, owner, first.json()["id"])["status"] == "completed"


def test_a_stale_etag_is_412_and_a_services_cost_is_not_editable(host: RunningHost, owner: Account) -> None:
    client = host.client()
    run(client, owner, "syncs", {"mode": "incremental"})  # from the start when nothing was pulled yet
    read = client.get("/api/v1/pricebook/materials/20020", headers=owner.headers)
    url, tag = "/api/v1/pricebook/materials/20020", read.headers["ETag"]
    assert client.patch(url, headers={**owner.headers, "If-Match": tag}, json={"code": "A-1"}).status_code == 200
    stale = client.patch(url, headers={**owner.headers, "If-Match": tag}, json={"code": "A-2"})
    assert stale.status_code == 412
    service = client.patch(
        "/api/v1/pricebook/services/40001", headers={**owner.headers, "If-Match": "*"}, json={"cost_cents": 5}
    )
    assert service.status_code == 422 and service.json()["code"] == "field_not_editable"
