"""Tables of the estimates module; all tenant-owned, under forced row-level security. Relationships never lazy-load."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base
from shared.models import Created, SoftDeleted, TenantOwned, TenantRecord, Timestamped, Versioned

STATUSES = "('draft','sent','viewed','accepted','declined','expired')"


def _estimate_fk(name: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "estimate_id"], ["estimates.tenant_id", "estimates.id"], name=name, ondelete="CASCADE"
    )


class RateBook(TenantRecord, Base):
    """One version of a business's rate book (append-only: a change is a new version)."""

    __tablename__ = "estimate_rate_books"
    __table_args__ = (UniqueConstraint("tenant_id", "version", name="uq_estimate_rate_books_tenant_version"),)

    version: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Estimate(TenantRecord, Timestamped, Versioned, SoftDeleted, Base):
    """A painting estimate for a customer, owned by an estimator; its revision counts the times it changed after
    being sent, and the acceptance columns hold the customer's signed answer."""

    __tablename__ = "estimates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_estimates_tenant_id_id"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_estimates_customer"
        ),
        ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"], name="fk_estimates_owner"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        Index("ix_estimates_tenant_updated", "tenant_id", "updated_at", "id"),
        Index("ix_estimates_tenant_owner_updated", "tenant_id", "owner_id", "updated_at", "id"),
        Index("ix_estimates_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_estimates_tenant_status", "tenant_id", "status"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    job_address: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    rate_book_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    discount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    viewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_revision: Mapped[int | None] = mapped_column(Integer)
    accepted_option_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    accepted_addon_ids: Mapped[list[str] | None] = mapped_column(JSONB)
    signer_name: Mapped[str | None] = mapped_column(String(200))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    declined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str | None] = mapped_column(String(1000))
    decision_ip: Mapped[str | None] = mapped_column(String(64))
    decision_user_agent: Mapped[str | None] = mapped_column(Text)
    accepted_total_cents: Mapped[int | None] = mapped_column(BigInteger)
    signed_pdf_path: Mapped[str | None] = mapped_column(String(500))
    signed_pdf_sha256: Mapped[str | None] = mapped_column(String(64))


class EstimateOption(TenantRecord, Base):
    """A named option of an estimate (Good, Better, Best), optionally swapping products for another tier."""

    __tablename__ = "estimate_options"
    __table_args__ = (
        _estimate_fk("fk_estimate_options_estimate"),
        Index("ix_estimate_options_tenant_estimate", "tenant_id", "estimate_id"),
    )

    estimate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    product_overrides: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False, default=dict)


class EstimateItem(TenantRecord, Timestamped, Versioned, Base):
    """A room of an estimate by its measurements, with its surfaces (the line items)."""

    __tablename__ = "estimate_items"
    __table_args__ = (
        _estimate_fk("fk_estimate_items_estimate"),
        Index("ix_estimate_items_tenant_estimate", "tenant_id", "estimate_id", "position"),
    )

    estimate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    option_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    length_ft: Mapped[Decimal] = mapped_column(Numeric(9, 3), nullable=False)
    width_ft: Mapped[Decimal] = mapped_column(Numeric(9, 3), nullable=False)
    height_ft: Mapped[Decimal] = mapped_column(Numeric(9, 3), nullable=False)
    doors: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    windows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    surfaces: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)


class EstimateAddon(TenantRecord, Base):
    """An optional extra of an estimate at a fixed price."""

    __tablename__ = "estimate_addons"
    __table_args__ = (
        _estimate_fk("fk_estimate_addons_estimate"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        Index("ix_estimate_addons_tenant_estimate", "tenant_id", "estimate_id"),
    )

    estimate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    price_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class EstimateShare(TenantOwned, Created, Base):
    """An estimate shared by its owner (or an admin) with a peer, to view or to edit."""

    __tablename__ = "estimate_shares"
    __table_args__ = (
        PrimaryKeyConstraint("estimate_id", "user_id", name="pk_estimate_shares"),
        _estimate_fk("fk_estimate_shares_estimate"),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            ondelete="CASCADE",
            name="fk_estimate_shares_user",
        ),
        CheckConstraint("access IN ('view','edit')", name="access"),
        Index("ix_estimate_shares_tenant_user", "tenant_id", "user_id"),
    )

    estimate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    access: Mapped[str] = mapped_column(String(8), nullable=False, default="view")
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class EstimateRevision(TenantRecord, Base):
    """A sent revision, frozen: the whole priced estimate as the customer saw it, and its proposal PDF."""

    __tablename__ = "estimate_revisions"
    __table_args__ = (
        _estimate_fk("fk_estimate_revisions_estimate"),
        UniqueConstraint("estimate_id", "revision", name="uq_estimate_revisions_estimate_revision"),
    )

    estimate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    rate_book_version: Mapped[int] = mapped_column(Integer, nullable=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    channel: Mapped[str | None] = mapped_column(String(8))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    link_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    pdf_path: Mapped[str | None] = mapped_column(String(500))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    sent_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class EstimateNotice(TenantRecord, Base):
    """An email to the estimator (acceptance, follow-up reminder): at most one per estimate and kind."""

    __tablename__ = "estimate_notices"
    __table_args__ = (
        _estimate_fk("fk_estimate_notices_estimate"),
        UniqueConstraint("estimate_id", "kind", name="uq_estimate_notices_estimate_kind"),
        CheckConstraint("kind IN ('accepted','unviewed','undecided')", name="kind"),
    )

    estimate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(String(300))


# --- photos and colour previews (issue 14) ---------------------------------------------------------------

PHOTO_STATUSES = "('awaiting_upload','committed')"
THUMBNAIL_STATUSES = "('pending','ready','failed','unsupported')"
PREVIEW_STATUSES = "('queued','running','ready','failed')"


class EstimatePhoto(TenantRecord, Timestamped, Versioned, SoftDeleted, Base):
    """A job photo of an estimate: uploaded by SAS, committed (checked, location removed) into the photos
    container, with its two WebP thumbnails made by the thumbnail queue."""

    __tablename__ = "estimate_photos"
    __table_args__ = (
        _estimate_fk("fk_estimate_photos_estimate"),
        UniqueConstraint("tenant_id", "id", name="uq_estimate_photos_tenant_id_id"),
        CheckConstraint(f"status IN {PHOTO_STATUSES}", name="status"),
        CheckConstraint(f"thumbnail_status IN {THUMBNAIL_STATUSES}", name="thumbnail_status"),
        Index("ix_estimate_photos_tenant_estimate", "tenant_id", "estimate_id", "position"),
    )

    estimate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    room_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="awaiting_upload")
    upload_blob: Mapped[str] = mapped_column(String(300), nullable=False)
    declared_type: Mapped[str] = mapped_column(String(32), nullable=False)
    declared_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    blob_name: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str | None] = mapped_column(String(8))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    location_removed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    caption: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    in_proposal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    thumbnail_status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    thumbnail_error: Mapped[str | None] = mapped_column(String(300))
    thumb_small: Mapped[str | None] = mapped_column(String(300))
    thumb_large: Mapped[str | None] = mapped_column(String(300))
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class EstimatePreview(TenantRecord, Timestamped, Versioned, Base):
    """A colour preview of a photo (AI visualisation): one per photo, colour, surfaces and finish; made by the
    preview queue with Gemini, or the local recolouring without a key."""

    __tablename__ = "estimate_previews"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "photo_id"],
            ["estimate_photos.tenant_id", "estimate_photos.id"],
            name="fk_estimate_previews_photo",
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "photo_id", "request_key", name="uq_estimate_previews_request"),
        CheckConstraint(f"status IN {PREVIEW_STATUSES}", name="status"),
        Index("ix_estimate_previews_tenant_created", "tenant_id", "created_at"),
    )

    estimate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    photo_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    request_key: Mapped[str] = mapped_column(String(64), nullable=False)
    colour: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    surfaces: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    finish: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider: Mapped[str | None] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(200))
    cost_units: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    blob_name: Mapped[str | None] = mapped_column(String(300))
    mime_type: Mapped[str | None] = mapped_column(String(32))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(500))
    in_proposal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


# --- estimates by voice (the ElevenLabs agent): sessions we issued, post-call webhooks, draft rooms ----------


class VoiceSession(TenantRecord, Base):
    """A voice conversation we let an estimator open for an estimate: the first conversation that names it claims
    it (before it expires); whatever comes back from the agent is tied to the estimate through this row only."""

    __tablename__ = "estimate_voice_sessions"
    __table_args__ = (
        _estimate_fk("fk_estimate_voice_sessions_estimate"),
        Index("ix_estimate_voice_sessions_tenant_estimate", "tenant_id", "estimate_id"),
        CheckConstraint("provider IN ('elevenlabs','local')", name="provider"),
    )

    estimate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    agent_id: Mapped[str] = mapped_column(String(200), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VoiceCall(TenantRecord, Base):
    """A post-call webhook as received (once per conversation), turned into draft rooms by the queue."""

    __tablename__ = "estimate_voice_calls"
    __table_args__ = (
        _estimate_fk("fk_estimate_voice_calls_estimate"),
        ForeignKeyConstraint(
            ["session_id"], ["estimate_voice_sessions.id"], name="fk_estimate_voice_calls_session", ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "conversation_id", name="uq_estimate_voice_calls_conversation"),
        CheckConstraint("status IN ('received','processed','failed')", name="status"),
    )

    estimate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    conversation_id: Mapped[str] = mapped_column(String(128), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="received")
    drafts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VoiceDraft(TenantRecord, Timestamped, Versioned, Base):
    """A room the agent heard, not priced until a person confirms it (then `room_id` is the room it became)."""

    __tablename__ = "estimate_voice_drafts"
    __table_args__ = (
        _estimate_fk("fk_estimate_voice_drafts_estimate"),
        ForeignKeyConstraint(
            ["session_id"], ["estimate_voice_sessions.id"], name="fk_estimate_voice_drafts_session", ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "tool_call_key", name="uq_estimate_voice_drafts_tool_call"),
        CheckConstraint("status IN ('pending','confirmed','rejected')", name="status"),
        CheckConstraint("source IN ('tool','data_collection','transcript')", name="source"),
        Index("ix_estimate_voice_drafts_tenant_estimate", "tenant_id", "estimate_id", "created_at", "id"),
    )

    estimate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    conversation_id: Mapped[str] = mapped_column(String(128), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    length_ft: Mapped[Decimal | None] = mapped_column(Numeric(9, 3))
    width_ft: Mapped[Decimal | None] = mapped_column(Numeric(9, 3))
    height_ft: Mapped[Decimal | None] = mapped_column(Numeric(9, 3))
    doors: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    windows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    surfaces: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    tool_call_key: Mapped[str | None] = mapped_column(String(128))
    room_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
