"""The appointment drawer: everything about one appointment in one SQL statement.

Relationships are lazy="raise". The statement reads the appointment joined to its customer, vehicle and
technician (read-only projections, see directory.py) and carries each collection as one JSON array
column (shared.db.json_rows): services, payments, inspections and their items, the customer's last
messages (a select the messaging service publishes) and the appointment's recent history (one the
audit log publishes). One round trip however many rows each holds; pydantic then checks every part
against the same response models the other endpoints use.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, String, and_, bindparam, select
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import Session

from blueprints.crm.schemas import CustomerOut, VehicleOut
from blueprints.messaging import service as messaging
from blueprints.messaging.schemas import MessageOut
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
from shared.db import json_rows
from shared.errors import NotFound

HISTORY = 20
MESSAGES = 20


_C = [c.label(f"c_{c.name}") for c in directory.customers.c if c.name not in ("tenant_id", "deleted_at")]
_V = [c.label(f"v_{c.name}") for c in directory.vehicles.c if c.name != "deleted_at"]


def _columns(table: Any, model: type[BaseModel], *extra: str) -> list[Any]:
    return [table.c[name] for name in (*model.model_fields, *extra) if name in table.c]


@cache
def drawer_statement() -> Select:
    """The appointment with its customer, vehicle and technician, and every collection as a JSON column.

    Built once (composing seven subqueries costs more Python than the database spends answering them);
    run with the parameters tenant_id and appointment_id.
    """
    tenant_id = bindparam("tenant_id", type_=PgUUID(as_uuid=True))
    appointment_id = bindparam("appointment_id", type_=PgUUID(as_uuid=True))
    entity_id = bindparam("entity_id", type_=String)

    a, c, v, u = Appointment.__table__, directory.customers, directory.vehicles, directory.users
    services, payments = AppointmentService.__table__, Payment.__table__
    checklists, items = InspectionChecklist.__table__, InspectionItem.__table__

    def of_appointment(table: Any, model: type[BaseModel]) -> Select:
        where = (table.c.tenant_id == tenant_id, table.c.appointment_id == appointment_id)
        return select(*_columns(table, model)).where(*where)

    checklist_ids = of_appointment(checklists, ChecklistOut).with_only_columns(checklists.c.id)
    items_of_checklists = select(*_columns(items, ItemOut, "checklist_id")).where(
        items.c.tenant_id == tenant_id, items.c.checklist_id.in_(checklist_ids)
    )
    customer_id = select(a.c.customer_id).where(a.c.id == appointment_id).scalar_subquery()
    thread = messaging.recent_thread(tenant_id=tenant_id, customer_id=customer_id, limit=MESSAGES)
    history = audit.recent_entries(tenant_id=tenant_id, entity="appointment", entity_id=entity_id, limit=HISTORY)
    return (
        select(
            *_columns(a, AppointmentOut, "version"),
            *_C,
            *_V,
            u.c.id.label("tech_id_"),
            u.c.name.label("tech_name"),
            json_rows(of_appointment(services, ServiceOut), "created_at", "id").label("services"),
            json_rows(of_appointment(payments, PaymentOut), "created_at", "id").label("payments"),
            json_rows(of_appointment(checklists, ChecklistOut), "created_at", "id").label("checklists"),
            json_rows(items_of_checklists, "position", "id").label("items"),
            json_rows(thread, "created_at", "id").label("messages"),
            json_rows(history, "-created_at", "-id").label("history"),
        )
        .select_from(a)
        .outerjoin(c, and_(c.c.id == a.c.customer_id, c.c.deleted_at.is_(None)))
        .outerjoin(v, and_(v.c.id == a.c.vehicle_id, v.c.deleted_at.is_(None)))
        .outerjoin(u, u.c.id == a.c.tech_id)
        .where(a.c.id == appointment_id, a.c.tenant_id == tenant_id, a.c.deleted_at.is_(None))
    )


PartT = TypeVar("PartT", bound=BaseModel)


def _part(row: Any, prefix: str, model: type[PartT]) -> PartT | None:
    values = {k.removeprefix(prefix): v for k, v in row.items() if isinstance(k, str) and k.startswith(prefix)}
    return None if values.get("id") is None else model.model_validate(values)


def get_drawer(*, session: Session, principal: Principal, appointment_id: uuid.UUID) -> tuple[Drawer, int]:
    """One answer for the drawer, and the appointment's version for its ETag."""
    params = {"tenant_id": principal.tenant_id, "appointment_id": appointment_id, "entity_id": str(appointment_id)}
    found = session.execute(drawer_statement(), params).first()
    if found is None:
        raise NotFound("No such appointment")
    row = found._mapping
    checklists = row["checklists"]
    by_checklist: dict[str, list[ItemOut]] = {}
    for item in row["items"]:
        by_checklist.setdefault(item["checklist_id"], []).append(ItemOut.model_validate(item))
    drawer = Drawer(
        appointment=AppointmentOut.model_validate(row),
        customer=_part(row, "c_", CustomerOut),
        vehicle=_part(row, "v_", VehicleOut),
        tech=Person(id=row["tech_id_"], name=row["tech_name"]) if row["tech_id_"] else None,
        services=[ServiceOut.model_validate(r) for r in row["services"]],
        payments=[PaymentOut.model_validate(r) for r in row["payments"]],
        inspections=[ChecklistOut.model_validate({**c, "items": by_checklist.get(c["id"], [])}) for c in checklists],
        messages=[MessageOut.model_validate(m) for m in row["messages"]],
        history=[HistoryEntry.model_validate(h) for h in row["history"]],
    )
    return drawer, row["version"]
