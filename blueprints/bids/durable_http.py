"""HTTP routes that talk to orchestrations: the same conventions as every route (shared.http: auth, problem+json,
request ids, the session scope), on a trigger that also has the durable client binding.

The route decorator cannot wrap an async durable starter, so this registers the route through a Router on a
capturing stand-in, then registers an async trigger with `durable_client_input` that runs the captured
synchronous trigger in a worker thread. Service code reaches the client through `client()`: each call is run
on the trigger's event loop. No `from __future__ import annotations`: the worker reads the real annotations.
"""

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import tracing
from shared.http import Handler, Router

_current: contextvars.ContextVar["DurableClient | None"] = contextvars.ContextVar("bids_durable_client", default=None)
CALL_TIMEOUT_SECONDS = 30


class DurableClient:
    """The orchestration client for synchronous code running inside a durable HTTP trigger."""

    def __init__(self, client: df.DurableOrchestrationClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=CALL_TIMEOUT_SECONDS)

    def start(self, orchestrator: str, instance_id: str, payload: Any) -> str:
        """Start an orchestration under a known instance id."""
        payload = tracing.with_current_trace(payload)  # taken here: the call runs on the event loop's thread
        return str(self._run(self._client.start_new(orchestrator, instance_id, payload)))

    def custom_status(self, instance_id: str) -> tuple[str | None, Any]:
        """(runtime status, custom status) of an instance; (None, None) when there is none."""
        status = self._run(self._client.get_status(instance_id))
        runtime = getattr(status, "runtime_status", None)
        if runtime is None:
            return None, None
        return getattr(runtime, "value", str(runtime)), status.custom_status

    def terminate(self, instance_id: str, reason: str) -> None:
        """Stop an instance (Durable terminate)."""
        self._run(self._client.terminate(instance_id, reason))


def client() -> DurableClient | None:
    """The durable client of the running trigger, if it has one."""
    return _current.get()


class _Capture:
    """Takes what Router registers instead of a Blueprint: the name, the route arguments and the trigger."""

    def __init__(self) -> None:
        self.name = ""
        self.route_kwargs: dict[str, Any] = {}
        self.trigger: Callable[[func.HttpRequest], func.HttpResponse] | None = None

    def function_name(self, name: str) -> Callable[[Any], Any]:
        self.name = name
        return lambda f: f

    def route(self, **kwargs: Any) -> Callable[[Any], Any]:
        self.route_kwargs = kwargs

        def keep(trigger: Any) -> Any:
            self.trigger = trigger
            return trigger

        return keep


def durable_route(api: Router, route: str, *, methods: list[str], **kwargs: Any) -> Callable[[Handler], Handler]:
    """Like `api.route`, for a handler that starts, reads or stops orchestrations through `client()`."""

    def decorate(handler: Handler) -> Handler:
        capture = _Capture()
        Router(capture, module=api.module, feature=api.feature).route(route, methods=methods, **kwargs)(handler)
        sync_trigger = capture.trigger
        assert sync_trigger is not None

        async def trigger(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
            token = _current.set(DurableClient(client, asyncio.get_running_loop()))
            try:
                return await asyncio.to_thread(sync_trigger, req)
            finally:
                _current.reset(token)

        trigger.__name__ = capture.name
        trigger.__qualname__ = capture.name
        blueprint = api.blueprint
        blueprint.function_name(name=capture.name)(
            blueprint.route(**capture.route_kwargs)(blueprint.durable_client_input(client_name="client")(trigger))
        )
        return handler

    return decorate
