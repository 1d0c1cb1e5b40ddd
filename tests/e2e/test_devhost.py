"""The dev host serves a Functions app the way the Azure host does: routes, keys, queues, timers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningHost, start_host

APP = "tests.e2e.devhost_app.function_app:app"


@pytest.fixture(scope="module")
def record_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("records")


@pytest.fixture(scope="module")
def host(record_dir: Path) -> Iterator[RunningHost]:
    running = start_host(APP, env={"DEVHOST_TEST_RECORD_DIR": str(record_dir)})
    yield running
    running.stop()


def _records(record_dir: Path, name: str) -> list[dict]:
    path = record_dir / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _wait_for(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_route_templates_match_like_the_host(host: RunningHost) -> None:
    client = host.client()
    assert client.get("/api/items/42").json() == {"route": "int", "params": {"id": "42"}}
    assert client.get("/api/items/42/blue").json()["params"] == {"id": "42", "label": "blue"}
    # a literal segment wins over a parameter; a non-integer falls through to {name}
    assert client.get("/api/items/new").json() == {"route": "literal"}
    assert client.get("/api/items/brush").json()["params"] == {"name": "brush"}
    assert client.get("/api/files/a/b/c.txt").text == "a/b/c.txt"
    assert client.get("/api/nothing/here").status_code == 404
    # an encoded newline in a segment is still routed to the app (aiohttp's own 404 would bypass it)
    assert client.get("/api/items/a%0Ab").json()["params"] == {"name": "a\nb"}


def test_methods_query_and_body_reach_the_function(host: RunningHost) -> None:
    response = host.client().post("/api/items/roller?size=9", json={"qty": 3})
    assert response.status_code == 201
    assert response.json() == {
        "route": "name",
        "params": {"name": "roller"},
        "method": "POST",
        "query": {"size": "9"},
        "echo": {"qty": 3},
    }
    assert host.client().delete("/api/items/roller").status_code == 404


def test_async_functions_are_awaited(host: RunningHost) -> None:
    assert host.client().post("/api/async-echo", content=b"\x00\x01binary").content == b"\x00\x01binary"


def test_key_protected_routes_refuse_a_missing_or_wrong_key(host: RunningHost) -> None:
    client = host.client()
    assert client.get("/api/secure/function").status_code == 401
    assert client.get("/api/secure/function", params={"code": "wrong"}).status_code == 401
    assert client.get("/api/secure/function", params={"code": host.function_key}).text == "function ok"
    assert client.get("/api/secure/function", headers={"x-functions-key": host.master_key}).status_code == 200
    # admin level takes the master key only
    assert client.get("/api/secure/admin", params={"code": host.function_key}).status_code == 401
    assert client.get("/api/secure/admin", params={"code": host.master_key}).text == "admin ok"
    assert httpx.get(f"{host.base_url}/admin/host/status").status_code == 401
    # a key that is not ASCII is simply wrong, not a host error
    assert client.get("/api/secure/function", params={"code": "\u0096I"}).status_code == 401


def test_queue_output_binding_feeds_the_queue_trigger(host: RunningHost, record_dir: Path) -> None:
    marker = uuid.uuid4().hex
    assert host.client().post("/api/enqueue", content=json.dumps({"marker": marker})).status_code == 202
    seen = _wait_for(lambda: [r for r in _records(record_dir, "work") if r["payload"].get("marker") == marker])
    assert len(seen) == 1
    assert seen[0]["dequeue_count"] == 1


def test_failing_queue_message_is_tried_five_times_then_poisoned(host: RunningHost, record_dir: Path) -> None:
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

    conn = host.env["AzureWebJobsStorage"]
    marker = uuid.uuid4().hex
    work = QueueClient.from_connection_string(conn, "devhost-work", message_encode_policy=TextBase64EncodePolicy())
    work.send_message(json.dumps({"marker": marker, "fail": True}))
    tries = _wait_for(
        lambda: (
            (r := [x for x in _records(record_dir, "work") if x["payload"].get("marker") == marker])
            and len(r) >= 5
            and r
        ),
        timeout=60,
    )
    assert [t["dequeue_count"] for t in tries] == [1, 2, 3, 4, 5]
    poison = QueueClient.from_connection_string(
        conn, "devhost-work-poison", message_decode_policy=TextBase64DecodePolicy()
    )

    def poisoned_copies() -> list:
        try:
            return [m for m in poison.peek_messages(max_messages=32) if marker in m.content]
        except ResourceNotFoundError:  # the host creates the poison queue when it first moves a message there
            return []

    poisoned = _wait_for(poisoned_copies, timeout=10)
    assert json.loads(poisoned[0].content) == {"marker": marker, "fail": True}
    # the host deleted it from devhost-work when it poisoned it: no copy is left there for a sixth try
    assert _wait_for(lambda: work.get_queue_properties().approximate_message_count == 0, timeout=10)
    assert len([x for x in _records(record_dir, "work") if x["payload"].get("marker") == marker]) == 5


def test_timer_fires_on_demand_through_the_admin_api(host: RunningHost, record_dir: Path) -> None:
    before = len(_records(record_dir, "nightly"))
    response = host.fire("nightly")
    assert response.status_code == 200
    assert len(_records(record_dir, "nightly")) == before + 1


def test_timer_fires_on_its_schedule(host: RunningHost, record_dir: Path) -> None:
    before = len(_records(record_dir, "every_second"))
    _wait_for(lambda: len(_records(record_dir, "every_second")) >= before + 2, timeout=10)


def test_admin_invoke_of_unknown_function_is_404(host: RunningHost) -> None:
    response = httpx.post(
        f"{host.base_url}/admin/functions/nope", json={}, headers={"x-functions-key": host.master_key}
    )
    assert response.status_code == 404
