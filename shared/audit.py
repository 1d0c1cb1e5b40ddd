"""The append-only audit log: who did what to which record, from where, with the values before and after.

The app role may INSERT and SELECT `audit_logs`, nothing else (see migration 0002), so a row once
written cannot be changed or removed by the app.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

from pydantic import BaseModel
from sqlalchemy import DateTime, Index, Select, String, Text, select
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared import clock
from shared.db import Base
from shared.models import IdPk, TenantOwned
from shared.pagination import PageQuery, paginate


class AuditLog(IdPk, TenantOwned, Base):
    """One audited action inside a tenant."""

    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_tenant_entity", "tenant_id", "entity", "entity_id"),)

    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    entity: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


@dataclass(frozen=True)
class Actor:
    """Who acts and where the request came from."""

    user_id: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


# Audit rows of work nobody signed in to do (queues, webhooks, timers) name no user.
SYSTEM = Actor()


def actor_of(request: Any) -> Actor:
    """The Actor of a shared.http.Request (its principal, address, agent and request id)."""
    principal = getattr(request, "principal", None)
    return Actor(
        user_id=principal.user_id if principal else None,
        ip=request.client_ip,
        user_agent=(request.user_agent or "")[:500] or None,
        request_id=request.request_id,
    )


@overload
def snapshot(model: BaseModel, *, exclude: set[str] | None = None) -> dict[str, Any]: ...
@overload
def snapshot(model: None, *, exclude: set[str] | None = None) -> None: ...
def snapshot(model: BaseModel | None, *, exclude: set[str] | None = None) -> dict[str, Any] | None:
    """A JSON-ready copy of a record's public fields for before/after."""
    return None if model is None else model.model_dump(mode="json", exclude=exclude)


def record(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    user_id: uuid.UUID | None = None,
) -> AuditLog:
    """Append one audit row in the caller's transaction (it commits or rolls back with the change)."""
    row = AuditLog(
        tenant_id=tenant_id,
        user_id=user_id or actor.user_id,
        action=action,
        entity=entity,
        entity_id=str(entity_id) if entity_id else None,
        before=before,
        after=after,
        ip=actor.ip,
        user_agent=actor.user_agent,
        request_id=actor.request_id,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def list_entries(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    query: PageQuery,
    entity: str | None = None,
    entity_id: str | None = None,
) -> tuple[list[AuditLog], str | None]:
    """The tenant's audit rows, newest first, optionally for one entity kind or record."""
    stmt = select(AuditLog).where(*_entry_conditions(tenant_id, entity, entity_id or None))
    return paginate(session, stmt, keys=[AuditLog.created_at, AuditLog.id], query=query, descending=True)


def recent_entries(*, tenant_id: Any, entity: str, entity_id: Any, limit: int) -> Select:
    """A record's newest `limit` audit rows as a select another read may embed (see shared.db.json_rows).

    tenant_id and entity_id may be values or SQL expressions (bound parameters of the embedding statement).
    """
    return (
        select(AuditLog.action, AuditLog.user_id, AuditLog.before, AuditLog.after, AuditLog.created_at, AuditLog.id)
        .where(*_entry_conditions(tenant_id, entity, entity_id))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)
    )


def _entry_conditions(tenant_id: Any, entity: str | None, entity_id: Any) -> list[Any]:
    conditions: list[Any] = [AuditLog.tenant_id == tenant_id]
    if entity:
        conditions.append(AuditLog.entity == entity)
    if entity_id is not None:
        conditions.append(AuditLog.entity_id == entity_id)
    return conditions
