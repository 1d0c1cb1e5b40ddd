"""The pool hands out only live connections, and pings only when the socket cannot tell.

A request on a connection given back moments ago costs no extra round trip; a connection whose server
backend was shut down while it sat in the pool (a restart, a failover, `pg_terminate_backend`) is replaced on
checkout, so the next request answers as usual; a connection idle longer than IDLE_PING_SECONDS is pinged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text

from shared.db import make_engine
from tests.conftest import Database


def _admin_dsn(database: Database) -> str:
    return database.owner_url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def engine(database: Database) -> Iterator[Callable[..., Engine]]:
    made: list[Engine] = []

    def make(**kwargs: object) -> Engine:
        options = {"pool_size": 1, "max_overflow": 0, **kwargs}
        engine = make_engine(database.app_url, **options)  # type: ignore[arg-type]
        pings: list[int] = []
        ping = engine.dialect.do_ping

        def counted(dbapi_connection: object) -> bool:
            pings.append(1)
            return ping(dbapi_connection)  # type: ignore[arg-type]

        engine.dialect.do_ping = counted  # type: ignore[method-assign]
        engine.pings = pings  # type: ignore[attr-defined]
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(database: Database, pid: int) -> None:
    with psycopg.connect(_admin_dsn(database), autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
    time.sleep(0.2)  # the backend writes its FATAL notice and closes the socket


def test_a_connection_used_moments_ago_is_handed_out_without_a_ping(engine: Callable[..., Engine]) -> None:
    # given a pool whose one connection was just given back
    pool = engine()
    first = _backend_pid(pool)
    # when requests follow one another
    pids = [_backend_pid(pool) for _ in range(5)]
    # then they reuse the connection, and none paid for a ping
    assert pids == [first] * 5
    assert pool.pings == []  # type: ignore[attr-defined]


def test_a_connection_whose_backend_was_shut_down_in_the_pool_is_replaced_on_checkout(
    database: Database, engine: Callable[..., Engine]
) -> None:
    # given a pooled connection whose server backend is shut down while it sits idle (as a restart does)
    pool = engine()
    dead = _backend_pid(pool)
    _terminate(database, dead)
    # when the next request checks a connection out, well within the idle window
    pid = _backend_pid(pool)
    # then it is served by a new backend without an error, and the dead one was found by a ping
    assert pid != dead
    assert pool.pings == [1]  # type: ignore[attr-defined]


def test_a_connection_idle_longer_than_the_window_is_pinged(engine: Callable[..., Engine]) -> None:
    # given a pool that pings connections idle 50 ms or more
    pool = engine(idle_ping_seconds=0.05)
    first = _backend_pid(pool)
    time.sleep(0.1)
    # when a request follows the idle spell
    second = _backend_pid(pool)
    # then the live connection was pinged once and reused
    assert second == first
    assert pool.pings == [1]  # type: ignore[attr-defined]


def test_after_a_restart_every_pooled_connection_is_replaced_on_checkout(
    database: Database, engine: Callable[..., Engine]
) -> None:
    # given two pooled connections whose backends are both shut down, as a server restart does
    pool = engine(pool_size=2)
    with pool.connect() as a, pool.connect() as b:
        pids = {
            a.execute(text("SELECT pg_backend_pid()")).scalar_one(),
            b.execute(text("SELECT pg_backend_pid()")).scalar_one(),
        }
    for pid in pids:
        _terminate(database, pid)
    # when two requests then run at once
    with pool.connect() as a, pool.connect() as b:
        after = {
            a.execute(text("SELECT pg_backend_pid()")).scalar_one(),
            b.execute(text("SELECT pg_backend_pid()")).scalar_one(),
        }
    # then both are served by new backends, without an error
    assert after.isdisjoint(pids) and len(after) == 2
