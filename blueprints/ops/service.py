"""Health, readiness and admin operations."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import text

from blueprints.ops.schemas import DependencyCheck, Readiness
from shared import storage, tracing
from shared.db import get_engine


def _check(name: str, probe: Callable[[], object]) -> DependencyCheck:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # any failure means "not ready"; the type names what broke without internals
        return DependencyCheck(
            name=name, ok=False, duration_ms=_ms(started), error=f"{type(exc).__name__}: unreachable"
        )
    return DependencyCheck(name=name, ok=True, duration_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _database() -> None:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


def _storage() -> None:
    storage.queue_client("health-probe").get_queue_properties(timeout=3)


def readiness() -> Readiness:
    """Check that the database and storage answer."""
    checks = [_check("database", _database), _check("storage", _storage)]
    return Readiness(status="ready" if all(c.ok for c in checks) else "unavailable", checks=checks)


def record_queue_depths() -> dict[str, int]:
    """Report every queue's approximate depth as the tradeops.queue.depth gauge; returns what it saw."""
    depths = storage.queue_depths()
    for queue, depth in depths.items():
        tracing.queue_depth.set(depth, {"queue": queue})
    return depths


def sweep_outbox(*, older_than_seconds: int = 30) -> int:
    """Deliver queue messages whose after-commit send did not happen (crash, storage outage)."""
    return storage.deliver(older_than_seconds=older_than_seconds)
