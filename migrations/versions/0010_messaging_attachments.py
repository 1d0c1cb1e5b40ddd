"""Messaging: an outbound email may carry attachments (blobs under the tenant's prefix, fetched at delivery).

messages.attachments holds them as a JSON list of {blob_name, filename, content_type, container}; every
existing message has none.

Revision ID: 0010_messaging_attachments
Revises: 0003_messaging
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_messaging_attachments"
down_revision = "0003_messaging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("messages", "attachments")
