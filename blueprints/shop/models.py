"""Tables of the shop module; all tenant-owned, under row-level security. Relationships never lazy-load."""

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
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, created_at_column
from shared.models import IdPk, SoftDeleted, TenantOwned, TenantRecord, Timestamped, Versioned

STATUSES = "('SCHEDULED','IN_PROGRESS','READY','COMPLETED','NO_SHOW','CANCELED')"
BOOKED = "('SCHEDULED','IN_PROGRESS','READY','COMPLETED')"
ITEM_STATUSES = "('ok','attention','urgent','not_applicable')"
TECH_POINT = "numrange(hashtextextended(tech_id::text, 0)::numeric, hashtextextended(tech_id::text, 0)::numeric, '[]')"


def _tenant_fk(columns: list[str], target: str, name: str, **kwargs: Any) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", *columns], [f"{target}.tenant_id", f"{target}.id"], name=name, **kwargs)


class Appointment(TenantRecord, Timestamped, Versioned, SoftDeleted, Base):
    """A car booked into the shop: who, which vehicle, which technician, when, where on the board, totals."""

    __tablename__ = "appointments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_appointments_tenant_id_id"),
        _tenant_fk(["customer_id"], "customers", "fk_appointments_customer"),
        ForeignKeyConstraint(["vehicle_id"], ["vehicles.id"], name="fk_appointments_vehicle"),
        _tenant_fk(["tech_id"], "users", "fk_appointments_tech"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        # Race-safe double-booking guard: one technician, overlapping live bookings, never both committed.
        # Plain GiST has no uuid equality (that needs btree_gist, which not every server offers), so the
        # technician becomes a one-point range of the uuid's 64-bit hash: ranges overlap exactly when equal.
        ExcludeConstraint(
            (text(TECH_POINT), "&&"),
            (text("tstzrange(starts_at, ends_at)"), "&&"),
            name="ex_appointments_tech_overlap",
            using="gist",
            where=text(f"deleted_at IS NULL AND tech_id IS NOT NULL AND status IN {BOOKED}"),
        ),
        Index("ix_appointments_tenant_starts", "tenant_id", "starts_at"),
        Index("ix_appointments_tenant_status_position", "tenant_id", "status", "position"),
        Index("ix_appointments_tenant_customer", "tenant_id", "customer_id"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    vehicle_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    tech_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="SCHEDULED")
    position: Mapped[float] = mapped_column(Double, nullable=False, default=0.0)
    title: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    total_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    paid_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    check_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    check_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    canceled_by: Mapped[str | None] = mapped_column(String(16))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    override_reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    services: Mapped[list[AppointmentService]] = relationship(
        lazy="raise", order_by="AppointmentService.created_at, AppointmentService.id", viewonly=True
    )
    payments: Mapped[list[Payment]] = relationship(
        lazy="raise", order_by="Payment.created_at, Payment.id", viewonly=True
    )
    checklists: Mapped[list[InspectionChecklist]] = relationship(
        lazy="raise", order_by="InspectionChecklist.created_at, InspectionChecklist.id", viewonly=True
    )


class AppointmentService(TenantRecord, Timestamped, Versioned, Base):
    """A line item of work on an appointment; the appointment's total is the sum of their prices."""

    __tablename__ = "appointment_services"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "appointment_id"],
            ["appointments.tenant_id", "appointments.id"],
            name="fk_appointment_services_appointment",
        ),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        Index("ix_appointment_services_tenant_appointment", "tenant_id", "appointment_id"),
    )

    appointment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    estimated_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    price_cents: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class Payment(TenantRecord, Base):
    """An immutable money movement on an appointment: a payment (positive) or the void of one (negative)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_payments_tenant_id_id"),
        UniqueConstraint("voids_payment_id", name="uq_payments_voids_payment_id"),
        ForeignKeyConstraint(
            ["tenant_id", "appointment_id"],
            ["appointments.tenant_id", "appointments.id"],
            name="fk_payments_appointment",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "voids_payment_id"], ["payments.tenant_id", "payments.id"], name="fk_payments_voids"
        ),
        CheckConstraint("kind IN ('payment','void')", name="kind"),
        CheckConstraint(
            "(kind = 'payment' AND amount_cents > 0 AND voids_payment_id IS NULL) OR "
            "(kind = 'void' AND amount_cents < 0 AND voids_payment_id IS NOT NULL)",
            name="sign",
        ),
        Index("ix_payments_tenant_appointment", "tenant_id", "appointment_id"),
        Index("ix_payments_tenant_created", "tenant_id", "created_at"),
    )

    appointment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="payment")
    amount_cents: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    method: Mapped[str] = mapped_column(String(32), nullable=False)
    note: Mapped[str | None] = mapped_column(String(500))
    voids_payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class InspectionTemplate(TenantRecord, Base):
    """A tenant's reusable checklist: a title and the labels of its items."""

    __tablename__ = "inspection_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_inspection_templates_tenant_id_id"),
        UniqueConstraint("tenant_id", "name", name="uq_inspection_templates_tenant_id_name"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    labels: Mapped[list[str]] = mapped_column(JSONB, nullable=False)


class InspectionChecklist(TenantRecord, Base):
    """One inspection of the car on an appointment."""

    __tablename__ = "inspection_checklists"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id", name="uq_inspection_checklists_tenant_id_id"),
        ForeignKeyConstraint(
            ["tenant_id", "appointment_id"],
            ["appointments.tenant_id", "appointments.id"],
            name="fk_inspection_checklists_appointment",
        ),
        Index("ix_inspection_checklists_tenant_appointment", "tenant_id", "appointment_id"),
    )

    appointment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    template_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    title: Mapped[str] = mapped_column(String(200), nullable=False)

    items: Mapped[list[InspectionItem]] = relationship(
        lazy="raise", order_by="InspectionItem.position, InspectionItem.id", viewonly=True
    )


class InspectionItem(IdPk, TenantOwned, Versioned, Base):
    """One checked point: its finding, notes, photos, and whether the customer approved the recommended work."""

    __tablename__ = "inspection_items"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "checklist_id"],
            ["inspection_checklists.tenant_id", "inspection_checklists.id"],
            name="fk_inspection_items_checklist",
        ),
        CheckConstraint(f"status IN {ITEM_STATUSES}", name="status"),
        CheckConstraint("decision IS NULL OR decision IN ('approved','declined')", name="decision"),
        Index("ix_inspection_items_tenant_checklist", "tenant_id", "checklist_id"),
    )

    checklist_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="ok")
    notes: Mapped[str | None] = mapped_column(Text)
    photo_paths: Mapped[list[str]] = mapped_column(ARRAY(String(500)), nullable=False, default=list)
    recommended: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    estimate_cents: Mapped[int | None] = mapped_column(BigInteger)
    decision: Mapped[str | None] = mapped_column(String(8))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = created_at_column()


class StatsVersion(Base):
    """A per-tenant counter every shop mutation bumps in its own transaction; cached stats are keyed by it."""

    __tablename__ = "shop_stats_versions"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
