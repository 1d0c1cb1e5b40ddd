"""Bids: business settings, projects, plan documents, page results, schedule rows, fixtures, reviewed takeoffs.

Every table is tenant-owned with forced row-level security; the app role may read and write them all except
reviewed takeoffs, which are append-only (SELECT and INSERT: a new review is a new version). Vision usage
counts the tiles each business sent to the vision provider per UTC day, against its daily cap.

Revision ID: 0008_bids
Revises: 0002_identity_crm
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import APP_ROLE, rls_statements

revision = "0008_bids"
down_revision = "0002_identity_crm"
branch_labels = ("bids",)
depends_on = None

TABLES = (
    "bids_settings",
    "bids_projects",
    "bids_documents",
    "bids_pages",
    "bids_schedule_rows",
    "bids_fixtures",
    "bids_takeoffs",
    "bids_vision_usage",
)
APPEND_ONLY = ("bids_takeoffs",)


def upgrade() -> None:
    _create_tables()
    _create_usage()
    for table in TABLES:
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        privileges = "SELECT, INSERT" if table in APPEND_ONLY else "SELECT, INSERT, UPDATE, DELETE"
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
        for statement in rls_statements(table):
            op.execute(statement)


def _create_tables() -> None:
    op.create_table(
        "bids_settings",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("auto_accept", sa.Numeric(precision=4, scale=3), nullable=False),
        sa.Column("hide_below", sa.Numeric(precision=4, scale=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("code IN ('IPC','UPC')", name=op.f("ck_bids_settings_code")),
        sa.CheckConstraint(
            "hide_below >= 0 AND hide_below <= auto_accept AND auto_accept <= 1",
            name=op.f("ck_bids_settings_thresholds"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_bids_settings")),
    )
    op.create_table(
        "bids_projects",
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_bids_projects_customer"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids_projects")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_bids_projects_tenant_id_id"),
    )
    op.create_index("ix_bids_projects_tenant_created", "bids_projects", ["tenant_id", "created_at"], unique=False)
    op.create_table(
        "bids_documents",
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("blob_name", sa.String(length=400), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("vision_all", sa.Boolean(), nullable=False),
        sa.Column("instance_id", sa.String(length=100), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("takeoff_version", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.UUID(), nullable=True),
        sa.Column("analyzed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('awaiting_upload','queued','analyzing','analyzed','failed','cancelled')",
            name=op.f("ck_bids_documents_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["bids_projects.tenant_id", "bids_projects.id"],
            name="fk_bids_documents_project",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids_documents")),
        sa.UniqueConstraint("blob_name", name="uq_bids_documents_blob_name"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_bids_documents_tenant_id_id"),
    )
    op.create_index("ix_bids_documents_tenant_project", "bids_documents", ["tenant_id", "project_id"], unique=False)
    op.create_table(
        "bids_fixtures",
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("page_number", sa.Integer(), nullable=False),
        sa.Column("sheet_number", sa.String(length=20), nullable=True),
        sa.Column("fixture_type", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=20), nullable=True),
        sa.Column("schedule_tag", sa.String(length=20), nullable=True),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("x0", sa.Double(), nullable=False),
        sa.Column("top", sa.Double(), nullable=False),
        sa.Column("x1", sa.Double(), nullable=False),
        sa.Column("bottom", sa.Double(), nullable=False),
        sa.Column("sources", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("added_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('auto_accepted','pending','hidden','confirmed','rejected')", name=op.f("ck_bids_fixtures_state")
        ),
        sa.CheckConstraint("x1 > x0 AND bottom > top", name=op.f("ck_bids_fixtures_box")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "document_id"],
            ["bids_documents.tenant_id", "bids_documents.id"],
            name="fk_bids_fixtures_document",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids_fixtures")),
    )
    op.create_index(
        "ix_bids_fixtures_tenant_document_page",
        "bids_fixtures",
        ["tenant_id", "document_id", "page_number"],
        unique=False,
    )
    op.create_table(
        "bids_pages",
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("page_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("discipline", sa.String(length=40), nullable=True),
        sa.Column("sheet_number", sa.String(length=20), nullable=True),
        sa.Column("width", sa.Double(), nullable=True),
        sa.Column("height", sa.Double(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("analyzed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("status IN ('done','needs_vision','failed')", name=op.f("ck_bids_pages_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "document_id"],
            ["bids_documents.tenant_id", "bids_documents.id"],
            name="fk_bids_pages_document",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", "page_number", name=op.f("pk_bids_pages")),
    )
    op.create_table(
        "bids_schedule_rows",
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("tag", sa.String(length=20), nullable=False),
        sa.Column("fixture_type", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("manufacturer", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("cw", sa.String(length=20), nullable=False),
        sa.Column("hw", sa.String(length=20), nullable=False),
        sa.Column("waste", sa.String(length=20), nullable=False),
        sa.Column("vent", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("page_number", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "document_id"],
            ["bids_documents.tenant_id", "bids_documents.id"],
            name="fk_bids_schedule_rows_document",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", "tag", name=op.f("pk_bids_schedule_rows")),
    )
    op.create_table(
        "bids_takeoffs",
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reviewed_by", sa.UUID(), nullable=True),
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("totals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("fixtures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "document_id"],
            ["bids_documents.tenant_id", "bids_documents.id"],
            name="fk_bids_takeoffs_document",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids_takeoffs")),
        sa.UniqueConstraint("document_id", "version", name="uq_bids_takeoffs_document_version"),
    )


def _create_usage() -> None:
    op.create_table(
        "bids_vision_usage",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tiles", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", name=op.f("pk_bids_vision_usage")),
    )


def downgrade() -> None:
    op.drop_table("bids_vision_usage")
    op.drop_table("bids_takeoffs")
    op.drop_table("bids_schedule_rows")
    op.drop_table("bids_pages")
    op.drop_index("ix_bids_fixtures_tenant_document_page", table_name="bids_fixtures")
    op.drop_table("bids_fixtures")
    op.drop_index("ix_bids_documents_tenant_project", table_name="bids_documents")
    op.drop_table("bids_documents")
    op.drop_index("ix_bids_projects_tenant_created", table_name="bids_projects")
    op.drop_table("bids_projects")
    op.drop_table("bids_settings")
