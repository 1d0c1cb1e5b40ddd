"""Helpers every shop use case shares: loading an appointment, the stats version bump, tech clash checks."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blueprints.shop.models import Appointment, StatsVersion
from blueprints.shop.transitions import BOOKED
from shared.clock import iso_utc
from shared.errors import Conflict, NotFound
from shared.etag import flush_versioned

OVERLAP_CONSTRAINT = "ex_appointments_tech_overlap"


def appointment_or_raise(
    session: Session, tenant_id: uuid.UUID, appointment_id: uuid.UUID, *, lock: bool = False
) -> Appointment:
    """A live appointment of the tenant (404 otherwise), row-locked when asked."""
    stmt = select(Appointment).where(
        Appointment.id == appointment_id, Appointment.tenant_id == tenant_id, Appointment.deleted_at.is_(None)
    )
    appointment = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if appointment is None:
        raise NotFound("No such appointment")
    return appointment


def bump_stats_version(session: Session, tenant_id: uuid.UUID) -> None:
    """Invalidate the tenant's cached stats in this transaction (always the last lock a mutation takes)."""
    stmt = insert(StatsVersion).values(tenant_id=tenant_id, version=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[StatsVersion.tenant_id], set_={"version": StatsVersion.version + 1}
    )
    session.execute(stmt)


def check_tech_free(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    tech_id: uuid.UUID | None,
    starts_at: datetime,
    ends_at: datetime,
    status: str,
    ignore_id: uuid.UUID | None = None,
) -> None:
    """409 naming the clashing booking when the technician is already booked over this time."""
    if tech_id is None or status not in BOOKED:
        return
    stmt = (
        select(Appointment.id, Appointment.starts_at, Appointment.ends_at)
        .where(
            Appointment.tenant_id == tenant_id,
            Appointment.tech_id == tech_id,
            Appointment.deleted_at.is_(None),
            Appointment.status.in_([s.value for s in BOOKED]),
            Appointment.starts_at < ends_at,
            Appointment.ends_at > starts_at,
        )
        .order_by(Appointment.starts_at)
        .limit(1)
    )
    if ignore_id is not None:
        stmt = stmt.where(Appointment.id != ignore_id)
    with session.no_autoflush:
        clash = session.execute(stmt).first()
    if clash is not None:
        raise _clash(clash.id, clash.starts_at, clash.ends_at)


def _clash(clash_id: uuid.UUID | None, starts_at: datetime | None, ends_at: datetime | None) -> Conflict:
    when = f" from {iso_utc(starts_at)} to {iso_utc(ends_at)}" if starts_at and ends_at else ""
    return Conflict(
        f"The technician is already booked{when} (appointment {clash_id or 'being saved'})",
        code="tech_double_booked",
        clash={
            "appointment_id": str(clash_id) if clash_id else None,
            "starts_at": iso_utc(starts_at) if starts_at else None,
            "ends_at": iso_utc(ends_at) if ends_at else None,
        },
    )


def flush_booking(session: Session) -> None:
    """Flush; a concurrent booking that won the race surfaces as the same 409 as the up-front check."""
    try:
        flush_versioned(session)
    except IntegrityError as exc:
        if OVERLAP_CONSTRAINT in str(exc.orig):
            raise _clash(None, None, None) from None
        raise
