"""Tables of the identity module.

Tenant-owned (row-level security on `app.tenant_id`): tenants (by id), users and password_links (found
by link id through app_password_link_tenant() before the tenant is known, migration 0007).
Global, read before any tenant is known: user_logins (hashed email/phone -> user and tenant),
auth_sessions and refresh_tokens (hashed). They hold no business data and no readable email, phone or
token; the Identity section of README.md explains the choice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

# The platform tables created by this module's migration (0002) are imported with its models, so
# Base.metadata (Alembic's comparison, env_models) holds them wherever the identity tables are known.
import shared.audit
import shared.idempotency
import shared.ratelimit  # noqa: F401
from shared.db import Base
from shared.models import IdPk, TenantOwned, Timestamped, Versioned


class Tenant(IdPk, Timestamped, Versioned, Base):
    """One business using Tradeops, with its settings."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    locale: Mapped[str] = mapped_column(String(35), nullable=False, default="en-US")
    brand_colour: Mapped[str | None] = mapped_column(String(7))
    quiet_hours_start: Mapped[time | None] = mapped_column(Time)
    quiet_hours_end: Mapped[time | None] = mapped_column(Time)
    enabled_modules: Mapped[list[str]] = mapped_column(ARRAY(String(32)), nullable=False)


class User(IdPk, Timestamped, Versioned, Base):
    """A person who signs in to one tenant with one role."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "id", name="uq_users_tenant_id_id"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def password_set(self) -> bool:
        """Whether they may sign in with a password (an emailed invitation is still open until then)."""
        return self.password_hash is not None


class UserLogin(IdPk, TenantOwned, Base):
    """A sign-in identifier (hashed email or phone) pointing at its user and tenant; global by design."""

    __tablename__ = "user_logins"
    __table_args__ = (UniqueConstraint("kind", "login_hash", name="uq_user_logins_kind_login_hash"),)

    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    login_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )


class AuthSession(IdPk, TenantOwned, Base):
    """One signed-in session (a refresh-token family): sliding idle limit and absolute limit."""

    __tablename__ = "auth_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    absolute_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class RefreshToken(IdPk, Base):
    """One refresh token of a session, stored as its SHA-256; used once, then replaced."""

    __tablename__ = "refresh_tokens"

    session_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("auth_sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PasswordLink(IdPk, TenantOwned, Base):
    """An emailed link to set a password (an invitation or a reset); tenant-owned under RLS, opened before
    the tenant is known through app_password_link_tenant(id). The link's token is derived from the id (HMAC,
    see password_links.py), so neither the table nor the queue message that sends the email holds it.
    """

    __tablename__ = "password_links"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    email_status: Mapped[str] = mapped_column(String(8), nullable=False, default="queued")
    email_error: Mapped[str | None] = mapped_column(String(200))
