"""The analysis orchestrator driven by hand, without a host: pages in a bounded window, a failed page recorded
while the rest finish, progress in the custom status, and a failure that stops it marks the document failed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from azure.durable_functions.models.Task import TaskState

from blueprints.bids import functions, orchestration

JOB = {"tenant_id": "t", "document_id": "d", "pages_in_flight": 3}


@dataclass
class Call:
    """A scheduled activity as the orchestrator sees it."""

    name: str
    payload: dict[str, Any]
    result: Any = None
    state: TaskState = TaskState.RUNNING


@dataclass
class AnyOf:
    """A task_any over the running calls."""

    tasks: list[Call]


@dataclass
class Context:
    """Just enough of DurableOrchestrationContext; activities answer through `activity`."""

    activity: Callable[[str, dict[str, Any]], Any]
    statuses: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    most_in_flight: int = 0

    def get_input(self) -> dict[str, Any]:
        return JOB

    def set_custom_status(self, status: dict[str, Any]) -> None:
        self.statuses.append({**status, "failed_pages": list(status["failed_pages"])})

    def call_activity_with_retry(self, name: str, _retry: Any, payload: dict[str, Any]) -> Call:
        call = Call(name, payload)
        self.calls.append(call)
        return call

    def task_any(self, tasks: list[Call]) -> AnyOf:
        self.most_in_flight = max(self.most_in_flight, len(tasks))
        return AnyOf(list(tasks))


def run(context: Context) -> dict[str, Any]:
    """Drive the generator: an activity completes when yielded; task_any completes its newest task first."""
    generator = functions.bids_analyze_document._function.get_user_function().orchestrator_function(context)
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = generator.throw(error) if error is not None else generator.send(value)
        except StopIteration as stop:
            return stop.value
        done = step.tasks[-1] if isinstance(step, AnyOf) else step
        _complete(context, done)
        if isinstance(step, AnyOf):
            value, error = done, None  # task_any hands back the finished task, failed or not
        elif done.state == TaskState.FAILED:
            value, error = None, done.result
        else:
            value, error = done.result, None


def _complete(context: Context, call: Call) -> None:
    if call.state != TaskState.RUNNING:
        return
    try:
        call.result, call.state = context.activity(call.name, call.payload), TaskState.SUCCEEDED
    except Exception as error:
        call.result, call.state = error, TaskState.FAILED


def activities(
    *,
    pages: int,
    failing: frozenset[int] = frozenset(),
    refused: frozenset[int] = frozenset(),
    fail_finish: bool = False,
) -> Callable[..., Any]:
    def activity(name: str, payload: dict[str, Any]) -> Any:
        if name == orchestration.START:
            return {"page_count": pages, "blob_name": "b", "size_bytes": 1, "vision_all": False, "status": "analyzing"}
        if name == orchestration.ANALYZE_PAGE:
            if payload["page"] in failing:
                raise RuntimeError(f"page {payload['page']} is broken")
            if payload["page"] in refused:
                return {"page": payload["page"], "status": "failed", "hits": 0}
            return {"page": payload["page"], "status": "needs_vision" if payload["page"] == 2 else "done", "hits": 1}
        if name == orchestration.FINISH:
            if fail_finish:
                raise RuntimeError("database went away")
            return {"status": "analyzed", "fixtures": 9}
        return {"status": "ok"}

    return activity


def test_every_page_runs_with_at_most_the_window_in_flight_and_progress_counts_up() -> None:
    context = Context(activities(pages=7))
    result = run(context)
    assert result["stage"] == "analyzed" and result["pages_done"] == result["pages_total"] == 7
    analysed = sorted(c.payload["page"] for c in context.calls if c.name == orchestration.ANALYZE_PAGE)
    assert analysed == list(range(1, 8))
    assert context.most_in_flight == 3
    done = [s["pages_done"] for s in context.statuses if s["stage"] == "pages"]
    assert done == sorted(done) and done[-1] == 7
    assert result["needs_vision_pages"] == [2]
    assert [s["stage"] for s in context.statuses][-2:] == ["merging", "analyzed"]


def test_a_page_that_still_fails_is_recorded_and_the_rest_finish() -> None:
    context = Context(activities(pages=5, failing=frozenset({4})))
    result = run(context)
    assert result["stage"] == "analyzed" and result["failed_pages"] == [4] and result["pages_done"] == 5
    recorded = [c.payload for c in context.calls if c.name == orchestration.RECORD_FAILED_PAGE]
    assert [p["page"] for p in recorded] == [4] and "page 4 is broken" in recorded[0]["error"]
    assert any(c.name == orchestration.FINISH for c in context.calls)


def test_a_failure_outside_the_pages_marks_the_document_failed_and_fails_the_orchestration() -> None:
    context = Context(activities(pages=2, fail_finish=True))
    with pytest.raises(RuntimeError, match="database went away"):
        run(context)
    assert [c.name for c in context.calls][-1] == orchestration.FAIL
    assert context.statuses[-1]["stage"] == "failed"


def test_a_document_no_longer_queued_ends_at_once() -> None:
    context = Context(lambda name, payload: {"page_count": 0, "status": "cancelled"})
    assert run(context)["stage"] == "cancelled"
    assert [c.name for c in context.calls] == [orchestration.START]


def test_a_page_the_provider_refused_for_good_is_reported_failed_without_a_second_record() -> None:
    context = Context(activities(pages=3, refused=frozenset({2})))
    result = run(context)
    assert result["failed_pages"] == [2] and result["stage"] == "analyzed"
    assert not [c for c in context.calls if c.name == orchestration.RECORD_FAILED_PAGE]
