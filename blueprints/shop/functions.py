"""Shop triggers: appointments, board, services, payments, inspections, stats, exports, reminders."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import azure.durable_functions as df
from pydantic import BaseModel, RootModel

from blueprints.shop import schemas
from shared import customer_pages, html, lazy
from shared.errors import AppError
from shared.etag import if_match, with_etag
from shared.http import Request, Response, Router, UserRequest
from shared.triggers import timer_handler

if TYPE_CHECKING:
    from blueprints.shop import appointments, board, drawer, exports, inspections, line_items, payments, stats, texts
    from blueprints.shop.approval import error_page
else:  # loaded on first use (shared/lazy.py): indexing needs only the schemas
    appointments = lazy.module("blueprints.shop.appointments")
    board = lazy.module("blueprints.shop.board")
    drawer = lazy.module("blueprints.shop.drawer")
    exports = lazy.module("blueprints.shop.exports")
    inspections = lazy.module("blueprints.shop.inspections")
    line_items = lazy.module("blueprints.shop.line_items")
    payments = lazy.module("blueprints.shop.payments")
    stats = lazy.module("blueprints.shop.stats")
    texts = lazy.module("blueprints.shop.texts")
    error_page = lazy.function("blueprints.shop.approval", "error_page")

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
def list_appointments(req: UserRequest[None, schemas.CalendarQuery]) -> schemas.AppointmentList:
    """List a window of the calendar."""
    return appointments.list_calendar(**req.reads, query=req.query)


@api.post(
    "v1/shop/appointments",
    permission="appointments.write",
    body=schemas.AppointmentIn,
    response=schemas.AppointmentOut,
    responses={409: "The technician is already booked then"},
    summary="Book an appointment",
)
def create_appointment(req: UserRequest[schemas.AppointmentIn, None]) -> Response:
    """Create an appointment."""
    out, version = appointments.create(**req.writes, appointment_in=req.body)
    return with_etag(out, version, status=201)


@api.get(
    A,
    permission="appointments.read",
    response=schemas.Drawer,
    summary="The drawer: the appointment with everything about it in one answer",
)
def get_appointment(req: UserRequest) -> Response:
    """Open the drawer."""
    out, version = drawer.get_drawer(**req.reads, appointment_id=req.uuid_param("appointment_id"))
    return with_etag(out, version)


@api.patch(
    A,
    permission="appointments.write",
    body=schemas.AppointmentPatch,
    response=schemas.AppointmentOut,
    summary="Change an appointment (If-Match required)",
)
def update_appointment(req: UserRequest[schemas.AppointmentPatch, None]) -> Response:
    """Change an appointment."""
    appointment_id = req.uuid_param("appointment_id")
    expected = if_match(req)
    out, version = appointments.update(**req.writes, appointment_id=appointment_id, patch=req.body, expected=expected)
    return with_etag(out, version)


@api.delete(A, permission="appointments.delete", summary="Delete an appointment (soft)")
def delete_appointment(req: UserRequest) -> None:
    """Soft-delete an appointment."""
    appointments.delete(**req.writes, appointment_id=req.uuid_param("appointment_id"))


@api.patch(
    A + "/move",
    permission="board.move",
    body=schemas.MoveIn,
    query=schemas.RangeQuery,
    response=schemas.AppointmentOut,
    summary="Move a card: new status and/or place in its column",
)
def move_appointment(req: UserRequest[schemas.MoveIn, schemas.RangeQuery]) -> schemas.AppointmentOut:
    """Move a card on the board."""
    return board.move(**req.writes, appointment_id=req.uuid_param("appointment_id"), move_in=req.body, query=req.query)


@api.get(
    "v1/shop/board",
    permission="board.read",
    query=schemas.RangeQuery,
    response=schemas.Board,
    summary="The status board: columns with counts and sums, cards in order",
)
def get_board(req: UserRequest[None, schemas.RangeQuery]) -> schemas.Board:
    """Read the board."""
    return board.get_board(**req.reads, query=req.query)


class ServiceList(BaseModel):
    """An appointment's line items."""

    items: list[schemas.ServiceOut]


@api.get(A + "/services", permission="appointments.read", response=ServiceList, summary="An appointment's services")
def list_services(req: UserRequest) -> ServiceList:
    """List line items."""
    return ServiceList(items=line_items.list_services(**req.reads, appointment_id=req.uuid_param("appointment_id")))


@api.post(
    A + "/services",
    permission="appointment_services.write",
    body=schemas.ServiceIn,
    response=schemas.ServiceOut,
    summary="Add a service; the total follows",
)
def create_service(req: UserRequest[schemas.ServiceIn, None]) -> Response:
    """Add a line item."""
    out, version = line_items.create_service(
        **req.writes, appointment_id=req.uuid_param("appointment_id"), service_in=req.body
    )
    return with_etag(out, version, status=201)


@api.patch(
    A + "/services/{service_id}",
    permission="appointment_services.write",
    body=schemas.ServicePatch,
    response=schemas.ServiceOut,
    summary="Change a service (If-Match required); the total follows",
)
def update_service(req: UserRequest[schemas.ServicePatch, None]) -> Response:
    """Change a line item."""
    appointment_id, service_id = req.uuid_param("appointment_id"), req.uuid_param("service_id")
    expected = if_match(req)
    out, version = line_items.update_service(
        **req.writes, appointment_id=appointment_id, service_id=service_id, patch=req.body, expected=expected
    )
    return with_etag(out, version)


@api.delete(
    A + "/services/{service_id}", permission="appointment_services.write", summary="Remove a service; the total follows"
)
def delete_service(req: UserRequest) -> None:
    """Remove a line item."""
    line_items.delete_service(
        **req.writes, appointment_id=req.uuid_param("appointment_id"), service_id=req.uuid_param("service_id")
    )


class PaymentList(BaseModel):
    """An appointment's payments and voids."""

    items: list[schemas.PaymentOut]


@api.get(A + "/payments", permission="payments.read", response=PaymentList, summary="An appointment's payments")
def list_payments(req: UserRequest) -> PaymentList:
    """List payments."""
    return PaymentList(items=payments.list_payments(**req.reads, appointment_id=req.uuid_param("appointment_id")))


@api.post(
    A + "/payments",
    permission="payments.record",
    body=schemas.PaymentIn,
    response=schemas.PaymentResult,
    summary="Record a payment (immutable); overpaying needs allow_overpayment",
)
def record_payment(req: UserRequest[schemas.PaymentIn, None]) -> schemas.PaymentResult:
    """Record a payment."""
    return payments.record(**req.writes, appointment_id=req.uuid_param("appointment_id"), payment_in=req.body)


@api.post(
    "v1/shop/payments/{payment_id}/void",
    permission="payments.void",
    body=schemas.VoidIn,
    response=schemas.PaymentResult,
    summary="Void a payment with a reversing entry",
)
def void_payment(req: UserRequest[schemas.VoidIn, None]) -> schemas.PaymentResult:
    """Void a payment."""
    return payments.void(**req.writes, payment_id=req.uuid_param("payment_id"), void_in=req.body)


@api.get(
    "v1/shop/inspection-templates",
    permission="inspections.read",
    response=schemas.TemplateList,
    summary="Inspection templates",
)
def list_templates(req: UserRequest) -> schemas.TemplateList:
    """List templates."""
    return inspections.list_templates(**req.reads)


@api.post(
    "v1/shop/inspection-templates",
    permission="inspection_templates.manage",
    body=schemas.TemplateIn,
    response=schemas.TemplateOut,
    summary="Add an inspection template",
)
def create_template(req: UserRequest[schemas.TemplateIn, None]) -> schemas.TemplateOut:
    """Create a template."""
    return inspections.create_template(**req.reads, template_in=req.body)


@api.post(
    A + "/inspections",
    permission="inspections.write",
    body=schemas.ChecklistIn,
    response=schemas.ChecklistOut,
    summary="Start an inspection on an appointment",
)
def create_inspection(req: UserRequest[schemas.ChecklistIn, None]) -> schemas.ChecklistOut:
    """Start an inspection."""
    return inspections.create_checklist(
        **req.writes, appointment_id=req.uuid_param("appointment_id"), checklist_in=req.body
    )


@api.get(
    "v1/shop/inspections/{checklist_id}",
    permission="inspections.read",
    response=schemas.ChecklistOut,
    summary="An inspection with its items",
)
def get_inspection(req: UserRequest) -> schemas.ChecklistOut:
    """Read an inspection."""
    return inspections.get_checklist(**req.reads, checklist_id=req.uuid_param("checklist_id"))


@api.patch(
    "v1/shop/inspections/{checklist_id}/items/{item_id}",
    permission="inspections.write",
    body=schemas.ItemPatch,
    response=schemas.ItemOut,
    summary="Record a finding (If-Match)",
)
def update_inspection_item(req: UserRequest[schemas.ItemPatch, None]) -> Response:
    """Record a finding."""
    checklist_id, item_id = req.uuid_param("checklist_id"), req.uuid_param("item_id")
    expected = if_match(req)
    out, version = inspections.update_item(
        **req.reads, checklist_id=checklist_id, item_id=item_id, patch=req.body, expected=expected
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
def inspection_link(req: UserRequest[schemas.LinkIn, None]) -> schemas.ApprovalLink:
    """Issue an approval link."""
    return inspections.approval_link(
        **req.writes, checklist_id=req.uuid_param("checklist_id"), ttl_hours=req.body.ttl_hours
    )


class ApprovalPageQuery(BaseModel):
    """Whether the page follows a submitted form."""

    saved: bool = False


class ApprovalForm(RootModel[dict[str, str]]):
    """The customer's form: item-<id> = approve | decline."""


APPROVAL = "v1/shop/inspection-approvals/{token}"


def _refused(error: AppError) -> str:
    return error_page(error.detail)


@api.get(
    APPROVAL,
    auth="anonymous",
    query=ApprovalPageQuery,
    content_type=HTML,
    responses=PAGE_ERRORS,
    summary="The customer's inspection approval page (signed link; HTML, no JavaScript)",
)
def approval_page(req: Request[None, ApprovalPageQuery]) -> Response:
    """Show the approval page."""
    token, action, saved = customer_pages.token_of(req), customer_pages.token_path(req, APPROVAL), req.query.saved
    return customer_pages.page(
        lambda: inspections.render_for_customer(session=req.session, token=token, action=action, saved=saved),
        _refused,
    )


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
def approval_answers(req: Request[ApprovalForm, None]) -> Response:
    """Take the customer's answers, then show the page again."""
    token, form = customer_pages.token_of(req), req.body.root
    return customer_pages.answered(
        lambda: inspections.record_answers(session=req.session, token=token, form=form),
        _refused,
        customer_pages.token_path(req, APPROVAL) + "?saved=true",
    )


@api.get("v1/shop/stats", permission="stats.read", response=schemas.Stats, summary="Dashboard figures (cached)")
def get_stats(req: UserRequest) -> schemas.Stats:
    """Read the dashboard stats."""
    return stats.get_stats(**req.reads)


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
def export_appointments(req: UserRequest[None, schemas.ExportQuery]) -> Response:
    """Export appointments."""
    return _csv(exports.appointments_csv(**req.reads, query=req.query), "appointments")


@api.get(
    "v1/shop/exports/payments",
    permission="exports.run",
    query=schemas.ExportQuery,
    content_type="text/csv",
    responses={429: "More than 5 exports this hour"},
    summary="Payments of a date range as CSV (5 exports per user per hour)",
)
def export_payments(req: UserRequest[None, schemas.ExportQuery]) -> Response:
    """Export payments."""
    return _csv(exports.payments_csv(**req.reads, query=req.query), "payments")


@timer_handler(bp, schedule="0 0 16 * * *")
def shop_reminders() -> str:
    """Every afternoon (UTC): queue a text for each appointment tomorrow, once each however often this runs."""
    return f"queued {texts.send_reminders()} reminders"
