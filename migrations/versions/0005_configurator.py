"""Configurator: products, configurations (with share codes), render jobs and the results already applied.

Every table is tenant-owned with forced row-level security. The anonymous share view reads no tenant
from its caller, so configurator_shared_tenant(code) is a SECURITY DEFINER function that returns only
the tenant id of a live configuration with that code; RLS then shows that tenant's rows alone.

Revision ID: 0005_configurator
Revises: 0002_identity_crm
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import APP_ROLE, drop_rls_statements, rls_statements

revision = "0005_configurator"
down_revision = "0002_identity_crm"
branch_labels = ("configurator",)
depends_on = None

TABLES = (
    "configurator_products",
    "configurator_configurations",
    "configurator_render_jobs",
    "configurator_render_job_results",
)


def upgrade() -> None:
    _create_tables()
    for table in TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        for statement in rls_statements(table):
            op.execute(statement)
    op.execute(
        """
        CREATE FUNCTION configurator_shared_tenant(code text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$ SELECT tenant_id FROM public.configurator_configurations
              WHERE share_code = code AND deleted_at IS NULL $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION configurator_shared_tenant(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION configurator_shared_tenant(text) TO {APP_ROLE}")


def _create_tables() -> None:
    op.create_table(
        "configurator_products",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("config_schema", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("template_blob_path", sa.String(length=1024), nullable=False),
        sa.Column("template_version", sa.String(length=64), nullable=False),
        sa.Column("price_rule", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configurator_products")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_configurator_products_tenant_id_id"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_configurator_products_tenant_name"),
    )
    op.create_table(
        "configurator_configurations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("config_data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("template_version", sa.String(length=64), nullable=False),
        sa.Column("share_code", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["configurator_products.tenant_id", "configurator_products.id"],
            name="fk_configurator_configurations_product",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configurator_configurations")),
        sa.UniqueConstraint("share_code", name="uq_configurator_configurations_share_code"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_configurator_configurations_tenant_id_id"),
    )
    op.create_index(
        "ix_configurator_configurations_tenant_created",
        "configurator_configurations",
        ["tenant_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_configurator_configurations_tenant_product",
        "configurator_configurations",
        ["tenant_id", "product_id"],
        unique=False,
    )
    _create_job_tables()


def _create_job_tables() -> None:
    op.create_table(
        "configurator_render_jobs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("configuration_id", sa.UUID(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("template_blob_path", sa.String(length=1024), nullable=False),
        sa.Column("template_version", sa.String(length=64), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("output_container", sa.String(length=63), nullable=False),
        sa.Column("output_blob_path", sa.String(length=1024), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("render_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "configuration_id"],
            ["configurator_configurations.tenant_id", "configurator_configurations.id"],
            name="fk_configurator_render_jobs_configuration",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configurator_render_jobs")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_configurator_render_jobs_tenant_id_id"),
    )
    op.create_index(
        "ix_configurator_render_jobs_tenant_output",
        "configurator_render_jobs",
        ["tenant_id", "output_blob_path"],
        unique=False,
    )
    op.create_table(
        "configurator_render_job_results",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["configurator_render_jobs.tenant_id", "configurator_render_jobs.id"],
            ondelete="CASCADE",
            name="fk_configurator_render_job_results_job",
        ),
        sa.PrimaryKeyConstraint("job_id", "message_id", name="pk_configurator_render_job_results"),
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS configurator_shared_tenant(text)")
    for table in reversed(TABLES):
        for statement in drop_rls_statements(table):
            op.execute(statement)
    op.drop_table("configurator_render_job_results")
    op.drop_index("ix_configurator_render_jobs_tenant_output", table_name="configurator_render_jobs")
    op.drop_table("configurator_render_jobs")
    op.drop_index("ix_configurator_configurations_tenant_product", table_name="configurator_configurations")
    op.drop_index("ix_configurator_configurations_tenant_created", table_name="configurator_configurations")
    op.drop_table("configurator_configurations")
    op.drop_table("configurator_products")
