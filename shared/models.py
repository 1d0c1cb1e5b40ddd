"""Platform tables that belong to no business module, and the columns every tenant table repeats.

The bases follow polar's RecordModel.

A table composes what it has: `class Estimate(TenantRecord, Timestamped, Versioned, SoftDeleted, Base)`.
The mixins declare exactly the columns the migrations create, so adopting them changes no schema.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared.db import Base, created_at_column


class IdPk:
    """A UUID primary key known before the row is flushed."""

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


class TenantOwned:
    """The business a row belongs to; row-level security filters on it."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)


class Created:
    """A UTC creation time set by the database."""

    created_at: Mapped[datetime] = created_at_column()


class Timestamped(Created):
    """Creation and last-change times (services set updated_at when they change a row)."""

    updated_at: Mapped[datetime] = created_at_column()


class Versioned:
    """An optimistic-locking counter: a stale UPDATE fails instead of overwriting (the ETag of the row)."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class SoftDeleted:
    """Deleted rows stay, with the time they were deleted; readers filter `deleted_at IS NULL`."""

    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TenantRecord(IdPk, TenantOwned, Created):
    """The three columns nearly every tenant table has: id, tenant_id, created_at."""


class OutboxMessage(IdPk, Created, Base):
    """A queue message written in the same transaction as the change that produced it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_created_at", "created_at"),)

    queue: Mapped[str] = mapped_column(String(63), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    delay_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
