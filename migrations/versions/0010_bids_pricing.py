"""Bids pricing: the plumbing price book (append-only versions), bids with their priced lines and the customer's
answer, the sent revisions (frozen proposals with their PDF and email), and the licence number setting.

Every table is tenant-owned with forced row-level security. Price books and sent revisions are append-only for
the app role, except that a revision's PDF, email and recording columns are filled in by the generation
orchestration's later steps (UPDATE on those columns only).

Revision ID: 0010_bids_pricing
Revises: 0008_bids
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import APP_ROLE, rls_statements

revision = "0010_bids_pricing"
down_revision = "0008_bids"
branch_labels = None
depends_on = None

TABLES = ("bids_price_books", "bids_bids", "bids_bid_revisions")
STATUSES = "status IN ('draft','sent','viewed','accepted','declined','expired')"
REVISION_FILLED = "pdf_path, pdf_sha256, message_id, message_status, link_expires_at, recorded_at"


def _id_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    op.add_column("bids_settings", sa.Column("licence_number", sa.String(length=64), nullable=True))
    op.create_table(
        "bids_price_books",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        *_id_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids_price_books")),
        sa.UniqueConstraint("tenant_id", "version", name="uq_bids_price_books_tenant_version"),
    )
    _create_bids()
    _create_revisions()
    for table in TABLES:
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        if table == "bids_bids":
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        else:
            op.execute(f"GRANT SELECT, INSERT ON {table} TO {APP_ROLE}")
        for statement in rls_statements(table):
            op.execute(statement)
    op.execute(f"GRANT UPDATE ({REVISION_FILLED}) ON bids_bid_revisions TO {APP_ROLE}")


def _create_bids() -> None:
    op.create_table(
        "bids_bids",
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=True),
        sa.Column("takeoff_version", sa.Integer(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("price_book_version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("priced", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("instance_id", sa.String(length=100), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_revision", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signer_name", sa.String(length=200), nullable=True),
        sa.Column("accepted_alternate_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("accepted_totals", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.String(length=1000), nullable=True),
        sa.Column("decision_ip", sa.String(length=64), nullable=True),
        sa.Column("decision_user_agent", sa.Text(), nullable=True),
        sa.Column("signed_pdf_path", sa.String(length=500), nullable=True),
        sa.Column("signed_pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("estimator_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        *_id_columns(),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(STATUSES, name=op.f("ck_bids_bids_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"], ["bids_projects.tenant_id", "bids_projects.id"], name="fk_bids_bids_project"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids_bids")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_bids_bids_tenant_id_id"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_bids_bids_tenant_number"),
    )
    op.create_index("ix_bids_bids_tenant_updated", "bids_bids", ["tenant_id", "updated_at", "id"], unique=False)


def _create_revisions() -> None:
    op.create_table(
        "bids_bid_revisions",
        sa.Column("bid_id", sa.UUID(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("price_book_version", sa.Integer(), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pdf_path", sa.String(length=500), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("message_id", sa.UUID(), nullable=True),
        sa.Column("message_status", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_by", sa.UUID(), nullable=True),
        *_id_columns(),
        sa.ForeignKeyConstraint(
            ["tenant_id", "bid_id"],
            ["bids_bids.tenant_id", "bids_bids.id"],
            name="fk_bids_bid_revisions_bid",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids_bid_revisions")),
        sa.UniqueConstraint("bid_id", "revision", name="uq_bids_bid_revisions_bid_revision"),
    )


def downgrade() -> None:
    op.drop_table("bids_bid_revisions")
    op.drop_index("ix_bids_bids_tenant_updated", table_name="bids_bids")
    op.drop_table("bids_bids")
    op.drop_table("bids_price_books")
    op.drop_column("bids_settings", "licence_number")
