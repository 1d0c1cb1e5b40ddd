"""Shop triggers: appointments, board, services, payments, inspections, stats, exports, reminders."""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, RootModel

from blueprints.shop import (
    appointments,
    board,
    drawer,
    exports,
    inspections,
    line_items,
    payments,
    schemas,
    stats,
    texts,
)
from blueprints.shop.approval import error_page
from shared import audit, html
from shared.errors import AppError
from shared.etag import if_match, with_etag
from shared.http import Request, Response, Router
from shared.runtime import ensure_started
from shared.telemetry import invocation

bp = df.Blueprint()
api = Router(bp, module="shop", feature="shop")
log = logging.getLogger("tradeops.shop")
A = "v1/shop/appointments/{appointment_id}"
HTML = html.CONTENT_TYPE
PAGE_ERRORS = {
    403: "Tampered or unusable link (HTML page)",
    404: "No such inspection (HTML page)",
    410: "Expired link (HTML page)",
}


@api.get(
    "v1/shop/appointments",
    permission="appointments.read",
    query=schemas.CalendarQuery,
    response=schemas.AppointmentList,
    summary="The calendar: appointments overlapping from..to",
)
def list_appointments(req: Request) -> schemas.AppointmentList:
    """List a window of the calendar."""
    assert req.principal is not None
    return appointments.list_calendar(session=req.session, principal=req.principal, query=req.query)


@api.post(
    "v1/shop/appointments",
    permission="appointments.write",
    body=schemas.AppointmentIn,
    response=schemas.AppointmentOut,
    responses={409: "The technician is already booked then"},
    summary="Book an appointment",
)
def create_appointment(req: Request) -> Response:
    """Create an appointment."""
    assert req.principal is not None
    out, version = appointments.create(
        session=req.session, principal=req.principal, appointment_in=req.body, actor=audit.actor_of(req)
    )
    return with_etag(out, version, status=201)


@api.get(
    A,
    permission="appointments.read",
    response=schemas.Drawer,
    summary="The drawer: the appointment with everything about it in one answer",
)
def get_appointment(req: Request) -> Response:
    """Open the drawer."""
    assert req.principal is not None
    out, version = drawer.get_drawer(
        session=req.session, principal=req.principal, appointment_id=req.uuid_param("appointment_id")
    )
    return with_etag(out, version)


@api.patch(
    A,
    permission="appointments.write",
    body=schemas.AppointmentPatch,
    response=schemas.AppointmentOut,
    summary="Change an appointment (If-Match required)",
)
def update_appointment(req: Request) -> Response:
    """Change an appointment."""
    assert req.principal is not None
    appointment_id = req.uuid_param("appointment_id")
    expected = if_match(req)
    out, version = appointments.update(
        session=req.session,
        principal=req.principal,
        appointment_id=appointment_id,
        patch=req.body,
        expected=expected,
        actor=audit.actor_of(req),
    )
    return with_etag(out, version)


@api.delete(A, permission="appointments.delete", summary="Delete an appointment (soft)")
def delete_appointment(req: Request) -> None:
    """Soft-delete an appointment."""
    assert req.principal is not None
    appointments.delete(
        session=req.session,
        principal=req.principal,
        appointment_id=req.uuid_param("appointment_id"),
        actor=audit.actor_of(req),
    )


@api.patch(
    A + "/move",
    permission="board.move",
    body=schemas.MoveIn,
    query=schemas.RangeQuery,
    response=schemas.AppointmentOut,
    summary="Move a card: new status and/or place in its column",
)
def move_appointment(req: Request) -> schemas.AppointmentOut:
    """Move a card on the board."""
    assert req.principal is not None
    return board.move(
        session=req.session,
        principal=req.principal,
        appointment_id=req.uuid_param("appointment_id"),
        move_in=req.body,
        query=req.query,
        actor=audit.actor_of(req),
    )


@api.get(
    "v1/shop/board",
    permission="board.read",
    query=schemas.RangeQuery,
    response=schemas.Board,
    summary="The status board: columns with counts and sums, cards in order",
)
def get_board(req: Request) -> schemas.Board:
    """Read the board."""
    assert req.principal is not None
    return board.get_board(session=req.session, principal=req.principal, query=req.query)


class ServiceList(BaseModel):
    """An appointment's line items."""

    items: list[schemas.ServiceOut]


@api.get(A + "/services", permission="appointments.read", response=ServiceList, summary="An appointment's services")
def list_services(req: Request) -> ServiceList:
    """List line items."""
    assert req.principal is not None
    return ServiceList(
        items=line_items.list_services(
            session=req.session, principal=req.principal, appointment_id=req.uuid_param("appointment_id")
        )
    )


@api.post(
    A + "/services",
    permission="appointment_services.write",
    body=schemas.ServiceIn,
    response=schemas.ServiceOut,
    summary="Add a service; the total follows",
)
def create_service(req: Request) -> Response:
    """Add a line item."""
    assert req.principal is not None
    out, version = line_items.create_service(
        session=req.session,
        principal=req.principal,
        appointment_id=req.uuid_param("appointment_id"),
        service_in=req.body,
        actor=audit.actor_of(req),
    )
    return with_etag(out, version, status=201)


@api.patch(
    A + "/services/{service_id}",
    permission="appointment_services.write",
    body=schemas.ServicePatch,
    response=schemas.ServiceOut,
    summary="Change a service (If-Match required); the total follows",
)
def update_service(req: Request) -> Response:
    """Change a line item."""
    assert req.principal is not None
    appointment_id, service_id = req.uuid_param("appointment_id"), req.uuid_param("service_id")
    expected = if_match(req)
    out, version = line_items.update_service(
        session=req.session,
        principal=req.principal,
        appointment_id=appointment_id,
        service_id=service_id,
        patch=req.body,
        expected=expected,
        actor=audit.actor_of(req),
    )
    return with_etag(out, version)


@api.delete(
    A + "/services/{service_id}", permission="appointment_services.write", summary="Remove a service; the total follows"
)
def delete_service(req: Request) -> None:
    """Remove a line item."""
    assert req.principal is not None
    line_items.delete_service(
        session=req.session,
        principal=req.principal,
        appointment_id=req.uuid_param("appointment_id"),
        service_id=req.uuid_param("service_id"),
        actor=audit.actor_of(req),
    )


class PaymentList(BaseModel):
    """An appointment's payments and voids."""

    items: list[schemas.PaymentOut]


@api.get(A + "/payments", permission="payments.read", response=PaymentList, summary="An appointment's payments")
def list_payments(req: Request) -> PaymentList:
    """List payments."""
    assert req.principal is not None
    return PaymentList(
        items=payments.list_payments(
            session=req.session, principal=req.principal, appointment_id=req.uuid_param("appointment_id")
        )
    )


@api.post(
    A + "/payments",
    permission="payments.record",
    body=schemas.PaymentIn,
    response=schemas.PaymentResult,
    summary="Record a payment (immutable); overpaying needs allow_overpayment",
)
def record_payment(req: Request) -> schemas.PaymentResult:
    """Record a payment."""
    assert req.principal is not None
    return payments.record(
        session=req.session,
        principal=req.principal,
        appointment_id=req.uuid_param("appointment_id"),
        payment_in=req.body,
        actor=audit.actor_of(req),
    )


@api.post(
    "v1/shop/payments/{payment_id}/void",
    permission="payments.void",
    body=schemas.VoidIn,
    response=schemas.PaymentResult,
    summary="Void a payment with a reversing entry",
)
def void_payment(req: Request) -> schemas.PaymentResult:
    """Void a payment."""
    assert req.principal is not None
    return payments.void(
        session=req.session,
        principal=req.principal,
        payment_id=req.uuid_param("payment_id"),
        void_in=req.body,
        actor=audit.actor_of(req),
    )


@api.get(
    "v1/shop/inspection-templates",
    permission="inspections.read",
    response=schemas.TemplateList,
    summary="Inspection templates",
)
def list_templates(req: Request) -> schemas.TemplateList:
    """List templates."""
    assert req.principal is not None
    return inspections.list_templates(session=req.session, principal=req.principal)


@api.post(
    "v1/shop/inspection-templates",
    permission="inspection_templates.manage",
    body=schemas.TemplateIn,
    response=schemas.TemplateOut,
    summary="Add an inspection template",
)
def create_template(req: Request) -> schemas.TemplateOut:
    """Create a template."""
    assert req.principal is not None
    return inspections.create_template(session=req.session, principal=req.principal, template_in=req.body)


@api.post(
    A + "/inspections",
    permission="inspections.write",
    body=schemas.ChecklistIn,
    response=schemas.ChecklistOut,
    summary="Start an inspection on an appointment",
)
def create_inspection(req: Request) -> schemas.ChecklistOut:
    """Start an inspection."""
    assert req.principal is not None
    return inspections.create_checklist(
        session=req.session,
        principal=req.principal,
        appointment_id=req.uuid_param("appointment_id"),
        checklist_in=req.body,
        actor=audit.actor_of(req),
    )


@api.get(
    "v1/shop/inspections/{checklist_id}",
    permission="inspections.read",
    response=schemas.ChecklistOut,
    summary="An inspection with its items",
)
def get_inspection(req: Request) -> schemas.ChecklistOut:
    """Read an inspection."""
    assert req.principal is not None
    return inspections.get_checklist(
        session=req.session, principal=req.principal, checklist_id=req.uuid_param("checklist_id")
    )


@api.patch(
    "v1/shop/inspections/{checklist_id}/items/{item_id}",
    permission="inspections.write",
    body=schemas.ItemPatch,
    response=schemas.ItemOut,
    summary="Record a finding (If-Match)",
)
def update_inspection_item(req: Request) -> Response:
    """Record a finding."""
    assert req.principal is not None
    checklist_id, item_id = req.uuid_param("checklist_id"), req.uuid_param("item_id")
    expected = if_match(req)
    out, version = inspections.update_item(
        session=req.session,
        principal=req.principal,
        checklist_id=checklist_id,
        item_id=item_id,
        patch=req.body,
        expected=expected,
    )
    return with_etag(out, version)


@api.post(
    "v1/shop/inspections/{checklist_id}/link",
    permission="inspections.send",
    status=200,
    body=schemas.LinkIn,
    response=schemas.ApprovalLink,
    summary="A signed customer link to approve or decline the recommended items",
)
def inspection_link(req: Request) -> schemas.ApprovalLink:
    """Issue an approval link."""
    assert req.principal is not None
    return inspections.approval_link(
        session=req.session,
        principal=req.principal,
        checklist_id=req.uuid_param("checklist_id"),
        ttl_hours=req.body.ttl_hours,
        actor=audit.actor_of(req),
    )


class ApprovalPageQuery(BaseModel):
    """Whether the page follows a submitted form."""

    saved: bool = False


class ApprovalForm(RootModel[dict[str, str]]):
    """The customer's form: item-<id> = approve | decline."""


APPROVAL = "v1/shop/inspection-approvals/{token}"


def _approval_path(req: Request) -> str:
    return f"/api/v1/shop/inspection-approvals/{req.route_params.get('token', '')}"


def _html_error(error: AppError) -> Response:
    return Response(error_page(error.detail), status=error.status, content_type=HTML, headers=html.HEADERS)


@api.get(
    APPROVAL,
    auth="anonymous",
    query=ApprovalPageQuery,
    content_type=HTML,
    responses=PAGE_ERRORS,
    summary="The customer's inspection approval page (signed link; HTML, no JavaScript)",
)
def approval_page(req: Request) -> Response:
    """Show the approval page."""
    try:
        page = inspections.render_for_customer(
            session=req.session,
            token=req.route_params.get("token", ""),
            action=_approval_path(req),
            saved=req.query.saved,
        )
    except AppError as error:
        return _html_error(error)
    return Response(page, content_type=HTML, headers=html.HEADERS)


@api.post(
    APPROVAL,
    auth="anonymous",
    status=303,
    body=ApprovalForm,
    body_format="form",
    max_body_bytes=65_536,
    content_type=HTML,
    responses=PAGE_ERRORS,
    summary="The customer's answers from the approval page",
)
def approval_answers(req: Request) -> Response:
    """Take the customer's answers, then show the page again."""
    try:
        inspections.record_answers(session=req.session, token=req.route_params.get("token", ""), form=req.body.root)
    except AppError as error:
        return _html_error(error)
    return Response(None, status=303, headers={"Location": _approval_path(req) + "?saved=true"})


@api.get("v1/shop/stats", permission="stats.read", response=schemas.Stats, summary="Dashboard figures (cached)")
def get_stats(req: Request) -> schemas.Stats:
    """Read the dashboard stats."""
    assert req.principal is not None
    return stats.get_stats(session=req.session, principal=req.principal)


def _csv(body: str, name: str) -> Response:
    return Response(
        body, content_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}.csv"'}
    )


@api.get(
    "v1/shop/exports/appointments",
    permission="exports.run",
    query=schemas.ExportQuery,
    content_type="text/csv",
    responses={429: "More than 5 exports this hour"},
    summary="Appointments of a date range as CSV (5 exports per user per hour)",
)
def export_appointments(req: Request) -> Response:
    """Export appointments."""
    assert req.principal is not None
    return _csv(exports.appointments_csv(session=req.session, principal=req.principal, query=req.query), "appointments")


@api.get(
    "v1/shop/exports/payments",
    permission="exports.run",
    query=schemas.ExportQuery,
    content_type="text/csv",
    responses={429: "More than 5 exports this hour"},
    summary="Payments of a date range as CSV (5 exports per user per hour)",
)
def export_payments(req: Request) -> Response:
    """Export payments."""
    assert req.principal is not None
    return _csv(exports.payments_csv(session=req.session, principal=req.principal, query=req.query), "payments")


@bp.timer_trigger(arg_name="timer", schedule="0 0 16 * * *", run_on_startup=False)
def shop_reminders(timer: func.TimerRequest) -> None:
    """Every afternoon (UTC): queue a text for each appointment tomorrow, once each however often this runs."""
    with invocation("shop_reminders"):
        ensure_started()
        count = texts.send_reminders()
        log.info("shop reminders queued: %d", count)
