"""Messaging triggers: messages, templates, consent and settings over HTTP; Twilio webhooks; the outbound queue."""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from blueprints.messaging import schemas, service
from shared import audit
from shared.http import Request, Response, Router
from shared.runtime import ensure_started
from shared.telemetry import invocation

bp = df.Blueprint()
api = Router(bp, module="messaging", feature=service.MODULE)
log = logging.getLogger(__name__)
POISON_QUEUE = f"{schemas.OUTBOUND_QUEUE}-poison"
TWIML = "text/xml"


@api.post(
    "v1/messages",
    permission="messages.send",
    status=202,
    body=schemas.MessageIn,
    response=schemas.MessageOut,
    summary="Queue an SMS or email to a customer (Idempotency-Key)",
)
def send_message(req: Request) -> Response:
    """Queue a message; the pipeline checks consent, quiet hours and limits before it goes out."""
    assert req.principal is not None
    message = service.send_for_user(session=req.session, principal=req.principal, message_in=req.body)
    return Response(message, status=202)


@api.get(
    "v1/messages",
    permission="messages.read",
    query=schemas.ThreadQuery,
    response=schemas.Thread,
    summary="A customer's or a record's thread, inbound and outbound, newest last",
)
def list_messages(req: Request) -> schemas.Thread:
    """Read a thread."""
    assert req.principal is not None
    return service.thread_for_user(session=req.session, principal=req.principal, query=req.query)


@api.get(
    "v1/messages/{message_id}",
    permission="messages.read",
    response=schemas.MessageOut,
    summary="One message and where it is in the pipeline",
)
def get_message(req: Request) -> schemas.MessageOut:
    """Read one message."""
    assert req.principal is not None
    return service.get_message(session=req.session, principal=req.principal, message_id=req.uuid_param("message_id"))


@api.get(
    "v1/messaging/templates",
    permission="messages.read",
    response=schemas.Templates,
    summary="The business's message templates",
)
def list_templates(req: Request) -> schemas.Templates:
    """List templates."""
    assert req.principal is not None
    return service.list_templates(session=req.session, principal=req.principal)


@api.post(
    "v1/messaging/templates",
    permission="templates.manage",
    body=schemas.TemplateIn,
    response=schemas.TemplateOut,
    summary="Save a template (422: a placeholder cannot be filled)",
)
def create_template(req: Request) -> Response:
    """Create a template."""
    assert req.principal is not None
    template = service.save_template(session=req.session, principal=req.principal, template_in=req.body)
    return Response(template, status=201)


@api.put(
    "v1/messaging/templates/{template_id}",
    permission="templates.manage",
    body=schemas.TemplateIn,
    response=schemas.TemplateOut,
    summary="Replace a template",
)
def replace_template(req: Request) -> schemas.TemplateOut:
    """Replace a template."""
    assert req.principal is not None
    return service.save_template(
        session=req.session, principal=req.principal, template_in=req.body, template_id=req.uuid_param("template_id")
    )


@api.delete("v1/messaging/templates/{template_id}", permission="templates.manage", summary="Delete a template")
def delete_template(req: Request) -> None:
    """Delete a template."""
    assert req.principal is not None
    service.delete_template(session=req.session, principal=req.principal, template_id=req.uuid_param("template_id"))


@api.get(
    "v1/messaging/customers/{customer_id}/consents",
    permission="messages.read",
    response=schemas.Consents,
    summary="A customer's current consent per channel and purpose",
)
def list_consents(req: Request) -> schemas.Consents:
    """Read a customer's consents."""
    assert req.principal is not None
    return service.list_consents(
        session=req.session, principal=req.principal, customer_id=req.uuid_param("customer_id")
    )


@api.post(
    "v1/messaging/customers/{customer_id}/consents",
    permission="consent.manage",
    body=schemas.ConsentIn,
    response=schemas.ConsentOut,
    summary="Record consent given or withdrawn (source and time kept)",
)
def record_consent(req: Request) -> Response:
    """Append to a customer's consent ledger."""
    assert req.principal is not None
    consent = service.change_consent(
        session=req.session, principal=req.principal, customer_id=req.uuid_param("customer_id"), consent_in=req.body
    )
    return Response(consent, status=201)


@api.get(
    "v1/messaging/settings",
    permission="messaging.settings",
    response=schemas.SettingsOut,
    summary="The business's sender number, footer, HELP text and limits",
)
def get_settings(req: Request) -> schemas.SettingsOut:
    """Read messaging settings."""
    assert req.principal is not None
    return service.get_settings(session=req.session, tenant_id=req.principal.tenant_id)


@api.put(
    "v1/messaging/settings",
    permission="messaging.settings",
    body=schemas.SettingsIn,
    response=schemas.SettingsOut,
    summary="Replace the business's messaging settings",
)
def save_settings(req: Request) -> schemas.SettingsOut:
    """Replace messaging settings."""
    assert req.principal is not None
    return service.save_settings(
        session=req.session, principal=req.principal, settings_in=req.body, actor=audit.actor_of(req)
    )


def _signed_by_twilio(req: Request) -> dict[str, str]:
    """The POST parameters of a request Twilio signed (403 otherwise): every Twilio webhook's verify hook."""
    from blueprints.messaging import webhooks

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
def twilio_status(req: Request) -> None:
    """Apply a signed delivery report."""
    from blueprints.messaging import webhooks

    webhooks.apply_status(tenant_id=req.query.tenant_id, message_id=req.query.message_id, params=req.verified)


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
    from blueprints.messaging import webhooks

    return Response(webhooks.receive_inbound(params=req.verified), status=200, content_type=TWIML)


@bp.queue_trigger(arg_name="msg", queue_name=schemas.OUTBOUND_QUEUE, connection="AzureWebJobsStorage")
def messaging_outbound(msg: func.QueueMessage) -> None:
    """Send one queued message through consent, quiet hours, limits and the provider."""
    from blueprints.messaging import pipeline
    from shared import storage

    with invocation("messaging_outbound"):
        ensure_started()
        task = storage.read_task(msg.get_body(), schemas.OutboundTask, queue=schemas.OUTBOUND_QUEUE)
        if task is None:
            return
        outcome = pipeline.process(task)
        log.info("outbound message %s: %s", task.message_id, outcome, extra={"outcome": outcome})


@bp.queue_trigger(arg_name="msg", queue_name=POISON_QUEUE, connection="AzureWebJobsStorage")
def messaging_outbound_poison(msg: func.QueueMessage) -> None:
    """A task the host gave up on: its message becomes failed, never silently lost."""
    from blueprints.messaging import pipeline
    from shared import storage

    with invocation("messaging_outbound_poison"):
        ensure_started()
        task = storage.read_task(msg.get_body(), schemas.OutboundTask, queue=POISON_QUEUE, poison=False)
        if task is not None:
            log.error("outbound message %s gave up: %s", task.message_id, pipeline.give_up(task))
