"""Ops triggers: health, readiness, the OpenAPI document and the outbox sweeper."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import azure.durable_functions as df

from blueprints.ops import schemas
from shared import lazy
from shared.http import Request, Response, Router
from shared.triggers import timer_handler

if TYPE_CHECKING:
    from blueprints.ops import service
    from shared.openapi import build_document
else:  # loaded on first use (shared/lazy.py): indexing needs only the schemas
    service = lazy.module("blueprints.ops.service")
    build_document = lazy.function("shared.openapi", "build_document")

bp = df.Blueprint()
api = Router(bp, module="ops")
log = logging.getLogger(__name__)

_openapi_cache: bytes | None = None


@api.get("health", auth="anonymous", starts_app=False, response=schemas.Health, summary="The process is up (no I/O)")
def health(req: Request) -> schemas.Health:
    """Liveness: answers without touching any dependency."""
    return schemas.Health()


@api.get(
    "ready",
    auth="anonymous",
    response=schemas.Readiness,
    summary="Database and storage are reachable",
    responses={503: "A dependency is unreachable"},
)
def ready(req: Request) -> Response:
    """Readiness: 200 when every dependency answers, 503 naming the one that did not."""
    result = service.readiness()
    return Response(result, status=200 if result.status == "ready" else 503)


@api.get("openapi.json", auth="anonymous", summary="The OpenAPI 3.1 document of this API")
def openapi(req: Request) -> Response:
    """The generated OpenAPI document."""
    global _openapi_cache
    if _openapi_cache is None:
        _openapi_cache = json.dumps(build_document()).encode()
    return Response(_openapi_cache, content_type="application/json")


@api.post(
    "v1/ops/outbox/sweep",
    auth="admin",
    status=200,
    response=schemas.OutboxSweep,
    summary="Deliver stored queue messages now (admin key)",
)
def sweep_outbox_now(req: Request) -> schemas.OutboxSweep:
    """Admins flush the outbox from the portal without waiting for the timer."""
    return schemas.OutboxSweep(delivered=service.sweep_outbox(older_than_seconds=0))


@timer_handler(bp, schedule="*/10 * * * * *")
def ops_outbox_sweeper() -> None:
    """Every 10 s, deliver outbox messages whose after-commit send failed, or older than 30 s."""
    delivered = service.sweep_outbox(older_than_seconds=30)
    if delivered:
        log.warning("outbox sweeper delivered %d stranded messages", delivered)


@timer_handler(bp, schedule="30 */1 * * * *")
def ops_queue_depth() -> None:
    """Every minute, report each queue's approximate depth (the tradeops.queue.depth gauge)."""
    service.record_queue_depths()
