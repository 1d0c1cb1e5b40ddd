"""A demo status board for the local demo business (`make seed`): a dozen appointments today; safe to run again."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blueprints.crm import service as crm
from blueprints.crm.schemas import CustomerQuery
from blueprints.identity import service as identity
from blueprints.shop import appointments, board, inspections, line_items, payments
from blueprints.shop.models import Appointment
from blueprints.shop.schemas import (
    AppointmentIn,
    ChecklistIn,
    ItemPatch,
    MoveIn,
    PaymentIn,
    RangeQuery,
    ServiceIn,
)
from shared import audit, clock
from shared.auth import Principal
from shared.db import session_scope
from shared.pagination import PageQuery

# (moves after booking, services (name, cents), paid cents, with the tech)
PLAN: tuple[tuple[tuple[str, ...], tuple[tuple[str, int], ...], int, bool], ...] = (
    ((), (("Oil change", 6_900),), 0, True),
    ((), (("Brake inspection", 0), ("Front pads", 18_000)), 0, False),
    ((), (("Tyre rotation", 4_000),), 0, False),
    (("IN_PROGRESS",), (("Timing belt", 64_000),), 20_000, True),
    (("IN_PROGRESS",), (("A/C recharge", 15_000),), 0, False),
    (("IN_PROGRESS",), (("Diagnostics", 12_000),), 0, False),
    (("IN_PROGRESS", "READY"), (("Battery", 21_000),), 21_000, True),
    (("IN_PROGRESS", "READY"), (("Alignment", 9_900), ("Wipers", 3_500)), 5_000, False),
    (("IN_PROGRESS", "READY", "COMPLETED"), (("State inspection", 2_500),), 2_500, True),
    (("IN_PROGRESS", "READY", "COMPLETED"), (("Coolant flush", 11_000),), 11_000, False),
    (("NO_SHOW",), (("Oil change", 6_900),), 0, False),
    (("CANCELED",), (("Transmission service", 28_000),), 0, False),
)


def _targets(session: Session, principal: Principal) -> list[tuple[object, object | None]]:
    customers = crm.list_customers(session=session, principal=principal, query=CustomerQuery(limit=50)).items
    out = []
    for customer in customers:
        vehicles = crm.list_vehicles(
            session=session, principal=principal, customer_id=customer.id, query=PageQuery(limit=5)
        ).items
        out.append((customer, vehicles[0] if vehicles else None))
    return out


def _book(session: Session, owner: Principal, index: int, target: tuple, start: datetime, tech: bool) -> object:
    customer, vehicle = target
    moves, services, paid, _ = PLAN[index]
    actor = audit.Actor(user_id=owner.user_id)
    body = AppointmentIn(
        customer_id=customer.id,
        vehicle_id=vehicle.id if vehicle else None,
        tech_id=identity.demo_user_id("tech") if tech else None,
        starts_at=start,
        ends_at=start + timedelta(minutes=45),
        title=services[0][0],
    )
    out, _ = appointments.create(session=session, principal=owner, appointment_in=body, actor=actor)
    for name, cents in services:
        line_items.create_service(
            session=session,
            principal=owner,
            appointment_id=out.id,
            actor=actor,
            service_in=ServiceIn(name=name, price_cents=cents),
        )
    if paid:
        payments.record(
            session=session,
            principal=owner,
            appointment_id=out.id,
            actor=actor,
            payment_in=PaymentIn(amount_cents=paid, method="card"),
        )
    for status in moves:
        extra = {"canceled_by": "customer", "reason": "Customer rescheduled"} if status == "CANCELED" else {}
        board.move(
            session=session,
            principal=owner,
            appointment_id=out.id,
            query=RangeQuery(),
            actor=actor,
            move_in=MoveIn(status=status, **extra),
        )
    return out


def _inspect(session: Session, owner: Principal, appointment_id: object) -> None:
    actor = audit.Actor(user_id=owner.user_id)
    checklist = inspections.create_checklist(
        session=session,
        principal=owner,
        appointment_id=appointment_id,
        actor=actor,
        checklist_in=ChecklistIn(
            title="Multi-point inspection", labels=["Brake pads", "Tyres", "Wiper blades", "Lights"]
        ),
    )
    findings = [
        ItemPatch(status="urgent", recommended=True, estimate_cents=18_000, notes="3 mm front"),
        ItemPatch(status="ok"),
        ItemPatch(status="attention", recommended=True, estimate_cents=3_500),
    ]
    for item, finding in zip(checklist.items, findings, strict=False):
        inspections.update_item(
            session=session, principal=owner, checklist_id=checklist.id, item_id=item.id, patch=finding, expected=None
        )


def seed_shop() -> str:
    """Book a dozen appointments today across every status, with services, payments and one inspection."""
    with session_scope(tenant_id=identity.DEMO_TENANT_ID) as session:
        owner = identity.principal_for_user(session=session, user_id=identity.demo_user_id("owner"))
        if owner is None:
            return "no demo tenant yet; run the identity step first"
        existing = session.scalar(select(func.count()).select_from(Appointment))
        if existing:
            return f"demo appointments exist ({existing})"
        targets = _targets(session, owner)
        if not targets:
            return "no demo customers yet; run the crm step first"
        tenant, _ = identity.get_tenant(session=session, principal=owner)
        zone = ZoneInfo(tenant.timezone)
        day = datetime.combine(clock.now().astimezone(zone).date(), datetime.min.time(), zone)
        booked = [
            _book(session, owner, i, targets[i % len(targets)], day + timedelta(hours=8, minutes=45 * i), PLAN[i][3])
            for i in range(len(PLAN))
        ]
        _inspect(session, owner, booked[3].id)
    return f"{len(PLAN)} demo appointments on today's board, one with an inspection"
