"""Invitations: an emailed link that lets an invited person set their first password.

user_invitations is global like the other pre-tenant lookups (auth_sessions, refresh_tokens): the link
is accepted before any tenant is known, and the row holds only ids and times. The link's token is an
HMAC of the invitation id, so it is stored nowhere.

Revision ID: 0006_invitations
Revises: 0002_identity_crm
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import APP_ROLE

revision = "0006_invitations"
down_revision = "0002_identity_crm"
branch_labels = ("invitations",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_invitations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_status", sa.String(length=8), nullable=False),
        sa.Column("email_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_invitations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_invitations")),
    )
    op.create_index(op.f("ix_user_invitations_user_id"), "user_invitations", ["user_id"], unique=False)
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON user_invitations TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index(op.f("ix_user_invitations_user_id"), table_name="user_invitations")
    op.drop_table("user_invitations")
