"""Traces and metrics of the function app (OpenTelemetry API; the Azure Monitor distro exports them in Azure).

The trace context that travels in queue messages is render_container/trace_context.py, shared with the
render worker (which records render durations itself); this module adds the app's custom metrics.
"""

from __future__ import annotations

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
    "current_traceparent",
    "provider_errors",
    "queue_depth",
    "span",
    "split_traceparent",
    "with_traceparent",
]

meter = metrics.get_meter("tradeops")
provider_errors = meter.create_counter(
    "tradeops.provider.errors", description="Calls to an outside provider that failed, by provider and code"
)
queue_depth = meter.create_gauge("tradeops.queue.depth", description="Approximate messages waiting in a queue")
