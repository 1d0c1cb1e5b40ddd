"""Tables of the crm module; all tenant-owned, under row-level security."""

from __future__ import annotations

import uuid

from sqlalchemy import (
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base
from shared.models import Created, SoftDeleted, TenantOwned, TenantRecord, Timestamped, Versioned


class Customer(TenantRecord, Timestamped, Versioned, SoftDeleted, Base):
    """A person or company the business works for; owned by one user, soft-deleted."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_customers_tenant_id_id"),
        ForeignKeyConstraint(
            ["tenant_id", "owner_id"], ["users.tenant_id", "users.id"], name="fk_customers_owner_users"
        ),
        Index("ix_customers_tenant_name", "tenant_id", "name", "id"),
        Index("ix_customers_tenant_phone", "tenant_id", "phone"),
        Index("ix_customers_tenant_owner", "tenant_id", "owner_id"),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320))
    address: Mapped[str | None] = mapped_column(String(500))
    timezone: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)


class CustomerShare(TenantOwned, Created, Base):
    """A customer shared by its owner with a peer, who then sees it too."""

    __tablename__ = "customer_shares"
    __table_args__ = (
        PrimaryKeyConstraint("customer_id", "user_id", name="pk_customer_shares"),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            ondelete="CASCADE",
            name="fk_customer_shares_customer",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            ondelete="CASCADE",
            name="fk_customer_shares_user",
        ),
        Index("ix_customer_shares_tenant_user", "tenant_id", "user_id"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Vehicle(TenantRecord, Timestamped, Versioned, SoftDeleted, Base):
    """A customer's vehicle; soft-deleted."""

    __tablename__ = "vehicles"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_vehicles_customer"
        ),
        Index("ix_vehicles_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_vehicles_tenant_vin", "tenant_id", "vin"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    year: Mapped[int | None] = mapped_column(Integer)
    make: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(64))
    vin: Mapped[str | None] = mapped_column(String(17))
    mileage: Mapped[int | None] = mapped_column(Integer)
