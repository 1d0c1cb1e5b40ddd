"""Durable orchestrations continue the trace of the request that started them: the starter puts its traceparent in
the orchestration's input, the orchestrator passes it on in every activity's input, and an activity registered
with shared.triggers.activity opens its span as a child of it (OpenTelemetry's in-memory exporter)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import azure.durable_functions as df
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from blueprints.bids import bid_orchestration, functions, orchestration
from shared import tracing
from shared.triggers import activity
from tests.spans import memory_exporter


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = memory_exporter()
    yield exporter
    exporter.shutdown()


@pytest.fixture(autouse=True)
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter


@dataclass
class Context:
    """Just enough of DurableOrchestrationContext to drive a generator; records every activity input."""

    job: dict[str, Any]
    answers: dict[str, Any]
    inputs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def get_input(self) -> dict[str, Any]:
        return self.job

    def set_custom_status(self, _status: Any) -> None:
        pass

    def call_activity_with_retry(self, name: str, _retry: Any, payload: dict[str, Any]) -> str:
        self.inputs.append((name, payload))
        return name


def _drive(generator: Generator[Any, Any, Any], answers: dict[str, Any]) -> None:
    try:
        name = next(generator)
        while True:
            name = generator.send(answers[name])
    except StopIteration:
        pass


def test_a_started_bid_generation_passes_the_requests_trace_to_every_activity(spans: InMemorySpanExporter) -> None:
    # given a request span starting the orchestration
    with tracing.span("POST /api/v1/bids/{bid_id}/send") as request:
        job = tracing.with_current_trace({"tenant_id": "t", "bid_id": "b", "revision": 2})
    trace_id = request.get_span_context().trace_id
    assert job[tracing.TRACEPARENT].split("-")[1] == f"{trace_id:032x}"
    # when the orchestrator runs
    answers = {
        bid_orchestration.FREEZE: {"revision_id": "r", "total_cents": 100},
        bid_orchestration.RENDER: {"pdf_sha256": "0" * 64},
        bid_orchestration.EMAIL: {"message_id": "m", "status": "queued"},
        bid_orchestration.RECORD: {"status": "sent"},
    }
    context = Context(job, answers)
    _drive(bid_orchestration.generate_bid(context), answers)  # type: ignore[arg-type]
    # then every activity's input carries the request's traceparent
    assert [name for name, _ in context.inputs] == list(answers)
    assert {payload[tracing.TRACEPARENT] for _, payload in context.inputs} == {job[tracing.TRACEPARENT]}


def test_the_analysis_passes_it_to_its_start_page_and_finish_activities() -> None:
    with tracing.span("POST /api/v1/bids/documents/{document_id}/commit"):
        job = tracing.with_current_trace({"tenant_id": "t", "document_id": "d", "pages_in_flight": 2})
    context = Context(job, {})
    generator = orchestration.analyze_document(context)  # type: ignore[arg-type]
    next(generator)  # the start activity is scheduled
    assert context.inputs[0] == (orchestration.START, {"tenant_id": "t", "document_id": "d", **tracing.carry(job)})


def test_an_activity_opens_its_span_as_a_child_of_the_trace_its_input_carries(spans: InMemorySpanExporter) -> None:
    blueprint = df.Blueprint()
    seen: list[int] = []

    @activity(blueprint, name="test_activity")
    def test_activity(job: dict[str, Any]) -> str:
        seen.append(trace.get_current_span().get_span_context().trace_id)
        return f"done {job['n']}"

    with tracing.span("POST /api/v1/anything") as request:
        job = tracing.with_current_trace({"n": 1})
    # the activity runs later, in another invocation: no span is current when it starts
    assert trace.get_current_span().get_span_context().is_valid is False
    (function,) = [f for f in blueprint._function_builders]
    user_function = function._function._func
    assert user_function(job) == "done 1"
    trace_id = request.get_span_context().trace_id
    assert seen == [trace_id]
    [child] = [s for s in spans.get_finished_spans() if s.name == "activity test_activity"]
    assert child.context.trace_id == trace_id and child.parent is not None
    assert child.parent.span_id == request.get_span_context().span_id


def test_an_input_without_a_traceparent_still_runs_in_a_span_of_its_own(spans: InMemorySpanExporter) -> None:
    blueprint = df.Blueprint()

    @activity(blueprint)
    def plain_activity(job: dict[str, Any]) -> int:
        return job["n"] * 2

    (function,) = list(blueprint._function_builders)
    assert function._function._func({"n": 21}) == 42
    assert [s.name for s in spans.get_finished_spans()] == ["activity plain_activity"]


def test_the_apps_activities_are_registered_through_the_tracing_helper() -> None:
    activities = [
        f
        for f in functions.bp._function_builders
        if any(b.type == "activityTrigger" for b in f._function.get_bindings())
    ]
    assert len(activities) >= 11
    for builder in activities:
        user_function = builder._function._func
        assert hasattr(user_function, "__wrapped__"), (
            f"{user_function.__name__}: register it with shared.triggers.activity"
        )
