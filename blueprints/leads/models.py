"""Tables of the leads module; both tenant-owned, under row-level security.

A lead keeps the wording of the consent checkbox it was submitted with; the messaging consent ledger
(64-character sources) names that wording by its SHA-256 (`consent_source`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKeyConstraint, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, created_at_column
from shared.models import TenantRecord, Timestamped, Versioned


class LeadSettings(Base):
    """A business's intake slug, the site origins its form posts from, its answer templates and follow-ups."""

    __tablename__ = "lead_settings"
    __table_args__ = (Index("uq_lead_settings_slug", "slug", unique=True),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), nullable=False)
    site_origins: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    sms_template: Mapped[str] = mapped_column(Text, nullable=False)
    email_subject: Mapped[str] = mapped_column(String(200), nullable=False)
    email_template: Mapped[str] = mapped_column(Text, nullable=False)
    follow_up_days: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    follow_up_template: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = created_at_column()


class Lead(TenantRecord, Timestamped, Versioned, Base):
    """One enquiry (a form post or a text from an unknown number), its customer and its automatic answer."""

    __tablename__ = "leads"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_leads_customer"
        ),
        Index("ix_leads_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_leads_tenant_customer_created", "tenant_id", "customer_id", "created_at"),
        Index(
            "uq_leads_tenant_inbound_message",
            "tenant_id",
            "inbound_message_id",
            unique=True,
            postgresql_where=text("inbound_message_id IS NOT NULL"),
        ),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320))
    address: Mapped[str | None] = mapped_column(String(500))
    message: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str | None] = mapped_column(String(64))
    consent_text: Mapped[str | None] = mapped_column(Text)
    consent_given: Mapped[bool] = mapped_column(Boolean, nullable=False)
    consent_source: Mapped[str | None] = mapped_column(String(64))
    inbound_message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    submissions: Mapped[int] = mapped_column(Integer, nullable=False)
    last_submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    answer_state: Mapped[str] = mapped_column(String(16), nullable=False)
    answer_channel: Mapped[str | None] = mapped_column(String(8))
    answer_message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    answer_queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer_scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    owner_notice: Mapped[str | None] = mapped_column(String(16))
    owner_notice_lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    owner_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    follow_ups_sent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    follow_ups_stopped: Mapped[str | None] = mapped_column(String(16))
    contacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
