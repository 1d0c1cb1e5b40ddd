"""Estimates photos and colour previews (issue 14): job photos uploaded by SAS and committed with their
thumbnails, and colour previews of a photo (one per photo, colour, surfaces and finish).

Both tables are tenant-owned with forced row-level security.

Revision ID: 0010_estimates_photos
Revises: 0007_estimates
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import APP_ROLE, drop_rls_statements, rls_statements

revision = "0010_estimates_photos"
down_revision = "0007_estimates"
branch_labels = None
depends_on = None

TABLES = ("estimate_photos", "estimate_previews")


def _common(*, versioned: bool = True) -> list[sa.Column]:
    columns = [
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]
    if versioned:
        columns.append(sa.Column("version", sa.Integer(), nullable=False))
    return columns


def upgrade() -> None:
    op.create_table(
        "estimate_photos",
        sa.Column("estimate_id", sa.UUID(), nullable=False),
        sa.Column("room_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("upload_blob", sa.String(length=300), nullable=False),
        sa.Column("declared_type", sa.String(length=32), nullable=False),
        sa.Column("declared_bytes", sa.BigInteger(), nullable=False),
        sa.Column("blob_name", sa.String(length=300), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("location_removed", sa.Boolean(), nullable=False),
        sa.Column("caption", sa.String(length=500), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("in_proposal", sa.Boolean(), nullable=False),
        sa.Column("thumbnail_status", sa.String(length=16), nullable=False),
        sa.Column("thumbnail_error", sa.String(length=300), nullable=True),
        sa.Column("thumb_small", sa.String(length=300), nullable=True),
        sa.Column("thumb_large", sa.String(length=300), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        *_common(),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('awaiting_upload','committed')", name=op.f("ck_estimate_photos_status")),
        sa.CheckConstraint(
            "thumbnail_status IN ('pending','ready','failed','unsupported')",
            name=op.f("ck_estimate_photos_thumbnail_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "estimate_id"],
            ["estimates.tenant_id", "estimates.id"],
            name="fk_estimate_photos_estimate",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_photos")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_estimate_photos_tenant_id_id"),
    )
    op.create_index(
        "ix_estimate_photos_tenant_estimate", "estimate_photos", ["tenant_id", "estimate_id", "position"], unique=False
    )
    op.create_table(
        "estimate_previews",
        sa.Column("estimate_id", sa.UUID(), nullable=False),
        sa.Column("photo_id", sa.UUID(), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("colour", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("surfaces", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("finish", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("request_id", sa.String(length=200), nullable=True),
        sa.Column("cost_units", sa.Integer(), nullable=False),
        sa.Column("blob_name", sa.String(length=300), nullable=True),
        sa.Column("mime_type", sa.String(length=32), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("in_proposal", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        *_common(),
        sa.CheckConstraint("status IN ('queued','running','ready','failed')", name=op.f("ck_estimate_previews_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "photo_id"],
            ["estimate_photos.tenant_id", "estimate_photos.id"],
            name="fk_estimate_previews_photo",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_previews")),
        sa.UniqueConstraint("tenant_id", "photo_id", "request_key", name="uq_estimate_previews_request"),
    )
    op.create_index(
        "ix_estimate_previews_tenant_created", "estimate_previews", ["tenant_id", "created_at"], unique=False
    )
    for table in TABLES:
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        for statement in rls_statements(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        for statement in drop_rls_statements(table):
            op.execute(statement)
    op.drop_index("ix_estimate_previews_tenant_created", table_name="estimate_previews")
    op.drop_table("estimate_previews")
    op.drop_index("ix_estimate_photos_tenant_estimate", table_name="estimate_photos")
    op.drop_table("estimate_photos")
