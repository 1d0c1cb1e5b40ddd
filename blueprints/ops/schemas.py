"""Response models of the ops module."""

from __future__ import annotations

from typing import Literal

from shared.schema import BaseModel  # built on first use (defer_build), not at import


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"] = "ok"


class DependencyCheck(BaseModel):
    """One dependency's readiness."""

    name: str
    ok: bool
    duration_ms: float
    error: str | None = None


class Readiness(BaseModel):
    """Whether every dependency answered."""

    status: Literal["ready", "unavailable"]
    checks: list[DependencyCheck]


class OutboxSweep(BaseModel):
    """How many stored queue messages an outbox sweep delivered."""

    delivered: int
