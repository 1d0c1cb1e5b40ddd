"""Estimates by voice: the voice sessions we issued, post-call webhooks (once per conversation) and draft rooms.

All three tables are tenant-owned with forced row-level security. A webhook from the voice agent knows only the
session id our PWA put in the conversation's dynamic variables, not the business, so
estimates_voice_session_tenant(session_id) is a SECURITY DEFINER function that answers only the tenant of a
session we issued (the caller has already proved the request is signed by ElevenLabs or carries the tool secret).

Revision ID: 0011_estimates_voice
Revises: 0007_estimates
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import APP_ROLE, drop_rls_statements, rls_statements

revision = "0011_estimates_voice"
down_revision = "0007_estimates"
branch_labels = None
depends_on = None

TABLES = ("estimate_voice_sessions", "estimate_voice_calls", "estimate_voice_drafts")


def _common() -> list[sa.Column]:
    return [
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("estimate_id", sa.UUID(), nullable=False),
    ]


def _estimate_fk(name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "estimate_id"], ["estimates.tenant_id", "estimates.id"], name=name, ondelete="CASCADE"
    )


def _session_fk(name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["session_id"], ["estimate_voice_sessions.id"], name=name, ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "estimate_voice_sessions",
        *_common(),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_voice_sessions")),
        _estimate_fk("fk_estimate_voice_sessions_estimate"),
        sa.CheckConstraint("provider IN ('elevenlabs','local')", name=op.f("ck_estimate_voice_sessions_provider")),
    )
    op.create_index(
        "ix_estimate_voice_sessions_tenant_estimate", "estimate_voice_sessions", ["tenant_id", "estimate_id"]
    )
    op.create_table(
        "estimate_voice_calls",
        *_common(),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("drafts", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_voice_calls")),
        _estimate_fk("fk_estimate_voice_calls_estimate"),
        _session_fk("fk_estimate_voice_calls_session"),
        sa.UniqueConstraint("tenant_id", "conversation_id", name="uq_estimate_voice_calls_conversation"),
        sa.CheckConstraint("status IN ('received','processed','failed')", name=op.f("ck_estimate_voice_calls_status")),
    )
    op.create_table(
        "estimate_voice_drafts",
        *_common(),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("length_ft", sa.Numeric(9, 3), nullable=True),
        sa.Column("width_ft", sa.Numeric(9, 3), nullable=True),
        sa.Column("height_ft", sa.Numeric(9, 3), nullable=True),
        sa.Column("doors", sa.Integer(), nullable=False),
        sa.Column("windows", sa.Integer(), nullable=False),
        sa.Column("surfaces", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("provenance", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tool_call_key", sa.String(length=128), nullable=True),
        sa.Column("room_id", sa.UUID(), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_voice_drafts")),
        _estimate_fk("fk_estimate_voice_drafts_estimate"),
        _session_fk("fk_estimate_voice_drafts_session"),
        sa.UniqueConstraint("tenant_id", "tool_call_key", name="uq_estimate_voice_drafts_tool_call"),
        sa.CheckConstraint(
            "status IN ('pending','confirmed','rejected')", name=op.f("ck_estimate_voice_drafts_status")
        ),
        sa.CheckConstraint(
            "source IN ('tool','data_collection','transcript')", name=op.f("ck_estimate_voice_drafts_source")
        ),
    )
    op.create_index(
        "ix_estimate_voice_drafts_tenant_estimate",
        "estimate_voice_drafts",
        ["tenant_id", "estimate_id", "created_at", "id"],
    )
    for table in TABLES:
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        for statement in rls_statements(table):
            op.execute(statement)
    op.execute(
        """
        CREATE FUNCTION estimates_voice_session_tenant(voice_session_id uuid) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$ SELECT tenant_id FROM public.estimate_voice_sessions WHERE id = voice_session_id $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION estimates_voice_session_tenant(uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION estimates_voice_session_tenant(uuid) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS estimates_voice_session_tenant(uuid)")
    for table in TABLES:
        for statement in drop_rls_statements(table):
            op.execute(statement)
    for table in reversed(TABLES):
        op.drop_table(table)
