"""The Durable extension's HTTP API (HttpApiHandler) and the client binding JSON that points at it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from devhost.durable.history import EventType, event, iso_seconds, parse_time, public_history, utcnow
from devhost.durable.store import TERMINAL, Followups, Instance, dumps

if TYPE_CHECKING:
    from devhost.durable.engine import DurableEngine

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RUNNING = ("Running", "Pending", "ContinuedAsNew", "Suspended")
DEFAULT_PAGE = 100


def system_key(master_key: str) -> str:
    """The `durabletask_extension` system key: derived from the master key, so it is stable across restarts."""
    digest = hmac.new(master_key.encode(), b"durabletask_extension", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    return default if value is None else value.strip().lower() == "true"


class DurableHttpApi:
    """Routes of /runtime/webhooks/durabletask/ (and the same routes on the local RPC endpoint)."""

    def __init__(self, engine: DurableEngine) -> None:
        self.engine = engine
        self.key = system_key(engine.host.keys.master_key)

    # ---- binding and auth ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The public webhook base URL (no trailing slash)."""
        return f"{self.engine.host.base_url}{WEBHOOK_PATH}"

    def client_binding_json(self) -> str:
        """What BindingHelper gives an out-of-proc `durableClient` binding."""
        query = f"code={self.key}"
        creation = f"{self.base_url}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": self.engine.hub_name,
                "connectionName": None,
                "creationUrls": {
                    "createNewInstancePostUri": f"{creation}?{query}",
                    "createAndWaitOnNewInstancePostUri": f"{creation}?timeout={{timeoutInSeconds}}"
                    f"&pollingInterval={{intervalInSeconds}}&{query}",
                },
                "managementUrls": self.management_urls("INSTANCEID"),
                "baseUrl": self.base_url,
                "requiredQueryStringParameters": query,
                "rpcBaseUrl": self.engine.rpc_base_url,
            }
        )

    def management_urls(self, instance_id: str) -> dict[str, str]:
        """HttpManagementPayload for an instance id (or the INSTANCEID placeholder)."""
        prefix = f"{self.base_url}/instances/{quote(instance_id, safe='')}"
        suffix = f"taskHub={quote(self.engine.hub_name)}&connection=Storage&code={self.key}"
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{prefix}?{suffix}",
            "sendEventPostUri": f"{prefix}/raiseEvent/{{eventName}}?{suffix}",
            "terminatePostUri": f"{prefix}/terminate?reason={{text}}&{suffix}",
            "rewindPostUri": f"{prefix}/rewind?reason={{text}}&{suffix}",
            "purgeHistoryDeleteUri": f"{prefix}?{suffix}",
            "restartPostUri": f"{prefix}/restart?{suffix}",
            "suspendPostUri": f"{prefix}/suspend?reason={{text}}&{suffix}",
            "resumePostUri": f"{prefix}/resume?reason={{text}}&{suffix}",
        }

    def authorised(self, request: web.Request) -> bool:
        """The system key (or the master key, which Azure also accepts) as `code` or `x-functions-key`."""
        given = request.headers.get("x-functions-key") or request.query.get("code") or ""
        return secrets.compare_digest(given, self.key) or self.engine.host.keys.allows("admin", request)

    # ---- routing -----------------------------------------------------------------------------

    async def handle(self, request: web.Request, base: str) -> web.StreamResponse:
        """Dispatch one request by the extension's route templates."""
        parts = [p for p in request.path[len(base) :].split("/") if p]
        method = request.method
        if parts[:1] == ["orchestrators"] and len(parts) in (2, 3):
            if method != "POST":
                return web.Response(status=404)
            return await self.start(request, parts[1], parts[2] if len(parts) == 3 else None)
        if parts[:1] != ["instances"]:
            return web.Response(status=404)
        if len(parts) == 1:
            return await (self.list(request) if method == "GET" else self.purge_many(request))
        instance_id = parts[1]
        if len(parts) == 2:
            if method == "GET":
                return await self.status(request, instance_id)
            return await self.purge(instance_id) if method == "DELETE" else web.Response(status=404)
        if method != "POST":
            return web.Response(status=404)
        if len(parts) == 4 and parts[2] == "raiseEvent":
            return await self.raise_event(request, instance_id, parts[3])
        operation = parts[2].lower()
        if operation in ("terminate", "suspend", "resume"):
            return await self.control(request, instance_id, operation)
        if operation == "restart":
            return await self.restart(request, instance_id)
        if operation == "rewind":
            return await self.rewind(instance_id)
        return web.Response(status=404)

    # ---- handlers ----------------------------------------------------------------------------

    async def start(self, request: web.Request, name: str, instance_id: str | None) -> web.StreamResponse:
        """POST orchestrators/{name}[/{id}]: 202 with the check-status payload."""
        function = self.engine.host.index.get(name)
        if function is None or function.trigger_type != "orchestrationTrigger":
            active = ", ".join(f"'{f.name}'" for f in self.engine.host.index.of("orchestrationTrigger"))
            message = (
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                f"Additional info: The following are the active orchestrator functions: {active}."
            )
            return web.json_response(
                {"Message": "One or more of the arguments submitted is incorrect", "ExceptionMessage": message},
                status=400,
            )
        body = await request.text()
        if body:
            try:
                json.loads(body)
            except ValueError:
                return web.json_response({"Message": "Invalid JSON content"}, status=400)
        instance_id = instance_id or uuid.uuid4().hex
        async with self.engine.store.transaction() as tx:
            existing = await tx.instance(instance_id, lock=True)
            if existing is not None and not existing.is_terminal:
                message = f"An Orchestration instance with the status {existing.runtime_status} already exists."
                return web.json_response({"Message": message}, status=409)
            version = request.query.get("version") or ""
            await self.engine.create_instance(tx, function.name, instance_id, body or None, version, utcnow())
        self.engine.wake(instance_id)
        timeout = request.query.get("timeout")
        if timeout and request.query.get("pollingInterval"):
            return await self.wait(request, instance_id, float(timeout), float(request.query["pollingInterval"]))
        return self.check_status_response(instance_id)

    def check_status_response(self, instance_id: str) -> web.Response:
        """202 with the management URLs, Location and Retry-After, as CreateCheckStatusResponse."""
        urls = self.management_urls(instance_id)
        payload = {k: v for k, v in urls.items() if k != "rewindPostUri"}
        headers = {"Location": urls["statusQueryGetUri"], "Retry-After": "10"}
        return web.json_response(payload, status=202, headers=headers)

    async def wait(self, request: web.Request, instance_id: str, timeout: float, interval: float) -> web.Response:
        """Wait for completion (createAndWait): the output, the failed status, or the check-status payload."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            async with self.engine.store.transaction() as tx:
                inst = await tx.instance(instance_id)
            if inst is not None and inst.is_terminal:
                if inst.runtime_status == "Completed":
                    return web.Response(status=200, text=inst.output or "null", content_type="application/json")
                return await self.status(request, instance_id)
            if asyncio.get_running_loop().time() >= deadline:
                return self.check_status_response(instance_id)
            await asyncio.sleep(interval)

    async def status(self, request: web.Request, instance_id: str) -> web.Response:
        """GET instances/{id}: 202 running, 200 finished (500 on failure when asked), 404 unknown."""
        async with self.engine.store.transaction() as tx:
            inst = await tx.instance(instance_id)
            history = await tx.history(instance_id, inst.execution_id) if inst is not None else []
        if inst is None:
            return web.Response(status=404)
        payload = self.payload(inst, show_input=_flag(request, "showInput", True))
        if _flag(request, "showHistory", False):
            payload["historyEvents"] = public_history(history, with_output=_flag(request, "showHistoryOutput", False))
        headers: dict[str, str] = {}
        if inst.runtime_status in RUNNING:
            code = 202
            headers = {"Location": str(request.url), "Retry-After": "5"}
        elif inst.runtime_status == "Failed" and _flag(request, "returnInternalServerErrorOnFailure", False):
            code = 500
        else:
            code = 200
        return web.json_response(payload, status=code, headers=headers)

    @staticmethod
    def payload(inst: Instance, *, show_input: bool = True) -> dict[str, Any]:
        """StatusResponsePayload of an instance."""
        return {
            "name": inst.name,
            "instanceId": inst.instance_id,
            "runtimeStatus": inst.runtime_status,
            "input": _value(inst.input) if show_input else None,
            "customStatus": _value(inst.custom_status),
            "output": _value(inst.output),
            "createdTime": iso_seconds(inst.created_at),
            "lastUpdatedTime": iso_seconds(inst.updated_at),
        }

    async def list(self, request: web.Request) -> web.Response:
        """GET instances/: filters createdTimeFrom/To, runtimeStatus, instanceIdPrefix; top + continuation."""
        where, params = _filters(request)
        top = int(request.query.get("top") or DEFAULT_PAGE)
        offset = int(request.headers.get("x-ms-continuation-token") or 0)
        async with self.engine.store.transaction() as tx:
            found = await tx.list_instances(where, params, top + 1, offset)
        show_input = _flag(request, "showInput", True)
        headers = {"x-ms-continuation-token": str(offset + top)} if len(found) > top else {}
        body = [self.payload(inst, show_input=show_input) for inst in found[:top]]
        return web.json_response(body, headers=headers)

    async def purge(self, instance_id: str) -> web.Response:
        """DELETE instances/{id}: 200 with instancesDeleted, 404 unknown, 412 while running."""
        async with self.engine.store.transaction() as tx:
            inst = await tx.instance(instance_id, lock=True)
            if inst is None:
                return web.Response(status=404)
            if not inst.is_terminal:
                text = (
                    f"Only orchestrations in a terminal state can be purged, but the orchestration with "
                    f"instance ID {instance_id} has status {inst.runtime_status}"
                )
                return web.json_response(text, status=412)
            deleted = await tx.delete_instance(instance_id)
        return web.json_response({"instancesDeleted": deleted})

    async def purge_many(self, request: web.Request) -> web.Response:
        """DELETE instances/?createdTimeFrom=...: purge finished instances by filter (404 when none)."""
        if request.method != "DELETE":
            return web.Response(status=404)
        if not request.query.get("createdTimeFrom"):
            return web.json_response("Please provide value for 'createdTimeFrom' parameter.", status=400)
        where, params = _filters(request)
        deleted = 0
        async with self.engine.store.transaction() as tx:
            for inst in await tx.list_instances(where, params, 1_000_000, 0):
                if inst.is_terminal:
                    deleted += await tx.delete_instance(inst.instance_id)
        if not deleted:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    async def raise_event(self, request: web.Request, instance_id: str, name: str) -> web.Response:
        """POST instances/{id}/raiseEvent/{name}: 202, 404 unknown, 410 finished, 400 not JSON."""
        async with self.engine.store.transaction() as tx:
            inst = await tx.instance(instance_id, lock=True)
            if inst is None:
                return web.Response(status=404)
            if inst.is_terminal:
                return web.Response(status=410)
            if request.content_type.lower() != "application/json":
                return web.json_response({"Message": "Only application/json request content is supported"}, status=400)
            body = await request.text()
            try:
                json.loads(body)
            except ValueError:
                return web.json_response({"Message": "Invalid JSON content"}, status=400)
            # The payload is stored as sent; the SDK client encodes its data twice, as it does against Azure.
            await tx.send(instance_id, None, event(EventType.EVENT_RAISED, utcnow(), Name=name, Input=body), utcnow())
        self.engine.wake(instance_id)
        return web.Response(status=202)

    async def control(self, request: web.Request, instance_id: str, operation: str) -> web.Response:
        """Terminate, suspend or resume: 202, 404 unknown, 410 already finished."""
        followups = Followups()
        reason = request.query.get("reason")
        async with self.engine.store.transaction() as tx:
            inst = await tx.instance(instance_id, lock=True)
            if inst is None:
                return web.Response(status=404)
            if inst.is_terminal:
                return web.Response(status=410)
            if operation == "terminate":
                await self.engine.terminate(tx, inst, reason, followups)
            elif operation == "suspend" and inst.runtime_status != "Suspended":
                await self.engine.mark(tx, inst, "Suspended", EventType.EXECUTION_SUSPENDED, reason)
            elif operation == "resume" and inst.runtime_status == "Suspended":
                await self.engine.mark(tx, inst, "Running", EventType.EXECUTION_RESUMED, reason)
                followups.wake.append(instance_id)
        self.engine.after_commit(followups)
        return web.Response(status=202)

    async def restart(self, request: web.Request, instance_id: str) -> web.Response:
        """POST instances/{id}/restart: start again with the original input (new id unless told otherwise)."""
        new_id = instance_id if not _flag(request, "restartWithNewInstanceId", True) else uuid.uuid4().hex
        async with self.engine.store.transaction() as tx:
            inst = await tx.instance(instance_id)
            if inst is None:
                return web.json_response(
                    {"Message": "InstanceId does not match a valid orchestration instance."}, status=400
                )
            target = await tx.instance(new_id, lock=True) if new_id != instance_id else None
            if (new_id == instance_id and not inst.is_terminal) or (target is not None and not target.is_terminal):
                return web.json_response(
                    {"Message": "A non-terminal instance with this instance ID already exists."}, status=409
                )
            await self.engine.create_instance(tx, inst.name, new_id, inst.input, inst.version or "", utcnow())
        self.engine.wake(new_id)
        return self.check_status_response(new_id)

    async def rewind(self, instance_id: str) -> web.Response:
        """POST instances/{id}/rewind: the dev host's store does not support it (501, as such providers)."""
        async with self.engine.store.transaction() as tx:
            inst = await tx.instance(instance_id)
        if inst is None:
            return web.json_response(f'No orchestration with instance ID "{instance_id}" found.', status=404)
        if inst.runtime_status != "Failed":
            return web.json_response(
                f"This orchestration has status {inst.runtime_status}, but only "
                'orchestrations in the "Failed" state can be rewound.',
                status=412,
            )
        return web.json_response("Rewind is not supported by the underlying storage provider.", status=501)


def _value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _filters(request: web.Request) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if request.query.get("createdTimeFrom"):
        clauses.append("AND created_at >= %s")
        params.append(parse_time(request.query["createdTimeFrom"]))
    if request.query.get("createdTimeTo"):
        clauses.append("AND created_at <= %s")
        params.append(parse_time(request.query["createdTimeTo"]))
    statuses = [s for s in (request.query.get("runtimeStatus") or "").split(",") if s]
    if statuses:
        clauses.append("AND runtime_status = ANY(%s)")
        params.append(statuses)
    if request.query.get("instanceIdPrefix"):
        clauses.append("AND starts_with(instance_id, %s)")
        params.append(request.query["instanceIdPrefix"])
    return " ".join(clauses), params


__all__ = ["TERMINAL", "DurableHttpApi", "dumps", "system_key"]
