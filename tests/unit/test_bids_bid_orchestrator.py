"""The bid generation orchestrator driven by hand, without a host: freeze -> render -> email -> record in that
order with each step's answer passed on, a stale revision stops at once, and a failing step lets the draft be
sent again and fails the instance; a replay of the same history schedules the same calls (deterministic)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from blueprints.bids import bid_orchestration as orchestration
from blueprints.bids import functions

JOB = {"tenant_id": "t", "bid_id": "b", "revision": 2, "ttl_days": 5, "user_id": "u"}


@dataclass
class Call:
    """A scheduled activity as the orchestrator sees it."""

    name: str
    payload: dict[str, Any]


@dataclass
class Context:
    """Just enough of DurableOrchestrationContext; activities answer through `activity`."""

    activity: Callable[[str, dict[str, Any]], Any]
    statuses: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def get_input(self) -> dict[str, Any]:
        return JOB

    def set_custom_status(self, status: dict[str, Any]) -> None:
        self.statuses.append(dict(status))

    def call_activity_with_retry(self, name: str, _retry: Any, payload: dict[str, Any]) -> Call:
        call = Call(name, payload)
        self.calls.append(call)
        return call


def run(context: Context) -> dict[str, Any]:
    """Drive the generator: each yielded activity completes at once with the activity's answer or error."""
    generator = functions.bids_generate_bid._function.get_user_function().orchestrator_function(context)
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = generator.throw(error) if error is not None else generator.send(value)
        except StopIteration as stop:
            return stop.value
        try:
            value, error = context.activity(step.name, step.payload), None
        except Exception as failure:
            value, error = None, failure


def activities(*, stale: bool = False, failing: str | None = None) -> Callable[[str, dict[str, Any]], Any]:
    answers = {
        orchestration.FREEZE: {"stale": True} if stale else {"revision_id": "r", "total_cents": 1234},
        orchestration.RENDER: {"pdf_sha256": "abc"},
        orchestration.EMAIL: {"message_id": "m", "status": "queued"},
        orchestration.RECORD: {"status": "sent"},
        orchestration.FAIL: {"status": "draft"},
    }

    def activity(name: str, payload: dict[str, Any]) -> Any:
        if name == failing:
            raise RuntimeError(f"{name} broke")
        return answers[name]

    return activity


def test_the_steps_run_in_order_each_given_what_the_one_before_recorded() -> None:
    context = Context(activities())
    result = run(context)
    assert [c.name for c in context.calls] == [
        orchestration.FREEZE,
        orchestration.RENDER,
        orchestration.EMAIL,
        orchestration.RECORD,
    ]
    freeze, render, email, record = (c.payload for c in context.calls)
    assert freeze == {"tenant_id": "t", "bid_id": "b", "revision": 2, "user_id": "u"}
    assert render == record == {"tenant_id": "t", "revision_id": "r"}
    assert email == {"tenant_id": "t", "revision_id": "r", "ttl_days": 5}
    assert result["stage"] == "sent" and result["message_id"] == "m" and result["pdf_sha256"] == "abc"
    assert [s["stage"] for s in context.statuses] == ["pricing", "rendering", "emailing", "recording", "sent"]


def test_a_stale_revision_stops_before_rendering() -> None:
    context = Context(activities(stale=True))
    assert run(context)["stage"] == "stale"
    assert [c.name for c in context.calls] == [orchestration.FREEZE]


@pytest.mark.parametrize("failing", [orchestration.RENDER, orchestration.EMAIL, orchestration.RECORD])
def test_a_step_that_still_fails_frees_the_draft_and_fails_the_instance(failing: str) -> None:
    context = Context(activities(failing=failing))
    with pytest.raises(RuntimeError, match="broke"):
        run(context)
    assert context.calls[-1].name == orchestration.FAIL
    assert context.calls[-1].payload["revision"] == 2 and "broke" in context.calls[-1].payload["error"]
    assert context.statuses[-1]["stage"] == "failed"


def test_a_replay_schedules_the_same_calls() -> None:
    first, second = Context(activities()), Context(activities())
    run(first), run(second)
    assert [(c.name, c.payload) for c in first.calls] == [(c.name, c.payload) for c in second.calls]
