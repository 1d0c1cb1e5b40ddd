"""Services (line items) under an appointment; the appointment's total is always the sum of their prices."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blueprints.shop.common import appointment_or_raise, bump_stats_version
from blueprints.shop.models import Appointment, AppointmentService
from blueprints.shop.schemas import ServiceIn, ServiceOut, ServicePatch
from blueprints.shop.transitions import Status
from shared import audit, clock
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.etag import check_version, flush_versioned


def _open_appointment(session: Session, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
    appointment = appointment_or_raise(session, principal.tenant_id, appointment_id, lock=True)
    if appointment.status == Status.COMPLETED:
        raise Conflict("A completed appointment's services cannot change", code="appointment_closed")
    return appointment


def _retotal(session: Session, appointment: Appointment) -> None:
    session.flush()
    total = session.scalar(
        select(func.coalesce(func.sum(AppointmentService.price_cents), 0)).where(
            AppointmentService.tenant_id == appointment.tenant_id, AppointmentService.appointment_id == appointment.id
        )
    )
    if appointment.total_cents != total:
        appointment.total_cents = int(total or 0)
        appointment.updated_at = clock.now()
    flush_versioned(session)
    bump_stats_version(session, appointment.tenant_id)


def _line_or_raise(session: Session, appointment: Appointment, service_id: uuid.UUID) -> AppointmentService:
    line = session.scalars(
        select(AppointmentService)
        .where(
            AppointmentService.id == service_id,
            AppointmentService.tenant_id == appointment.tenant_id,
            AppointmentService.appointment_id == appointment.id,
        )
        .with_for_update()
    ).first()
    if line is None:
        raise NotFound("No such service on this appointment")
    return line


def list_services(*, session: Session, principal: Principal, appointment_id: uuid.UUID) -> list[ServiceOut]:
    """The appointment's line items in the order they were added."""
    appointment = appointment_or_raise(session, principal.tenant_id, appointment_id)
    stmt = (
        select(AppointmentService)
        .where(
            AppointmentService.tenant_id == appointment.tenant_id, AppointmentService.appointment_id == appointment.id
        )
        .order_by(AppointmentService.created_at, AppointmentService.id)
    )
    return [ServiceOut.model_validate(s) for s in session.scalars(stmt)]


def create_service(
    *, session: Session, principal: Principal, appointment_id: uuid.UUID, service_in: ServiceIn, actor: audit.Actor
) -> tuple[ServiceOut, int]:
    """Add a line item; the total follows."""
    appointment = _open_appointment(session, principal, appointment_id)
    line = AppointmentService(
        id=uuid.uuid4(), tenant_id=appointment.tenant_id, appointment_id=appointment.id, **service_in.model_dump()
    )
    session.add(line)
    _retotal(session, appointment)
    out = ServiceOut.model_validate(line)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="appointment_services.created",
        entity="appointment",
        entity_id=appointment.id,
        after=audit.snapshot(out),
    )
    return out, line.version


def update_service(
    *,
    session: Session,
    principal: Principal,
    appointment_id: uuid.UUID,
    service_id: uuid.UUID,
    patch: ServicePatch,
    expected: frozenset[int] | None,
    actor: audit.Actor,
) -> tuple[ServiceOut, int]:
    """Change a line item (If-Match); the total follows."""
    appointment = _open_appointment(session, principal, appointment_id)
    line = _line_or_raise(session, appointment, service_id)
    check_version(line.version, expected)
    before = ServiceOut.model_validate(line)
    for name, value in patch.model_dump(exclude_unset=True).items():
        if name in ("name", "price_cents") and value is None:
            continue
        setattr(line, name, value)
    line.updated_at = clock.now()
    _retotal(session, appointment)
    out = ServiceOut.model_validate(line)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="appointment_services.updated",
        entity="appointment",
        entity_id=appointment.id,
        before=audit.snapshot(before),
        after=audit.snapshot(out),
    )
    return out, line.version


def delete_service(
    *, session: Session, principal: Principal, appointment_id: uuid.UUID, service_id: uuid.UUID, actor: audit.Actor
) -> None:
    """Remove a line item (its last values stay in the audit log); the total follows."""
    appointment = _open_appointment(session, principal, appointment_id)
    line = _line_or_raise(session, appointment, service_id)
    before = ServiceOut.model_validate(line)
    session.delete(line)
    _retotal(session, appointment)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="appointment_services.deleted",
        entity="appointment",
        entity_id=appointment.id,
        before=audit.snapshot(before),
    )
