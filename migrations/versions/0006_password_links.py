"""Password links: the emailed link with which a person sets a password (an invitation or a reset).

password_links is global like the other pre-tenant lookups (auth_sessions, refresh_tokens): a link is
used before any tenant is known, and the row holds only ids and times. The link's token is an HMAC of
the link id, so it is stored nowhere.

Revision ID: 0006_password_links
Revises: 0002_identity_crm
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import APP_ROLE

revision = "0006_password_links"
down_revision = "0002_identity_crm"
branch_labels = ("password_links",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "password_links",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_status", sa.String(length=8), nullable=False),
        sa.Column("email_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_password_links_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_links")),
    )
    op.create_index(op.f("ix_password_links_user_id"), "password_links", ["user_id"], unique=False)
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON password_links TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index(op.f("ix_password_links_user_id"), table_name="password_links")
    op.drop_table("password_links")
