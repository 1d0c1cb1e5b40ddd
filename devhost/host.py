"""The dev host: serves a Functions app's HTTP triggers, polls its queues, fires its timers."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost.hostjson import HostConfig
from devhost.indexing import AppIndex, IndexedFunction, load_app
from devhost.invoke import Invoker, OutValue
from devhost.queues import QueueListener, send_base64
from devhost.routing import Route, RouteTable
from devhost.timers import TimerScheduler

log = logging.getLogger("devhost")
MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions host's own request limit


@dataclass
class Keys:
    """The host's keys: a function key for AuthLevel.FUNCTION, the master key for admin."""

    function_key: str
    master_key: str

    @classmethod
    def from_environment(cls) -> Keys:
        """Keys from DEVHOST_FUNCTION_KEY / DEVHOST_MASTER_KEY, random ones when unset."""
        return cls(
            function_key=os.environ.get("DEVHOST_FUNCTION_KEY") or secrets.token_urlsafe(24),
            master_key=os.environ.get("DEVHOST_MASTER_KEY") or secrets.token_urlsafe(24),
        )

    def allows(self, level: str, request: web.Request) -> bool:
        """Whether the request carries a key good enough for an auth level."""
        if level == "anonymous":
            return True
        given = request.headers.get("x-functions-key") or request.query.get("code")
        if not given:
            return False
        # Compare bytes: compare_digest refuses non-ASCII str, and a caller may send anything.
        offered = given.encode()
        if secrets.compare_digest(offered, self.master_key.encode()):
            return True
        return level == "function" and secrets.compare_digest(offered, self.function_key.encode())


class OutputBindings:
    """Delivers what functions put in their output bindings."""

    async def deliver(self, function: IndexedFunction, outputs: dict[str, OutValue]) -> None:
        """Send each output binding's value (queue bindings: one message per item)."""
        for binding in function.output_bindings:
            value = outputs.get(binding.name)
            if value is None or value.get() is None:
                continue
            if binding.type != "queue":
                raise NotImplementedError(f"output binding type {binding.type!r} is not supported by the dev host")
            items = value.get() if isinstance(value.get(), list) else [value.get()]
            for item in items:
                text = item if isinstance(item, (str, bytes)) else json.dumps(item)
                await send_base64(binding.queue_name, text, getattr(binding, "connection", None))


class DevHost:
    """One Functions app served locally."""

    def __init__(
        self,
        app_reference: str,
        *,
        port: int = 7071,
        host_json: Path | None = None,
        keys: Keys | None = None,
        listen: str = "127.0.0.1",
    ) -> None:
        self.app_reference = app_reference
        self.port = port
        self.listen = listen
        self.keys = keys or Keys.from_environment()
        self.config = HostConfig.load(host_json or Path.cwd() / "host.json")
        self.invoker = Invoker()
        self.outputs = OutputBindings()
        self.index: AppIndex | None = None
        self.routes = RouteTable([])
        self.durable: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._listeners: list[QueueListener] = []
        self.timers: dict[str, TimerScheduler] = {}
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """Where the host answers."""
        return f"http://{self.listen}:{self.port}"

    async def start(self) -> None:
        """Index the app, then serve HTTP, poll queues, schedule timers and start durable support."""
        self.index = load_app(self.app_reference)
        self.routes = RouteTable(
            Route(
                template=f.trigger.route or f.name,
                target=f,
                methods=frozenset(str(getattr(m, "value", m)).upper() for m in f.trigger.methods)
                if f.trigger.methods
                else None,
            )
            for f in self.index.of("httpTrigger")
        )
        if self.index.of("orchestrationTrigger") or any(f.binding("durableClient") for f in self.index.functions):
            from devhost.durable import create_engine

            self.durable = create_engine(self)
            await self.durable.start()
            self.invoker = self.durable.wrap_invoker(self.invoker)  # queue/timer starters get their client too
        for function in self.index.of("queueTrigger"):
            listener = QueueListener(function, self.config, self.invoker, self.outputs)
            self._listeners.append(listener)
            self._tasks.append(asyncio.create_task(listener.run(), name=f"queue:{function.name}"))
        for function in self.index.of("timerTrigger"):
            scheduler = TimerScheduler(function, self.invoker)
            self.timers[function.name] = scheduler
            self._tasks.append(asyncio.create_task(scheduler.run(), name=f"timer:{function.name}"))
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        # [\s\S]: a path may carry an encoded newline (%0A), which "." would not match.
        app.router.add_route("*", r"/{tail:[\s\S]*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.listen, self.port).start()
        log.info("dev host serving %s on %s/%s", self.app_reference, self.base_url, self.config.route_prefix)

    async def stop(self) -> None:
        """Stop serving, polling and scheduling; let in-flight work finish briefly."""
        for listener in self._listeners:
            listener.stop()
        for timer in self.timers.values():
            timer.stop()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
        if self.durable is not None:
            await self.durable.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        self.invoker.shutdown()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        prefix = "/" + self.config.route_prefix if self.config.route_prefix else ""
        try:
            if path.startswith("/runtime/webhooks/durabletask/") and self.durable is not None:
                return await self.durable.handle_http(request)
            if path.startswith("/admin/"):
                return await self._admin(request)
            if path == prefix or path.startswith(prefix + "/"):
                return await self._http_trigger(request, path[len(prefix) :])
        except Exception:
            log.exception("host error on %s %s", request.method, path)
            return web.Response(status=500)
        return web.Response(status=404)

    async def _http_trigger(self, request: web.Request, sub_path: str) -> web.StreamResponse:
        resolved = self.routes.resolve(request.method, sub_path)
        if resolved is None:
            return web.Response(status=404)
        route, params = resolved
        function: IndexedFunction = route.target
        level = str(getattr(function.trigger.auth_level, "value", function.trigger.auth_level) or "function").lower()
        if not self.keys.allows(level, request):
            return web.Response(status=401)
        body = await request.read()
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers={k.lower(): v for k, v in request.headers.items()},
            params={k: request.query.getone(k) for k in request.query},
            route_params=params,
            body=body,
        )
        arguments: dict[str, Any] = {function.trigger.name: http_request}
        client = function.binding("durableClient")
        if client is not None:
            arguments[client.name] = self.durable.client_binding_json()
        result, outputs = await self.invoker.call(function, arguments)
        await self.outputs.deliver(function, outputs)
        return to_aiohttp(result)

    async def _admin(self, request: web.Request) -> web.StreamResponse:
        if not self.keys.allows("admin", request):
            return web.Response(status=401)
        parts = request.path.strip("/").split("/")
        if parts == ["admin", "host", "status"] and request.method == "GET":
            return web.json_response({"state": "Running", "id": "devhost", "processUptime": 0})
        if len(parts) == 3 and parts[1] == "functions" and request.method == "POST":
            return await self._invoke_admin(request, parts[2])
        return web.Response(status=404)

    async def _invoke_admin(self, request: web.Request, name: str) -> web.StreamResponse:
        """POST /admin/functions/{name} {"input": "..."}: run a non-HTTP function now (202, as the host)."""
        function = self.index.get(name) if self.index else None
        if function is None or function.trigger_type == "httpTrigger":
            return web.Response(status=404)
        payload = await request.json() if request.can_read_body else {}
        coroutine = self._run_non_http(function, (payload or {}).get("input"))
        if request.query.get("wait", "").lower() == "true":  # a dev host extension for tests
            try:
                await coroutine
            except Exception as exc:
                return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=500)
            return web.json_response({"status": "completed"}, status=200)
        task = asyncio.create_task(coroutine)
        self._tasks.append(task)
        return web.Response(status=202)

    async def _run_non_http(self, function: IndexedFunction, value: Any) -> None:
        if function.trigger_type == "timerTrigger":
            await self.timers[function.name].fire()
            return
        if function.trigger_type == "queueTrigger":
            from azure.functions.queue import QueueMessage

            body = value.encode() if isinstance(value, str) else json.dumps(value).encode()
            message = QueueMessage(id="admin", body=body, dequeue_count=1)
            _, outputs = await self.invoker.call(function, {function.trigger.name: message})
            await self.outputs.deliver(function, outputs)
            return
        raise ValueError(f"{function.trigger_type} functions cannot be run through the admin API")


def to_aiohttp(result: Any) -> web.StreamResponse:
    """Turn what an HTTP function returned into the host's HTTP response."""
    if result is None:
        return web.Response(status=204)
    if isinstance(result, str):
        return web.Response(status=200, text=result)
    if not isinstance(result, func.HttpResponse):
        return web.json_response(result)
    headers = {k: v for k, v in result.headers.items()}
    if not any(k.lower() == "content-type" for k in headers) and result.mimetype:
        charset = f"; charset={result.charset}" if result.charset and result.mimetype.startswith("text/") else ""
        headers["Content-Type"] = result.mimetype + charset
    return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
