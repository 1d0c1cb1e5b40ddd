"""Leads: each business's intake settings (slug, site origins, answer templates, follow-ups) and its leads.

Both tables are tenant-owned with forced row-level security. leads_tenant_for_slug() is a SECURITY DEFINER
function that finds the business a public intake form posts to (its slug) before any tenant is known, which
RLS would otherwise hide; it returns only the tenant id.

Revision ID: 0010_leads
Revises: 0003_messaging
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import APP_ROLE, drop_rls_statements, rls_statements

revision = "0010_leads"
down_revision = "0003_messaging"
branch_labels = ("leads",)
depends_on = None

TABLES = ("lead_settings", "leads")


def upgrade() -> None:
    op.create_table(
        "lead_settings",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("site_origins", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sms_template", sa.Text(), nullable=False),
        sa.Column("email_subject", sa.String(length=200), nullable=False),
        sa.Column("email_template", sa.Text(), nullable=False),
        sa.Column("follow_up_days", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("follow_up_template", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_lead_settings")),
    )
    op.create_index("uq_lead_settings_slug", "lead_settings", ["slug"], unique=True)
    op.create_table(
        "leads",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("consent_text", sa.Text(), nullable=True),
        sa.Column("consent_given", sa.Boolean(), nullable=False),
        sa.Column("consent_source", sa.String(length=64), nullable=True),
        sa.Column("inbound_message_id", sa.UUID(), nullable=True),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.Column("last_submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_state", sa.String(length=16), nullable=False),
        sa.Column("answer_channel", sa.String(length=8), nullable=True),
        sa.Column("answer_message_id", sa.UUID(), nullable=True),
        sa.Column("answer_queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_notice", sa.String(length=16), nullable=True),
        sa.Column("owner_notice_lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("follow_ups_sent", sa.Integer(), nullable=False),
        sa.Column("follow_ups_stopped", sa.String(length=16), nullable=True),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_leads_customer"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    op.create_index("ix_leads_tenant_created", "leads", ["tenant_id", "created_at", "id"])
    op.create_index("ix_leads_tenant_customer_created", "leads", ["tenant_id", "customer_id", "created_at"])
    op.create_index(
        "uq_leads_tenant_inbound_message",
        "leads",
        ["tenant_id", "inbound_message_id"],
        unique=True,
        postgresql_where=sa.text("inbound_message_id IS NOT NULL"),
    )
    for table in TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        for statement in rls_statements(table):
            op.execute(statement)
    op.execute(
        """
        CREATE FUNCTION leads_tenant_for_slug(business_slug text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
          SELECT tenant_id FROM public.lead_settings WHERE slug = lower(business_slug) LIMIT 1
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION leads_tenant_for_slug(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION leads_tenant_for_slug(text) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS leads_tenant_for_slug(text)")
    for table in TABLES:
        for statement in drop_rls_statements(table):
            op.execute(statement)
    for table in reversed(TABLES):
        op.drop_table(table)
