"""The `durableClient` binding for every trigger, not only HTTP: timer- and queue-started orchestrations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ClientBindingInvoker:
    """Wraps the host's Invoker: a function with a durableClient binding always receives the binding JSON."""

    def __init__(self, inner: Any, binding_json: Callable[[], str]) -> None:
        self.inner = inner
        self.binding_json = binding_json

    async def call(self, function: Any, arguments: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Invoke as the inner invoker does, adding the client binding's value when it is missing."""
        client = function.binding("durableClient")
        if client is not None and client.name not in arguments:
            arguments = {**arguments, client.name: self.binding_json()}
        return await self.inner.call(function, arguments)

    def shutdown(self) -> None:
        """Stop the inner invoker's pool."""
        self.inner.shutdown()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
