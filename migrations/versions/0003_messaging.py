"""Messaging: messages, provider status events, the consent ledger, templates and per-tenant settings.

Every table is tenant-owned with forced row-level security. consent_events is append-only (the app
role may SELECT and INSERT it). messaging_tenant_for() is a SECURITY DEFINER function that finds the
tenant owning an inbound number (or Messaging Service) before any tenant is known, which RLS would
otherwise hide; it returns only the tenant id.

Revision ID: 0003_messaging
Revises: 0002_identity_crm
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import APP_ROLE, drop_rls_statements, rls_statements

revision = "0003_messaging"
down_revision = "0002_identity_crm"
branch_labels = ("messaging",)
depends_on = None

TABLES = ("messages", "message_events", "consent_events", "message_templates", "messaging_settings")
READ_WRITE = ("messages", "message_events", "message_templates", "messaging_settings")


def upgrade() -> None:
    _create_tables()
    for table in READ_WRITE:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(f"REVOKE ALL ON consent_events FROM {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON consent_events TO {APP_ROLE}")
    for table in TABLES:
        for statement in rls_statements(table):
            op.execute(statement)
    op.execute(
        """
        CREATE FUNCTION messaging_tenant_for(number text, service_sid text) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
          SELECT tenant_id FROM public.messaging_settings
          WHERE (number IS NOT NULL AND sms_from_number = number)
             OR (service_sid IS NOT NULL AND messaging_service_sid = service_sid)
          ORDER BY (sms_from_number = number) DESC NULLS LAST
          LIMIT 1
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION messaging_tenant_for(text, text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION messaging_tenant_for(text, text) TO {APP_ROLE}")


def _create_tables() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("related_type", sa.String(length=32), nullable=True),
        sa.Column("related_id", sa.UUID(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("provider_sid", sa.String(length=255), nullable=True),
        sa.Column("provider_status", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error_detail", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("dispatch_seq", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_messages_customer"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index("ix_messages_tenant_customer_created", "messages", ["tenant_id", "customer_id", "created_at"])
    op.create_index(
        "ix_messages_tenant_related_created", "messages", ["tenant_id", "related_type", "related_id", "created_at"]
    )
    op.create_index("ix_messages_tenant_counted", "messages", ["tenant_id", "counted_at"])
    op.create_index(
        "uq_messages_tenant_dedupe_key",
        "messages",
        ["tenant_id", "dedupe_key"],
        unique=True,
        postgresql_where=sa.text("dedupe_key IS NOT NULL"),
    )
    op.create_index(
        "uq_messages_tenant_provider_sid",
        "messages",
        ["tenant_id", "provider_sid"],
        unique=True,
        postgresql_where=sa.text("provider_sid IS NOT NULL"),
    )
    op.create_table(
        "message_events",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=True),
        sa.Column("provider_sid", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_events")),
    )
    op.create_index(
        "uq_message_events_tenant_sid_status", "message_events", ["tenant_id", "provider_sid", "status"], unique=True
    )
    op.create_table(
        "consent_events",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_consent_events_customer"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    op.create_index(
        "ix_consent_events_lookup", "consent_events", ["tenant_id", "customer_id", "channel", "purpose", "created_at"]
    )
    op.create_table(
        "message_templates",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("placeholders", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
    )
    op.create_index("uq_message_templates_tenant_name", "message_templates", ["tenant_id", "name"], unique=True)
    op.create_table(
        "messaging_settings",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("sms_from_number", sa.String(length=16), nullable=True),
        sa.Column("messaging_service_sid", sa.String(length=34), nullable=True),
        sa.Column("email_from", sa.String(length=320), nullable=True),
        sa.Column("sms_footer", sa.String(length=160), nullable=False),
        sa.Column("help_text", sa.String(length=320), nullable=False),
        sa.Column("limit_per_customer_day", sa.Integer(), nullable=True),
        sa.Column("limit_per_tenant_hour", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_messaging_settings")),
    )
    op.create_index(
        "uq_messaging_settings_sms_from",
        "messaging_settings",
        ["sms_from_number"],
        unique=True,
        postgresql_where=sa.text("sms_from_number IS NOT NULL"),
    )
    op.create_index(
        "uq_messaging_settings_service_sid",
        "messaging_settings",
        ["messaging_service_sid"],
        unique=True,
        postgresql_where=sa.text("messaging_service_sid IS NOT NULL"),
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS messaging_tenant_for(text, text)")
    for table in TABLES:
        for statement in drop_rls_statements(table):
            op.execute(statement)
    for table in reversed(TABLES):
        op.drop_table(table)
