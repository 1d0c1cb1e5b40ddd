"""Appointments: the calendar, booking, changing and soft-deleting; a technician is never double-booked."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.crm import service as crm
from blueprints.identity import service as identity
from blueprints.shop.common import appointment_or_raise, bump_stats_version, check_tech_free, flush_booking
from blueprints.shop.models import Appointment
from blueprints.shop.schemas import AppointmentIn, AppointmentList, AppointmentOut, AppointmentPatch, CalendarQuery
from blueprints.shop.transitions import Status
from shared import audit, clock
from shared.auth import Principal
from shared.errors import NotFound, Unprocessable
from shared.etag import check_version

ENTITY = "appointment"


def start_position(appointment: Appointment) -> float:
    """A new card's place in its column: its start in minutes, so a fresh column reads in time order."""
    return appointment.starts_at.timestamp() / 60.0


def _check_refs(
    session: Session,
    principal: Principal,
    *,
    customer_id: uuid.UUID,
    vehicle_id: uuid.UUID | None,
    tech_id: uuid.UUID | None,
) -> None:
    try:
        crm.get_customer(session=session, principal=principal, customer_id=customer_id)
    except NotFound:
        raise Unprocessable("customer_id names no customer of this business", code="unknown_customer") from None
    if vehicle_id is not None:
        try:
            vehicle, _ = crm.get_vehicle(session=session, principal=principal, vehicle_id=vehicle_id)
        except NotFound:
            vehicle = None
        if vehicle is None or vehicle.customer_id != customer_id:
            raise Unprocessable("vehicle_id names no vehicle of this customer", code="unknown_vehicle")
    if tech_id is not None and not identity.user_ids_in_tenant(
        session=session, principal=principal, user_ids=[tech_id]
    ):
        raise Unprocessable("tech_id names no person of this business", code="unknown_tech")


def list_calendar(*, session: Session, principal: Principal, query: CalendarQuery) -> AppointmentList:
    """Live appointments overlapping the window, by start time, optionally one technician's."""
    stmt = (
        select(Appointment)
        .where(
            Appointment.tenant_id == principal.tenant_id,
            Appointment.deleted_at.is_(None),
            Appointment.starts_at < query.to,
            Appointment.ends_at > query.from_,
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(2000)
    )
    if query.tech_id:
        stmt = stmt.where(Appointment.tech_id == query.tech_id)
    return AppointmentList(items=[AppointmentOut.model_validate(a) for a in session.scalars(stmt)])


def create(
    *, session: Session, principal: Principal, appointment_in: AppointmentIn, actor: audit.Actor
) -> tuple[AppointmentOut, int]:
    """Book a car in (SCHEDULED); 409 naming the clash when the technician is busy then."""
    _check_refs(
        session,
        principal,
        customer_id=appointment_in.customer_id,
        vehicle_id=appointment_in.vehicle_id,
        tech_id=appointment_in.tech_id,
    )
    check_tech_free(
        session,
        tenant_id=principal.tenant_id,
        tech_id=appointment_in.tech_id,
        starts_at=appointment_in.starts_at,
        ends_at=appointment_in.ends_at,
        status=Status.SCHEDULED,
    )
    appointment = Appointment(
        id=uuid.uuid4(),
        tenant_id=principal.tenant_id,
        status=Status.SCHEDULED.value,
        created_by=principal.user_id,
        total_cents=0,
        paid_cents=0,
        **appointment_in.model_dump(),
    )
    appointment.position = start_position(appointment)
    session.add(appointment)
    flush_booking(session)
    out = AppointmentOut.model_validate(appointment)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="appointments.created",
        entity=ENTITY,
        entity_id=appointment.id,
        after=audit.snapshot(out),
    )
    bump_stats_version(session, principal.tenant_id)
    return out, appointment.version


def get(*, session: Session, principal: Principal, appointment_id: uuid.UUID) -> tuple[AppointmentOut, int]:
    """One live appointment and its version."""
    appointment = appointment_or_raise(session, principal.tenant_id, appointment_id)
    return AppointmentOut.model_validate(appointment), appointment.version


def update(
    *,
    session: Session,
    principal: Principal,
    appointment_id: uuid.UUID,
    patch: AppointmentPatch,
    expected: frozenset[int] | None,
    actor: audit.Actor,
) -> tuple[AppointmentOut, int]:
    """Change times, technician, vehicle or notes (412 when stale, 409 when the technician is busy)."""
    appointment = appointment_or_raise(session, principal.tenant_id, appointment_id, lock=True)
    check_version(appointment.version, expected)
    changes = patch.model_dump(exclude_unset=True)
    starts_at = changes.get("starts_at", appointment.starts_at)
    ends_at = changes.get("ends_at", appointment.ends_at)
    if ends_at <= starts_at:
        raise Unprocessable("ends_at must be after starts_at", code="invalid_range")
    tech_id = changes.get("tech_id", appointment.tech_id)
    _check_refs(
        session,
        principal,
        customer_id=appointment.customer_id,
        vehicle_id=changes.get("vehicle_id", appointment.vehicle_id),
        tech_id=tech_id,
    )
    check_tech_free(
        session,
        tenant_id=principal.tenant_id,
        tech_id=tech_id,
        starts_at=starts_at,
        ends_at=ends_at,
        status=appointment.status,
        ignore_id=appointment.id,
    )
    before = AppointmentOut.model_validate(appointment)
    for name, value in changes.items():
        setattr(appointment, name, value)
    appointment.updated_at = clock.now()
    flush_booking(session)
    after = AppointmentOut.model_validate(appointment)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="appointments.updated",
        entity=ENTITY,
        entity_id=appointment.id,
        before={k: v for k, v in audit.snapshot(before).items() if k in changes},
        after={k: v for k, v in audit.snapshot(after).items() if k in changes},
    )
    bump_stats_version(session, principal.tenant_id)
    return after, appointment.version


def delete(*, session: Session, principal: Principal, appointment_id: uuid.UUID, actor: audit.Actor) -> None:
    """Soft-delete: gone from calendar, board and stats; the row, its payments and history are kept."""
    appointment = appointment_or_raise(session, principal.tenant_id, appointment_id, lock=True)
    before = AppointmentOut.model_validate(appointment)
    appointment.deleted_at = clock.now()
    flush_booking(session)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="appointments.deleted",
        entity=ENTITY,
        entity_id=appointment.id,
        before=audit.snapshot(before),
    )
    bump_stats_version(session, principal.tenant_id)
