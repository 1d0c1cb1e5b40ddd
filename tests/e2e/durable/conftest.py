"""Fixtures for the durable e2e tests: one dev host serving the durable test app, and HTTP helpers."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import RunningHost, start_host

APP = "tests.e2e.durable.durable_app:app"
TERMINAL = ("Completed", "Failed", "Terminated", "Canceled")
_state: dict[str, str] = {}


@pytest.fixture(scope="session")
def durable_database(worker_id: str) -> str:
    """A fresh, unmigrated database of this worker for the dev host's durable state.

    The dev host serves any app, so its durable tests need no Tradeops migrations: only PostgreSQL.
    """
    admin = os.environ["TEST_DATABASE_ADMIN_URL"]
    name = f"devhost_durable_{worker_id}"
    with psycopg.connect(admin.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    head, _, query = admin.partition("?")
    url = f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    _state["database_url"] = url
    from tests.e2e.durable.durable_app import SIDE_EFFECTS_DDL

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(SIDE_EFFECTS_DDL)
    return url


def start_durable_host(database_url: str, **env: str) -> RunningHost:
    """A dev host serving the durable test app with its state in the given database (and `env` on top)."""
    return start_host(APP, env={"DEVHOST_DATABASE_URL": database_url, **env})


@pytest.fixture(scope="module")
def durable_host(durable_database: str) -> Iterator[RunningHost]:
    """The durable test app served by a dev host."""
    host = start_durable_host(durable_database)
    yield host
    host.stop()


def start(host: RunningHost, orchestrator: str, payload: Any = None, **params: str) -> httpx.Response:
    """Start an orchestration through the app's HTTP starter (DurableOrchestrationClient.start_new)."""
    body = json.dumps(payload).encode() if payload is not None else b""
    return httpx.post(f"{host.api}/orchestrators/{orchestrator}", content=body, params=params, timeout=30)


def client_call(host: RunningHost, action: str, instance_id: str, payload: Any = None, **params: str) -> Any:
    """Call the app's SDK-client function (raise, terminate, suspend, resume, status, purge, list)."""
    body = json.dumps(payload).encode()
    response = httpx.post(f"{host.api}/client/{action}/{instance_id}", content=body, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(status_url: str, *, timeout: float = 20, until: tuple[str, ...] = TERMINAL) -> dict[str, Any]:
    """Poll a statusQueryGetUri until the runtime status is one of `until`."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(status_url, timeout=10)
        assert response.status_code in (200, 202), response.text
        status = response.json()
        if status["runtimeStatus"] in until:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"still {status['runtimeStatus']} after {timeout} s: {status}")
        time.sleep(0.05)


def side_effects(kind: str, prefix: str) -> dict[str, int]:
    """How many times each side effect of a kind (keys starting with prefix) happened."""
    url = _state["database_url"].replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass('devhost_test.side_effects')").fetchone()
        if not exists or exists[0] is None:
            return {}
        rows = conn.execute(
            "SELECT key, count(*) FROM devhost_test.side_effects WHERE kind = %s AND key LIKE %s GROUP BY key",
            (kind, prefix + "%"),
        ).fetchall()
    return {key: int(count) for key, count in rows}
