"""Pricebook: ServiceTitan's pricebook in schemas raw, master, pb_crm, sync and pricing.

raw holds the JSON as received, master the normalised pricebook, pb_crm the local edits (named pb_crm, not
crm: the crm module owns that word here), sync the connection, runs, cursors, logs, conflicts and locks,
pricing the labour and markup inputs. Every table carries tenant_id with row-level security enabled and
forced; the app role gets SELECT/INSERT/UPDATE/DELETE (the inbound log and outbound queue: SELECT, INSERT,
UPDATE) and USAGE on the schemas. Downgrade drops the tables and the schemas.

Revision ID: 0009_pricebook
Revises: 0002_identity_crm
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import APP_ROLE, drop_rls_statements, rls_statements

revision = "0009_pricebook"
down_revision = "0002_identity_crm"
branch_labels = ("pricebook",)
depends_on = None

SCHEMAS = ("raw", "master", "pb_crm", "sync", "pricing")
TABLES = (
    "raw.st_pricebook_categories",
    "raw.st_pricebook_materials",
    "raw.st_pricebook_services",
    "raw.st_pricebook_equipment",
    "raw.pricebook_images",
    "master.pricebook_categories",
    "master.pricebook_materials",
    "master.pricebook_services",
    "master.pricebook_equipment",
    "master.pricebook_service_links",
    "pb_crm.pricebook_overrides",
    "pb_crm.pricebook_new_items",
    "sync.connections",
    "sync.runs",
    "sync.feed_cursors",
    "sync.inbound_log",
    "sync.outbound_queue",
    "sync.conflicts",
    "sync.locks",
    "pricing.technicians",
    "pricing.vehicles",
    "pricing.expense_items",
    "pricing.markup_tiers",
    "pricing.settings",
)
NO_DELETE = ("sync.inbound_log", "sync.outbound_queue")


def upgrade() -> None:
    for schema in SCHEMAS:
        op.execute(f"CREATE SCHEMA {schema}")
        op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {APP_ROLE}")
    _create_tables()
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA sync TO {APP_ROLE}")
    for table in TABLES:
        privileges = "SELECT, INSERT, UPDATE" if table in NO_DELETE else "SELECT, INSERT, UPDATE, DELETE"
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
        for statement in rls_statements(table):
            op.execute(statement)


def _create_tables() -> None:
    op.create_table(
        "pricebook_categories",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("st_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("parent_st_id", sa.BigInteger(), nullable=True),
        sa.Column("path", sa.Text(), server_default="/", nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("category_type", sa.String(length=40), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("image_path", sa.String(length=500), nullable=True),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "st_id", name=op.f("pk_pricebook_categories")),
        schema="master",
    )
    op.create_index(
        "ix_master_pricebook_categories_path",
        "pricebook_categories",
        ["tenant_id", "path"],
        unique=False,
        schema="master",
    )
    op.create_table(
        "pricebook_equipment",
        sa.Column("manufacturer", sa.String(length=200), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("st_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("member_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("add_on_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("cost_cents", sa.BigInteger(), nullable=True),
        sa.Column("hours", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("category_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("image_paths", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "st_id", name=op.f("pk_pricebook_equipment")),
        schema="master",
    )
    op.create_index(
        "ix_master_pricebook_equipment_code",
        "pricebook_equipment",
        ["tenant_id", "code"],
        unique=False,
        schema="master",
    )
    op.create_table(
        "pricebook_materials",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("st_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("member_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("add_on_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("cost_cents", sa.BigInteger(), nullable=True),
        sa.Column("hours", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("category_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("image_paths", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "st_id", name=op.f("pk_pricebook_materials")),
        schema="master",
    )
    op.create_index(
        "ix_master_pricebook_materials_code",
        "pricebook_materials",
        ["tenant_id", "code"],
        unique=False,
        schema="master",
    )
    op.create_table(
        "pricebook_service_links",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("service_st_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sku_kind", sa.String(length=16), nullable=False),
        sa.Column("sku_st_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "service_st_id", "sku_kind", "sku_st_id", name=op.f("pk_pricebook_service_links")
        ),
        schema="master",
    )
    op.create_table(
        "pricebook_services",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("st_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("member_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("add_on_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("cost_cents", sa.BigInteger(), nullable=True),
        sa.Column("hours", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("category_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("image_paths", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "st_id", name=op.f("pk_pricebook_services")),
        schema="master",
    )
    op.create_index(
        "ix_master_pricebook_services_code", "pricebook_services", ["tenant_id", "code"], unique=False, schema="master"
    )
    op.create_table(
        "pricebook_new_items",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("st_id", sa.BigInteger(), nullable=True),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pricebook_new_items")),
        schema="pb_crm",
    )
    op.create_index(
        "ix_pricebook_new_items_pending", "pricebook_new_items", ["tenant_id", "pending"], unique=False, schema="pb_crm"
    )
    op.create_table(
        "pricebook_overrides",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("st_id", sa.BigInteger(), nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("base", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("edited_by", sa.UUID(), nullable=True),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pricebook_overrides")),
        sa.UniqueConstraint("tenant_id", "kind", "st_id", name="uq_pricebook_overrides_item"),
        schema="pb_crm",
    )
    op.create_index(
        "ix_pricebook_overrides_pending", "pricebook_overrides", ["tenant_id", "pending"], unique=False, schema="pb_crm"
    )
    op.create_table(
        "expense_items",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("monthly_cents", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expense_items")),
        schema="pricing",
    )
    op.create_table(
        "markup_tiers",
        sa.Column("min_cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("max_cost_cents", sa.BigInteger(), nullable=True),
        sa.Column("multiplier", sa.Numeric(precision=6, scale=3), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_markup_tiers")),
        schema="pricing",
    )
    op.create_table(
        "settings",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("profit_percent", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_settings")),
        schema="pricing",
    )
    op.create_table(
        "technicians",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("wage_cents", sa.BigInteger(), nullable=False),
        sa.Column("burden_percent", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("paid_hours_per_month", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("billable_hours_per_month", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technicians")),
        schema="pricing",
    )
    op.create_table(
        "vehicles",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("monthly_cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
        schema="pricing",
    )
    op.create_table(
        "pricebook_images",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("etag", sa.String(length=80), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "path", name=op.f("pk_pricebook_images")),
        schema="raw",
    )
    op.create_table(
        "st_pricebook_categories",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("st_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.UUID(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "st_id", name=op.f("pk_st_pricebook_categories")),
        schema="raw",
    )
    op.create_table(
        "st_pricebook_equipment",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("st_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.UUID(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "st_id", name=op.f("pk_st_pricebook_equipment")),
        schema="raw",
    )
    op.create_table(
        "st_pricebook_materials",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("st_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.UUID(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "st_id", name=op.f("pk_st_pricebook_materials")),
        schema="raw",
    )
    op.create_table(
        "st_pricebook_services",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("st_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.UUID(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "st_id", name=op.f("pk_st_pricebook_services")),
        schema="raw",
    )
    op.create_table(
        "conflicts",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("st_id", sa.BigInteger(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("base", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("local", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("remote", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolved_by", sa.UUID(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflicts")),
        schema="sync",
    )
    op.create_index("ix_sync_conflicts_open", "conflicts", ["tenant_id", "status"], unique=False, schema="sync")
    op.create_table(
        "connections",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("st_tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("secret_box", sa.Text(), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_connections")),
        schema="sync",
    )
    op.create_table(
        "feed_cursors",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("continue_from", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "kind", name=op.f("pk_feed_cursors")),
        schema="sync",
    )
    op.create_table(
        "inbound_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_token", sa.Text(), nullable=True),
        sa.Column("continue_from", sa.Text(), nullable=True),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_log")),
        schema="sync",
    )
    op.create_index("ix_sync_inbound_log_run", "inbound_log", ["tenant_id", "run_id"], unique=False, schema="sync")
    op.create_table(
        "locks",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("st_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.UUID(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "st_id", name=op.f("pk_locks")),
        schema="sync",
    )
    op.create_table(
        "outbound_queue",
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("st_id", sa.BigInteger(), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_queue")),
        schema="sync",
    )
    op.create_index(
        "ix_sync_outbound_queue_run", "outbound_queue", ["tenant_id", "run_id"], unique=False, schema="sync"
    )
    op.create_table(
        "runs",
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("kinds", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        schema="sync",
    )
    op.create_index(
        "uq_sync_runs_one_running",
        "runs",
        ["tenant_id", "direction"],
        unique=True,
        schema="sync",
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    )


def downgrade() -> None:
    for table in TABLES:
        for statement in drop_rls_statements(table):
            op.execute(statement)
    op.drop_index(
        "uq_sync_runs_one_running",
        table_name="runs",
        schema="sync",
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    )
    op.drop_table("runs", schema="sync")
    op.drop_index("ix_sync_outbound_queue_run", table_name="outbound_queue", schema="sync")
    op.drop_table("outbound_queue", schema="sync")
    op.drop_table("locks", schema="sync")
    op.drop_index("ix_sync_inbound_log_run", table_name="inbound_log", schema="sync")
    op.drop_table("inbound_log", schema="sync")
    op.drop_table("feed_cursors", schema="sync")
    op.drop_table("connections", schema="sync")
    op.drop_index("ix_sync_conflicts_open", table_name="conflicts", schema="sync")
    op.drop_table("conflicts", schema="sync")
    op.drop_table("st_pricebook_services", schema="raw")
    op.drop_table("st_pricebook_materials", schema="raw")
    op.drop_table("st_pricebook_equipment", schema="raw")
    op.drop_table("st_pricebook_categories", schema="raw")
    op.drop_table("pricebook_images", schema="raw")
    op.drop_table("vehicles", schema="pricing")
    op.drop_table("technicians", schema="pricing")
    op.drop_table("settings", schema="pricing")
    op.drop_table("markup_tiers", schema="pricing")
    op.drop_table("expense_items", schema="pricing")
    op.drop_index("ix_pricebook_overrides_pending", table_name="pricebook_overrides", schema="pb_crm")
    op.drop_table("pricebook_overrides", schema="pb_crm")
    op.drop_index("ix_pricebook_new_items_pending", table_name="pricebook_new_items", schema="pb_crm")
    op.drop_table("pricebook_new_items", schema="pb_crm")
    op.drop_index("ix_master_pricebook_services_code", table_name="pricebook_services", schema="master")
    op.drop_table("pricebook_services", schema="master")
    op.drop_table("pricebook_service_links", schema="master")
    op.drop_index("ix_master_pricebook_materials_code", table_name="pricebook_materials", schema="master")
    op.drop_table("pricebook_materials", schema="master")
    op.drop_index("ix_master_pricebook_equipment_code", table_name="pricebook_equipment", schema="master")
    op.drop_table("pricebook_equipment", schema="master")
    op.drop_index("ix_master_pricebook_categories_path", table_name="pricebook_categories", schema="master")
    op.drop_table("pricebook_categories", schema="master")
    for schema in reversed(SCHEMAS):
        op.execute(f"DROP SCHEMA {schema}")
