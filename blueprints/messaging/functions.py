"""Messaging triggers: messages, templates, consent and settings over HTTP; Twilio webhooks; the outbound queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import azure.durable_functions as df

from blueprints.messaging import schemas
from shared import lazy
from shared.http import Request, Response, Router, UserRequest
from shared.triggers import Delivery, poison_queue, queue_handler

if TYPE_CHECKING:
    from blueprints.messaging import pipeline, service, webhooks
else:  # loaded on first use (shared/lazy.py): indexing needs only the schemas
    pipeline = lazy.module("blueprints.messaging.pipeline")
    service = lazy.module("blueprints.messaging.service")
    webhooks = lazy.module("blueprints.messaging.webhooks")

bp = df.Blueprint()
api = Router(bp, module="messaging", feature=schemas.MODULE)
TWIML = "text/xml"


@api.post(
    "v1/messages",
    permission="messages.send",
    status=202,
    body=schemas.MessageIn,
    response=schemas.MessageOut,
    summary="Queue an SMS or email to a customer (Idempotency-Key)",
)
def send_message(req: UserRequest[schemas.MessageIn, None]) -> Response:
    """Queue a message; the pipeline checks consent, quiet hours and limits before it goes out."""
    message = service.send_for_user(**req.reads, message_in=req.body)
    return Response(message, status=202)


@api.get(
    "v1/messages",
    permission="messages.read",
    query=schemas.ThreadQuery,
    response=schemas.Thread,
    summary="A customer's or a record's thread, inbound and outbound, newest last",
)
def list_messages(req: UserRequest[None, schemas.ThreadQuery]) -> schemas.Thread:
    """Read a thread."""
    return service.thread_for_user(**req.reads, query=req.query)


@api.get(
    "v1/messages/{message_id}",
    permission="messages.read",
    response=schemas.MessageOut,
    summary="One message and where it is in the pipeline",
)
def get_message(req: UserRequest) -> schemas.MessageOut:
    """Read one message."""
    return service.get_message(**req.reads, message_id=req.uuid_param("message_id"))


@api.get(
    "v1/messaging/templates",
    permission="messages.read",
    response=schemas.Templates,
    summary="The business's message templates",
)
def list_templates(req: UserRequest) -> schemas.Templates:
    """List templates."""
    return service.list_templates(**req.reads)


@api.post(
    "v1/messaging/templates",
    permission="templates.manage",
    body=schemas.TemplateIn,
    response=schemas.TemplateOut,
    summary="Save a template (422: a placeholder cannot be filled)",
)
def create_template(req: UserRequest[schemas.TemplateIn, None]) -> Response:
    """Create a template."""
    template = service.save_template(**req.reads, template_in=req.body)
    return Response(template, status=201)


@api.put(
    "v1/messaging/templates/{template_id}",
    permission="templates.manage",
    body=schemas.TemplateIn,
    response=schemas.TemplateOut,
    summary="Replace a template",
)
def replace_template(req: UserRequest[schemas.TemplateIn, None]) -> schemas.TemplateOut:
    """Replace a template."""
    return service.save_template(**req.reads, template_in=req.body, template_id=req.uuid_param("template_id"))


@api.delete("v1/messaging/templates/{template_id}", permission="templates.manage", summary="Delete a template")
def delete_template(req: UserRequest) -> None:
    """Delete a template."""
    service.delete_template(**req.reads, template_id=req.uuid_param("template_id"))


@api.get(
    "v1/messaging/customers/{customer_id}/consents",
    permission="messages.read",
    response=schemas.Consents,
    summary="A customer's current consent per channel and purpose",
)
def list_consents(req: UserRequest) -> schemas.Consents:
    """Read a customer's consents."""
    return service.list_consents(**req.reads, customer_id=req.uuid_param("customer_id"))


@api.post(
    "v1/messaging/customers/{customer_id}/consents",
    permission="consent.manage",
    body=schemas.ConsentIn,
    response=schemas.ConsentOut,
    summary="Record consent given or withdrawn (source and time kept)",
)
def record_consent(req: UserRequest[schemas.ConsentIn, None]) -> Response:
    """Append to a customer's consent ledger."""
    consent = service.change_consent(**req.reads, customer_id=req.uuid_param("customer_id"), consent_in=req.body)
    return Response(consent, status=201)


@api.get(
    "v1/messaging/settings",
    permission="messaging.settings",
    response=schemas.SettingsOut,
    summary="The business's sender number, footer, HELP text and limits",
)
def get_settings(req: UserRequest) -> schemas.SettingsOut:
    """Read messaging settings."""
    return service.get_settings(session=req.session, tenant_id=req.principal.tenant_id)


@api.put(
    "v1/messaging/settings",
    permission="messaging.settings",
    body=schemas.SettingsIn,
    response=schemas.SettingsOut,
    summary="Replace the business's messaging settings",
)
def save_settings(req: UserRequest[schemas.SettingsIn, None]) -> schemas.SettingsOut:
    """Replace messaging settings."""
    return service.save_settings(**req.writes, settings_in=req.body)


def _signed_by_twilio(req: Request[Any, Any]) -> dict[str, str]:
    """The POST parameters of a request Twilio signed (403 otherwise): every Twilio webhook's verify hook."""
    return webhooks.verified_params(
        url=req.raw.url, body=req.raw.get_body() or b"", signature=req.headers.get("x-twilio-signature")
    )


@api.post(
    "webhooks/twilio/status",
    auth="webhook",
    verify=_signed_by_twilio,
    status=204,
    idempotent=False,
    query=schemas.StatusCallbackQuery,
    summary="Twilio delivery status reports (signed; replays have one effect)",
    responses={403: "Unsigned or forged"},
)
def twilio_status(req: Request[None, schemas.StatusCallbackQuery]) -> None:
    """Apply a signed delivery report."""
    webhooks.apply_status(
        session=req.session, tenant_id=req.query.tenant_id, message_id=req.query.message_id, params=req.verified
    )


@api.post(
    "webhooks/twilio/inbound",
    auth="webhook",
    verify=_signed_by_twilio,
    status=200,
    idempotent=False,
    content_type=TWIML,
    summary="Inbound texts: stored on the customer's thread; STOP, START and HELP handled (signed)",
    responses={403: "Unsigned or forged"},
)
def twilio_inbound(req: Request) -> Response:
    """Take a signed inbound text and answer with TwiML."""
    return Response(webhooks.receive_inbound(session=req.session, params=req.verified), status=200, content_type=TWIML)


@queue_handler(bp, queue=schemas.OUTBOUND_QUEUE, model=schemas.OutboundTask)
def messaging_outbound(task: schemas.OutboundTask, delivery: Delivery) -> str:
    """Send one queued message through consent, quiet hours, limits and the provider."""
    return f"outbound message {task.message_id}: {pipeline.process(task)}"


@queue_handler(bp, queue=poison_queue(schemas.OUTBOUND_QUEUE), model=schemas.OutboundTask)
def messaging_outbound_poison(task: schemas.OutboundTask, delivery: Delivery) -> str:
    """A task the host gave up on: its message becomes failed, never silently lost."""
    return f"outbound message {task.message_id} gave up: {pipeline.give_up(task)}"
