"""Fault tests: dependencies of our own that a test may stop, kill or slow down without touching the
PostgreSQL and Azurite the rest of the suite shares.

Each fault gets a private embedded PostgreSQL (its own data folder, stopped and started with pg_ctl as
an operator or a failover would) or a private Azurite, a migrated database on it, and a dev host
serving function_app against them. Everything listens on loopback or a unix socket.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from devhost.services import Azurite, EmbeddedPostgres, MigratedDatabase, create_database, free_azurite


@dataclass
class StoppablePostgres:
    """A private embedded PostgreSQL that a test can stop and start again, keeping its data and socket."""

    server: EmbeddedPostgres
    database: MigratedDatabase

    def stop(self) -> None:
        """Stop the server the way a failover or an operator does (fast shutdown: sessions are cut)."""
        self.server.halt()

    def start(self) -> None:
        """Start it again on the same data folder and unix socket."""
        self.server.resume()

    def owner_query(self, sql: str, *params: object) -> list[tuple]:
        """Rows of one query as the owner (row-level security does not apply)."""
        url = self.database.owner_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(url) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def private_postgres() -> Iterator[StoppablePostgres]:
    """A PostgreSQL of this test alone with a migrated Tradeops database."""
    # pgserver runs PostgreSQL as an unprivileged user under root, so the folder must be enterable by it
    folder = Path(tempfile.mkdtemp(prefix="fault-pg-"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder / "data", database="postgres").start()
    stoppable = StoppablePostgres(server, create_database(server.url("postgres"), f"fault_{uuid.uuid4().hex[:8]}"))
    try:
        yield stoppable
    finally:
        # pgserver only stops a server whose process it started; after a restart that is ours to do
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            stoppable.stop()
        server._server = None
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def private_azurite() -> Iterator[Azurite]:
    """An Azurite of this test alone (in memory), which the test may stop and start on the same ports."""
    azurite = free_azurite().start()
    try:
        yield azurite
    finally:
        azurite.stop()


def host_env(postgres: StoppablePostgres, azurite: Azurite | None = None) -> dict[str, str]:
    """Settings pointing a dev host at the private services."""
    env = {"DATABASE_URL": postgres.database.app_url, "DATABASE_MIGRATION_URL": postgres.database.owner_url}
    if azurite is not None:
        env["AzureWebJobsStorage"] = azurite.connection_string
    return env
