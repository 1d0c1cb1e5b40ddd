"""History events as the Durable extension writes them, and their public (status API) form."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

Event = dict[str, Any]


class EventType(IntEnum):
    """DurableTask.Core's HistoryEventType numbers (the SDK reads them as ints)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


def utcnow() -> datetime:
    """The engine's clock (UTC, aware)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A history timestamp: ISO 8601 with microseconds and Z, as the SDK formats its own."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_seconds(moment: datetime) -> str:
    """A status API time: .NET's ToString("s") + "Z"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time (Z or offset; date-only or naive means UTC)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def event(kind: EventType, at: datetime, event_id: int = -1, **fields: Any) -> Event:
    """One history event in the PascalCase shape the SDK's HistoryEvent takes."""
    return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False, "Timestamp": iso(at), **fields}


def execution_started(at: datetime, name: str, version: str, input_text: str | None, **parent: Any) -> Event:
    """ExecutionStarted: Name, Version and the input exactly as the client sent it."""
    return event(EventType.EXECUTION_STARTED, at, Name=name, Version=version, Input=input_text, **parent)


def task_failed(at: datetime, task_id: int, name: str, error: BaseException | str) -> Event:
    """TaskFailed as TaskActivityShim reports an activity's exception: Reason one line, Details JSON."""
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    details = json.dumps({"$type": "System.Exception", "ClassName": "System.Exception", "Message": message})
    reason = f"Activity function '{name}' failed: {message}"
    return event(EventType.TASK_FAILED, at, TaskScheduledId=task_id, Reason=reason, Details=details)


# Fields the status API never shows (internal bookkeeping of the replay protocol).
_HIDDEN = ("EventId", "IsPlayed", "TaskScheduledId", "TimerId", "ParentInstance")
_OUTPUTS = ("Result", "Input", "Details")
_MERGED_INTO = {
    EventType.TASK_COMPLETED: EventType.TASK_SCHEDULED,
    EventType.TASK_FAILED: EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_COMPLETED: EventType.SUB_ORCHESTRATION_CREATED,
    EventType.SUB_ORCHESTRATION_FAILED: EventType.SUB_ORCHESTRATION_CREATED,
}


def public_history(history: list[Event], *, with_output: bool) -> list[dict[str, Any]]:
    """The status API's `historyEvents`: named types, scheduling merged into completions, no replay markers."""
    scheduled = {
        (EventType(e["EventType"]), e["EventId"]): e
        for e in history
        if e["EventType"] in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED)
    }
    shown: list[dict[str, Any]] = []
    for raw in history:
        kind = EventType(raw["EventType"])
        if kind in (
            EventType.ORCHESTRATOR_STARTED,
            EventType.ORCHESTRATOR_COMPLETED,
            EventType.TASK_SCHEDULED,
            EventType.SUB_ORCHESTRATION_CREATED,
        ):
            continue
        item = {"EventType": _pascal(kind.name)}
        item.update({k: v for k, v in raw.items() if k not in _HIDDEN and k != "EventType"})
        if kind in _MERGED_INTO:
            origin = scheduled.get((_MERGED_INTO[kind], raw.get("TaskScheduledId")), {})
            item["FunctionName"] = origin.get("Name")
            item["ScheduledTime"] = origin.get("Timestamp")
        if kind == EventType.EXECUTION_STARTED:
            item["FunctionName"] = item.pop("Name", None)
        for key in ("Result", "Input"):
            if key in item and isinstance(item[key], str):
                item[key] = _json_or_text(item[key])
        if not with_output:
            for key in _OUTPUTS:
                item.pop(key, None)
        shown.append(item)
    return shown


def _pascal(name: str) -> str:
    special = {
        "SUB_ORCHESTRATION_COMPLETED": "SubOrchestrationInstanceCompleted",
        "SUB_ORCHESTRATION_FAILED": "SubOrchestrationInstanceFailed",
    }
    return special.get(name) or "".join(part.capitalize() for part in name.split("_"))


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
