"""Durable Functions for the dev host: the SDK's replay protocol, state in PostgreSQL, the extension's HTTP API."""

from __future__ import annotations

from typing import Any


def create_engine(host: Any) -> Any:
    """The durable engine for a DevHost (started and stopped by the host)."""
    from devhost.durable.engine import DurableEngine

    return DurableEngine(host)
