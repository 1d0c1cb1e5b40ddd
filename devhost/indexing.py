"""Load a Functions app module and sort its functions by trigger, as the worker's indexing does."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

TRIGGERS = ("httpTrigger", "queueTrigger", "timerTrigger", "orchestrationTrigger", "activityTrigger", "entityTrigger")


@dataclass
class IndexedFunction:
    """One function of the app with what the host needs to invoke it."""

    name: str
    trigger_type: str
    trigger: Any
    bindings: list[Any]
    user_function: Any

    @cached_property
    def is_async(self) -> bool:
        """Whether the user function is a coroutine function."""
        return inspect.iscoroutinefunction(self.user_function)

    @cached_property
    def parameters(self) -> frozenset[str]:
        """The names of the user function's parameters (read once: the host asks on every invocation)."""
        return frozenset(inspect.signature(self.user_function).parameters)

    def binding(self, kind: str) -> Any | None:
        """The first binding of a type (e.g. "durableClient")."""
        return next((b for b in self.bindings if b.type == kind), None)

    @cached_property
    def output_bindings(self) -> tuple[Any, ...]:
        """Output bindings other than the HTTP return value (read once: the host asks on every invocation)."""
        return tuple(b for b in self.bindings if _direction(b) == "out" and b.name != "$return")


def _direction(binding: Any) -> str:
    # The SDK stores BindingDirection's value (0 in, 1 out, 2 inout) as a plain int.
    direction = getattr(binding, "direction", None)
    names = {0: "in", 1: "out", 2: "inout"}
    if isinstance(direction, int):
        return names.get(direction, "")
    return str(getattr(direction, "name", direction) or "").lower()


@dataclass
class AppIndex:
    """The app's functions grouped by trigger type."""

    app: Any
    functions: list[IndexedFunction] = field(default_factory=list)

    def of(self, trigger_type: str) -> list[IndexedFunction]:
        """Functions with this trigger type."""
        return [f for f in self.functions if f.trigger_type == trigger_type]

    def get(self, name: str) -> IndexedFunction | None:
        """A function by name (case-insensitive, as the host's admin API)."""
        return next((f for f in self.functions if f.name.lower() == name.lower()), None)


def load_app(reference: str) -> AppIndex:
    """Import `module:attr` and index its functions; get_functions() is called exactly once."""
    module_name, _, attr = reference.partition(":")
    module = importlib.import_module(module_name)
    app = getattr(module, attr or "app")
    index = AppIndex(app=app)
    for function in app.get_functions():
        trigger = function.get_trigger()
        index.functions.append(
            IndexedFunction(
                name=function.get_function_name(),
                trigger_type=trigger.type,
                trigger=trigger,
                bindings=list(function.get_bindings()),
                user_function=function.get_user_function(),
            )
        )
    return index
