"""Durable state in PostgreSQL (schema `devhost`): instances, history, inbox messages and activity work items.

The engine creates its own tables with plain SQL: the dev host serves any app, so its state is not
part of the app's Alembic migrations. Every state change of one episode is one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from devhost.durable.history import Event

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS devhost;
CREATE TABLE IF NOT EXISTS devhost.durable_instances (
    hub text NOT NULL, instance_id text NOT NULL, execution_id text NOT NULL,
    name text NOT NULL, version text, runtime_status text NOT NULL,
    input text, output text, custom_status text,
    parent_instance_id text, parent_task_id integer,
    shim jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
    PRIMARY KEY (hub, instance_id));
ALTER TABLE devhost.durable_instances ADD COLUMN IF NOT EXISTS owner bigint;
CREATE INDEX IF NOT EXISTS durable_instances_created ON devhost.durable_instances (hub, created_at);
CREATE TABLE IF NOT EXISTS devhost.durable_history (
    hub text NOT NULL, instance_id text NOT NULL, execution_id text NOT NULL, seq integer NOT NULL,
    event jsonb NOT NULL, PRIMARY KEY (hub, instance_id, execution_id, seq));
CREATE TABLE IF NOT EXISTS devhost.durable_inbox (
    id bigserial PRIMARY KEY, hub text NOT NULL, instance_id text NOT NULL, execution_id text,
    event jsonb NOT NULL, visible_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS durable_inbox_instance ON devhost.durable_inbox (hub, instance_id, id);
CREATE TABLE IF NOT EXISTS devhost.durable_work (
    id bigserial PRIMARY KEY, hub text NOT NULL, instance_id text NOT NULL, execution_id text NOT NULL,
    task_id integer NOT NULL, name text NOT NULL, input text);
"""
TERMINAL = ("Completed", "Failed", "Terminated", "Canceled")


def database_url() -> str:
    """DEVHOST_DATABASE_URL, else DATABASE_MIGRATION_URL, else DATABASE_URL, as a libpq URL."""
    url = (
        os.environ.get("DEVHOST_DATABASE_URL")
        or os.environ.get("DATABASE_MIGRATION_URL")
        or os.environ.get("DATABASE_URL")
    )
    if not url:
        raise RuntimeError("durable functions need DEVHOST_DATABASE_URL, DATABASE_MIGRATION_URL or DATABASE_URL")
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@dataclass
class Instance:
    """One orchestration instance row."""

    instance_id: str
    execution_id: str
    name: str
    version: str | None
    runtime_status: str
    input: str | None
    output: str | None
    custom_status: str | None
    parent_instance_id: str | None
    parent_task_id: int | None
    shim: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def is_terminal(self) -> bool:
        """Completed, failed, terminated or canceled."""
        return self.runtime_status in TERMINAL


@dataclass
class WorkItem:
    """An activity to run for an instance's task id."""

    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None


IDLE_CHECK_SECONDS = 2.0  # a pooled connection idle this long is pinged before use


class Store:
    """A small connection pool plus the queries the engine and the HTTP API need."""

    def __init__(self, url: str, hub: str, size: int = 6) -> None:
        self.url = url
        self.hub = hub
        self.size = size
        self._pool: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        self._all: list[psycopg.AsyncConnection[Any]] = []
        self._last_used: dict[int, float] = {}  # id(connection) -> when it was last given back
        # This engine's id; it holds an advisory lock on it for as long as it lives, so another
        # engine can tell a dead owner's orchestrations (take them over) from a live one's (leave them).
        self.owner = secrets.randbits(62)
        self._lock_conn: psycopg.AsyncConnection[Any] | None = None

    async def open(self) -> None:
        """Connect and create the schema (serialised: several hosts may start at once)."""
        for _ in range(self.size):
            conn = await self._connect()
            self._all.append(conn)
            self._pool.put_nowait(conn)
        async with self.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock(7150023)")
            for statement in filter(str.strip, SCHEMA.split(";")):
                await tx.execute(statement)
        self._lock_conn = await self._connect()
        await self._lock_conn.execute("SELECT pg_advisory_lock(%s)", (self.owner,))

    async def hold_lock(self) -> bool:
        """Take this engine's lock again if the session holding it ended (a server restart); whether it had to."""
        if self._lock_conn is not None and not self._lock_conn.closed:
            try:
                await self._lock_conn.execute("SELECT 1")  # a session the server ended fails here
                return False
            except psycopg.OperationalError:
                with contextlib.suppress(psycopg.Error):
                    await self._lock_conn.close()
        self._lock_conn = await self._connect()
        await self._lock_conn.execute("SELECT pg_advisory_lock(%s)", (self.owner,))
        return True

    async def adopt_orphans(self) -> set[str]:
        """Take over the unfinished instances of engines that are gone (their lock is free); their ids."""
        assert self._lock_conn is not None
        cur = await self._lock_conn.execute(
            "SELECT DISTINCT owner FROM devhost.durable_instances WHERE hub = %s AND owner IS DISTINCT FROM %s"
            " AND runtime_status NOT IN ('Completed', 'Failed', 'Terminated', 'Canceled')",
            (self.hub, self.owner),
        )
        adopted: set[str] = set()
        for row in await cur.fetchall():
            owner = row["owner"]
            if owner is not None:
                probe = await self._lock_conn.execute("SELECT pg_try_advisory_lock(%s) AS free", (owner,))
                free = await probe.fetchone()
                if not free or not free["free"]:
                    continue  # its engine is alive and still runs them
            claimed = await self._lock_conn.execute(
                "UPDATE devhost.durable_instances SET owner = %s WHERE hub = %s AND owner IS NOT DISTINCT FROM %s"
                " RETURNING instance_id",
                (self.owner, self.hub, owner),
            )
            adopted.update(row["instance_id"] for row in await claimed.fetchall())
            if owner is not None:
                await self._lock_conn.execute("SELECT pg_advisory_unlock(%s)", (owner,))
        return adopted

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(self.url, row_factory=dict_row, autocommit=True)
        # A commit must survive the dev host dying, not the database server crashing: skipping the WAL
        # flush wait makes each episode several milliseconds faster and keeps that guarantee.
        await conn.execute("SET synchronous_commit = off")
        return conn

    async def close(self) -> None:
        """Close every connection (which releases the owner lock)."""
        for conn in [*self._all, *([self._lock_conn] if self._lock_conn else [])]:
            await conn.close()
        self._all.clear()
        self._lock_conn = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One transaction on a pooled connection; commits on success, rolls back on error.

        A connection idle for IDLE_CHECK_SECONDS is pinged first and replaced when the server has gone since
        (a PostgreSQL restart ends every session: without this, each pooled connection failed one operation
        after the server came back, such as a starter's POST answering 500). A connection that cannot be
        replaced while the server is down goes back to the pool as it is, to be replaced on its next use:
        the pool never shrinks.
        """
        conn = await self._pool.get()
        try:
            conn = await self._usable(conn)
            async with conn.transaction():
                yield Tx(conn, self.hub, self.owner)
        finally:
            if conn.closed:
                with contextlib.suppress(psycopg.OperationalError):
                    conn = await self._replace(conn)
            self._last_used[id(conn)] = time.monotonic()
            self._pool.put_nowait(conn)

    async def _usable(self, conn: psycopg.AsyncConnection[Any]) -> psycopg.AsyncConnection[Any]:
        """conn, or a new connection when conn is closed or (idle a while) no longer answers."""
        if not conn.closed and time.monotonic() - self._last_used.get(id(conn), 0.0) < IDLE_CHECK_SECONDS:
            return conn
        if not conn.closed:
            try:
                await conn.execute("SELECT 1")
                return conn
            except psycopg.OperationalError:
                await conn.close()
        return await self._replace(conn)

    async def _replace(self, dead: psycopg.AsyncConnection[Any]) -> psycopg.AsyncConnection[Any]:
        """A new connection in place of a dead one (raises while the server is down)."""
        fresh = await self._connect()
        self._last_used.pop(id(dead), None)
        self._all = [c for c in self._all if c is not dead] + [fresh]
        return fresh


class Tx:
    """Queries inside one transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], hub: str, owner: int) -> None:
        self.conn = conn
        self.hub = hub
        self.owner = owner

    async def execute(self, sql: str, params: tuple[Any, ...] | None = None) -> None:
        """Run a statement."""
        await self.conn.execute(sql, params)

    async def instance(self, instance_id: str, *, lock: bool = False) -> Instance | None:
        """An instance by id (optionally locked for this transaction)."""
        sql = "SELECT * FROM devhost.durable_instances WHERE hub = %s AND instance_id = %s"
        cur = await self.conn.execute(sql + (" FOR UPDATE" if lock else ""), (self.hub, instance_id))
        row = await cur.fetchone()
        return _instance(row) if row else None

    async def episode_state(
        self, instance_id: str, now: datetime
    ) -> tuple[Instance | None, list[tuple[int, str | None, Event]], list[Event]]:
        """The locked instance, its visible messages and its current execution's history."""
        inst_cur = await self.conn.execute(
            "SELECT * FROM devhost.durable_instances WHERE hub = %s AND instance_id = %s FOR UPDATE",
            (self.hub, instance_id),
        )
        msg_cur = await self.conn.execute(
            "SELECT id, execution_id, event FROM devhost.durable_inbox WHERE hub = %s AND instance_id = %s"
            " AND visible_at <= %s ORDER BY id",
            (self.hub, instance_id, now),
        )
        hist_cur = await self.conn.execute(
            "SELECT h.event FROM devhost.durable_history h JOIN devhost.durable_instances i"
            " ON i.hub = h.hub AND i.instance_id = h.instance_id AND i.execution_id = h.execution_id"
            " WHERE h.hub = %s AND h.instance_id = %s ORDER BY h.seq",
            (self.hub, instance_id),
        )
        row = await inst_cur.fetchone()
        messages = [(r["id"], r["execution_id"], r["event"]) for r in await msg_cur.fetchall()]
        history = [r["event"] for r in await hist_cur.fetchall()]
        return (_instance(row) if row else None), messages, history

    async def list_instances(self, where: str, params: list[Any], limit: int, offset: int) -> list[Instance]:
        """Instances matching a WHERE fragment, oldest first."""
        sql = f"SELECT * FROM devhost.durable_instances WHERE hub = %s {where} ORDER BY created_at, instance_id"
        cur = await self.conn.execute(sql + " LIMIT %s OFFSET %s", (self.hub, *params, limit, offset))
        return [_instance(row) for row in await cur.fetchall()]

    async def put_instance(self, inst: Instance) -> None:
        """Insert or replace an instance row."""
        await self.conn.execute(
            """INSERT INTO devhost.durable_instances (hub, instance_id, execution_id, name, version,
                   runtime_status, input, output, custom_status, parent_instance_id, parent_task_id, shim,
                   created_at, updated_at, owner)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (hub, instance_id) DO UPDATE SET execution_id = EXCLUDED.execution_id,
                   name = EXCLUDED.name, version = EXCLUDED.version, runtime_status = EXCLUDED.runtime_status,
                   input = EXCLUDED.input, output = EXCLUDED.output, custom_status = EXCLUDED.custom_status,
                   parent_instance_id = EXCLUDED.parent_instance_id, parent_task_id = EXCLUDED.parent_task_id,
                   shim = EXCLUDED.shim, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
                   owner = EXCLUDED.owner""",
            (
                self.hub,
                inst.instance_id,
                inst.execution_id,
                inst.name,
                inst.version,
                inst.runtime_status,
                inst.input,
                inst.output,
                inst.custom_status,
                inst.parent_instance_id,
                inst.parent_task_id,
                Jsonb(inst.shim),
                inst.created_at,
                inst.updated_at,
                self.owner,
            ),
        )

    async def delete_instance(self, instance_id: str) -> int:
        """Delete an instance with its history, messages and work; how many instances went."""
        for table in ("durable_history", "durable_inbox", "durable_work"):
            await self.conn.execute(
                f"DELETE FROM devhost.{table} WHERE hub = %s AND instance_id = %s", (self.hub, instance_id)
            )
        cur = await self.conn.execute(
            "DELETE FROM devhost.durable_instances WHERE hub = %s AND instance_id = %s RETURNING 1",
            (self.hub, instance_id),
        )
        return len(await cur.fetchall())

    async def history(self, instance_id: str, execution_id: str) -> list[Event]:
        """An execution's history in order."""
        cur = await self.conn.execute(
            "SELECT event FROM devhost.durable_history WHERE hub = %s AND instance_id = %s AND execution_id = %s"
            " ORDER BY seq",
            (self.hub, instance_id, execution_id),
        )
        return [row["event"] for row in await cur.fetchall()]

    async def append_history(self, instance_id: str, execution_id: str, start: int, events: list[Event]) -> None:
        """Append events after position start."""
        async with self.conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO devhost.durable_history (hub, instance_id, execution_id, seq, event)"
                " VALUES (%s, %s, %s, %s, %s)",
                [(self.hub, instance_id, execution_id, start + i, Jsonb(e)) for i, e in enumerate(events)],
            )

    async def send(self, instance_id: str, execution_id: str | None, message: Event, visible_at: datetime) -> None:
        """Queue a message (a history event to come) for an instance, visible from a time."""
        await self.conn.execute(
            "INSERT INTO devhost.durable_inbox (hub, instance_id, execution_id, event, visible_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (self.hub, instance_id, execution_id, Jsonb(message), visible_at),
        )

    async def messages(self, instance_id: str, now: datetime) -> list[tuple[int, str | None, Event]]:
        """Visible messages of an instance, oldest first: (id, execution id, event)."""
        cur = await self.conn.execute(
            "SELECT id, execution_id, event FROM devhost.durable_inbox WHERE hub = %s AND instance_id = %s"
            " AND visible_at <= %s ORDER BY id",
            (self.hub, instance_id, now),
        )
        return [(row["id"], row["execution_id"], row["event"]) for row in await cur.fetchall()]

    async def delete_messages(self, ids: list[int]) -> None:
        """Remove consumed messages."""
        if ids:
            await self.conn.execute("DELETE FROM devhost.durable_inbox WHERE id = ANY(%s)", (ids,))

    async def delete_timer(self, instance_id: str, execution_id: str, timer_id: int) -> None:
        """Drop a pending TimerFired message (a cancelled timer)."""
        await self.conn.execute(
            "DELETE FROM devhost.durable_inbox WHERE hub = %s AND instance_id = %s AND execution_id = %s"
            " AND (event->>'EventType')::int = 11 AND (event->>'TimerId')::int = %s",
            (self.hub, instance_id, execution_id, timer_id),
        )

    async def clear_pending(self, instance_id: str, keep_events: bool = False) -> None:
        """Drop an instance's queued messages (except raised events when asked) and its work items."""
        extra = " AND (event->>'EventType')::int <> 15" if keep_events else ""
        await self.conn.execute(
            "DELETE FROM devhost.durable_inbox WHERE hub = %s AND instance_id = %s" + extra, (self.hub, instance_id)
        )
        await self.conn.execute(
            "DELETE FROM devhost.durable_work WHERE hub = %s AND instance_id = %s", (self.hub, instance_id)
        )

    async def add_work(self, item: WorkItem) -> None:
        """Record an activity to run."""
        await self.conn.execute(
            "INSERT INTO devhost.durable_work (hub, instance_id, execution_id, task_id, name, input)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (self.hub, item.instance_id, item.execution_id, item.task_id, item.name, item.input),
        )

    async def complete_work(self, item: WorkItem, message: Event, visible_at: datetime) -> None:
        """Remove a finished work item and queue its result, in one statement.

        Nothing is queued when the item was already gone (the instance was terminated or purged).
        """
        await self.conn.execute(
            "WITH done AS (DELETE FROM devhost.durable_work WHERE hub = %s AND instance_id = %s"
            " AND execution_id = %s AND task_id = %s RETURNING instance_id, execution_id)"
            " INSERT INTO devhost.durable_inbox (hub, instance_id, execution_id, event, visible_at)"
            " SELECT %s, instance_id, execution_id, %s, %s FROM done LIMIT 1",
            (self.hub, item.instance_id, item.execution_id, item.task_id, self.hub, Jsonb(message), visible_at),
        )

    async def all_work(self) -> list[WorkItem]:
        """Every pending activity of this hub (restart recovery)."""
        cur = await self.conn.execute(
            "SELECT w.instance_id, w.execution_id, w.task_id, w.name, w.input FROM devhost.durable_work w"
            " JOIN devhost.durable_instances i ON i.hub = w.hub AND i.instance_id = w.instance_id"
            " WHERE w.hub = %s AND i.owner = %s ORDER BY w.id",
            (self.hub, self.owner),
        )
        return [WorkItem(**row) for row in await cur.fetchall()]

    async def pending_instances(self) -> list[tuple[str, datetime]]:
        """Each instance with queued messages and every time one becomes visible (restart recovery)."""
        cur = await self.conn.execute(
            "SELECT DISTINCT m.instance_id, m.visible_at FROM devhost.durable_inbox m"
            " LEFT JOIN devhost.durable_instances i ON i.hub = m.hub AND i.instance_id = m.instance_id"
            " WHERE m.hub = %s AND (i.owner IS NULL OR i.owner = %s)",
            (self.hub, self.owner),
        )
        return [(row["instance_id"], row["visible_at"]) for row in await cur.fetchall()]


def _instance(row: dict[str, Any]) -> Instance:
    fields = {k: v for k, v in row.items() if k not in ("hub", "owner")}
    return Instance(**fields)


def dumps(value: Any) -> str:
    """Compact JSON text."""
    return json.dumps(value, separators=(",", ":"))


@dataclass
class Followups:
    """What to do once an episode's transaction has committed."""

    activities: list[WorkItem] = field(default_factory=list)
    timers: list[tuple[str, datetime]] = field(default_factory=list)
    wake: list[str] = field(default_factory=list)
