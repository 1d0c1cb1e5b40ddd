"""Shop: appointments, line items, payments, inspections and the stats version counter.

Every table is tenant-owned with forced row-level security. The app role may read and write them all
except payments, which are append-only (SELECT and INSERT only: a void is a new, reversing row).
A technician's overlapping live bookings are refused by an exclusion constraint in plain GiST (the
technician as a one-point range of its uuid's hash, so no btree_gist extension), so two concurrent
bookings of one technician cannot both commit.

Revision ID: 0004_shop
Revises: 0002_identity_crm
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import APP_ROLE, rls_statements

revision = "0004_shop"
down_revision = "0002_identity_crm"
branch_labels = ("shop",)
depends_on = None

TABLES = (
    "appointments",
    "appointment_services",
    "payments",
    "inspection_templates",
    "inspection_checklists",
    "inspection_items",
    "shop_stats_versions",
)
APPEND_ONLY = ("payments",)
TECH_POINT = "numrange(hashtextextended(tech_id::text, 0)::numeric, hashtextextended(tech_id::text, 0)::numeric, '[]')"


def upgrade() -> None:
    _create_tables()
    for table in TABLES:
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        privileges = "SELECT, INSERT" if table in APPEND_ONLY else "SELECT, INSERT, UPDATE, DELETE"
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
        for statement in rls_statements(table):
            op.execute(statement)


def _create_tables() -> None:
    op.create_table(
        "inspection_templates",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("labels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_templates")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_inspection_templates_tenant_id_id"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_inspection_templates_tenant_id_name"),
    )
    op.create_table(
        "shop_stats_versions",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_shop_stats_versions")),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("vehicle_id", sa.UUID(), nullable=True),
        sa.Column("tech_id", sa.UUID(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Double(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_cents", sa.BigInteger(), nullable=False),
        sa.Column("check_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("canceled_by", sa.String(length=16), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("override_reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        postgresql.ExcludeConstraint(
            (sa.text(TECH_POINT), "&&"),
            (sa.text("tstzrange(starts_at, ends_at)"), "&&"),
            where=sa.text(
                "deleted_at IS NULL AND tech_id IS NOT NULL AND status IN ('SCHEDULED','IN_PROGRESS','READY','COMPLETED')"
            ),
            using="gist",
            name="ex_appointments_tech_overlap",
        ),
        sa.CheckConstraint(
            "status IN ('SCHEDULED','IN_PROGRESS','READY','COMPLETED','NO_SHOW','CANCELED')",
            name=op.f("ck_appointments_status"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_appointments_ends_after_start")),
        sa.CheckConstraint("total_cents >= 0", name=op.f("ck_appointments_total_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_appointments_customer"
        ),
        sa.ForeignKeyConstraint(["tenant_id", "tech_id"], ["users.tenant_id", "users.id"], name="fk_appointments_tech"),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicles.id"], name="fk_appointments_vehicle"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_appointments_tenant_id_id"),
    )
    op.create_index("ix_appointments_tenant_customer", "appointments", ["tenant_id", "customer_id"], unique=False)
    op.create_index("ix_appointments_tenant_starts", "appointments", ["tenant_id", "starts_at"], unique=False)
    op.create_index(
        "ix_appointments_tenant_status_position", "appointments", ["tenant_id", "status", "position"], unique=False
    )
    op.create_table(
        "appointment_services",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("appointment_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("estimated_hours", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_appointment_services_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "appointment_id"],
            ["appointments.tenant_id", "appointments.id"],
            name="fk_appointment_services_appointment",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_services")),
    )
    op.create_index(
        "ix_appointment_services_tenant_appointment",
        "appointment_services",
        ["tenant_id", "appointment_id"],
        unique=False,
    )
    op.create_table(
        "inspection_checklists",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("appointment_id", sa.UUID(), nullable=False),
        sa.Column("template_id", sa.UUID(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "appointment_id"],
            ["appointments.tenant_id", "appointments.id"],
            name="fk_inspection_checklists_appointment",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_checklists")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_inspection_checklists_tenant_id_id"),
    )
    op.create_index(
        "ix_inspection_checklists_tenant_appointment",
        "inspection_checklists",
        ["tenant_id", "appointment_id"],
        unique=False,
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("appointment_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("voids_payment_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(kind = 'payment' AND amount_cents > 0 AND voids_payment_id IS NULL) OR (kind = 'void' AND amount_cents < 0 AND voids_payment_id IS NOT NULL)",
            name=op.f("ck_payments_sign"),
        ),
        sa.CheckConstraint("kind IN ('payment','void')", name=op.f("ck_payments_kind")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "appointment_id"],
            ["appointments.tenant_id", "appointments.id"],
            name="fk_payments_appointment",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "voids_payment_id"], ["payments.tenant_id", "payments.id"], name="fk_payments_voids"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_payments_tenant_id_id"),
        sa.UniqueConstraint("voids_payment_id", name="uq_payments_voids_payment_id"),
    )
    op.create_index("ix_payments_tenant_appointment", "payments", ["tenant_id", "appointment_id"], unique=False)
    op.create_index("ix_payments_tenant_created", "payments", ["tenant_id", "created_at"], unique=False)
    op.create_table(
        "inspection_items",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("checklist_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("photo_paths", postgresql.ARRAY(sa.String(length=500)), nullable=False),
        sa.Column("recommended", sa.Boolean(), nullable=False),
        sa.Column("estimate_cents", sa.BigInteger(), nullable=True),
        sa.Column("decision", sa.String(length=8), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('approved','declined')", name=op.f("ck_inspection_items_decision")
        ),
        sa.CheckConstraint(
            "status IN ('ok','attention','urgent','not_applicable')", name=op.f("ck_inspection_items_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "checklist_id"],
            ["inspection_checklists.tenant_id", "inspection_checklists.id"],
            name="fk_inspection_items_checklist",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_items")),
    )
    op.create_index(
        "ix_inspection_items_tenant_checklist", "inspection_items", ["tenant_id", "checklist_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_inspection_items_tenant_checklist", table_name="inspection_items")
    op.drop_table("inspection_items")
    op.drop_index("ix_payments_tenant_created", table_name="payments")
    op.drop_index("ix_payments_tenant_appointment", table_name="payments")
    op.drop_table("payments")
    op.drop_index("ix_inspection_checklists_tenant_appointment", table_name="inspection_checklists")
    op.drop_table("inspection_checklists")
    op.drop_index("ix_appointment_services_tenant_appointment", table_name="appointment_services")
    op.drop_table("appointment_services")
    op.drop_index("ix_appointments_tenant_status_position", table_name="appointments")
    op.drop_index("ix_appointments_tenant_starts", table_name="appointments")
    op.drop_index("ix_appointments_tenant_customer", table_name="appointments")
    op.drop_table("appointments")
    op.drop_table("shop_stats_versions")
    op.drop_table("inspection_templates")
