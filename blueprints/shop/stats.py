"""Dashboard stats, cached per tenant and keyed by the tenant's stats version.

Every shop mutation bumps `shop_stats_versions` in its own transaction (common.bump_stats_version),
so the next read after any committed change misses the cache and recomputes: no stale window. The
key also holds the local date and zone, so "today" rolls over at the tenant's midnight.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ScalarSelect, Select, and_, case, extract, func, literal_column, select
from sqlalchemy.orm import Session

from blueprints.identity import service as identity
from blueprints.shop.models import Appointment, Payment, StatsVersion
from blueprints.shop.schemas import Stats
from blueprints.shop.transitions import Status
from shared import clock
from shared.auth import Principal

_CACHE_SIZE = 2048
_cache: OrderedDict[tuple[uuid.UUID, int, str, date, str], Stats] = OrderedDict()
_lock = threading.Lock()


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), zone).astimezone(UTC)


def stats_statement(tenant_id: uuid.UUID, today: date, zone: ZoneInfo) -> Select:
    """The one statement that computes every figure (the benchmark compares against its raw SQL)."""
    day = _local_midnight(today, zone)
    week = _local_midnight(today - timedelta(days=today.weekday()), zone)
    month = _local_midnight(today.replace(day=1), zone)
    live = and_(Appointment.tenant_id == tenant_id, Appointment.deleted_at.is_(None))
    counted = Appointment.status.notin_([Status.CANCELED.value, Status.NO_SHOW.value])

    def revenue(since: datetime) -> ScalarSelect[int]:
        return (
            select(func.coalesce(func.sum(Payment.amount_cents), 0))
            .where(Payment.tenant_id == tenant_id, Payment.created_at >= since)
            .scalar_subquery()
        )

    cycle = extract("epoch", Appointment.check_out_at - Appointment.check_in_at) / 60.0
    appointments = (
        select(
            func.count().filter(Appointment.status.in_([Status.IN_PROGRESS.value, Status.READY.value])),
            func.count().filter(
                Appointment.starts_at >= day,
                Appointment.starts_at < day + timedelta(days=1),
                Appointment.status != Status.CANCELED.value,
            ),
            func.count().filter(Appointment.status == Status.COMPLETED.value, Appointment.check_out_at >= week),
            func.coalesce(
                func.sum(case((counted, func.greatest(Appointment.total_cents - Appointment.paid_cents, 0)), else_=0)),
                0,
            ),
            func.avg(cycle).filter(
                Appointment.status == Status.COMPLETED.value,
                Appointment.check_in_at.isnot(None),
                Appointment.check_out_at.isnot(None),
            ),
        )
        .where(live)
        .subquery()
    )
    return select(appointments, revenue(day), revenue(week), revenue(month))


def _compute(session: Session, tenant_id: uuid.UUID, today: date, zone: ZoneInfo, version: int) -> Stats:
    row = session.execute(stats_statement(tenant_id, today, zone)).one()
    on_lot, today_count, completed, unpaid, cycle, rev_day, rev_week, rev_month = row
    return Stats(
        as_of=clock.now(),
        timezone=zone.key,
        cars_on_lot=on_lot,
        appointments_today=today_count,
        completed_this_week=completed,
        revenue_today_cents=int(rev_day),
        revenue_week_cents=int(rev_week),
        revenue_month_cents=int(rev_month),
        unpaid_total_cents=int(unpaid),
        average_cycle_minutes=round(float(cycle), 1) if cycle is not None else None,
        version=version,
    )


def current_version(session: Session, tenant_id: uuid.UUID) -> tuple[int, str]:
    """The tenant's stats version (0 before its first shop change) and the id of the transaction that wrote it."""
    # xmin tells a committed version N from an N that a rolled-back transaction once showed to itself.
    row = session.execute(
        select(StatsVersion.version, literal_column("xmin::text")).where(StatsVersion.tenant_id == tenant_id)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, "")


def get_stats(*, session: Session, principal: Principal) -> Stats:
    """The dashboard figures: from the cache when nothing changed since they were computed."""
    tenant, _ = identity.get_tenant(session=session, principal=principal)
    zone = ZoneInfo(tenant.timezone)
    today = clock.now().astimezone(zone).date()
    version, writer = current_version(session, principal.tenant_id)
    key = (principal.tenant_id, version, writer, today, zone.key)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    stats = _compute(session, principal.tenant_id, today, zone, version)
    with _lock:
        _cache[key] = stats
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return stats


def clear_cache() -> None:
    """Forget every cached figure (tests)."""
    with _lock:
        _cache.clear()
