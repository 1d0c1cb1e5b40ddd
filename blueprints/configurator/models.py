"""Tables of the configurator module; all tenant-owned, under row-level security."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, created_at_column
from shared.models import SoftDeleted, TenantOwned, TenantRecord, Timestamped, Versioned


class Product(TenantRecord, Timestamped, Versioned, Base):
    """A configurable product: its options as JSON Schema, its Blender template and an optional price rule."""

    __tablename__ = "configurator_products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_configurator_products_tenant_id_id"),
        UniqueConstraint("tenant_id", "name", name="uq_configurator_products_tenant_name"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    config_schema: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    template_blob_path: Mapped[str] = mapped_column(String(1024), nullable=False)
    template_version: Mapped[str] = mapped_column(String(64), nullable=False)
    price_rule: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Configuration(TenantRecord, SoftDeleted, Base):
    """A saved set of option values for one product, valid against the product version it was made with."""

    __tablename__ = "configurator_configurations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_configurator_configurations_tenant_id_id"),
        UniqueConstraint("share_code", name="uq_configurator_configurations_share_code"),
        ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["configurator_products.tenant_id", "configurator_products.id"],
            name="fk_configurator_configurations_product",
        ),
        Index("ix_configurator_configurations_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_configurator_configurations_tenant_product", "tenant_id", "product_id"),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    config_data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    config_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    product_version: Mapped[int] = mapped_column(Integer, nullable=False)
    template_version: Mapped[str] = mapped_column(String(64), nullable=False)
    share_code: Mapped[str] = mapped_column(String(16), nullable=False)


class RenderJob(TenantRecord, Timestamped, Base):
    """One request to turn a configuration into a GLB, and where it stands."""

    __tablename__ = "configurator_render_jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_configurator_render_jobs_tenant_id_id"),
        ForeignKeyConstraint(
            ["tenant_id", "configuration_id"],
            ["configurator_configurations.tenant_id", "configurator_configurations.id"],
            name="fk_configurator_render_jobs_configuration",
        ),
        Index("ix_configurator_render_jobs_tenant_output", "tenant_id", "output_blob_path"),
    )

    configuration_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cached: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    template_blob_path: Mapped[str] = mapped_column(String(1024), nullable=False)
    template_version: Mapped[str] = mapped_column(String(64), nullable=False)
    config_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    output_container: Mapped[str] = mapped_column(String(63), nullable=False)
    output_blob_path: Mapped[str] = mapped_column(String(1024), nullable=False)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    retry_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_retries: Mapped[int] = mapped_column(Integer, nullable=False)
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    render_ms: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RenderJobResult(TenantOwned, Base):
    """A results-queue message already applied to its job: a redelivered message has no second effect."""

    __tablename__ = "configurator_render_job_results"
    __table_args__ = (
        PrimaryKeyConstraint("job_id", "message_id", name="pk_configurator_render_job_results"),
        ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["configurator_render_jobs.tenant_id", "configurator_render_jobs.id"],
            ondelete="CASCADE",
            name="fk_configurator_render_job_results_job",
        ),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    message_id: Mapped[str] = mapped_column(String(128), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    applied: Mapped[bool] = mapped_column(Boolean, nullable=False)
    received_at: Mapped[datetime] = created_at_column()
