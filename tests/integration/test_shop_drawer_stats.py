"""The drawer is one statement whatever it holds and shows what the services show; stats show each change at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from blueprints.messaging import service as messaging
from blueprints.shop import board, drawer, inspections, line_items, payments, stats
from blueprints.shop.schemas import (
    ChecklistIn,
    HistoryEntry,
    ItemPatch,
    MoveIn,
    PaymentIn,
    RangeQuery,
    ServiceIn,
    VoidIn,
)
from shared import audit, clock
from shared.db import get_engine
from shared.pagination import PageQuery
from tests.builders import create_appointment, create_shop_world

ACTOR = audit.Actor()


@contextmanager
def counting() -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _fill(
    session, world, appointment, *, services: int, payments_: int, checklists: int, items: int, texts: int
) -> None:
    owner = world.principal()
    for i in range(services):
        line_items.create_service(
            session=session,
            principal=owner,
            appointment_id=appointment.id,
            actor=ACTOR,
            service_in=ServiceIn(name=f"Job {i}", price_cents=10_000),
        )
    for _ in range(payments_):
        paid = payments.record(
            session=session,
            principal=owner,
            appointment_id=appointment.id,
            actor=ACTOR,
            payment_in=PaymentIn(amount_cents=100, method="cash"),
        )
    if payments_:
        payments.void(
            session=session, principal=owner, payment_id=paid.payment.id, void_in=VoidIn(reason="x"), actor=ACTOR
        )
    for c in range(checklists):
        inspections.create_checklist(
            session=session,
            principal=owner,
            appointment_id=appointment.id,
            actor=ACTOR,
            checklist_in=ChecklistIn(title=f"Check {c}", labels=[f"Item {i}" for i in range(items)]),
        )
    for i in range(texts):
        messaging.send(
            session=session,
            tenant_id=world.tenant.id,
            customer_id=world.customer.id,
            channel="sms",
            body=f"Hello {i}",
            purpose="transactional",
            dedupe_key=f"drawer-test-{appointment.id}-{i}",
        )


def _drawer_statements(session, world, appointment) -> tuple[int, object]:
    session.expunge_all()  # nothing from the identity map: every read goes to the database
    with counting() as statements:
        found, _ = drawer.get_drawer(
            session=session, principal=world.principal("advisor"), appointment_id=appointment.id
        )
    return len(statements), found


def test_the_drawer_takes_the_same_few_statements_whatever_it_holds(db_session) -> None:
    world = create_shop_world(db_session)
    small = create_appointment(
        db_session, tenant=world.tenant, customer=world.customer, vehicle=world.vehicle, tech=world.users["tech"]
    )
    large = create_appointment(
        db_session,
        tenant=world.tenant,
        customer=world.customer,
        vehicle=world.vehicle,
        tech=world.users["tech"],
        starts_at=clock.now() + timedelta(days=1),
    )
    _fill(db_session, world, small, services=1, payments_=1, checklists=1, items=1, texts=1)
    _fill(db_session, world, large, services=12, payments_=6, checklists=3, items=8, texts=25)
    small_count, small_drawer = _drawer_statements(db_session, world, small)
    large_count, large_drawer = _drawer_statements(db_session, world, large)
    assert small_count == large_count == 1, (small_count, large_count)
    assert len(large_drawer.services) == 12 and len(large_drawer.payments) == 7
    assert [p.kind for p in large_drawer.payments] == ["payment"] * 6 + ["void"]
    assert [len(c.items) for c in large_drawer.inspections] == [8, 8, 8]
    assert sorted(c.title for c in large_drawer.inspections) == ["Check 0", "Check 1", "Check 2"]
    assert [i.label for i in large_drawer.inspections[0].items] == [f"Item {i}" for i in range(8)]
    assert len(large_drawer.messages) == 20 and large_drawer.messages[-1].body.startswith("Hello 24")
    # The drawer's messages and history are exactly what the messaging thread and the audit log answer.
    thread = messaging.list_thread(session=db_session, tenant_id=world.tenant.id, customer_id=world.customer.id)
    assert [m.model_dump(mode="json") for m in large_drawer.messages] == [m.model_dump(mode="json") for m in thread]
    entries, _ = audit.list_entries(
        db_session, tenant_id=world.tenant.id, query=PageQuery(limit=20), entity="appointment", entity_id=str(large.id)
    )
    assert [h.model_dump(mode="json") for h in large_drawer.history] == [
        HistoryEntry.model_validate(e).model_dump(mode="json") for e in entries
    ]
    assert large_drawer.customer.name == "Ada Lovelace" and large_drawer.vehicle.make == "Honda"
    assert large_drawer.tech.name == "Tech" and len(large_drawer.history) == 20
    assert small_drawer.appointment.balance_cents == 10_000


def test_stats_show_each_change_on_the_next_read(db_session) -> None:
    stats.clear_cache()
    world = create_shop_world(db_session)
    owner = world.principal()
    appointment = create_appointment(
        db_session,
        tenant=world.tenant,
        customer=world.customer,
        starts_at=clock.now().replace(microsecond=0) + timedelta(minutes=5),
    )
    first = stats.get_stats(session=db_session, principal=owner)
    assert stats.get_stats(session=db_session, principal=owner) is first  # cached while nothing changes
    line_items.create_service(
        session=db_session,
        principal=owner,
        appointment_id=appointment.id,
        actor=ACTOR,
        service_in=ServiceIn(name="Brakes", price_cents=30_000),
    )
    after_service = stats.get_stats(session=db_session, principal=owner)
    assert after_service.unpaid_total_cents == first.unpaid_total_cents + 30_000
    board.move(
        session=db_session,
        principal=owner,
        appointment_id=appointment.id,
        query=RangeQuery(),
        move_in=MoveIn(status="IN_PROGRESS"),
        actor=ACTOR,
    )
    on_lot = stats.get_stats(session=db_session, principal=owner)
    assert on_lot.cars_on_lot == first.cars_on_lot + 1
    payments.record(
        session=db_session,
        principal=owner,
        appointment_id=appointment.id,
        actor=ACTOR,
        payment_in=PaymentIn(amount_cents=30_000, method="card"),
    )
    paid = stats.get_stats(session=db_session, principal=owner)
    assert (paid.revenue_today_cents, paid.revenue_week_cents, paid.revenue_month_cents) == (30_000,) * 3
    assert paid.unpaid_total_cents == first.unpaid_total_cents
    for status in ("READY", "COMPLETED"):
        board.move(
            session=db_session,
            principal=owner,
            appointment_id=appointment.id,
            query=RangeQuery(),
            move_in=MoveIn(status=status),
            actor=ACTOR,
        )
    done = stats.get_stats(session=db_session, principal=owner)
    assert (done.cars_on_lot, done.completed_this_week) == (0, 1)
    assert done.average_cycle_minutes is not None and done.appointments_today >= 1
    assert len({first.version, after_service.version, on_lot.version, paid.version, done.version}) == 5


def test_deleting_an_appointment_takes_it_out_of_the_next_read(db_session) -> None:
    stats.clear_cache()
    world = create_shop_world(db_session)
    appointment = create_appointment(db_session, tenant=world.tenant, customer=world.customer, total_cents=5_000)
    before = stats.get_stats(session=db_session, principal=world.principal())
    assert before.unpaid_total_cents == 5_000
    checklist = inspections.create_checklist(
        session=db_session,
        principal=world.principal(),
        actor=ACTOR,
        appointment_id=appointment.id,
        checklist_in=ChecklistIn(title="Safety", labels=["Tyres"]),
    )
    inspections.update_item(
        session=db_session,
        principal=world.principal(),
        checklist_id=checklist.id,
        item_id=checklist.items[0].id,
        patch=ItemPatch(status="urgent"),
        expected=None,
    )
    from blueprints.shop import appointments

    appointments.delete(session=db_session, principal=world.principal(), appointment_id=appointment.id, actor=ACTOR)
    assert stats.get_stats(session=db_session, principal=world.principal()).unpaid_total_cents == 0
