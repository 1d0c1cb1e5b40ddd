"""Calling a user function with keyword arguments named after its bindings, as the Python worker does."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.functions as func

from devhost.indexing import IndexedFunction


class OutValue(func.Out):  # type: ignore[misc]
    """An output binding's value holder (`func.Out[T]`)."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        """Store the value the function produced."""
        self._value = val

    def get(self) -> Any:
        """The value the function produced, or None."""
        return self._value


class _Context:
    """The `context` parameter: invocation id, function name and directory."""

    def __init__(self, function_name: str) -> None:
        self.invocation_id = str(uuid.uuid4())
        self.function_name = function_name
        self.function_directory = ""
        self.trace_context = None
        self.retry_context = None
        self.thread_local_storage = None


class Invoker:
    """Runs sync functions on a thread pool and async ones on the loop, with the worker's argument rules."""

    def __init__(self, max_workers: int = 16) -> None:
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="fn")

    async def call(self, function: IndexedFunction, arguments: dict[str, Any]) -> tuple[Any, dict[str, OutValue]]:
        """Invoke function with arguments plus output bindings and context; return (result, outputs)."""
        outputs = {b.name: OutValue() for b in function.output_bindings}
        kwargs = dict(arguments, **outputs)
        parameters = function.parameters
        if "context" in parameters and "context" not in kwargs:
            kwargs["context"] = _Context(function.name)
        kwargs = {k: v for k, v in kwargs.items() if k in parameters}
        if function.is_async:
            result = await function.user_function(**kwargs)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self.pool, lambda: function.user_function(**kwargs))
        return result, outputs

    def shutdown(self) -> None:
        """Stop the thread pool."""
        self.pool.shutdown(wait=False, cancel_futures=True)
