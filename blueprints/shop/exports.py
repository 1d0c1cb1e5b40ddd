"""CSV exports of appointments and payments for a date range, at most 5 per user per hour."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.shop import directory
from blueprints.shop.models import Appointment, Payment
from blueprints.shop.schemas import ExportQuery
from shared import clock, ratelimit
from shared.auth import Principal

EXPORT_LIMIT = ratelimit.Limit(name="shop.exports", limit=5, window_seconds=3600)
APPOINTMENT_COLUMNS = (
    "id",
    "status",
    "starts_at",
    "ends_at",
    "customer",
    "vehicle",
    "tech",
    "total_cents",
    "paid_cents",
    "balance_cents",
    "currency",
    "check_in_at",
    "check_out_at",
    "canceled_by",
    "cancel_reason",
)
PAYMENT_COLUMNS = (
    "id",
    "created_at",
    "appointment_id",
    "customer",
    "kind",
    "amount_cents",
    "currency",
    "method",
    "note",
    "voids_payment_id",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = clock.iso_utc(value) if isinstance(value, datetime) else str(value)
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not text.lstrip("-").isdigit() else text


def _csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _consume(session: Session, principal: Principal) -> None:
    ratelimit.consume(
        session,
        limit=EXPORT_LIMIT,
        subject=f"{principal.tenant_id}:{principal.user_id}",
        detail="At most 5 exports per hour; try again later",
    )


def appointments_csv(*, session: Session, principal: Principal, query: ExportQuery) -> str:
    """Appointments starting in the range (deleted ones left out), as CSV."""
    _consume(session, principal)
    c, v, u = directory.customers, directory.vehicles, directory.users
    stmt = (
        select(
            Appointment.id,
            Appointment.status,
            Appointment.starts_at,
            Appointment.ends_at,
            c.c.name,
            v.c.year,
            v.c.make,
            v.c.model,
            u.c.name,
            Appointment.total_cents,
            Appointment.paid_cents,
            Appointment.currency,
            Appointment.check_in_at,
            Appointment.check_out_at,
            Appointment.canceled_by,
            Appointment.cancel_reason,
        )
        .join(c, c.c.id == Appointment.customer_id)
        .outerjoin(v, v.c.id == Appointment.vehicle_id)
        .outerjoin(u, u.c.id == Appointment.tech_id)
        .where(
            Appointment.tenant_id == principal.tenant_id,
            Appointment.deleted_at.is_(None),
            Appointment.starts_at >= query.from_,
            Appointment.starts_at < query.to,
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    rows = []
    for r in session.execute(stmt):
        vehicle = " ".join(str(p) for p in (r[5], r[6], r[7]) if p) or None
        rows.append(
            (r[0], r[1], r[2], r[3], r[4], vehicle, r[8], r[9], r[10], cast(int, r[9]) - cast(int, r[10]), *r[11:])
        )
    return _csv(APPOINTMENT_COLUMNS, rows)


def payments_csv(*, session: Session, principal: Principal, query: ExportQuery) -> str:
    """Payments and voids recorded in the range, as CSV."""
    _consume(session, principal)
    c = directory.customers
    stmt = (
        select(
            Payment.id,
            Payment.created_at,
            Payment.appointment_id,
            c.c.name,
            Payment.kind,
            Payment.amount_cents,
            Payment.currency,
            Payment.method,
            Payment.note,
            Payment.voids_payment_id,
        )
        .join(Appointment, Appointment.id == Payment.appointment_id)
        .join(c, c.c.id == Appointment.customer_id)
        .where(
            Payment.tenant_id == principal.tenant_id, Payment.created_at >= query.from_, Payment.created_at < query.to
        )
        .order_by(Payment.created_at, Payment.id)
    )
    return _csv(PAYMENT_COLUMNS, session.execute(stmt))
