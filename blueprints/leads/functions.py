"""Leads triggers: the public intake form, the staff API, lead settings, and the two queues it reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import azure.durable_functions as df

from blueprints.leads import schemas
from blueprints.messaging import schemas as messaging_schemas
from shared import lazy
from shared.etag import if_match, with_etag
from shared.http import Request, Response, Router, UserRequest
from shared.triggers import Delivery, poison_queue, queue_handler

if TYPE_CHECKING:
    from blueprints.leads import responder, service
    from shared.db import session_scope
else:  # loaded on first use (shared/lazy.py): indexing needs only the schemas
    responder = lazy.module("blueprints.leads.responder")
    service = lazy.module("blueprints.leads.service")
    session_scope = lazy.function("shared.db", "session_scope")

bp = df.Blueprint()
api = Router(bp, module="leads", feature=schemas.MODULE)
INTAKE_MAX_BYTES = 16 * 1024


def _intake(req: Request[Any, Any]) -> service.Intake:
    return service.Intake(
        business_slug=req.route_params.get("business_slug", ""),
        client_ip=req.client_ip,
        origin=req.headers.get("origin"),
    )


def _cors_for_problems(req: Request[Any, Any]) -> dict[str, str]:
    """A refused post (415, 422, 429...) still carries the CORS headers of the business's own site, so the site
    may read why and tell its visitor. Without an Origin (no browser's cross-site post) there are none to add."""
    if not req.headers.get("origin"):
        return {}
    return service.cors_headers_if_allowed(session=req.session, intake=_intake(req))


@api.post(
    "v1/leads/intake/{business_slug}",
    auth="anonymous",
    status=202,
    body=schemas.IntakeIn,
    body_format="json_or_form",  # a browser's plain <form> post, or the site's script posting JSON
    max_body_bytes=INTAKE_MAX_BYTES,
    problem_headers=_cors_for_problems,
    response=schemas.IntakeAccepted,
    summary="A website form's lead, JSON or form-encoded (anonymous; rate-limited; CORS for the business's sites)",
    responses={403: "Posted from a site the business did not list", 404: "No such business", 429: "Too many"},
)
def intake(req: Request[schemas.IntakeIn, None]) -> Response:
    """Take a lead; its first answer follows from the queue."""
    headers = service.submit(session=req.session, intake=_intake(req), form=req.body)
    return Response(schemas.IntakeAccepted(), status=202, headers=headers)


@api.route(
    "v1/leads/intake/{business_slug}",
    methods=["OPTIONS"],
    auth="anonymous",
    status=204,
    summary="CORS preflight for a business's form",
    responses={403: "A site the business did not list", 404: "No such business"},
)
def intake_preflight(req: Request) -> Response:
    """Answer the browser's preflight with the allowed origin, methods and headers."""
    return Response(None, status=204, headers=service.preflight(session=req.session, intake=_intake(req)))


@api.get(
    "v1/leads",
    permission="leads.read",
    query=schemas.LeadQuery,
    response=schemas.LeadPage,
    summary="The business's leads, newest first (status, source, answered, since)",
)
def list_leads(req: UserRequest[None, schemas.LeadQuery]) -> schemas.LeadPage:
    """List leads."""
    return service.list_leads(**req.reads, query=req.query)


@api.get(
    "v1/leads/stats",
    permission="leads.read",
    response=schemas.LeadStats,
    summary="Median and p95 time to first answer by source, this week",
)
def lead_stats(req: UserRequest) -> schemas.LeadStats:
    """The week's figures."""
    return service.stats(**req.reads)


@api.get(
    "v1/leads/settings",
    permission="leads.settings",
    response=schemas.LeadSettingsOut,
    summary="The business's intake slug, site origins, answer templates and follow-ups",
)
def get_lead_settings(req: UserRequest) -> schemas.LeadSettingsOut:
    """Read lead settings."""
    return service.get_settings(**req.reads)


@api.put(
    "v1/leads/settings",
    permission="leads.settings",
    body=schemas.LeadSettingsIn,
    response=schemas.LeadSettingsOut,
    summary="Replace the business's lead settings (409: slug taken)",
)
def save_lead_settings(req: UserRequest[schemas.LeadSettingsIn, None]) -> schemas.LeadSettingsOut:
    """Replace lead settings."""
    return service.save_settings(**req.writes, settings_in=req.body)


@api.get(
    "v1/leads/{lead_id}",
    permission="leads.read",
    response=schemas.LeadDetail,
    summary="One lead with its first answer and when the provider accepted it",
)
def get_lead(req: UserRequest) -> Response:
    """Read one lead."""
    lead, version = service.get_lead(**req.reads, lead_id=req.uuid_param("lead_id"))
    return with_etag(lead, version)


@api.patch(
    "v1/leads/{lead_id}",
    permission="leads.write",
    body=schemas.LeadPatch,
    response=schemas.LeadOut,
    summary="Move a lead: new -> contacted -> qualified | lost (If-Match)",
)
def patch_lead(req: UserRequest[schemas.LeadPatch, None]) -> Response:
    """Change a lead's status."""
    expected = if_match(req)
    lead, version = service.update_status(
        **req.writes, lead_id=req.uuid_param("lead_id"), patch=req.body, expected=expected
    )
    return with_etag(lead, version)


@queue_handler(bp, queue=schemas.RESPONDER_QUEUE, model=schemas.LeadTask)
def leads_responder(task: schemas.LeadTask, delivery: Delivery) -> str:
    """Answer a lead, confirm the answer, follow up, or tell the owner."""
    return f"lead {task.lead_id} {task.kind}: {responder.process(task)}"


@queue_handler(bp, queue=poison_queue(schemas.RESPONDER_QUEUE), model=schemas.LeadTask)
def leads_responder_poison(task: schemas.LeadTask, delivery: Delivery) -> str:
    """A task the host gave up on: an unanswered lead says so and its owner is told."""
    return f"lead {task.lead_id} {task.kind} gave up: {responder.give_up(task)}"


@queue_handler(bp, queue=messaging_schemas.INBOUND_UNKNOWN_QUEUE, model=messaging_schemas.InboundFromUnknown)
def leads_inbound_text(task: messaging_schemas.InboundFromUnknown, delivery: Delivery) -> str:
    """A text from a number no customer has becomes a lead."""
    with session_scope(tenant_id=task.tenant_id) as session:
        return f"inbound text {task.message_id}: {service.lead_from_text(session=session, task=task)}"


@queue_handler(
    bp, queue=poison_queue(messaging_schemas.INBOUND_UNKNOWN_QUEUE), model=messaging_schemas.InboundFromUnknown
)
def leads_inbound_text_poison(task: messaging_schemas.InboundFromUnknown, delivery: Delivery) -> str:
    """A text the host could not turn into a lead: says whether a lead has it (messaging keeps the text itself)."""
    with session_scope(tenant_id=task.tenant_id) as session:
        return f"inbound text {task.message_id} gave up: {service.text_given_up(session=session, task=task)}"
