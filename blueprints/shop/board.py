"""The status board: columns with counts and money, cards in order, and moving cards between and within columns.

A move takes a transaction-scoped advisory lock on the target column before reading its neighbours,
then the row lock on the card, so two advisors dropping cards into the same column at once are
applied one after the other and each lands where it was dropped. Positions are floats: a card goes
halfway between its new neighbours, so a move writes one row; only when floating point runs out of
room between two cards is that one column renumbered.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, func, select, text, update
from sqlalchemy.orm import Session

from blueprints.identity import service as identity
from blueprints.shop import directory, texts
from blueprints.shop.common import appointment_or_raise, bump_stats_version, check_tech_free, flush_booking
from blueprints.shop.models import Appointment, AppointmentService
from blueprints.shop.schemas import AppointmentOut, Board, BoardCard, BoardColumn, MoveIn, RangeQuery
from blueprints.shop.transitions import BOARD_ORDER, MoveRequest, MoveState, Status, plan_move
from shared import audit, clock
from shared.auth import Principal

GAP = 1024.0
MIN_GAP = 1e-6
MAX_CARDS = 1000
_STATE_FIELDS = (
    "status",
    "total_cents",
    "paid_cents",
    "check_in_at",
    "check_out_at",
    "canceled_by",
    "cancel_reason",
    "override_reason",
)


def tenant_zone(session: Session, principal: Principal) -> ZoneInfo:
    """The business's time zone."""
    tenant, _ = identity.get_tenant(session=session, principal=principal)
    return ZoneInfo(tenant.timezone)


def window(session: Session, principal: Principal, query: RangeQuery) -> tuple[datetime, datetime]:
    """The query's window, or the business's local today when it names none."""
    if query.from_ is not None and query.to is not None:
        return query.from_.astimezone(UTC), query.to.astimezone(UTC)
    zone = tenant_zone(session, principal)
    start = query.from_ or datetime.combine(clock.now().astimezone(zone).date(), datetime.min.time(), zone)
    end = query.to or start + timedelta(days=1)
    return start.astimezone(UTC), end.astimezone(UTC)


def _in_window(stmt: Select, start: datetime, end: datetime, tech_id: uuid.UUID | None) -> Select:
    stmt = stmt.where(Appointment.deleted_at.is_(None), Appointment.starts_at < end, Appointment.ends_at > start)
    return stmt.where(Appointment.tech_id == tech_id) if tech_id else stmt


def board_statement(tenant_id: uuid.UUID, start: datetime, end: datetime, tech_id: uuid.UUID | None) -> Select:
    """The one statement that fetches the board's cards (the benchmark compares against its raw SQL)."""
    c, v, u = directory.customers, directory.vehicles, directory.users
    service_count = (
        select(func.count())
        .where(
            AppointmentService.tenant_id == Appointment.tenant_id, AppointmentService.appointment_id == Appointment.id
        )
        .correlate(Appointment)
        .scalar_subquery()
    )
    order = case({s.value: i for i, s in enumerate(BOARD_ORDER)}, value=Appointment.status)
    stmt = (
        select(
            Appointment.id,
            Appointment.status,
            Appointment.position,
            Appointment.title,
            Appointment.customer_id,
            c.c.name.label("customer_name"),
            Appointment.vehicle_id,
            func.concat_ws(" ", v.c.year, v.c.make, v.c.model).label("vehicle"),
            Appointment.tech_id,
            u.c.name.label("tech_name"),
            Appointment.starts_at,
            Appointment.ends_at,
            Appointment.check_in_at,
            Appointment.check_out_at,
            Appointment.currency,
            Appointment.total_cents,
            Appointment.paid_cents,
            service_count.label("service_count"),
        )
        .join(c, c.c.id == Appointment.customer_id)
        .outerjoin(v, v.c.id == Appointment.vehicle_id)
        .outerjoin(u, u.c.id == Appointment.tech_id)
        .where(Appointment.tenant_id == tenant_id)
        .order_by(order, Appointment.position, Appointment.id)
        .limit(MAX_CARDS)
    )
    return _in_window(stmt, start, end, tech_id)


def get_board(*, session: Session, principal: Principal, query: RangeQuery) -> Board:
    """Columns in flow order with count, total and paid; cards ordered within each column."""
    start, end = window(session, principal, query)
    rows = session.execute(board_statement(principal.tenant_id, start, end, query.tech_id)).mappings().all()
    # Rows straight from our own query: constructing skips re-validating 200 trusted cards.
    cards = [
        BoardCard.model_construct(**{**row, "status": Status(row["status"]), "vehicle": row["vehicle"] or None})
        for row in rows
    ]
    columns = {s: BoardColumn(status=s, count=0, total_cents=0, paid_cents=0) for s in BOARD_ORDER}
    for card in cards:
        column = columns[card.status]
        column.count += 1
        column.total_cents += card.total_cents
        column.paid_cents += card.paid_cents
    return Board(from_=start, to=end, columns=list(columns.values()), cards=cards)


def _lock_column(session: Session, tenant_id: uuid.UUID, status: Status) -> None:
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"shop-board:{tenant_id}:{status.value}"},
    )


def _neighbours(
    session: Session, appointment: Appointment, target: Status, index: int | None, start: datetime, end: datetime
) -> tuple[float | None, float | None]:
    stmt = (
        _in_window(select(Appointment.position), start, end, None)
        .where(
            Appointment.tenant_id == appointment.tenant_id,
            Appointment.status == target.value,
            Appointment.id != appointment.id,
        )
        .order_by(Appointment.position, Appointment.id)
    )
    if index == 0:
        return None, session.scalars(stmt.limit(1)).first()
    pair = list(session.scalars(stmt.offset(index - 1).limit(2))) if index is not None else []
    if not pair:  # no index, or one past the end: the card goes last
        return session.scalars(stmt.order_by(None).order_by(Appointment.position.desc()).limit(1)).first(), None
    return pair[0], (pair[1] if len(pair) > 1 else None)


def _renumber(session: Session, tenant_id: uuid.UUID, target: Status) -> None:
    ranked = (
        select(
            Appointment.id,
            (func.row_number().over(order_by=(Appointment.position, Appointment.id)) * GAP).label("place"),
        )
        .where(Appointment.tenant_id == tenant_id, Appointment.status == target.value, Appointment.deleted_at.is_(None))
        .subquery()
    )
    session.execute(
        update(Appointment)
        .where(Appointment.id == ranked.c.id)
        .values(position=ranked.c.place)
        .execution_options(synchronize_session=False)
    )


def _place(
    session: Session, appointment: Appointment, target: Status, index: int | None, start: datetime, end: datetime
) -> float:
    before, after = _neighbours(session, appointment, target, index, start, end)
    if before is not None and after is not None and after - before < MIN_GAP:
        _renumber(session, appointment.tenant_id, target)
        before, after = _neighbours(session, appointment, target, index, start, end)
    if before is None and after is None:
        return appointment.position
    if before is None:
        return after - GAP  # type: ignore[operator]
    if after is None:
        return before + GAP
    return (before + after) / 2


def move(
    *,
    session: Session,
    principal: Principal,
    appointment_id: uuid.UUID,
    move_in: MoveIn,
    query: RangeQuery,
    actor: audit.Actor,
) -> AppointmentOut:
    """Change status and/or place on the board as the role table allows; audited; stats invalidated."""
    start, end = window(session, principal, query)
    _lock_column(session, principal.tenant_id, move_in.status)
    appointment = appointment_or_raise(session, principal.tenant_id, appointment_id, lock=True)
    source = Status(appointment.status)
    values = {name: getattr(appointment, name) for name in _STATE_FIELDS}
    state = MoveState(**{**values, "status": source})
    after = plan_move(
        state,
        MoveRequest(
            target=move_in.status,
            role=principal.role,
            now=clock.now(),
            canceled_by=move_in.canceled_by,
            reason=move_in.reason,
            override=move_in.override,
        ),
    )
    if source != move_in.status:
        check_tech_free(
            session,
            tenant_id=principal.tenant_id,
            tech_id=appointment.tech_id,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            status=move_in.status,
            ignore_id=appointment.id,
        )
    before = {"status": source.value, "position": appointment.position}
    appointment.position = _place(session, appointment, move_in.status, move_in.position, start, end)
    for name in _STATE_FIELDS:
        setattr(appointment, name, getattr(after, name))
    appointment.status = after.status.value
    appointment.updated_at = clock.now()
    flush_booking(session)
    changed = {"status": appointment.status, "position": appointment.position}
    for name in ("check_in_at", "check_out_at", "canceled_by", "cancel_reason", "override_reason"):
        if getattr(after, name) != getattr(state, name):
            changed[name] = clock.iso_utc(getattr(after, name)) if name.endswith("_at") else getattr(after, name)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="appointments.moved",
        entity="appointment",
        entity_id=appointment.id,
        before=before,
        after=changed,
    )
    if after.status == Status.READY and source != Status.READY:
        _on_ready(session, principal, appointment)
    bump_stats_version(session, principal.tenant_id)
    return AppointmentOut.model_validate(appointment)


def _on_ready(session: Session, principal: Principal, appointment: Appointment) -> None:
    texts.car_ready(session=session, principal=principal, appointment=appointment)
