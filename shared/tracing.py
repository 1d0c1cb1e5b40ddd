"""Traces and metrics of the function app (OpenTelemetry API; the Azure Monitor distro exports them in Azure).

The trace context that travels in queue messages is render_container/trace_context.py, shared with the
render worker (which records render durations itself); this module adds the app's custom metrics, and the
trace context of Durable orchestrations: the starter puts the request's traceparent in the orchestration's input
(`with_current_trace`), the orchestrator passes it on in every activity's input (`carry`), and each activity
registered with `shared.triggers.activity` opens its span as a child of it.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics

from render_container.trace_context import (
    TRACEPARENT,
    current_traceparent,
    span,
    split_traceparent,
    with_traceparent,
)

__all__ = [
    "TRACEPARENT",
    "carry",
    "current_traceparent",
    "provider_errors",
    "queue_depth",
    "span",
    "split_traceparent",
    "with_current_trace",
    "with_traceparent",
]


def carry(job: Any) -> dict[str, str]:
    """The traceparent an orchestration's input carries, to pass on in each activity's input (pure: replay-safe)."""
    value = job.get(TRACEPARENT) if isinstance(job, dict) else None
    return {TRACEPARENT: value} if isinstance(value, str) else {}


def with_current_trace(payload: Any) -> Any:
    """An orchestration's dict input with the active span's traceparent, so its activities continue the trace."""
    traceparent = current_traceparent()
    if traceparent is None or not isinstance(payload, dict) or TRACEPARENT in payload:
        return payload
    return {**payload, TRACEPARENT: traceparent}


meter = metrics.get_meter("tradeops")
provider_errors = meter.create_counter(
    "tradeops.provider.errors", description="Calls to an outside provider that failed, by provider and code"
)
queue_depth = meter.create_gauge("tradeops.queue.depth", description="Approximate messages waiting in a queue")
