"""One orchestrator invocation through the SDK's real entry point, and the episode's history around it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.durable_functions.models.utils.df_serialization import df_dumps, df_loads

from devhost.durable.history import Event, EventType, event
from devhost.durable.store import Instance

OUT_OF_PROC_MARKER = "$OutOfProcData$:"


@dataclass
class Outcome:
    """What the orchestrator answered: its state JSON, or the error it raised (with the state it carried)."""

    state: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def actions(self) -> list[dict[str, Any]]:
        """The cumulative flat action list (upperSchemaVersion 1 wraps it in one outer list)."""
        groups = self.state.get("actions") or []
        return [action for group in groups for action in group]

    @property
    def is_done(self) -> bool:
        """The orchestrator returned or continued as new."""
        return bool(self.state.get("isDone"))


def context_input(input_text: str | None) -> Any:
    """The context's `input`: the ExecutionStarted input as a JSON value, as the extension passes it."""
    if input_text is None:
        return None
    try:
        value = json.loads(input_text)
    except ValueError:
        return input_text
    # The SDK decodes a string or an object; anything else reaches it as the JSON text.
    return value if isinstance(value, (str, dict)) else input_text


def context_json(instance: Instance, old: list[Event], new: list[Event]) -> str:
    """The orchestration trigger's context: history with replay marks, input, ids, V2 actions."""
    history = [dict(e, IsPlayed=True) for e in old] + [dict(e, IsPlayed=False) for e in new]
    return json.dumps(
        {
            "history": history,
            "input": context_input(instance.input),
            "instanceId": instance.instance_id,
            "isReplaying": bool(old),
            "parentInstanceId": instance.parent_instance_id,
            "upperSchemaVersion": 1,
        }
    )


def invoke(user_function: Any, context: str) -> Outcome:
    """Call the `orchestration_trigger` wrapper with the context JSON; an exception carries the state."""
    try:
        return Outcome(state=json.loads(user_function(context)))
    except Exception as exc:  # the SDK reports orchestrator failures by raising
        text = str(exc)
        if OUT_OF_PROC_MARKER in text:
            state = json.loads(text.split(OUT_OF_PROC_MARKER, 1)[1])
            return Outcome(state=state, error=state.get("error") or text.split(OUT_OF_PROC_MARKER, 1)[0].strip())
        return Outcome(error=f"{type(exc).__name__}: {exc}")


def activity_input(text: str | None) -> Any:
    """What an activity receives: the action's input decoded (the raw text when it is not JSON)."""
    if text is None:
        return None
    try:
        return df_loads(text)
    except ValueError:
        return text


def activity_result(value: Any) -> str:
    """An activity's return value as TaskCompleted's Result."""
    return str(df_dumps(value))


def completed(at: datetime, status: str, result: str | None) -> Event:
    """ExecutionCompleted with the final status and result JSON text."""
    return event(EventType.EXECUTION_COMPLETED, at, OrchestrationStatus=status, Result=result)


def failure_output(name: str, error: str) -> str:
    """A failed orchestration's output, as TaskOrchestrationShim words it."""
    return f"Orchestrator function '{name}' failed: {error}"
