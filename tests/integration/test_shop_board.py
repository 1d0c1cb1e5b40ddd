"""The board against the real database: columns and ordering, and concurrent moves from real threads."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.shop import board
from blueprints.shop.models import Appointment
from blueprints.shop.schemas import MoveIn, RangeQuery
from shared import audit
from shared.audit import AuditLog
from shared.db import get_engine, session_scope
from tests.builders import add_service, create_appointment, create_shop_world

ACTOR = audit.Actor()
DAY = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
WINDOW = RangeQuery.model_validate({"from": DAY - timedelta(hours=12), "to": DAY + timedelta(hours=12)})


def test_columns_count_and_sum_and_cards_come_in_order(db_session) -> None:
    world = create_shop_world(db_session)
    specs = [
        ("READY", 2, 30_000, 10_000),
        ("SCHEDULED", 3, 5_000, 0),
        ("SCHEDULED", 1, 7_000, 7_000),
        ("IN_PROGRESS", 0, 9_000, 1_000),
        ("CANCELED", 4, 0, 0),
    ]
    for status, hour, total, paid in specs:
        a = create_appointment(
            db_session,
            tenant=world.tenant,
            customer=world.customer,
            vehicle=world.vehicle,
            starts_at=DAY + timedelta(hours=hour),
            status=status,
            paid_cents=paid,
        )
        add_service(db_session, appointment=a, price_cents=total)
    create_appointment(db_session, tenant=world.tenant, customer=world.customer, starts_at=DAY + timedelta(days=2))
    result = board.get_board(session=db_session, principal=world.principal("tech"), query=WINDOW)
    columns = {c.status: (c.count, c.total_cents, c.paid_cents) for c in result.columns}
    assert [c.status for c in result.columns] == [
        "SCHEDULED",
        "IN_PROGRESS",
        "READY",
        "COMPLETED",
        "NO_SHOW",
        "CANCELED",
    ]
    assert columns["SCHEDULED"] == (2, 12_000, 7_000) and columns["READY"] == (1, 30_000, 10_000)
    assert columns["COMPLETED"] == (0, 0, 0)
    assert [c.status for c in result.cards] == ["SCHEDULED", "SCHEDULED", "IN_PROGRESS", "READY", "CANCELED"]
    first, second = result.cards[:2]
    assert first.starts_at < second.starts_at  # a fresh column reads in time order
    assert first.customer_name == "Ada Lovelace" and first.vehicle == "2019 Honda Civic"
    assert first.service_count == 1


def test_moving_within_a_column_places_the_card_where_it_was_dropped(db_session) -> None:
    world = create_shop_world(db_session)
    cards = [
        create_appointment(db_session, tenant=world.tenant, customer=world.customer, starts_at=DAY + timedelta(hours=h))
        for h in range(4)
    ]
    board.move(
        session=db_session,
        principal=world.principal("advisor"),
        appointment_id=cards[3].id,
        move_in=MoveIn(status="SCHEDULED", position=1),
        query=WINDOW,
        actor=ACTOR,
    )
    order = [c.id for c in board.get_board(session=db_session, principal=world.principal(), query=WINDOW).cards]
    assert order == [cards[0].id, cards[3].id, cards[1].id, cards[2].id]
    # positions are fractions: nobody else's row was rewritten
    assert db_session.get(Appointment, cards[1].id).version == 1
    # an index past the end of the column puts the card last
    board.move(
        session=db_session,
        principal=world.principal("advisor"),
        appointment_id=cards[0].id,
        move_in=MoveIn(status="SCHEDULED", position=40),
        query=WINDOW,
        actor=ACTOR,
    )
    order = [c.id for c in board.get_board(session=db_session, principal=world.principal(), query=WINDOW).cards]
    assert order == [cards[3].id, cards[1].id, cards[2].id, cards[0].id]


def test_a_column_that_runs_out_of_room_is_renumbered_and_keeps_its_order(db_session) -> None:
    world = create_shop_world(db_session)
    cards = [
        create_appointment(db_session, tenant=world.tenant, customer=world.customer, starts_at=DAY + timedelta(hours=h))
        for h in range(3)
    ]
    for _ in range(60):  # always between the first two: halves the gap each time
        board.move(
            session=db_session,
            principal=world.principal("advisor"),
            appointment_id=cards[2].id,
            move_in=MoveIn(status="SCHEDULED", position=1),
            query=WINDOW,
            actor=ACTOR,
        )
        board.move(
            session=db_session,
            principal=world.principal("advisor"),
            appointment_id=cards[1].id,
            move_in=MoveIn(status="SCHEDULED", position=1),
            query=WINDOW,
            actor=ACTOR,
        )
    order = [c.id for c in board.get_board(session=db_session, principal=world.principal(), query=WINDOW).cards]
    assert order == [cards[0].id, cards[1].id, cards[2].id]


@pytest.fixture
def committed_column(database):
    """A committed tenant with 12 scheduled cards (threads need to see them from their own connections)."""
    with Session(bind=get_engine(), expire_on_commit=False) as session:
        world = create_shop_world(session, name=f"Race {uuid.uuid4().hex[:6]}")
        cards = [
            create_appointment(
                session,
                tenant=world.tenant,
                customer=world.customer,
                starts_at=DAY + timedelta(minutes=20 * i),
                hours=0.25,
            ).id
            for i in range(12)
        ]
        session.commit()
    return world, cards


def _column(world, status: str) -> list[uuid.UUID]:
    with session_scope(tenant_id=world.tenant.id) as session:
        cards = board.get_board(session=session, principal=world.principal(), query=WINDOW).cards
        return [c.id for c in cards if c.status == status]


def test_concurrent_moves_land_as_if_applied_one_after_another(committed_column) -> None:
    world, cards = committed_column
    rng = random.Random(7)
    moves = [(card, rng.randint(0, 3)) for card in cards[:8]]
    barrier = threading.Barrier(len(moves))
    errors: list[BaseException] = []

    def advisor_moves(card: uuid.UUID, index: int) -> None:
        try:
            barrier.wait(timeout=10)
            with session_scope(tenant_id=world.tenant.id) as session:
                board.move(
                    session=session,
                    principal=world.principal("advisor"),
                    appointment_id=card,
                    move_in=MoveIn(status="IN_PROGRESS", position=index),
                    query=WINDOW,
                    actor=ACTOR,
                )
        except BaseException as exc:
            errors.append(exc)

    # when eight advisors drop cards into the same column at the same moment
    threads = [threading.Thread(target=advisor_moves, args=move) for move in moves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    # then the column equals the moves replayed one by one in the order they committed
    with session_scope(tenant_id=world.tenant.id) as session:
        order = session.scalars(
            select(AuditLog.entity_id)
            .where(
                AuditLog.tenant_id == world.tenant.id,
                AuditLog.action == "appointments.moved",
            )
            .order_by(AuditLog.created_at, AuditLog.id)
        ).all()
        positions = session.scalars(
            select(Appointment.position).where(
                Appointment.tenant_id == world.tenant.id, Appointment.status == "IN_PROGRESS"
            )
        ).all()
    assert len(order) == len(moves)
    index_of = {str(card): index for card, index in moves}
    replay: list[str] = []
    for card in order:
        replay.insert(index_of[card], card)
    assert [str(c) for c in _column(world, "IN_PROGRESS")] == replay
    assert len(set(positions)) == len(positions)  # no ties


def test_two_advisors_moving_the_same_card_never_lose_a_move(committed_column) -> None:
    world, cards = committed_column
    card = cards[0]
    barrier = threading.Barrier(2)
    results: list[str] = []

    def move(status: str) -> None:
        barrier.wait(timeout=10)
        try:
            with session_scope(tenant_id=world.tenant.id) as session:
                results.append(
                    board.move(
                        session=session,
                        principal=world.principal("advisor"),
                        appointment_id=card,
                        move_in=MoveIn(status=status),
                        query=WINDOW,
                        actor=ACTOR,
                    ).status
                )
        except Exception as exc:
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=move, args=("IN_PROGRESS",)), threading.Thread(target=move, args=("NO_SHOW",))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # one wins; the other then sees the new status and is judged against the table (never a silent overwrite)
    with session_scope(tenant_id=world.tenant.id) as session:
        final = session.get(Appointment, card)
        moved = session.scalars(select(AuditLog).where(AuditLog.entity_id == str(card))).all()
    assert sorted(results) in (["Conflict", "IN_PROGRESS"], ["Conflict", "NO_SHOW"])
    assert len(moved) == 1 and final.status == moved[0].after["status"]


def test_the_default_window_is_the_business_local_today(db_session) -> None:
    from shared import clock

    # given a business in Auckland (UTC+13 in December) and 20:00 UTC on 1 December, 09:00 on the 2nd there
    world = create_shop_world(db_session, timezone="Pacific/Auckland")
    clock.pin(datetime(2026, 12, 1, 20, 0, tzinfo=UTC))
    try:
        local_today = create_appointment(
            db_session, tenant=world.tenant, customer=world.customer, starts_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
        )  # 01:00 on the 2nd in Auckland, still the 1st in UTC
        utc_today_only = create_appointment(
            db_session, tenant=world.tenant, customer=world.customer, starts_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        )  # 22:00 on the 1st in Auckland: yesterday there
        # when the board is read without a window
        result = board.get_board(session=db_session, principal=world.principal("advisor"), query=RangeQuery())
    finally:
        clock.unpin()
    # then it shows the 2nd of December in Auckland: 11:00 UTC on the 1st to 11:00 UTC on the 2nd
    assert (result.from_, result.to) == (
        datetime(2026, 12, 1, 11, 0, tzinfo=UTC),
        datetime(2026, 12, 2, 11, 0, tzinfo=UTC),
    )
    ids = [card.id for card in result.cards]
    assert local_today.id in ids and utc_today_only.id not in ids
