"""Known-bad orchestrators (never served): the determinism guard must flag each one, and pass `well_behaved`."""

from __future__ import annotations

import datetime as dt
import os
import random
import time
import uuid
from datetime import datetime

import azure.durable_functions as df
import httpx
from sqlalchemy import text

app = df.DFApp()


def _helper_reading_the_clock() -> float:
    return time.monotonic()


@app.orchestration_trigger(context_name="context")
def reads_the_clock(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """datetime.now / utcnow / today and time.time."""
    stamp = datetime.now()
    yield context.call_activity("a", [stamp.isoformat(), dt.datetime.utcnow().isoformat(), time.time()])


@app.orchestration_trigger(context_name="context")
def clock_through_a_helper(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """The clock read hides in a same-module helper."""
    yield context.call_activity("a", _helper_reading_the_clock())


@app.orchestration_trigger(context_name="context")
def makes_random_ids(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """uuid4 and random."""
    yield context.call_activity("a", [str(uuid.uuid4()), random.randint(1, 6)])


@app.orchestration_trigger(context_name="context")
def does_io(context: df.DurableOrchestrationContext, session=None):  # type: ignore[no-untyped-def]
    """A file, an HTTP call, SQL and the environment."""
    with open("/etc/hostname") as handle:
        name = handle.read()
    httpx.get("https://example.com")
    session.execute(text("SELECT 1"))
    yield context.call_activity("a", [name, os.environ.get("HOME")])


@app.orchestration_trigger(context_name="context")
def well_behaved(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Replay-safe: the orchestration clock and new_uuid."""
    deadline = context.current_utc_datetime + dt.timedelta(seconds=5)
    yield context.create_timer(deadline)
    return context.new_uuid()
