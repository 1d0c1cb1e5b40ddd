"""Modules imported on first use, so indexing (import function_app) does not pay for what only requests need.

A trigger module names the services it calls at the top, as usual, but through this module:

    from typing import TYPE_CHECKING

    from shared import lazy

    if TYPE_CHECKING:  # pyright checks every call against the real module
        from blueprints.shop import board, drawer
    else:  # loaded on first use: SQLAlchemy, the models and the pricing code stay out of indexing
        board = lazy.module("blueprints.shop.board")
        drawer = lazy.module("blueprints.shop.drawer")

The first attribute read (`board.get_board(...)`, in a handler) imports the module with importlib, whose
per-module import lock makes concurrent first requests wait for one import rather than see half a module
(importlib.util.LazyLoader does not promise that on Python 3.11). The proxy keeps no copy of the module's
attributes: every read is the module's own, so a test's monkeypatch of the real module is seen through it.

Only what the decorators need at import (schemas, queue message models, Router, the Durable orchestrators)
stays eager. tests/unit/test_cold_start.py fails when indexing loads SQLAlchemy, the models or the distro;
load_all() imports every module named here (tests check each name; the benchmark times it as the first
requests' cost).
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

_registry: dict[str, LazyModule] = {}
_lock = threading.Lock()


class LazyModule:
    """Stands for a module until an attribute is read, then forwards every read to the imported module."""

    __slots__ = ("_lazy_module", "_lazy_name")

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_lazy_name", name)
        object.__setattr__(self, "_lazy_module", None)

    def _lazy_load(self) -> ModuleType:
        loaded = object.__getattribute__(self, "_lazy_module")
        if loaded is None:
            loaded = importlib.import_module(object.__getattribute__(self, "_lazy_name"))
            object.__setattr__(self, "_lazy_module", loaded)
        return loaded

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._lazy_load(), attribute)

    def __setattr__(self, attribute: str, value: Any) -> None:
        setattr(self._lazy_load(), attribute, value)

    def __delattr__(self, attribute: str) -> None:
        delattr(self._lazy_load(), attribute)

    def __dir__(self) -> list[str]:
        return dir(self._lazy_load())

    def __repr__(self) -> str:
        name = object.__getattribute__(self, "_lazy_name")
        state = "loaded" if object.__getattribute__(self, "_lazy_module") is not None else "not loaded yet"
        return f"<lazy module {name!r} ({state})>"


def module(name: str) -> Any:
    """A stand-in for the module `name` (absolute dotted name) that imports it on first attribute read.

    Typed Any on purpose: the `if TYPE_CHECKING:` import beside it gives pyright the real module.
    """
    with _lock:
        proxy = _registry.get(name)
        if proxy is None:
            proxy = _registry[name] = LazyModule(name)
    return proxy


def is_loaded(proxy: Any) -> bool:
    """Whether a lazy.module() stand-in has imported its module yet."""
    return object.__getattribute__(proxy, "_lazy_module") is not None


def names() -> list[str]:
    """Every module a lazy.module() call has named so far, sorted."""
    with _lock:
        return sorted(_registry)


def load_all() -> list[ModuleType]:
    """Import every module named so far (what a process's first requests load between them)."""
    with _lock:
        proxies = list(_registry.values())
    return [proxy._lazy_load() for proxy in proxies]


class LazyFunction:
    """Stands for a module's function until it is called; each call reads it from the module anew."""

    __slots__ = ("_lazy_attribute", "_lazy_owner")

    def __init__(self, owner: LazyModule, attribute: str) -> None:
        self._lazy_owner = owner
        self._lazy_attribute = attribute

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._lazy_owner, self._lazy_attribute)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<lazy function {self._lazy_attribute!r} of {self._lazy_owner!r}>"


def function(name: str, attribute: str) -> Any:
    """A stand-in for `from name import attribute` (a function) that imports the module on the first call.

    Typed Any on purpose: the `if TYPE_CHECKING:` import beside it gives pyright the real function.
    """
    return LazyFunction(module(name), attribute)


_at_startup: list[str] = []


def import_at_startup(*names: str) -> None:
    """Name modules that start-up (shared.runtime) imports before any handler runs: those whose import registers
    something another module relies on (a hook: estimates' crm visibility rule), and the mapped classes.

    The mapped classes: SQLAlchemy configures its whole registry on the first use of any mapper, so every model
    must be defined by then. With services loaded on first use, a request could otherwise configure the registry
    while another thread is still running a models module, and a relationship naming a class defined further
    down fails for good ("One or more mappers failed to initialize"); found by tests/faults/test_postgres_outage.
    """
    with _lock:
        _at_startup.extend(name for name in names if name not in _at_startup)


def startup_imports() -> list[str]:
    """The modules import_at_startup() named, in order."""
    with _lock:
        return list(_at_startup)
