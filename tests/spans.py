"""Spans kept in memory for tests, on the process's one SDK tracer provider.

OpenTelemetry lets a process set its global tracer provider once; a later set is ignored with a warning. So
every test module that reads spans adds its own exporter to that one provider (setting it if nobody has)
instead of setting a provider of its own, and the modules can run in any order in one worker.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def memory_exporter() -> InMemorySpanExporter:
    """A new exporter that keeps every span the process finishes from now on."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider), "a tracer provider that is not the SDK's was set first"
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter
