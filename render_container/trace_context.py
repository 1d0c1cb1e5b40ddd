"""W3C trace context carried in queue messages (OpenTelemetry API only; no SDK, no exporter).

The function app and the render worker both import this file (the worker image holds only render_container/):
a message's JSON object carries a `traceparent` field, and whoever reads it opens its span as a child, so one
HTTP request's trace continues through every queue hop. Without a configured SDK the API is a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

TRACEPARENT = "traceparent"
tracer = trace.get_tracer("tradeops")


def current_traceparent() -> str | None:
    """The W3C traceparent of the active span, or None when nothing is being traced."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


@contextmanager
def span(
    name: str,
    *,
    traceparent: str | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A span as the child of traceparent when given (another hop's context), else of the current span."""
    parent = propagate.extract({TRACEPARENT: traceparent}) if traceparent else None
    with tracer.start_as_current_span(name, context=parent, kind=kind, attributes=dict(attributes or {})) as current:
        yield current


def with_traceparent(text: str) -> str:
    """A JSON object message with the active trace's traceparent added (other text is left as it is)."""
    traceparent = current_traceparent()
    if traceparent is None or not text.startswith("{"):
        return text
    try:
        body = json.loads(text)
    except ValueError:
        return text
    if not isinstance(body, dict) or TRACEPARENT in body:
        return text
    body[TRACEPARENT] = traceparent
    return json.dumps(body, separators=(",", ":"))


def split_traceparent(body: Any) -> tuple[Any, str | None]:
    """A decoded message without its traceparent field, and that field (None when absent or not a string)."""
    if not isinstance(body, dict) or TRACEPARENT not in body:
        return body, None
    rest = dict(body)
    value = rest.pop(TRACEPARENT)
    return rest, value if isinstance(value, str) else None
