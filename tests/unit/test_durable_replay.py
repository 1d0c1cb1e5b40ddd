"""The replay shim against the real SDK, in memory: task ids, retries, timers and events line up."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import pytest
from azure.durable_functions.orchestrator import Orchestrator

from devhost.durable import replay
from devhost.durable.history import Event, EventType, event, execution_started, task_failed
from devhost.durable.shim import ShimState, batch
from devhost.durable.store import Instance

START = datetime(2026, 1, 1, tzinfo=UTC)


class Simulation:
    """Episodes as the engine runs them, with activities called inline and a simulated clock."""

    def __init__(self, orchestrator: Callable[..., Any], activities: dict[str, Callable[[Any], Any]]) -> None:
        self.handle = Orchestrator.create(orchestrator)
        self.activities = activities
        self.calls: dict[str, int] = {}
        self.history: list[Event] = []
        self.inbox: list[tuple[datetime, Event]] = []
        self.shim = ShimState()
        self.now = START
        self.instance = Instance("sim", "e1", "sim", "", "Running", None, None, None, None, None, {}, START, START)

    def run(self, input_value: Any = None, *, reverse: bool = False, raise_first: list[Event] | None = None) -> Any:
        """Run to completion; activity results are delivered in reverse order when asked."""
        self.instance.input = json.dumps(json.dumps(input_value))
        self.inbox.append((self.now, execution_started(self.now, "sim", "", self.instance.input)))
        self.inbox += [(self.now, e) for e in raise_first or []]
        for _ in range(200):
            visible = [e for due, e in self.inbox if due <= self.now]
            if not visible:
                self.now = min(due for due, _ in self.inbox)
                continue
            taken = batch(visible, self.shim)
            self.inbox = [(due, e) for due, e in self.inbox if not any(e is t for t in taken)]
            outcome = self._episode(taken, reverse)
            if outcome.error or outcome.is_done:
                return outcome
        raise AssertionError("the orchestration never finished")

    def _episode(self, taken: list[Event], reverse: bool) -> replay.Outcome:
        new = [event(EventType.ORCHESTRATOR_STARTED, self.now), *taken]
        decisions = [d for message in taken for d in self.shim.on_event(message, self.now)]
        outcome = replay.invoke(self.handle, replay.context_json(self.instance, self.history, new))
        decisions += self.shim.on_actions(outcome.actions)
        results: list[tuple[datetime, Event]] = []
        for decision in decisions:
            if decision.kind == "activity":
                results.append((self.now, self._call(decision.name, decision.task_id, decision.input)))
            elif decision.kind == "timer" and decision.fire_at is not None:
                fired = event(EventType.TIMER_FIRED, decision.fire_at, TimerId=decision.task_id)
                results.append((decision.fire_at, fired))
            elif decision.kind == "cancel_timer":
                self.inbox = [(d, e) for d, e in self.inbox if e.get("TimerId") != decision.task_id]
        self.inbox += list(reversed(results)) if reverse else results
        self.history += [*new, event(EventType.ORCHESTRATOR_COMPLETED, self.now)]
        self.now += timedelta(milliseconds=10)
        return outcome

    def _call(self, name: str, task_id: int, text: str | None) -> Event:
        self.calls[name] = self.calls.get(name, 0) + 1
        try:
            value = self.activities[name](replay.activity_input(text))
        except Exception as exc:
            return task_failed(self.now, task_id, name, exc)
        return event(EventType.TASK_COMPLETED, self.now, TaskScheduledId=task_id, Result=replay.activity_result(value))


def flaky_until(attempts: int) -> Callable[[Any], Any]:
    """An activity failing until its n-th call for each input."""
    seen: dict[str, int] = {}

    def activity(value: Any) -> Any:
        seen[str(value)] = seen.get(str(value), 0) + 1
        if seen[str(value)] < attempts:
            raise RuntimeError(f"attempt {seen[str(value)]} of {value}")
        return value * 10

    return activity


RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)


def test_fan_out_of_retrying_activities_with_results_out_of_order() -> None:
    def orchestrator(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        values = yield context.task_all([context.call_activity_with_retry("flaky", RETRY, n) for n in range(4)])
        more = yield context.call_activity("plain", 5)
        return [*values, more]

    simulation = Simulation(orchestrator, {"flaky": flaky_until(3), "plain": lambda v: v + 1})
    outcome = simulation.run(reverse=True)
    assert outcome.error is None and outcome.state["output"] == [0, 10, 20, 30, 6]
    assert simulation.calls == {"flaky": 12, "plain": 1}
    # each retry waited for its timer: two 100 ms delays at least
    assert simulation.now - START >= timedelta(milliseconds=200)


def test_retries_exhausted_fail_with_the_activity_error() -> None:
    def orchestrator(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        yield context.call_activity_with_retry("flaky", RETRY, 1)

    simulation = Simulation(orchestrator, {"flaky": flaky_until(99)})
    outcome = simulation.run()
    assert simulation.calls == {"flaky": 3}
    assert outcome.error is not None
    assert "Activity function 'flaky' failed: RuntimeError: attempt 3 of 1" in outcome.error


# The SDK warns when an event arrives before its wait; it then keeps it for the wait, as intended.
@pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")
def test_event_raised_before_the_wait_and_a_cancelled_timer() -> None:
    def orchestrator(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        first = yield context.call_activity("plain", 1)
        timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
        approval = context.wait_for_external_event("Approval")
        winner = yield context.task_any([approval, timeout])
        if winner == approval:
            timeout.cancel()
        return [first, approval.result if winner == approval else "timeout", context.current_utc_datetime.year]

    early = event(EventType.EVENT_RAISED, START, Name="Approval", Input=json.dumps("yes"))
    simulation = Simulation(orchestrator, {"plain": lambda v: v + 1})
    outcome = simulation.run(raise_first=[early])
    assert outcome.state["output"] == [2, "yes", 2026]
    assert simulation.now < START + timedelta(minutes=1)  # the hour-long timer was cancelled, not waited for


def test_timers_fire_at_their_time_and_continue_as_new_is_decided() -> None:
    def orchestrator(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
        context.continue_as_new({"again": True})

    simulation = Simulation(orchestrator, {})
    outcome = simulation.run()
    assert outcome.is_done and simulation.now >= START + timedelta(seconds=30)
    decisions = ShimState().on_actions(outcome.actions)
    assert [d.kind for d in decisions][-1] == "continue_as_new"
    assert json.loads(decisions[-1].input or "null") == {"again": True}


def test_unsupported_actions_are_named() -> None:
    def orchestrator(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        yield context.call_http("GET", "https://example.com")

    simulation = Simulation(orchestrator, {})
    first = [event(EventType.ORCHESTRATOR_STARTED, START), execution_started(START, "sim", "", None)]
    outcome = replay.invoke(simulation.handle, replay.context_json(simulation.instance, [], first))
    assert [d.name for d in ShimState().on_actions(outcome.actions)] == ["actionType 8"]
