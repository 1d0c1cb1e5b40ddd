"""Estimates: rate-book versions, estimates, options, rooms (estimate_items), add-ons, shares, sent
revisions and estimator notices.

Every table is tenant-owned with forced row-level security. Rate-book versions and sent revisions are
append-only for the app role (SELECT and INSERT only): a change is a new version or a new revision.

Revision ID: 0007_estimates
Revises: 0002_identity_crm
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import APP_ROLE, drop_rls_statements, rls_statements

revision = "0007_estimates"
down_revision = "0002_identity_crm"
branch_labels = ("estimates",)
depends_on = None

TABLES = (
    "estimate_rate_books",
    "estimates",
    "estimate_options",
    "estimate_items",
    "estimate_addons",
    "estimate_shares",
    "estimate_revisions",
    "estimate_notices",
)
APPEND_ONLY = ("estimate_rate_books", "estimate_revisions")


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
        "estimate_rate_books",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_rate_books")),
        sa.UniqueConstraint("tenant_id", "version", name="uq_estimate_rate_books_tenant_version"),
    )
    op.create_table(
        "estimates",
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("job_address", sa.String(length=500), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("rate_book_version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("discount_cents", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_revision", sa.Integer(), nullable=True),
        sa.Column("accepted_option_id", sa.UUID(), nullable=True),
        sa.Column("accepted_addon_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("signer_name", sa.String(length=200), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.String(length=1000), nullable=True),
        sa.Column("decision_ip", sa.String(length=64), nullable=True),
        sa.Column("decision_user_agent", sa.Text(), nullable=True),
        sa.Column("accepted_total_cents", sa.BigInteger(), nullable=True),
        sa.Column("signed_pdf_path", sa.String(length=500), nullable=True),
        sa.Column("signed_pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft','sent','viewed','accepted','declined','expired')", name=op.f("ck_estimates_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_estimates_customer"
        ),
        sa.ForeignKeyConstraint(["tenant_id", "owner_id"], ["users.tenant_id", "users.id"], name="fk_estimates_owner"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimates")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_estimates_tenant_id_id"),
    )
    op.create_index("ix_estimates_tenant_customer", "estimates", ["tenant_id", "customer_id"], unique=False)
    op.create_index(
        "ix_estimates_tenant_owner_updated", "estimates", ["tenant_id", "owner_id", "updated_at", "id"], unique=False
    )
    op.create_index("ix_estimates_tenant_status", "estimates", ["tenant_id", "status"], unique=False)
    op.create_index("ix_estimates_tenant_updated", "estimates", ["tenant_id", "updated_at", "id"], unique=False)
    op.create_table(
        "estimate_addons",
        sa.Column("estimate_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_estimate_addons_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "estimate_id"],
            ["estimates.tenant_id", "estimates.id"],
            name="fk_estimate_addons_estimate",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_addons")),
    )
    op.create_index("ix_estimate_addons_tenant_estimate", "estimate_addons", ["tenant_id", "estimate_id"], unique=False)
    op.create_table(
        "estimate_items",
        sa.Column("estimate_id", sa.UUID(), nullable=False),
        sa.Column("option_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("length_ft", sa.Numeric(precision=9, scale=3), nullable=False),
        sa.Column("width_ft", sa.Numeric(precision=9, scale=3), nullable=False),
        sa.Column("height_ft", sa.Numeric(precision=9, scale=3), nullable=False),
        sa.Column("doors", sa.Integer(), nullable=False),
        sa.Column("windows", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("surfaces", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "estimate_id"],
            ["estimates.tenant_id", "estimates.id"],
            name="fk_estimate_items_estimate",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_items")),
    )
    op.create_index(
        "ix_estimate_items_tenant_estimate", "estimate_items", ["tenant_id", "estimate_id", "position"], unique=False
    )
    op.create_table(
        "estimate_notices",
        sa.Column("estimate_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('accepted','unviewed','undecided')", name=op.f("ck_estimate_notices_kind")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "estimate_id"],
            ["estimates.tenant_id", "estimates.id"],
            name="fk_estimate_notices_estimate",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_notices")),
        sa.UniqueConstraint("estimate_id", "kind", name="uq_estimate_notices_estimate_kind"),
    )
    op.create_table(
        "estimate_options",
        sa.Column("estimate_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_overrides", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "estimate_id"],
            ["estimates.tenant_id", "estimates.id"],
            name="fk_estimate_options_estimate",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_options")),
    )
    op.create_index(
        "ix_estimate_options_tenant_estimate", "estimate_options", ["tenant_id", "estimate_id"], unique=False
    )
    op.create_table(
        "estimate_revisions",
        sa.Column("estimate_id", sa.UUID(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("rate_book_version", sa.Integer(), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.UUID(), nullable=True),
        sa.Column("pdf_path", sa.String(length=500), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("sent_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "estimate_id"],
            ["estimates.tenant_id", "estimates.id"],
            name="fk_estimate_revisions_estimate",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_revisions")),
        sa.UniqueConstraint("estimate_id", "revision", name="uq_estimate_revisions_estimate_revision"),
    )
    op.create_table(
        "estimate_shares",
        sa.Column("estimate_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("access", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("access IN ('view','edit')", name=op.f("ck_estimate_shares_access")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "estimate_id"],
            ["estimates.tenant_id", "estimates.id"],
            name="fk_estimate_shares_estimate",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_estimate_shares_user",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("estimate_id", "user_id", name="pk_estimate_shares"),
    )
    op.create_index("ix_estimate_shares_tenant_user", "estimate_shares", ["tenant_id", "user_id"], unique=False)


def downgrade() -> None:
    for table in reversed(TABLES):
        for statement in drop_rls_statements(table):
            op.execute(statement)
    op.drop_index("ix_estimate_shares_tenant_user", table_name="estimate_shares")
    op.drop_table("estimate_shares")
    op.drop_table("estimate_revisions")
    op.drop_index("ix_estimate_options_tenant_estimate", table_name="estimate_options")
    op.drop_table("estimate_options")
    op.drop_table("estimate_notices")
    op.drop_index("ix_estimate_items_tenant_estimate", table_name="estimate_items")
    op.drop_table("estimate_items")
    op.drop_index("ix_estimate_addons_tenant_estimate", table_name="estimate_addons")
    op.drop_table("estimate_addons")
    op.drop_index("ix_estimates_tenant_updated", table_name="estimates")
    op.drop_index("ix_estimates_tenant_status", table_name="estimates")
    op.drop_index("ix_estimates_tenant_owner_updated", table_name="estimates")
    op.drop_index("ix_estimates_tenant_customer", table_name="estimates")
    op.drop_table("estimates")
    op.drop_table("estimate_rate_books")
