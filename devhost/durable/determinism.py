"""A static guard for orchestrator determinism: no clock, no random ids, no I/O in orchestrator code.

Orchestrators are replayed from history many times; anything that differs between replays (the
time, a random id, what a database or a file says) breaks the replay or repeats a side effect.
`check_function` reads an orchestrator's source (and the same-module helpers it calls) and reports
every reference to a forbidden API, resolved through the module's imports.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "clock": (
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.sleep",
        "time.localtime",
        "time.gmtime",
        "shared.clock",
    ),
    "random": ("uuid.uuid1", "uuid.uuid4", "random", "secrets", "os.urandom"),
    "io": (
        "builtins.open",
        "io.open",
        "requests",
        "httpx",
        "urllib",
        "aiohttp",
        "socket",
        "sqlalchemy",
        "psycopg",
        "psycopg2",
        "azure.storage",
        "os.environ",
        "os.getenv",
        "subprocess",
        "shared.db",
        "shared.storage",
    ),
}
# Method names that are I/O whatever the object (session.execute, connection.commit, ...).
IO_METHODS = frozenset({"execute", "executemany", "commit", "scalars", "read_text", "write_text"})


@dataclass(frozen=True)
class Violation:
    """One forbidden reference in an orchestrator."""

    function: str
    line: int
    category: str
    name: str

    def __str__(self) -> str:
        return f"{self.function} line {self.line}: {self.category}: {self.name}"


def check_function(function: Callable[..., Any]) -> list[Violation]:
    """Violations in an orchestrator (its FunctionBuilder, the SDK wrapper, or the generator itself)."""
    if hasattr(function, "_function"):  # what a decorator left at module level
        function = function._function.get_user_function()
    function = getattr(function, "orchestrator_function", function)
    function = inspect.unwrap(function)
    module = sys.modules.get(function.__module__)
    aliases = _module_aliases(module)
    return _check(function, aliases, module, seen=set())


def check_app(app: Any) -> dict[str, list[Violation]]:
    """Violations of every orchestrator registered in a FunctionApp/DFApp, by function name."""
    return {name: check_function(function) for name, function in orchestrators_of(app)}


def orchestrators_of(app: Any) -> list[tuple[str, Callable[..., Any]]]:
    """(name, user function) of each orchestrationTrigger function, without indexing the app.

    The worker may call `get_functions()` only once per app, so this reads the app's function
    builders instead of indexing it.
    """
    found = []
    for builder in getattr(app, "_function_builders", []):
        function = builder._function
        if function.get_trigger() is not None and function.get_trigger().type == "orchestrationTrigger":
            found.append((function.get_function_name(), function.get_user_function()))
    return found


def _check(function: Callable[..., Any], aliases: dict[str, str], module: Any, seen: set[int]) -> list[Violation]:
    if id(function) in seen:
        return []
    seen.add(id(function))
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return [Violation(function.__qualname__, 0, "unknown", "source not available")]
    tree = ast.parse(source)
    local = dict(aliases, **_imports(tree))
    violations = [
        Violation(function.__qualname__, node.lineno + function.__code__.co_firstlineno - 1, category, name)
        for node, category, name in _forbidden(tree, local)
    ]
    for helper in _helpers(tree, module):
        violations.extend(_check(helper, aliases, module, seen))
    return violations


def _forbidden(tree: ast.AST, aliases: dict[str, str]) -> Iterable[tuple[ast.AST, str, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in IO_METHODS:
            yield node, "io", f".{node.func.attr}()"
        if not isinstance(node, (ast.Attribute, ast.Name)) or isinstance(getattr(node, "ctx", None), ast.Store):
            continue
        dotted = _resolve(node, aliases)
        if dotted is None:
            continue
        for category, prefixes in FORBIDDEN.items():
            if any(dotted == p or dotted.startswith(p + ".") for p in prefixes):
                yield node, category, dotted
                break


def _resolve(node: ast.AST, aliases: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    if node.id in aliases:
        base = aliases[node.id]
    elif node.id == "open" and not parts:
        base = "builtins.open"
    else:
        return None
    return ".".join([base, *reversed(parts)])


def _imports(tree: ast.AST) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                aliases[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _module_aliases(module: Any) -> dict[str, str]:
    if module is None:
        return {}
    try:
        return _imports(ast.parse(inspect.getsource(module)))
    except (OSError, TypeError, SyntaxError):
        return {}


def _helpers(tree: ast.AST, module: Any) -> list[Callable[..., Any]]:
    """Plain functions of the same module that the orchestrator calls by name (activities excluded)."""
    if module is None:
        return []
    helpers = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not hasattr(builtins, node.func.id):
            target = getattr(module, node.func.id, None)
            if inspect.isfunction(target) and target.__module__ == module.__name__:
                helpers.append(target)
    return helpers
