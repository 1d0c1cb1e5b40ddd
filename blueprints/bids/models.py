"""Tables of the bids module; all tenant-owned, under forced row-level security. Relationships never lazy-load.

Boxes are PDF points, origin at the page's top left: (x0, top, x1, bottom).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, created_at_column
from shared.models import SoftDeleted, TenantOwned, TenantRecord, Timestamped, Versioned

DOCUMENT_STATUSES = "('awaiting_upload','queued','analyzing','analyzed','failed','cancelled')"
FIXTURE_STATES = "('auto_accepted','pending','hidden','confirmed','rejected')"


def _tenant_fk(columns: list[str], target: str, name: str, **kwargs: Any) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", *columns], [f"{target}.tenant_id", f"{target}.id"], name=name, **kwargs)


class BidSettings(TenantOwned, Versioned, Base):
    """A business's takeoff settings: plumbing code for fixture units, and the confidence thresholds."""

    __tablename__ = "bids_settings"
    __table_args__ = (
        CheckConstraint("code IN ('IPC','UPC')", name="code"),
        CheckConstraint("hide_below >= 0 AND hide_below <= auto_accept AND auto_accept <= 1", name="thresholds"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(3), nullable=False, default="IPC")
    auto_accept: Mapped[Decimal] = mapped_column(Numeric(4, 3), nullable=False, default=Decimal("0.9"))
    hide_below: Mapped[Decimal] = mapped_column(Numeric(4, 3), nullable=False, default=Decimal("0.4"))
    licence_number: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = created_at_column()


class BidProject(TenantRecord, Timestamped, Versioned, SoftDeleted, Base):
    """A job to bid: its customer (crm), address and plan documents."""

    __tablename__ = "bids_projects"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_bids_projects_tenant_id_id"),
        _tenant_fk(["customer_id"], "customers", "fk_bids_projects_customer"),
        Index("ix_bids_projects_tenant_created", "tenant_id", "created_at"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str] = mapped_column(String(500), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class BidDocument(TenantRecord, Timestamped, Versioned, Base):
    """An uploaded plan set and its analysis: status, page counts, the orchestration, the takeoff version."""

    __tablename__ = "bids_documents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_bids_documents_tenant_id_id"),
        UniqueConstraint("blob_name", name="uq_bids_documents_blob_name"),
        _tenant_fk(["project_id"], "bids_projects", "fk_bids_documents_project"),
        CheckConstraint(f"status IN {DOCUMENT_STATUSES}", name="status"),
        Index("ix_bids_documents_tenant_project", "tenant_id", "project_id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    blob_name: Mapped[str] = mapped_column(String(400), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="awaiting_upload")
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    page_count: Mapped[int | None] = mapped_column(Integer)
    vision_all: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    instance_id: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(Text)
    takeoff_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    analyzed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class BidPage(TenantOwned, Base):
    """One page's analysis: its kind, sheet, discipline, status and what the detectors found (the raw result)."""

    __tablename__ = "bids_pages"
    __table_args__ = (
        _tenant_fk(["document_id"], "bids_documents", "fk_bids_pages_document", ondelete="CASCADE"),
        CheckConstraint("status IN ('done','needs_vision','failed')", name="status"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    page_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    discipline: Mapped[str | None] = mapped_column(String(40))
    sheet_number: Mapped[str | None] = mapped_column(String(20))
    width: Mapped[float | None] = mapped_column(Double)
    height: Mapped[float | None] = mapped_column(Double)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    analyzed_at: Mapped[datetime] = created_at_column()


class BidScheduleRow(TenantOwned, Base):
    """A row of the plan set's plumbing fixture schedule: the authority on what each mark is."""

    __tablename__ = "bids_schedule_rows"
    __table_args__ = (
        _tenant_fk(["document_id"], "bids_documents", "fk_bids_schedule_rows_document", ondelete="CASCADE"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    tag: Mapped[str] = mapped_column(String(20), primary_key=True)
    fixture_type: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    manufacturer: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    model: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    cw: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    hw: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    waste: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    vent: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    quantity: Mapped[int | None] = mapped_column(Integer)
    page_number: Mapped[int] = mapped_column(Integer, nullable=False)


class BidFixture(TenantRecord, Timestamped, Versioned, Base):
    """A fixture of the takeoff: page, box, type, the schedule row it resolved to, sources, confidence, state."""

    __tablename__ = "bids_fixtures"
    __table_args__ = (
        _tenant_fk(["document_id"], "bids_documents", "fk_bids_fixtures_document", ondelete="CASCADE"),
        CheckConstraint(f"state IN {FIXTURE_STATES}", name="state"),
        CheckConstraint("x1 > x0 AND bottom > top", name="box"),
        Index("ix_bids_fixtures_tenant_document_page", "tenant_id", "document_id", "page_number"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    page_number: Mapped[int] = mapped_column(Integer, nullable=False)
    sheet_number: Mapped[str | None] = mapped_column(String(20))
    fixture_type: Mapped[str] = mapped_column(String(32), nullable=False)
    tag: Mapped[str | None] = mapped_column(String(20))
    schedule_tag: Mapped[str | None] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    x0: Mapped[float] = mapped_column(Double, nullable=False)
    top: Mapped[float] = mapped_column(Double, nullable=False)
    x1: Mapped[float] = mapped_column(Double, nullable=False)
    bottom: Mapped[float] = mapped_column(Double, nullable=False)
    sources: Mapped[list[str]] = mapped_column(ARRAY(String(16)), nullable=False)
    confidence: Mapped[float] = mapped_column(Double, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    edited: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    added_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class BidTakeoff(TenantRecord, Base):
    """A reviewed takeoff, frozen: its version, who reviewed it, the totals and every counted fixture."""

    __tablename__ = "bids_takeoffs"
    __table_args__ = (
        _tenant_fk(["document_id"], "bids_documents", "fk_bids_takeoffs_document", ondelete="CASCADE"),
        UniqueConstraint("document_id", "version", name="uq_bids_takeoffs_document_version"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    code: Mapped[str] = mapped_column(String(3), nullable=False)
    totals: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    fixtures: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)


class BidVisionUsage(TenantOwned, Base):
    """Tiles a business sent to the vision provider on one UTC day (the daily cap counts these)."""

    __tablename__ = "bids_vision_usage"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tiles: Mapped[int] = mapped_column(Integer, nullable=False)


# --- pricing: price books, bids, their sent revisions ------------------------------------------------------

BID_STATUSES = "('draft','sent','viewed','accepted','declined','expired')"


class BidPriceBook(TenantRecord, Base):
    """One version of a business's plumbing price book (append-only: a change is a new version)."""

    __tablename__ = "bids_price_books"
    __table_args__ = (UniqueConstraint("tenant_id", "version", name="uq_bids_price_books_tenant_version"),)

    version: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Bid(TenantRecord, Timestamped, Versioned, Base):
    """A priced bid for a project: its content and priced lines, status, revision, and the customer's answer."""

    __tablename__ = "bids_bids"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_bids_bids_tenant_id_id"),
        UniqueConstraint("tenant_id", "number", name="uq_bids_bids_tenant_number"),
        _tenant_fk(["project_id"], "bids_projects", "fk_bids_bids_project"),
        CheckConstraint(f"status IN {BID_STATUSES}", name="status"),
        Index("ix_bids_bids_tenant_updated", "tenant_id", "updated_at", "id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    document_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    takeoff_version: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    price_book_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    content: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    priced: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    total_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    instance_id: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    viewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_revision: Mapped[int | None] = mapped_column(Integer)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signer_name: Mapped[str | None] = mapped_column(String(200))
    accepted_alternate_ids: Mapped[list[str] | None] = mapped_column(JSONB)
    accepted_totals: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    declined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str | None] = mapped_column(String(1000))
    decision_ip: Mapped[str | None] = mapped_column(String(64))
    decision_user_agent: Mapped[str | None] = mapped_column(Text)
    signed_pdf_path: Mapped[str | None] = mapped_column(String(500))
    signed_pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    estimator_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class BidRevision(TenantRecord, Base):
    """A sent revision of a bid, frozen: the proposal as the customer saw it, its PDF and the email."""

    __tablename__ = "bids_bid_revisions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "bid_id"],
            ["bids_bids.tenant_id", "bids_bids.id"],
            name="fk_bids_bid_revisions_bid",
            ondelete="CASCADE",
        ),
        UniqueConstraint("bid_id", "revision", name="uq_bids_bid_revisions_bid_revision"),
    )

    bid_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    price_book_version: Mapped[int] = mapped_column(Integer, nullable=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    link_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pdf_path: Mapped[str | None] = mapped_column(String(500))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    message_status: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
