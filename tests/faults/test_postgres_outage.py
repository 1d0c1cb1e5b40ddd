"""PostgreSQL stops for 10 s under load: 503 problem+json with Retry-After meanwhile, every endpoint answers
again on its first request after the server returns, and every write that answered 2xx is stored."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from devhost.services import Azurite
from tests.builders import Account, register, unique_phone
from tests.conftest import start_host
from tests.faults.conftest import StoppablePostgres, host_env

OUTAGE_SECONDS = 10
WRITERS = 4
CLIENT_TIMEOUT = 30  # far below the function timeout (10 min): an answer, not a hang


@dataclass
class Writers:
    """Threads creating customers until told to stop, keeping every answer."""

    client: httpx.Client
    owner: Account
    stop: threading.Event = field(default_factory=threading.Event)
    answers: list[httpx.Response | Exception] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self) -> None:
        """Create customers in a loop; an exception (a hang past the timeout) is kept as the answer."""
        while not self.stop.is_set():
            try:
                answer: httpx.Response | Exception = self.client.post(
                    "/api/v1/crm/customers", headers=self.owner.headers, json={"name": "Ada", "phone": unique_phone()}
                )
            except httpx.HTTPError as exc:
                answer = exc
            with self.lock:
                self.answers.append(answer)
            time.sleep(0.05)

    def stored_ids(self) -> list[str]:
        """Ids of the customers whose creation answered 2xx."""
        return [a.json()["id"] for a in self.answers if isinstance(a, httpx.Response) and a.status_code == 201]


@contextmanager
def writing(client: httpx.Client, owner: Account) -> Iterator[Writers]:
    """WRITERS threads writing for the duration of the block."""
    writers = Writers(client, owner)
    threads = [threading.Thread(target=writers.write, daemon=True) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    try:
        yield writers
    finally:
        writers.stop.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT + 5)


def _is_unavailable(response: httpx.Response) -> bool:
    return (
        response.status_code == 503
        and response.headers["content-type"] == "application/problem+json"
        and int(response.headers["Retry-After"]) > 0
        and response.json()["code"] == "database_unavailable"
    )


def test_postgres_stopping_under_load_is_503_then_recovers_and_loses_nothing(
    private_postgres: StoppablePostgres, private_azurite: Azurite
) -> None:
    host = start_host("function_app:app", env=host_env(private_postgres, private_azurite))
    try:
        client = host.client()  # its timeout (CLIENT_TIMEOUT) is the bound on any answer
        owner = register(client, tenant_name="Outage Auto")
        with writing(client, owner) as writers:
            time.sleep(1)
            # when the server stops under load
            private_postgres.stop()
            time.sleep(1)
            during = {
                "board": client.get("/api/v1/shop/board", headers=owner.headers),
                "customers": client.get("/api/v1/crm/customers", headers=owner.headers),
                "create": client.post("/api/v1/crm/customers", headers=owner.headers, json={"name": "Bo"}),
                "login": client.post("/api/v1/auth/login", json={"email": owner.email, "password": "x" * 12}),
            }
            ready_during = client.get("/api/ready")
            time.sleep(OUTAGE_SECONDS - 1)
            private_postgres.start()
            # then the first request to each endpoint after its return answers (the pool dropped dead connections)
            after = {
                "board": client.get("/api/v1/shop/board", headers=owner.headers),
                "customers": client.get("/api/v1/crm/customers", headers=owner.headers),
                "me": client.get("/api/v1/me", headers=owner.headers),
                "ready": client.get("/api/ready"),
            }
            time.sleep(1)
        # then: during the outage every endpoint said 503 problem+json with Retry-After, readiness named it
        assert {name: _is_unavailable(r) for name, r in during.items()} == dict.fromkeys(during, True), {
            n: (r.status_code, r.text[:200]) for n, r in during.items()
        }
        assert ready_during.status_code == 503
        checks = {c["name"]: c["ok"] for c in ready_during.json()["checks"]}
        assert checks == {"database": False, "storage": True}
        assert {n: r.status_code for n, r in after.items()} == dict.fromkeys(after, 200), host.log_tail()
        # and the writers saw only 201 or 503: never a 500, never a hang
        outcomes = {a.status_code if isinstance(a, httpx.Response) else type(a).__name__ for a in writers.answers}
        assert outcomes == {201, 503}, outcomes
        assert all(
            _is_unavailable(a) for a in writers.answers if isinstance(a, httpx.Response) and a.status_code == 503
        )
        # and every customer whose creation answered 201, before, during or after, is in the database
        acknowledged = writers.stored_ids()
        stored = private_postgres.owner_query("SELECT id::text FROM customers WHERE id::text = ANY(%s)", acknowledged)
        assert len(acknowledged) > WRITERS and {row[0] for row in stored} == set(acknowledged)
        # and no request was logged as an unhandled error (timers may log their failed runs)
        assert "unhandled error" not in host.log_tail(5000)
    finally:
        host.stop()


def test_the_dev_hosts_durable_store_answers_at_once_after_postgresql_returns(
    private_postgres: StoppablePostgres,
) -> None:
    """Found by `make load FAULT=postgres`: after the restart each pooled connection of the dev host's Durable
    store failed one operation (AdminShutdown), so starting a pricebook pull answered 503 start_failed well
    after the database was back; and a connection that could not be replaced during the outage left the pool."""
    import asyncio

    import psycopg

    from devhost.durable import store as durable_store

    async def scenario() -> None:
        url = private_postgres.database.owner_url.replace("postgresql+psycopg://", "postgresql://", 1)
        store = durable_store.Store(url, hub="fault", size=3)
        await store.open()
        try:
            for _ in range(3):
                async with store.transaction() as tx:
                    await tx.execute("SELECT 1")
            private_postgres.stop()
            for _ in range(3):  # operations during the outage fail...
                with contextlib.suppress(psycopg.OperationalError):
                    async with store.transaction() as tx:
                        await tx.execute("SELECT 1")
            assert store._pool.qsize() == 3  # ...and give their connection back all the same
            private_postgres.start()
            await asyncio.sleep(durable_store.IDLE_CHECK_SECONDS)  # the pool sits idle, as between operations
            for _ in range(6):  # every pooled connection, twice: each answers at once
                async with store.transaction() as tx:
                    await tx.execute("SELECT 1")
        finally:
            await store.close()

    asyncio.run(scenario())
