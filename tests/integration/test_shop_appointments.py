"""Appointments against the real database: booking, double-booking, If-Match, soft delete, moves and their audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from blueprints.shop import appointments, board, line_items, payments
from blueprints.shop.models import Appointment, Payment
from blueprints.shop.schemas import AppointmentIn, AppointmentPatch, MoveIn, PaymentIn, RangeQuery, ServiceIn, VoidIn
from shared import audit, clock
from shared.audit import AuditLog
from shared.errors import Conflict, Forbidden, NotFound, PreconditionFailed, Unprocessable
from tests.builders import create_customer, create_shop_world

ACTOR = audit.Actor()


@pytest.fixture
def world(db_session):
    return create_shop_world(db_session)


def _book(session, world, *, hours_from_now: float = 1, hours: float = 1, tech: bool = True):
    start = clock.now().replace(microsecond=0) + timedelta(hours=hours_from_now)
    body = AppointmentIn(
        customer_id=world.customer.id,
        vehicle_id=world.vehicle.id,
        tech_id=world.users["tech"].id if tech else None,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        title="Brakes",
    )
    out, _ = appointments.create(
        session=session, principal=world.principal("advisor"), appointment_in=body, actor=ACTOR
    )
    return out


def test_booking_a_busy_technician_is_a_409_naming_the_clash(db_session, world) -> None:
    first = _book(db_session, world, hours_from_now=1, hours=2)
    with pytest.raises(Conflict) as clash:
        _book(db_session, world, hours_from_now=2, hours=1)
    assert clash.value.code == "tech_double_booked"
    assert clash.value.extra["clash"]["appointment_id"] == str(first.id)
    assert str(first.id) in clash.value.detail
    # back-to-back is fine, and another technician's time is not this one's
    _book(db_session, world, hours_from_now=3, hours=1)
    _book(db_session, world, hours_from_now=1, hours=1, tech=False)


def test_the_database_refuses_an_overlap_even_without_the_service_check(db_session, world) -> None:
    first = _book(db_session, world)
    row = db_session.get(Appointment, first.id)
    with pytest.raises(DBAPIError, match="ex_appointments_tech_overlap"), db_session.begin_nested():
        db_session.execute(
            text(
                "INSERT INTO appointments (id, tenant_id, customer_id, tech_id, starts_at, ends_at, status, position,"
                " currency, total_cents, paid_cents, version)"
                " SELECT gen_random_uuid(), tenant_id, customer_id, tech_id, starts_at + interval '30 minutes',"
                " ends_at, 'SCHEDULED', 0, 'USD', 0, 0, 1 FROM appointments"
                " WHERE id = :id"
            ),
            {"id": row.id},
        )


def test_a_cancelled_booking_frees_the_technician_and_coming_back_checks_again(db_session, world) -> None:
    first = _book(db_session, world)
    board.move(
        session=db_session,
        principal=world.principal("advisor"),
        appointment_id=first.id,
        move_in=MoveIn(status="CANCELED", canceled_by="customer", reason="Car sold"),
        query=RangeQuery(),
        actor=ACTOR,
    )
    second = _book(db_session, world)
    with pytest.raises(Conflict):
        board.move(
            session=db_session,
            principal=world.principal("advisor"),
            appointment_id=first.id,
            move_in=MoveIn(status="SCHEDULED"),
            query=RangeQuery(),
            actor=ACTOR,
        )
    assert second.status == "SCHEDULED"


def test_patch_honours_if_match_and_checks_clashes(db_session, world) -> None:
    out = _book(db_session, world)
    _, version = appointments.get(session=db_session, principal=world.principal(), appointment_id=out.id)
    changed, new_version = appointments.update(
        session=db_session,
        principal=world.principal(),
        appointment_id=out.id,
        patch=AppointmentPatch(notes="Squeaks"),
        expected=frozenset({version}),
        actor=ACTOR,
    )
    assert changed.notes == "Squeaks" and new_version == version + 1
    with pytest.raises(PreconditionFailed):
        appointments.update(
            session=db_session,
            principal=world.principal(),
            appointment_id=out.id,
            patch=AppointmentPatch(notes="Lost"),
            expected=frozenset({version}),
            actor=ACTOR,
        )
    with pytest.raises(Unprocessable):
        appointments.update(
            session=db_session,
            principal=world.principal(),
            appointment_id=out.id,
            patch=AppointmentPatch(ends_at=out.starts_at),
            expected=None,
            actor=ACTOR,
        )


def test_a_vehicle_of_another_customer_is_refused(db_session, world) -> None:
    stranger = create_customer(db_session, tenant=world.tenant, owner=world.users["owner"], name="Bob")
    start = clock.now() + timedelta(days=1)
    with pytest.raises(Unprocessable) as refused:
        appointments.create(
            session=db_session,
            principal=world.principal(),
            actor=ACTOR,
            appointment_in=AppointmentIn(
                customer_id=stranger.id,
                vehicle_id=world.vehicle.id,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
            ),
        )
    assert refused.value.code == "unknown_vehicle"


def test_soft_delete_keeps_the_row_and_hides_it(db_session, world) -> None:
    out = _book(db_session, world)
    appointments.delete(session=db_session, principal=world.principal(), appointment_id=out.id, actor=ACTOR)
    with pytest.raises(NotFound):
        appointments.get(session=db_session, principal=world.principal(), appointment_id=out.id)
    assert db_session.get(Appointment, out.id).deleted_at is not None
    _book(db_session, world)  # the technician is free again


def test_moves_set_timestamps_once_and_every_move_is_audited(db_session, world) -> None:
    out = _book(db_session, world)
    tech, owner = world.principal("tech"), world.principal("owner")

    def go(principal, status, **extra):
        return board.move(
            session=db_session,
            principal=principal,
            appointment_id=out.id,
            move_in=MoveIn(status=status, **extra),
            query=RangeQuery(),
            actor=ACTOR,
        )

    clock.pin(clock.now())
    try:
        first_in = go(tech, "IN_PROGRESS").check_in_at
        clock.advance(timedelta(minutes=30))
        go(tech, "READY")
        go(tech, "IN_PROGRESS")
        assert go(tech, "READY").check_in_at == first_in
        with pytest.raises(Forbidden):
            go(tech, "COMPLETED")
        clock.advance(timedelta(minutes=5))
        done = go(owner, "COMPLETED")  # nothing owed on an empty appointment
        assert (done.check_in_at, done.check_out_at) == (first_in, clock.now())
        with pytest.raises(Conflict):
            go(owner, "READY")
    finally:
        clock.unpin()
    moves = db_session.scalars(
        select(AuditLog).where(AuditLog.entity_id == str(out.id), AuditLog.action == "appointments.moved")
    ).all()
    assert len(moves) == 5


def test_completing_requires_payment_or_an_owner_override(db_session, world) -> None:
    out = _book(db_session, world)
    advisor = world.principal("advisor")
    line_items.create_service(
        session=db_session,
        principal=advisor,
        appointment_id=out.id,
        actor=ACTOR,
        service_in=ServiceIn(name="Pads", price_cents=12_000),
    )
    for status in ("IN_PROGRESS", "READY"):
        board.move(
            session=db_session,
            principal=advisor,
            appointment_id=out.id,
            move_in=MoveIn(status=status),
            query=RangeQuery(),
            actor=ACTOR,
        )
    with pytest.raises(Conflict) as unpaid:
        board.move(
            session=db_session,
            principal=advisor,
            appointment_id=out.id,
            move_in=MoveIn(status="COMPLETED"),
            query=RangeQuery(),
            actor=ACTOR,
        )
    assert unpaid.value.extra["balance_cents"] == 12_000
    payments.record(
        session=db_session,
        principal=advisor,
        appointment_id=out.id,
        actor=ACTOR,
        payment_in=PaymentIn(amount_cents=12_000, method="card"),
    )
    done = board.move(
        session=db_session,
        principal=advisor,
        appointment_id=out.id,
        move_in=MoveIn(status="COMPLETED"),
        query=RangeQuery(),
        actor=ACTOR,
    )
    assert done.status == "COMPLETED" and done.check_out_at is not None and done.check_in_at is not None
    moves = db_session.scalars(
        select(AuditLog).where(AuditLog.entity_id == str(out.id), AuditLog.action == "appointments.moved")
    ).all()
    assert sorted(m.after["status"] for m in moves) == ["COMPLETED", "IN_PROGRESS", "READY"]


def test_payment_arithmetic_with_voids_and_overpayment(db_session, world) -> None:
    out = _book(db_session, world)
    advisor = world.principal("advisor")
    line_items.create_service(
        session=db_session,
        principal=advisor,
        appointment_id=out.id,
        actor=ACTOR,
        service_in=ServiceIn(name="Tyres", price_cents=40_000),
    )
    a = payments.record(
        session=db_session,
        principal=advisor,
        appointment_id=out.id,
        actor=ACTOR,
        payment_in=PaymentIn(amount_cents=15_000, method="cash"),
    )
    b = payments.record(
        session=db_session,
        principal=advisor,
        appointment_id=out.id,
        actor=ACTOR,
        payment_in=PaymentIn(amount_cents=20_000, method="card"),
    )
    assert (b.paid_cents, b.balance_cents) == (35_000, 5_000)
    voided = payments.void(
        session=db_session,
        principal=world.principal("accountant"),
        payment_id=a.payment.id,
        void_in=VoidIn(reason="Counterfeit note"),
        actor=ACTOR,
    )
    assert (voided.payment.amount_cents, voided.paid_cents, voided.balance_cents) == (-15_000, 20_000, 20_000)
    with pytest.raises(Conflict):
        payments.void(
            session=db_session, principal=advisor, payment_id=a.payment.id, void_in=VoidIn(reason="again"), actor=ACTOR
        )
    with pytest.raises(Conflict):
        payments.void(
            session=db_session,
            principal=advisor,
            payment_id=voided.payment.id,
            void_in=VoidIn(reason="void of void"),
            actor=ACTOR,
        )
    with pytest.raises(Unprocessable) as over:
        payments.record(
            session=db_session,
            principal=advisor,
            appointment_id=out.id,
            actor=ACTOR,
            payment_in=PaymentIn(amount_cents=20_001, method="card"),
        )
    assert over.value.code == "overpayment"
    extra = payments.record(
        session=db_session,
        principal=advisor,
        appointment_id=out.id,
        actor=ACTOR,
        payment_in=PaymentIn(amount_cents=25_000, method="card", allow_overpayment=True),
    )
    assert (extra.paid_cents, extra.balance_cents) == (45_000, -5_000)
    rows = db_session.scalars(select(Payment).where(Payment.appointment_id == out.id)).all()
    assert sum(p.amount_cents for p in rows) == 45_000 and len(rows) == 4
    # the original payment row is untouched by its void
    assert db_session.get(Payment, a.payment.id).amount_cents == 15_000


def test_the_app_role_cannot_update_or_delete_payments(db_session, world) -> None:
    out = _book(db_session, world)
    line_items.create_service(
        session=db_session,
        principal=world.principal(),
        appointment_id=out.id,
        actor=ACTOR,
        service_in=ServiceIn(name="Tyres", price_cents=1_000),
    )
    paid = payments.record(
        session=db_session,
        principal=world.principal(),
        appointment_id=out.id,
        actor=ACTOR,
        payment_in=PaymentIn(amount_cents=1_000, method="cash"),
    )
    for statement in ("UPDATE payments SET amount_cents = 1 WHERE id = :id", "DELETE FROM payments WHERE id = :id"):
        with pytest.raises(DBAPIError, match="permission denied"), db_session.begin_nested():
            db_session.execute(text(statement), {"id": paid.payment.id})


def test_services_drive_the_total(db_session, world) -> None:
    out = _book(db_session, world)
    p = world.principal("tech")
    a, _ = line_items.create_service(
        session=db_session,
        principal=p,
        appointment_id=out.id,
        actor=ACTOR,
        service_in=ServiceIn(name="Oil", price_cents=4_500),
    )
    b, version = line_items.create_service(
        session=db_session,
        principal=p,
        appointment_id=out.id,
        actor=ACTOR,
        service_in=ServiceIn(name="Filter", price_cents=1_500),
    )
    assert db_session.get(Appointment, out.id).total_cents == 6_000
    from blueprints.shop.schemas import ServicePatch

    line_items.update_service(
        session=db_session,
        principal=p,
        appointment_id=out.id,
        service_id=b.id,
        patch=ServicePatch(price_cents=2_000),
        expected=frozenset({version}),
        actor=ACTOR,
    )
    assert db_session.get(Appointment, out.id).total_cents == 6_500
    line_items.delete_service(session=db_session, principal=p, appointment_id=out.id, service_id=a.id, actor=ACTOR)
    assert db_session.get(Appointment, out.id).total_cents == 2_000
