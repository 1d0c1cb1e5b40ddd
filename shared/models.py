"""Platform tables that belong to no business module."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, created_at_column, uuid_pk


class OutboxMessage(Base):
    """A queue message written in the same transaction as the change that produced it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_created_at", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    queue: Mapped[str] = mapped_column(String(63), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    delay_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = created_at_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
