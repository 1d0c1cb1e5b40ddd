"""Pricebook tables in five PostgreSQL schemas, as the origin system split them.

raw.*: ServiceTitan's JSON as received (plus keys); master.*: the normalised pricebook as ServiceTitan last
had it; pb_crm.*: local edits not yet pushed (the crm module owns the word "crm" here, so the schema says
whose it is); sync.*: the connection, runs, feed cursors, inbound log, outbound queue, conflicts and locks;
pricing.*: technicians, vehicles, expense items and markup tiers. Every table has tenant_id, with forced RLS.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, created_at_column
from shared.models import TenantOwned, TenantRecord, Timestamped, Versioned

SCHEMAS = ("raw", "master", "pb_crm", "sync", "pricing")


def table_of(model: Any) -> Table:
    """A mapped class's Table (typed, for Core bulk statements)."""
    return cast(Table, model.__table__)


def _st_id() -> Mapped[int]:
    return mapped_column(BigInteger, primary_key=True, autoincrement=False)


def _tenant_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True)


# --- raw: the JSON as received ---------------------------------------------------------------------------


class RawRecord:
    """One item of an export feed as ServiceTitan sent it."""

    tenant_id: Mapped[uuid.UUID] = _tenant_pk()
    st_id: Mapped[int] = _st_id()
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    modified_on: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    received_at: Mapped[datetime] = created_at_column()


class RawCategory(RawRecord, Base):
    """raw.st_pricebook_categories."""

    __tablename__ = "st_pricebook_categories"
    __table_args__ = {"schema": "raw"}


class RawMaterial(RawRecord, Base):
    """raw.st_pricebook_materials."""

    __tablename__ = "st_pricebook_materials"
    __table_args__ = {"schema": "raw"}


class RawService(RawRecord, Base):
    """raw.st_pricebook_services."""

    __tablename__ = "st_pricebook_services"
    __table_args__ = {"schema": "raw"}


class RawEquipment(RawRecord, Base):
    """raw.st_pricebook_equipment."""

    __tablename__ = "st_pricebook_equipment"
    __table_args__ = {"schema": "raw"}


class PricebookImage(Base):
    """An image's bytes fetched from ServiceTitan once, served from here afterwards."""

    __tablename__ = "pricebook_images"
    __table_args__ = {"schema": "raw"}

    tenant_id: Mapped[uuid.UUID] = _tenant_pk()
    path: Mapped[str] = mapped_column(String(500), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    etag: Mapped[str] = mapped_column(String(80), nullable=False)
    fetched_at: Mapped[datetime] = created_at_column()


# --- master: the normalised pricebook ----------------------------------------------------------------------


class MasterCategory(Base):
    """A category with its place in the tree (`path`: /root/.../self/, so a subtree is a prefix)."""

    __tablename__ = "pricebook_categories"
    __table_args__ = (Index("ix_master_pricebook_categories_path", "tenant_id", "path"), {"schema": "master"})

    tenant_id: Mapped[uuid.UUID] = _tenant_pk()
    st_id: Mapped[int] = _st_id()
    name: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    parent_st_id: Mapped[int | None] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(Text, nullable=False, server_default="/")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    category_type: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    image_path: Mapped[str | None] = mapped_column(String(500))
    modified_on: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synced_at: Mapped[datetime] = created_at_column()


class MasterItem:
    """What materials, services and equipment share; money in integer cents (USD)."""

    tenant_id: Mapped[uuid.UUID] = _tenant_pk()
    st_id: Mapped[int] = _st_id()
    code: Mapped[str] = mapped_column(String(200), nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    member_price_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    add_on_price_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cost_cents: Mapped[int | None] = mapped_column(BigInteger)
    hours: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    category_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    image_paths: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    modified_on: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synced_at: Mapped[datetime] = created_at_column()


class MasterMaterial(MasterItem, Base):
    """master.pricebook_materials."""

    __tablename__ = "pricebook_materials"
    __table_args__ = (Index("ix_master_pricebook_materials_code", "tenant_id", "code"), {"schema": "master"})


class MasterService(MasterItem, Base):
    """master.pricebook_services (links to materials and equipment: ServiceLink)."""

    __tablename__ = "pricebook_services"
    __table_args__ = (Index("ix_master_pricebook_services_code", "tenant_id", "code"), {"schema": "master"})


class MasterEquipment(MasterItem, Base):
    """master.pricebook_equipment."""

    __tablename__ = "pricebook_equipment"
    __table_args__ = (Index("ix_master_pricebook_equipment_code", "tenant_id", "code"), {"schema": "master"})

    manufacturer: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))


class ServiceLink(Base):
    """A material or equipment a service uses, with its quantity."""

    __tablename__ = "pricebook_service_links"
    __table_args__ = {"schema": "master"}

    tenant_id: Mapped[uuid.UUID] = _tenant_pk()
    service_st_id: Mapped[int] = _st_id()
    sku_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    sku_st_id: Mapped[int] = _st_id()
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3), nullable=False)


# --- pb_crm: local edits --------------------------------------------------------------------------------------


class Override(TenantRecord, Timestamped, Versioned, Base):
    """Local values of an item's changed fields, and each field's value when it was first edited (the merge base)."""

    __tablename__ = "pricebook_overrides"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "st_id", name="uq_pricebook_overrides_item"),
        Index("ix_pricebook_overrides_pending", "tenant_id", "pending"),
        {"schema": "pb_crm"},
    )

    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    st_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    base: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    pending: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    edited_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NewItem(TenantRecord, Timestamped, Versioned, Base):
    """An item made here, POSTed to ServiceTitan on the next push and then linked by its id there."""

    __tablename__ = "pricebook_new_items"
    __table_args__ = (Index("ix_pricebook_new_items_pending", "tenant_id", "pending"), {"schema": "pb_crm"})

    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    st_id: Mapped[int | None] = mapped_column(BigInteger)
    pending: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


# --- sync ------------------------------------------------------------------------------------------------


class StConnection(Timestamped, Versioned, Base):
    """The business's ServiceTitan account; the client secret only as an envelope-encrypted box."""

    __tablename__ = "connections"
    __table_args__ = {"schema": "sync"}

    tenant_id: Mapped[uuid.UUID] = _tenant_pk()
    st_tenant_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    client_id: Mapped[str] = mapped_column(String(200), nullable=False)
    secret_box: Mapped[str] = mapped_column(Text, nullable=False)
    environment: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class SyncRun(TenantRecord, Base):
    """One pull or push: its progress per kind and its outcome. One running run per business and direction."""

    __tablename__ = "runs"
    __table_args__ = (
        Index(
            "uq_sync_runs_one_running",
            "tenant_id",
            "direction",
            unique=True,
            postgresql_where=text("status IN ('pending', 'running')"),
        ),
        {"schema": "sync"},
    )

    direction: Mapped[str] = mapped_column(String(8), nullable=False)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)
    kinds: Mapped[list[str]] = mapped_column(ARRAY(String(16)), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FeedCursor(Base):
    """Where each export feed was left: the continueFrom token of the last page written."""

    __tablename__ = "feed_cursors"
    __table_args__ = {"schema": "sync"}

    tenant_id: Mapped[uuid.UUID] = _tenant_pk()
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    continue_from: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = created_at_column()


class InboundPage(TenantOwned, Base):
    """One export page received (the inbound log)."""

    __tablename__ = "inbound_log"
    __table_args__ = (Index("ix_sync_inbound_log_run", "tenant_id", "run_id"), {"schema": "sync"})

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    from_token: Mapped[str | None] = mapped_column(Text)
    continue_from: Mapped[str | None] = mapped_column(Text)
    received: Mapped[int] = mapped_column(Integer, nullable=False)
    written: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class OutboundCall(TenantRecord, Base):
    """One call a push made to ServiceTitan (the outbound queue), with its outcome."""

    __tablename__ = "outbound_queue"
    __table_args__ = (Index("ix_sync_outbound_queue_run", "tenant_id", "run_id"), {"schema": "sync"})

    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    st_id: Mapped[int | None] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    response_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SyncConflict(TenantRecord, Base):
    """A field changed here and in ServiceTitan to different values: both sides and the last synced value."""

    __tablename__ = "conflicts"
    __table_args__ = (Index("ix_sync_conflicts_open", "tenant_id", "status"), {"schema": "sync"})

    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    st_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    field: Mapped[str] = mapped_column(String(64), nullable=False)
    base: Mapped[Any] = mapped_column(JSONB)
    local: Mapped[Any] = mapped_column(JSONB)
    remote: Mapped[Any] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ItemLock(Base):
    """Who is pushing an item now: a second push of the same item waits for the lock to go or expire."""

    __tablename__ = "locks"
    __table_args__ = {"schema": "sync"}

    tenant_id: Mapped[uuid.UUID] = _tenant_pk()
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    st_id: Mapped[int] = _st_id()
    holder: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


# --- pricing ------------------------------------------------------------------------------------------------


class Technician(TenantRecord, Base):
    """A technician's cost: hourly wage, burden (taxes, benefits) and hours billed per month."""

    __tablename__ = "technicians"
    __table_args__ = {"schema": "pricing"}

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    wage_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    burden_percent: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    paid_hours_per_month: Mapped[Decimal] = mapped_column(Numeric(8, 2), nullable=False)
    billable_hours_per_month: Mapped[Decimal] = mapped_column(Numeric(8, 2), nullable=False)


class Vehicle(TenantRecord, Base):
    """A truck's monthly cost (lease, fuel, insurance)."""

    __tablename__ = "vehicles"
    __table_args__ = {"schema": "pricing"}

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    monthly_cost_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ExpenseItem(TenantRecord, Base):
    """Monthly overhead (rent, software, office wages)."""

    __tablename__ = "expense_items"
    __table_args__ = {"schema": "pricing"}

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    monthly_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)


class MarkupTier(TenantRecord, Base):
    """Material cost from min (inclusive) to max (exclusive, none: no ceiling) is sold at cost × multiplier."""

    __tablename__ = "markup_tiers"
    __table_args__ = {"schema": "pricing"}

    min_cost_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    max_cost_cents: Mapped[int | None] = mapped_column(BigInteger)
    multiplier: Mapped[Decimal] = mapped_column(Numeric(6, 3), nullable=False)


class PricingSettings(Base):
    """The margin the billable rate adds on top of cost per billable hour."""

    __tablename__ = "settings"
    __table_args__ = {"schema": "pricing"}

    tenant_id: Mapped[uuid.UUID] = _tenant_pk()
    profit_percent: Mapped[Decimal] = mapped_column(Numeric(6, 2), nullable=False)
    updated_at: Mapped[datetime] = created_at_column()


RAW_MODELS: dict[str, type[RawRecord]] = {
    "categories": RawCategory,
    "materials": RawMaterial,
    "services": RawService,
    "equipment": RawEquipment,
}
MASTER_MODELS: dict[str, type[MasterItem]] = {
    "materials": MasterMaterial,
    "services": MasterService,
    "equipment": MasterEquipment,
}
TENANT_TABLES = tuple(
    f"{model.__table__.schema}.{model.__table__.name}"  # type: ignore[attr-defined]
    for model in (
        RawCategory,
        RawMaterial,
        RawService,
        RawEquipment,
        PricebookImage,
        MasterCategory,
        MasterMaterial,
        MasterService,
        MasterEquipment,
        ServiceLink,
        Override,
        NewItem,
        StConnection,
        SyncRun,
        FeedCursor,
        InboundPage,
        OutboundCall,
        SyncConflict,
        ItemLock,
        Technician,
        Vehicle,
        ExpenseItem,
        MarkupTier,
        PricingSettings,
    )
)
