"""Customer texts through the messaging module: "your car is ready" and the day-before reminders.

Each text carries a dedupe key, so a repeated move or a timer that runs twice sends it once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.identity import service as identity
from blueprints.messaging import service as messaging
from blueprints.shop.models import Appointment
from blueprints.shop.transitions import Status
from shared import clock
from shared.auth import Principal, system_principal
from shared.errors import AppError
from shared.jobs import for_each_tenant

log = logging.getLogger("tradeops.shop.texts")


def _send(
    session: Session, appointment: Appointment, *, body: str, dedupe_key: str, actor_user_id: uuid.UUID | None
) -> bool:
    try:
        with session.begin_nested():  # a customer we cannot text must not undo the move or the batch
            messaging.send(
                session=session,
                tenant_id=appointment.tenant_id,
                customer_id=appointment.customer_id,
                channel="sms",
                body=body,
                purpose="transactional",
                related_type="appointment",
                related_id=appointment.id,
                actor_user_id=actor_user_id,
                dedupe_key=dedupe_key,
            )
    except AppError as error:
        log.info("shop text not sent: %s", error.code)
        return False
    return True


def car_ready(*, session: Session, principal: Principal, appointment: Appointment) -> bool:
    """Text the customer that their car is ready (once per time it becomes ready)."""
    tenant, _ = identity.get_tenant(session=session, principal=principal)
    body = f"{tenant.name}: your car is ready for pickup."
    return _send(
        session,
        appointment,
        body=body,
        dedupe_key=f"ready:{appointment.id}:{appointment.version}",
        actor_user_id=principal.user_id,
    )


def remind_tenant(*, session: Session, tenant_id: uuid.UUID, now: datetime | None = None) -> int:
    """Queue a reminder for each of the tenant's appointments starting tomorrow (local); returns how many."""
    tenant, _ = identity.get_tenant(session=session, principal=system_principal(tenant_id))
    if "shop" not in tenant.enabled_modules or "messaging" not in tenant.enabled_modules:
        return 0
    zone = ZoneInfo(tenant.timezone)
    tomorrow = (now or clock.now()).astimezone(zone).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, datetime.min.time(), zone).astimezone(UTC)
    stmt = (
        select(Appointment)
        .where(
            Appointment.tenant_id == tenant_id,
            Appointment.deleted_at.is_(None),
            Appointment.status == Status.SCHEDULED.value,
            Appointment.starts_at >= start,
            Appointment.starts_at < start + timedelta(days=1),
        )
        .order_by(Appointment.starts_at)
    )
    sent = 0
    for appointment in session.scalars(stmt).all():
        local = appointment.starts_at.astimezone(zone).strftime("%H:%M")
        body = f"{tenant.name}: reminder of your appointment tomorrow at {local}."
        sent += _send(
            session,
            appointment,
            body=body,
            dedupe_key=f"reminder:{appointment.id}:{tomorrow.isoformat()}",
            actor_user_id=None,
        )
    return sent


def send_reminders(*, now: datetime | None = None) -> int:
    """Visit every tenant and queue tomorrow's reminders; one tenant's failure never stops the others."""
    run = for_each_tenant(
        lambda session, tenant_id: remind_tenant(session=session, tenant_id=tenant_id, now=now), name="shop reminders"
    )
    return run.total()
