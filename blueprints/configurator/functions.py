"""Configurator triggers: products, configurations, the shared view, render jobs, and the render results queue."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

import azure.durable_functions as df

from blueprints.configurator import schemas
from render_container.contract import RESULTS_QUEUE, RenderResult
from shared import lazy
from shared.etag import if_match, with_etag
from shared.http import Request, Response, Router, UserRequest
from shared.pagination import PageQuery
from shared.triggers import Delivery, queue_handler

if TYPE_CHECKING:
    from blueprints.configurator import jobs, service
    from shared.db import session_scope
else:  # loaded on first use (shared/lazy.py): indexing needs only the schemas
    jobs = lazy.module("blueprints.configurator.jobs")
    service = lazy.module("blueprints.configurator.service")
    session_scope = lazy.function("shared.db", "session_scope")

bp = df.Blueprint()
api = Router(bp, module="configurator", feature="configurator")
log = logging.getLogger(__name__)
_NOT_FOUND = {404: "No such resource"}


def _product(product: schemas.ProductOut, *, status: int = 200) -> Response:
    return with_etag(product, product.version, status=status)


@api.get(
    "v1/configurator/products",
    permission="products.read",
    query=PageQuery,
    response=schemas.ProductPage,
    summary="The business's configurable products",
)
def list_products(req: UserRequest[None, PageQuery]) -> schemas.ProductPage:
    """List products."""
    return service.list_products(**req.reads, query=req.query)


@api.post(
    "v1/configurator/products",
    permission="products.manage",
    body=schemas.ProductIn,
    response=schemas.ProductOut,
    summary="Add a product (its JSON Schema is checked)",
)
def create_product(req: UserRequest[schemas.ProductIn, None]) -> Response:
    """Create a product."""
    product = service.create_product(**req.writes, product_in=req.body)
    return _product(product, status=201)


@api.get(
    "v1/configurator/products/{product_id}",
    permission="products.read",
    response=schemas.ProductOut,
    summary="One product with its options schema",
)
def get_product(req: UserRequest) -> Response:
    """Read a product with its ETag."""
    return _product(service.get_product(**req.reads, product_id=req.uuid_param("product_id")))


@api.patch(
    "v1/configurator/products/{product_id}",
    permission="products.manage",
    body=schemas.ProductPatch,
    response=schemas.ProductOut,
    summary="Change a product (If-Match required)",
)
def update_product(req: UserRequest[schemas.ProductPatch, None]) -> Response:
    """Change a product."""
    product_id = req.uuid_param("product_id")
    expected = if_match(req)
    return _product(service.update_product(**req.writes, product_id=product_id, patch=req.body, expected=expected))


@api.get(
    "v1/configurator/configurations",
    permission="configurations.read",
    query=schemas.ConfigurationQuery,
    response=schemas.ConfigurationPage,
    summary="Saved configurations, newest first",
)
def list_configurations(req: UserRequest[None, schemas.ConfigurationQuery]) -> schemas.ConfigurationPage:
    """List configurations."""
    return service.list_configurations(**req.reads, query=req.query)


@api.post(
    "v1/configurator/configurations",
    permission="configurations.write",
    body=schemas.ConfigurationIn,
    response=schemas.ConfigurationOut,
    summary="Save a configuration (422 lists every violation)",
)
def create_configuration(req: UserRequest[schemas.ConfigurationIn, None]) -> schemas.ConfigurationOut:
    """Save a configuration."""
    return service.create_configuration(**req.reads, configuration_in=req.body)


@api.get(
    "v1/configurator/configurations/{configuration_id}",
    permission="configurations.read",
    response=schemas.ConfigurationOut,
    summary="One saved configuration with its price",
)
def get_configuration(req: UserRequest) -> schemas.ConfigurationOut:
    """Read a configuration."""
    return service.get_configuration(**req.reads, configuration_id=req.uuid_param("configuration_id"))


@api.delete(
    "v1/configurator/configurations/{configuration_id}",
    permission="configurations.write",
    summary="Delete a configuration (its share code stops working)",
)
def delete_configuration(req: UserRequest) -> None:
    """Soft-delete a configuration."""
    service.delete_configuration(**req.writes, configuration_id=req.uuid_param("configuration_id"))


@api.get(
    "v1/configurator/shared/{share_code}",
    auth="anonymous",
    response=schemas.SharedConfiguration,
    responses=_NOT_FOUND,
    summary="The read-only view a share code opens (no sign-in)",
)
def get_shared(req: Request) -> schemas.SharedConfiguration:
    """Open a shared configuration."""
    return service.get_shared(session=req.session, share_code=req.route_params.get("share_code", ""))


@api.post(
    "v1/configurator/jobs",
    permission="render_jobs.create",
    status=202,
    body=schemas.RenderJobIn,
    response=schemas.RenderJobOut,
    summary="Render a configuration to GLB (a cached one completes at once)",
)
def create_job(req: UserRequest[schemas.RenderJobIn, None]) -> schemas.RenderJobOut:
    """Start a render job."""
    return jobs.create_job(**req.reads, job_in=req.body)


@api.get(
    "v1/configurator/jobs/{job_id}",
    permission="render_jobs.read",
    response=schemas.RenderJobOut,
    summary="A render job: status, progress, GLB read URL (15 min) once completed",
)
def get_job(req: UserRequest) -> schemas.RenderJobOut:
    """Read a render job."""
    return jobs.get_job(**req.reads, job_id=req.uuid_param("job_id"))


@api.post(
    "v1/configurator/jobs/{job_id}/cancel",
    permission="render_jobs.cancel",
    status=200,
    response=schemas.RenderJobOut,
    summary="Cancel a render job that has not finished",
)
def cancel_job(req: UserRequest) -> schemas.RenderJobOut:
    """Cancel a render job."""
    return jobs.cancel_job(**req.writes, job_id=req.uuid_param("job_id"))


@queue_handler(bp, queue=RESULTS_QUEUE, model=RenderResult, name="configurator_render_results")
def render_results(result: RenderResult, delivery: Delivery) -> None:
    """Apply one render worker report to its job; a malformed report goes straight to the poison queue."""
    with session_scope(tenant_id=result.tenant_id) as session:
        outcome = jobs.apply_result(session=session, result=result, message_id=delivery.message_id or uuid.uuid4().hex)
    level = logging.WARNING if outcome == "unknown job" else logging.INFO
    log.log(level, "render result for job %s: %s", result.job_id, outcome)
