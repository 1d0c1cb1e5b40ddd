"""Idempotency-Key on mutating POSTs and If-Match on PATCH, over HTTP through the dev host."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.builders import Account, invite, login, register
from tests.conftest import RunningHost


@pytest.fixture(scope="module")
def shop(app_host: RunningHost) -> dict[str, Account]:
    client = app_host.client()
    owner = register(client, tenant_name="Idempotent Paint")
    advisor = login(client, email=invite(client, owner, role="advisor")["email"])
    estimator = login(client, email=invite(client, owner, role="estimator")["email"])
    return {"owner": owner, "advisor": advisor, "estimator": estimator}


def _named(client: httpx.Client, account: Account, name: str) -> list[dict]:
    return client.get("/api/v1/crm/customers", params={"q": name}, headers=account.headers).json()["items"]


def test_a_retry_with_the_same_key_and_body_replays_the_first_response(app_host: RunningHost, shop: dict) -> None:
    client, owner, name = app_host.client(), shop["owner"], f"Replay {uuid.uuid4().hex[:8]}"
    headers = {**owner.headers, "Idempotency-Key": uuid.uuid4().hex}
    first = client.post("/api/v1/crm/customers", headers=headers, json={"name": name})
    again = client.post("/api/v1/crm/customers", headers=headers, json={"name": name})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert len(_named(client, owner, name)) == 1


def test_the_same_key_with_another_body_is_422(app_host: RunningHost, shop: dict) -> None:
    client, owner = app_host.client(), shop["owner"]
    headers = {**owner.headers, "Idempotency-Key": uuid.uuid4().hex}
    assert client.post("/api/v1/crm/customers", headers=headers, json={"name": "First body"}).status_code == 201
    other = client.post("/api/v1/crm/customers", headers=headers, json={"name": "Second body"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_parallel_requests_with_one_key_have_one_effect(app_host: RunningHost, shop: dict) -> None:
    owner, name = shop["owner"], f"Parallel {uuid.uuid4().hex[:8]}"
    headers = {**owner.headers, "Idempotency-Key": uuid.uuid4().hex}

    def post(_: int) -> httpx.Response:
        with app_host.client() as client:
            return client.post("/api/v1/crm/customers", headers=headers, json={"name": name})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(post, range(8)))
    statuses = sorted(r.status_code for r in responses)
    # each answer is the one result (201, first or replayed) or "still in progress" (409); never a second customer
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert all(r.json()["code"] == "idempotency_in_progress" for r in responses if r.status_code == 409)
    assert len(_named(app_host.client(), owner, name)) == 1


def test_the_same_key_from_two_users_is_two_requests(app_host: RunningHost, shop: dict) -> None:
    client, key, name = app_host.client(), uuid.uuid4().hex, f"Two users {uuid.uuid4().hex[:8]}"
    first = client.post(
        "/api/v1/crm/customers", headers={**shop["owner"].headers, "Idempotency-Key": key}, json={"name": name}
    )
    second = client.post(
        "/api/v1/crm/customers", headers={**shop["advisor"].headers, "Idempotency-Key": key}, json={"name": name}
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second.headers


def test_a_failed_request_gives_its_key_back_and_the_retry_really_runs(app_host: RunningHost, shop: dict) -> None:
    client, owner, estimator = app_host.client(), shop["owner"], shop["estimator"]
    # given a customer of the owner that the estimator cannot see (estimators see their own or shared ones)
    customer = client.post("/api/v1/crm/customers", headers=owner.headers, json={"name": "Shared later"}).json()
    url = f"/api/v1/crm/customers/{customer['id']}/vehicles"
    headers = {**estimator.headers, "Idempotency-Key": uuid.uuid4().hex}
    body = {"year": 2020, "make": "Ford", "model": "Transit"}
    # when the estimator's keyed POST fails (404: not theirs)
    failed = client.post(url, headers=headers, json=body)
    assert failed.status_code == 404 and "Idempotent-Replayed" not in failed.headers
    # and the owner then shares the customer with them
    shared = client.post(
        f"{url[: -len('/vehicles')]}/shares", headers=owner.headers, json={"user_id": estimator.user_id}
    )
    assert shared.status_code == 200, shared.text
    # then the retry with the same key and body runs again (a kept key would replay the 404)
    retried = client.post(url, headers=headers, json=body)
    assert retried.status_code == 201, retried.text
    assert "Idempotent-Replayed" not in retried.headers
    vehicles = client.get(url, headers=owner.headers).json()["items"]
    assert [v["id"] for v in vehicles] == [retried.json()["id"]]
    # and from now on the key holds the success
    replayed = client.post(url, headers=headers, json=body)
    assert replayed.headers.get("Idempotent-Replayed") == "true" and replayed.json()["id"] == retried.json()["id"]


def test_patch_needs_if_match_and_refuses_a_stale_etag(app_host: RunningHost, shop: dict) -> None:
    client, owner = app_host.client(), shop["owner"]
    created = client.post("/api/v1/crm/customers", headers=owner.headers, json={"name": "Etag Ed"})
    url, etag = f"/api/v1/crm/customers/{created.json()['id']}", created.headers["ETag"]
    missing = client.patch(url, headers=owner.headers, json={"notes": "no precondition"})
    assert missing.status_code == 428 and missing.json()["code"] == "if_match_required"
    changed = client.patch(url, headers={**owner.headers, "If-Match": etag}, json={"notes": "first edit"})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    stale = client.patch(url, headers={**owner.headers, "If-Match": etag}, json={"notes": "lost update"})
    assert stale.status_code == 412 and stale.json()["code"] == "stale_etag"
    assert client.get(url, headers=owner.headers).json()["notes"] == "first edit"
