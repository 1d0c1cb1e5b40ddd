"""Customer texts through the messaging service: ready texts and day-before reminders, each sent once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from blueprints.messaging import service as messaging
from blueprints.shop import board, texts
from blueprints.shop.schemas import MoveIn, RangeQuery
from shared import audit, clock
from shared.db import get_engine, session_scope
from tests.builders import create_appointment, create_customer, create_shop_world

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=CHICAGO)


def _thread(session, world, appointment_id):
    return messaging.list_thread(
        session=session, tenant_id=world.tenant.id, related_type="appointment", related_id=appointment_id
    )


def test_tomorrows_reminders_go_once_even_when_the_job_runs_twice(db_session) -> None:
    world = create_shop_world(db_session)
    tomorrow = NOW + timedelta(days=1)
    due = [
        create_appointment(
            db_session, tenant=world.tenant, customer=world.customer, starts_at=tomorrow.replace(hour=h).astimezone(UTC)
        )
        for h in (8, 13)
    ]
    create_appointment(
        db_session, tenant=world.tenant, customer=world.customer, starts_at=(NOW + timedelta(days=2)).astimezone(UTC)
    )
    create_appointment(
        db_session,
        tenant=world.tenant,
        customer=world.customer,
        status="CANCELED",
        starts_at=tomorrow.replace(hour=10).astimezone(UTC),
    )
    for _ in range(2):
        texts.remind_tenant(session=db_session, tenant_id=world.tenant.id, now=NOW)
    for appointment in due:
        thread = _thread(db_session, world, appointment.id)
        assert len(thread) == 1 and "tomorrow at" in thread[0].body
    assert "tomorrow at 08:00." in _thread(db_session, world, due[0].id)[0].body


def test_a_customer_without_a_phone_does_not_stop_the_others(db_session) -> None:
    world = create_shop_world(db_session)
    silent = create_customer(db_session, tenant=world.tenant, owner=world.users["owner"], name="No Phone")
    start = (NOW + timedelta(days=1)).astimezone(UTC)
    create_appointment(db_session, tenant=world.tenant, customer=silent, starts_at=start)
    reachable = create_appointment(
        db_session, tenant=world.tenant, customer=world.customer, starts_at=start + timedelta(hours=2)
    )
    assert texts.remind_tenant(session=db_session, tenant_id=world.tenant.id, now=NOW) == 1
    assert len(_thread(db_session, world, reachable.id)) == 1


def test_ready_texts_the_customer_once_per_time_the_car_becomes_ready(db_session) -> None:
    world = create_shop_world(db_session)
    appointment = create_appointment(db_session, tenant=world.tenant, customer=world.customer)
    tech = world.principal("tech")
    for status in ("IN_PROGRESS", "READY", "READY"):
        board.move(
            session=db_session,
            principal=tech,
            appointment_id=appointment.id,
            move_in=MoveIn(status=status),
            query=RangeQuery(),
            actor=audit.Actor(),
        )
    thread = _thread(db_session, world, appointment.id)
    assert len(thread) == 1 and thread[0].body.startswith("Edgar's Auto: your car is ready for pickup.")


def test_with_messaging_switched_off_the_car_still_moves_but_nobody_is_texted(db_session) -> None:
    world = create_shop_world(db_session)
    world.tenant.enabled_modules = ["crm", "shop"]
    db_session.flush()
    appointment = create_appointment(
        db_session, tenant=world.tenant, customer=world.customer, starts_at=(NOW + timedelta(days=1)).astimezone(UTC)
    )
    assert texts.remind_tenant(session=db_session, tenant_id=world.tenant.id, now=NOW) == 0
    for status in ("IN_PROGRESS", "READY"):
        moved = board.move(
            session=db_session,
            principal=world.principal("tech"),
            appointment_id=appointment.id,
            move_in=MoveIn(status=status),
            query=RangeQuery(),
            actor=audit.Actor(),
        )
    assert moved.status == "READY"
    assert _thread(db_session, world, appointment.id) == []


def test_the_timer_job_visits_every_tenant_and_repeats_harmlessly(database) -> None:
    # given a committed tenant with one appointment tomorrow (the job opens its own transactions)
    with Session(bind=get_engine(), expire_on_commit=False) as session:
        world = create_shop_world(session, name=f"Timer {uuid.uuid4().hex[:6]}")
        appointment = create_appointment(
            session,
            tenant=world.tenant,
            customer=world.customer,
            starts_at=(clock.now() + timedelta(days=1))
            .astimezone(CHICAGO)
            .replace(hour=12, minute=0, second=0, microsecond=0),
        )
        session.commit()
    # when the job runs twice
    texts.send_reminders()
    texts.send_reminders()
    # then the customer has exactly one reminder
    with session_scope(tenant_id=world.tenant.id) as session:
        assert len(_thread(session, world, appointment.id)) == 1
