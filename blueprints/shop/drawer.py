"""The appointment drawer: everything about one appointment in a fixed number of SQL statements.

Relationships are lazy="raise". One statement reads the appointment with its customer, vehicle and
technician (read-only projections, see directory.py); the collections come through one plain Core
select each (no identity map: the drawer only reads, and ORM loading was most of its time), the
history through the audit log and the messages through the messaging service: eight statements
however many rows each holds.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, Table, and_, select
from sqlalchemy.orm import Session

from blueprints.crm.schemas import CustomerOut, VehicleOut
from blueprints.shop import directory
from blueprints.shop.models import Appointment, AppointmentService, InspectionChecklist, InspectionItem, Payment
from blueprints.shop.schemas import (
    AppointmentOut,
    ChecklistOut,
    Drawer,
    HistoryEntry,
    ItemOut,
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


_C = [c.label(f"c_{c.name}") for c in directory.customers.c if c.name not in ("tenant_id", "deleted_at")]
_V = [c.label(f"v_{c.name}") for c in directory.vehicles.c if c.name != "deleted_at"]


def drawer_statement(tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> Select:
    """The appointment with its customer, vehicle and technician, and its collections eagerly loaded."""
    c, v, u = directory.customers, directory.vehicles, directory.users
    return (
        select(Appointment, *_C, *_V, u.c.id.label("tech_id"), u.c.name.label("tech_name"))
        .outerjoin(c, and_(c.c.id == Appointment.customer_id, c.c.deleted_at.is_(None)))
        .outerjoin(v, and_(v.c.id == Appointment.vehicle_id, v.c.deleted_at.is_(None)))
        .outerjoin(u, u.c.id == Appointment.tech_id)
        .where(Appointment.id == appointment_id, Appointment.tenant_id == tenant_id, Appointment.deleted_at.is_(None))
    )


def _part(row: Any, prefix: str, model: type[BaseModel]) -> dict[str, Any] | None:
    values = {k.removeprefix(prefix): v for k, v in row._mapping.items() if isinstance(k, str) and k.startswith(prefix)}
    return None if values.get("id") is None else model.model_validate(values).model_dump(mode="json")


def get_drawer(*, session: Session, principal: Principal, appointment_id: uuid.UUID) -> tuple[Drawer, int]:
    """One answer for the drawer, and the appointment's version for its ETag."""
    row = session.execute(drawer_statement(principal.tenant_id, appointment_id)).first()
    if row is None:
        raise NotFound("No such appointment")
    appointment = row[0]
    drawer = Drawer(
        appointment=AppointmentOut.model_validate(appointment),
        customer=_part(row, "c_", CustomerOut),
        vehicle=_part(row, "v_", VehicleOut),
        tech=Person(id=row.tech_id, name=row.tech_name) if row.tech_id else None,
        services=[ServiceOut.model_validate(r) for r in _rows(session, AppointmentService.__table__,
                  AppointmentService.appointment_id == appointment.id, AppointmentService.created_at)],
        payments=[PaymentOut.model_validate(r) for r in _rows(session, Payment.__table__,
                  Payment.appointment_id == appointment.id, Payment.created_at)],
        inspections=_checklists(session, appointment.id),
        messages=_messages(session, principal, appointment.customer_id),
        history=_history(session, principal, appointment.id),
    )
    return drawer, appointment.version


def _rows(session: Session, table: Table, where: ColumnElement[bool], first_key: Any) -> list[dict[str, Any]]:
    """One collection as plain dicts, ordered like its relationship (first key, then id)."""
    query = select(table).where(where).order_by(first_key, table.c.id)
    return [dict(row) for row in session.execute(query).mappings()]


def _checklists(session: Session, appointment_id: uuid.UUID) -> list[ChecklistOut]:
    """The appointment's inspections with their items: two statements however many of each."""
    checklists = _rows(session, InspectionChecklist.__table__,
                       InspectionChecklist.appointment_id == appointment_id, InspectionChecklist.created_at)
    # An IN over the checklist ids uses the item index whatever the planner's statistics, and still runs
    # (as one statement) when there are none, so the drawer's statement count stays fixed.
    items = session.execute(
        select(InspectionItem.__table__)
        .where(InspectionItem.checklist_id.in_([c["id"] for c in checklists]))
        .order_by(InspectionItem.position, InspectionItem.id)
    ).mappings()  # fmt: skip
    by_checklist: dict[uuid.UUID, list[ItemOut]] = {c["id"]: [] for c in checklists}
    for item in items:
        by_checklist[item["checklist_id"]].append(ItemOut.model_validate(dict(item)))
    return [ChecklistOut.model_validate({**c, "items": by_checklist[c["id"]]}) for c in checklists]


def _history(session: Session, principal: Principal, appointment_id: uuid.UUID) -> list[HistoryEntry]:
    rows, _ = audit.list_entries(session, tenant_id=principal.tenant_id, query=PageQuery(limit=HISTORY),
                                 entity="appointment", entity_id=str(appointment_id))  # fmt: skip
    return [HistoryEntry.model_validate(r) for r in rows]


def _messages(session: Session, principal: Principal, customer_id: uuid.UUID) -> list[dict]:
    from blueprints.messaging import service as messaging

    thread = messaging.list_thread(session=session, tenant_id=principal.tenant_id, customer_id=customer_id,
                                   limit=MESSAGES)  # fmt: skip
    return [m.model_dump(mode="json") for m in thread]
