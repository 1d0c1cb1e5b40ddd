"""What the extension's out-of-proc shim does with an orchestrator's actions: number them and decide the work.

The SDK numbers every task it schedules, and the retry wrapper of `call_*_with_retry` takes extra
numbers for its timers and re-scheduled attempts while it processes a failure or a timer. The ids
written into history must be exactly those numbers, so this shim allocates them in the same order:
first for the (single) retry-related event at the head of an episode's batch, then for the leaves
of the actions the orchestrator yielded during that episode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devhost.durable.history import Event, EventType, parse_time

CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY = 0, 1, 2, 3
CONTINUE_AS_NEW, CREATE_TIMER, WAIT_EVENT, WHEN_ANY, WHEN_ALL = 4, 5, 6, 11, 12


@dataclass(frozen=True)
class Decision:
    """One thing the engine must do after an episode: schedule work, a timer, a child, or stop."""

    kind: str  # activity | timer | suborchestration | cancel_timer | continue_as_new | unsupported
    task_id: int = -1
    name: str = ""
    input: str | None = None
    fire_at: datetime | None = None
    instance_id: str | None = None
    version: str | None = None


@dataclass
class ShimState:
    """Per-execution numbering state, stored with the instance so a restart resumes it."""

    actions_seen: int = 0
    next_id: int = 0
    leaf_ids: list[int | None] = field(default_factory=list)
    slots: dict[str, dict[str, Any]] = field(default_factory=dict)
    retries: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled: list[int] = field(default_factory=list)

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> ShimState:
        """From the stored JSON (empty: a fresh execution)."""
        return cls(**data) if data else cls()

    def dump(self) -> dict[str, Any]:
        """To JSON for storage."""
        return {
            "actions_seen": self.actions_seen,
            "next_id": self.next_id,
            "leaf_ids": self.leaf_ids,
            "slots": self.slots,
            "retries": self.retries,
            "cancelled": self.cancelled,
        }

    def _allocate(self, kind: str, retry: str | None = None) -> int:
        task_id = self.next_id
        self.next_id += 1
        self.slots[str(task_id)] = {"kind": kind, "retry": retry}
        return task_id

    def is_allocating(self, message: Event) -> bool:
        """Whether the SDK takes new task ids while processing this event (retry bookkeeping)."""
        kind = message.get("EventType")
        if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED):
            slot = self.slots.get(str(message.get("TaskScheduledId")))
            return bool(slot and slot["retry"] is not None and slot["kind"] != "retry_timer")
        if kind == EventType.TIMER_FIRED:
            slot = self.slots.get(str(message.get("TimerId")))
            return bool(slot and slot["kind"] == "retry_timer")
        return False

    def on_event(self, message: Event, now: datetime) -> list[Decision]:
        """Mirror the SDK's retry wrapper for one new event: a timer after a failure, a new attempt after it."""
        if not self.is_allocating(message):
            return []
        if message["EventType"] == EventType.TIMER_FIRED:
            key = self.slots[str(message["TimerId"])]["retry"]
            retry = self.retries[key]
            if retry["attempts"] >= retry["max_attempts"]:
                return []  # the SDK now fails the task with the last error
            retry["attempts"] += 1
            task_id = self._allocate("retry_task", key)
            return [_schedule(retry["action"], task_id)]
        key = self.slots[str(message["TaskScheduledId"])]["retry"]
        retry = self.retries[key]
        # DTFx's RetryInterceptor waits after every failed attempt, the last one included.
        delay_ms = retry["first_ms"] * retry["backoff"] ** (retry["attempts"] - 1)
        if retry.get("max_ms"):
            delay_ms = min(delay_ms, retry["max_ms"])
        timer_id = self._allocate("retry_timer", key)
        return [Decision("timer", timer_id, fire_at=now + timedelta(milliseconds=delay_ms))]

    def on_actions(self, actions: list[dict[str, Any]]) -> list[Decision]:
        """Number the leaves of newly yielded actions and say what each needs; notice cancelled timers."""
        decisions: list[Decision] = []
        for action in actions[self.actions_seen :]:
            for leaf in _leaves(action):
                decisions.extend(self._on_leaf(leaf))
        self.actions_seen = len(actions)
        decisions.extend(self._cancellations(actions))
        return decisions

    def _on_leaf(self, leaf: dict[str, Any]) -> list[Decision]:
        kind = leaf.get("actionType")
        if kind == WAIT_EVENT:
            self.leaf_ids.append(None)
            return []
        if kind == CONTINUE_AS_NEW:
            self.leaf_ids.append(None)
            return [Decision("continue_as_new", input=leaf.get("input"))]
        if kind not in (CALL_ACTIVITY, CALL_ACTIVITY_RETRY, CALL_SUB, CALL_SUB_RETRY, CREATE_TIMER):
            self.leaf_ids.append(None)
            return [Decision("unsupported", name=f"actionType {kind}")]
        retry_key = None
        if kind in (CALL_ACTIVITY_RETRY, CALL_SUB_RETRY):
            retry_key = str(self.next_id)
            options = leaf.get("retryOptions") or {}
            self.retries[retry_key] = {
                "action": leaf,
                "attempts": 1,
                "max_attempts": int(options.get("maxNumberOfAttempts", 1)),
                "first_ms": float(options.get("firstRetryIntervalInMilliseconds", 1000)),
                "backoff": float(options.get("backoffCoefficient", 1.0)),
                "max_ms": options.get("maxRetryIntervalInMilliseconds"),
            }
        task_id = self._allocate("timer" if kind == CREATE_TIMER else "task", retry_key)
        self.leaf_ids.append(task_id)
        if kind == CREATE_TIMER:
            if leaf.get("isCanceled"):
                self.cancelled.append(task_id)
                return []
            return [Decision("timer", task_id, fire_at=parse_time(leaf["fireAt"]))]
        return [_schedule(leaf, task_id)]

    def _cancellations(self, actions: list[dict[str, Any]]) -> list[Decision]:
        found: list[Decision] = []
        leaves = [leaf for action in actions for leaf in _leaves(action)]
        for leaf, task_id in zip(leaves, self.leaf_ids, strict=False):
            cancelled = leaf.get("actionType") == CREATE_TIMER and leaf.get("isCanceled")
            if cancelled and task_id is not None and task_id not in self.cancelled:
                self.cancelled.append(task_id)
                found.append(Decision("cancel_timer", task_id))
        return found


def _leaves(action: dict[str, Any]) -> list[dict[str, Any]]:
    if action.get("actionType") in (WHEN_ALL, WHEN_ANY):
        return [leaf for child in action.get("compoundActions") or [] for leaf in _leaves(child)]
    return [action]


def _schedule(leaf: dict[str, Any], task_id: int) -> Decision:
    if leaf["actionType"] in (CALL_SUB, CALL_SUB_RETRY):
        return Decision(
            "suborchestration",
            task_id,
            name=leaf["functionName"],
            input=leaf.get("input"),
            instance_id=leaf.get("instanceId"),
            version=leaf.get("version"),
        )
    return Decision("activity", task_id, name=leaf["functionName"], input=leaf.get("input"))


def batch(messages: list[Event], state: ShimState) -> list[Event]:
    """The messages one episode may take: at most one retry-related event, and only at the head.

    With it first, the ids the SDK takes for it come before the ids of whatever the orchestrator
    yields next, which is the order `on_event` then `on_actions` allocate them.
    """
    taken: list[Event] = []
    for index, message in enumerate(messages):
        if index > 0 and state.is_allocating(message):
            break
        taken.append(message)
    return taken
