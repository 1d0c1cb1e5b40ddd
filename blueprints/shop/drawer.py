"""The appointment drawer: everything about one appointment in a fixed number of SQL statements.

Relationships are lazy="raise"; the collections come through one selectinload each, the customer,
vehicle and technician through their modules' services, the history through the audit log and the
messages through the messaging service: about a dozen statements however many rows each holds.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from blueprints.crm import service as crm
from blueprints.identity import service as identity
from blueprints.shop.models import Appointment, InspectionChecklist
from blueprints.shop.schemas import (
    AppointmentOut,
    ChecklistOut,
    Drawer,
    HistoryEntry,
    PaymentOut,
    Person,
    ServiceOut,
)
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.pagination import PageQuery

HISTORY = 20
MESSAGES = 20


def drawer_statement(tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> Select:
    """The appointment with its services, payments and inspections eagerly loaded."""
    return select(Appointment).where(
        Appointment.id == appointment_id, Appointment.tenant_id == tenant_id, Appointment.deleted_at.is_(None),
    ).options(
        selectinload(Appointment.services), selectinload(Appointment.payments),
        selectinload(Appointment.checklists).selectinload(InspectionChecklist.items),
    )  # fmt: skip


def get_drawer(*, session: Session, principal: Principal, appointment_id: uuid.UUID) -> tuple[Drawer, int]:
    """One answer for the drawer, and the appointment's version for its ETag."""
    appointment = session.scalars(drawer_statement(principal.tenant_id, appointment_id)).first()
    if appointment is None:
        raise NotFound("No such appointment")
    drawer = Drawer(
        appointment=AppointmentOut.model_validate(appointment),
        customer=_customer(session, principal, appointment.customer_id),
        vehicle=_vehicle(session, principal, appointment.vehicle_id),
        tech=_tech(session, principal, appointment.tech_id),
        services=[ServiceOut.model_validate(s) for s in appointment.services],
        payments=[PaymentOut.model_validate(p) for p in appointment.payments],
        inspections=[ChecklistOut.model_validate(c) for c in appointment.checklists],
        messages=_messages(session, principal, appointment.customer_id),
        history=_history(session, principal, appointment.id),
    )
    return drawer, appointment.version


def _customer(session: Session, principal: Principal, customer_id: uuid.UUID) -> dict | None:
    try:
        customer, _ = crm.get_customer(session=session, principal=principal, customer_id=customer_id)
    except NotFound:  # deleted since, or hidden from this role: the drawer still opens
        return None
    return customer.model_dump(mode="json")


def _vehicle(session: Session, principal: Principal, vehicle_id: uuid.UUID | None) -> dict | None:
    if vehicle_id is None:
        return None
    try:
        vehicle, _ = crm.get_vehicle(session=session, principal=principal, vehicle_id=vehicle_id)
    except NotFound:
        return None
    return vehicle.model_dump(mode="json")


def _tech(session: Session, principal: Principal, tech_id: uuid.UUID | None) -> Person | None:
    user = identity.get_user(session=session, principal=principal, user_id=tech_id) if tech_id else None
    return Person(id=user.id, name=user.name) if user else None


def _history(session: Session, principal: Principal, appointment_id: uuid.UUID) -> list[HistoryEntry]:
    rows, _ = audit.list_entries(session, tenant_id=principal.tenant_id, query=PageQuery(limit=HISTORY),
                                 entity="appointment", entity_id=str(appointment_id))  # fmt: skip
    return [HistoryEntry.model_validate(r) for r in rows]


def _messages(session: Session, principal: Principal, customer_id: uuid.UUID) -> list[dict]:
    from blueprints.messaging import service as messaging

    thread = messaging.list_thread(session=session, tenant_id=principal.tenant_id, customer_id=customer_id,
                                   limit=MESSAGES)  # fmt: skip
    return [m.model_dump(mode="json") for m in thread]
