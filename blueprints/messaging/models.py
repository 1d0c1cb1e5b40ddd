"""Tables of the messaging module; all tenant-owned, under row-level security.

consent_events is append-only (the app role may SELECT and INSERT it): the current consent of a
customer for a channel and purpose is its latest event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKeyConstraint, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, created_at_column
from shared.models import IdPk, TenantOwned, TenantRecord, Timestamped


class Message(TenantRecord, Timestamped, Base):
    """One SMS or email to or from a customer, with where it is in the send pipeline."""

    __tablename__ = "messages"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_messages_customer"
        ),
        Index("ix_messages_tenant_customer_created", "tenant_id", "customer_id", "created_at"),
        Index("ix_messages_tenant_related_created", "tenant_id", "related_type", "related_id", "created_at"),
        Index("ix_messages_tenant_counted", "tenant_id", "counted_at"),
        Index(
            "uq_messages_tenant_dedupe_key",
            "tenant_id",
            "dedupe_key",
            unique=True,
            postgresql_where=text("dedupe_key IS NOT NULL"),
        ),
        Index(
            "uq_messages_tenant_provider_sid",
            "tenant_id",
            "provider_sid",
            unique=True,
            postgresql_where=text("provider_sid IS NOT NULL"),
        ),
    )

    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    direction: Mapped[str] = mapped_column(String(8), nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    purpose: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    to_address: Mapped[str | None] = mapped_column(String(320))
    from_address: Mapped[str | None] = mapped_column(String(320))
    related_type: Mapped[str | None] = mapped_column(String(32))
    related_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    provider_sid: Mapped[str | None] = mapped_column(String(255))
    provider_status: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_detail: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    dispatch_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the blobs an email carries (schemas.Attachment as JSON), downloaded by the pipeline at delivery
    attachments: Mapped[list[Any]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))


class MessageEvent(TenantRecord, Base):
    """A provider status report received for a message; the key makes a replayed webhook a no-op."""

    __tablename__ = "message_events"
    __table_args__ = (Index("uq_message_events_tenant_sid_status", "tenant_id", "provider_sid", "status", unique=True),)

    message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    provider_sid: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    error_code: Mapped[str | None] = mapped_column(String(32))


class ConsentEvent(IdPk, TenantOwned, Base):
    """One grant or revocation of consent for a customer, channel and purpose (append-only ledger)."""

    __tablename__ = "consent_events"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_consent_events_customer"
        ),
        Index("ix_consent_events_lookup", "tenant_id", "customer_id", "channel", "purpose", "created_at"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    granted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class MessageTemplate(TenantRecord, Timestamped, Base):
    """A tenant's reusable message text with named {placeholders}."""

    __tablename__ = "message_templates"
    __table_args__ = (Index("uq_message_templates_tenant_name", "tenant_id", "name", unique=True),)

    name: Mapped[str] = mapped_column(String(100), nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    placeholders: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)


class MessagingSettings(Base):
    """A tenant's sender identities, footer, HELP text and (lowered) limits."""

    __tablename__ = "messaging_settings"
    __table_args__ = (
        Index(
            "uq_messaging_settings_sms_from",
            "sms_from_number",
            unique=True,
            postgresql_where=text("sms_from_number IS NOT NULL"),
        ),
        Index(
            "uq_messaging_settings_service_sid",
            "messaging_service_sid",
            unique=True,
            postgresql_where=text("messaging_service_sid IS NOT NULL"),
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    sms_from_number: Mapped[str | None] = mapped_column(String(16))
    messaging_service_sid: Mapped[str | None] = mapped_column(String(34))
    email_from: Mapped[str | None] = mapped_column(String(320))
    sms_footer: Mapped[str] = mapped_column(String(160), nullable=False)
    help_text: Mapped[str] = mapped_column(String(320), nullable=False)
    limit_per_customer_day: Mapped[int | None] = mapped_column(Integer)
    limit_per_tenant_hour: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = created_at_column()
