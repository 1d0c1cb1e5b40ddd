"""Which dev host runs an orchestration: its engine while it lives, another one once it is gone, never two at once.

Each engine holds a PostgreSQL advisory lock on its owner id; another engine adopts an engine's unfinished
instances only when that lock is free. A server restart ends every session, locks included: an engine takes its
lock again (hold_lock) before anyone may adopt what it still runs.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import psycopg

from devhost.durable.store import Instance, Store
from tests.conftest import Database


def _running(instance_id: str) -> Instance:
    now = datetime.now(UTC)
    return Instance(
        instance_id=instance_id,
        execution_id=uuid.uuid4().hex,
        name="steps",
        version=None,
        runtime_status="Running",
        input=None,
        output=None,
        custom_status=None,
        parent_instance_id=None,
        parent_task_id=None,
        shim={},
        created_at=now,
        updated_at=now,
    )


def test_an_engine_adopts_only_what_an_engine_that_is_gone_left(database: Database) -> None:
    url = database.owner_url.replace("postgresql+psycopg://", "postgresql://")
    hub = f"adoption-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        first, second = Store(url, hub=hub, size=1), Store(url, hub=hub, size=1)
        await first.open()
        await second.open()
        try:
            # given an orchestration the first engine runs
            instance_id = uuid.uuid4().hex
            async with first.transaction() as tx:
                await tx.put_instance(_running(instance_id))
            # then the second leaves it alone while the first lives
            assert await second.adopt_orphans() == set()
            # when the server ends the session holding the first engine's lock, as a restart does
            assert first._lock_conn is not None
            pid = first._lock_conn.info.backend_pid
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            await asyncio.sleep(0.2)
            # then the first takes its lock again, and the second still leaves the orchestration alone
            assert await first.hold_lock() is True
            assert await first.hold_lock() is False  # held: nothing to do
            assert await second.adopt_orphans() == set()
            # and once the first engine is gone (its session ends a moment after it closes), the second takes it over
            await first.close()
            adopted: set[str] = set()
            for _ in range(50):
                adopted = await second.adopt_orphans()
                if adopted:
                    break
                await asyncio.sleep(0.1)
            assert adopted == {instance_id}
            async with second.transaction() as tx:
                assert [i for i, _ in await tx.pending_instances()] == []  # nothing queued: only ownership moved
        finally:
            await first.close()
            await second.close()

    asyncio.run(scenario())
