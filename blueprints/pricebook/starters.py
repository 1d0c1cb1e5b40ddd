"""HTTP routes that start an orchestration: the route conventions of shared.http, then `client.start_new`.

The route decorator cannot wrap a durable client function (it is async and takes the client binding), so a
starter runs the usual dispatch (auth, validation, Idempotency-Key, the transaction that records the run) in
a worker thread and, once that has committed, starts the orchestration with the run's id as instance id. A
replayed idempotent request starts nothing. If the start itself fails, the run is marked failed so it does
not block the next one.
"""

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel

from shared import tracing
from shared.errors import ServiceUnavailable
from shared.http import REGISTRY, Router, RouteSpec, UserRequest, dispatch, problem_response

log = logging.getLogger("tradeops.pricebook")
Handler = Callable[[UserRequest[Any, None]], tuple[Any, dict[str, Any]]]


def durable_starter(
    api: Router,
    route: str,
    *,
    orchestrator: str,
    permission: str,
    body: type[BaseModel],
    response: type[BaseModel],
    summary: str,
    on_start_failure: Callable[[dict[str, Any], str], None],
    responses: dict[int, str] | None = None,
) -> Callable[[Handler], Handler]:
    """Register handler (returns (answer, orchestration input)) as a POST that starts `orchestrator`."""

    def decorate(handler: Handler) -> Handler:
        spec = RouteSpec(
            name=f"{api.module}_{handler.__name__}",
            module=api.module,
            route=route,
            methods=["POST"],
            auth="user",
            summary=summary,
            status=202,
            permission=permission,
            feature=api.feature,
            body_model=body,
            response_model=response,
            idempotent=True,
            responses=dict(responses or {}),
        )

        async def starter(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
            started: list[dict[str, Any]] = []

            def run(request: UserRequest[Any, None]) -> Any:
                answer, start_input = handler(request)
                started.append(tracing.with_current_trace(start_input))  # inside the request's span
                return answer

            answer = await asyncio.to_thread(dispatch, spec, run, req)
            if not started or answer.status_code != 202:
                return answer
            start_input = started[0]
            try:
                await client.start_new(orchestrator, start_input["run_id"], start_input)
            except Exception as exc:
                log.exception("could not start %s", orchestrator)
                await asyncio.to_thread(on_start_failure, start_input, f"start failed: {type(exc).__name__}")
                error = ServiceUnavailable("The sync could not be started; try again", code="start_failed")
                return problem_response(error, request_id=answer.headers.get("X-Request-Id") or uuid.uuid4().hex)
            return answer

        starter.__name__ = starter.__qualname__ = spec.name
        starter.__doc__ = summary
        bp = api.blueprint
        bp.function_name(name=spec.name)(
            bp.route(route=route, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)(
                bp.durable_client_input(client_name="client")(starter)
            )
        )
        REGISTRY.append(spec)
        return handler

    return decorate
