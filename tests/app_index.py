"""The function app's HTTP triggers, read once per test process.

The Functions SDK lets `app.get_functions()` run only once per app object (a second call fails on
"duplicate" names), so every test that needs the app's own index reads it through here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@cache
def functions() -> tuple:
    """function_app's functions, indexed once."""
    import function_app

    return tuple(function_app.app.get_functions())


@cache
def queue_triggers() -> frozenset[str]:
    """The names of function_app's queue-triggered functions."""
    return frozenset(f.get_function_name() for f in functions() if f.get_trigger().type == "queueTrigger")


@cache
def http_routes() -> frozenset[tuple[str, str]]:
    """(METHOD, route without a leading slash) for every HTTP trigger of function_app."""
    found = set()
    for function in functions():
        trigger = function.get_trigger()
        if trigger.type != "httpTrigger":
            continue
        route = (trigger.route or function.get_function_name()).lstrip("/")
        methods = [str(getattr(m, "value", m)).upper() for m in trigger.methods or []]
        found.update((method, route) for method in methods or ALL_METHODS)
    return frozenset(found)


@cache
def queue_trigger_names() -> frozenset[str]:
    """The queue every queue trigger of function_app reads."""
    return frozenset(
        str(function.get_trigger().queue_name)
        for function in functions()
        if function.get_trigger().type == "queueTrigger"
    )


def user_function(name: str) -> Any:
    """The Python function the host would invoke for function `name` (keyword arguments named after bindings)."""
    for function in functions():
        if function.get_function_name() == name:
            return function.get_user_function()
    raise KeyError(name)
