"""Identity and CRM: tenants, users, sessions, customers, vehicles; audit log, idempotency, rate limits.

Tenant-owned tables get forced row-level security on `app.tenant_id` (tenants on their own id).
The pre-tenant lookups (user_logins, auth_sessions, refresh_tokens, rate_limit_hits) are global by
design: they are read before any tenant is known and hold only ids and hashes. The app role gets
explicit grants; on audit_logs only SELECT and INSERT (append-only). Two SECURITY DEFINER functions
cross the tenant boundary on purpose: app_tenant_ids() lists tenant ids for jobs visiting every tenant,
and app_session_principal() checks a verified access token's session in one round trip.

Revision ID: 0002_identity_crm
Revises: 0001_platform
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import APP_ROLE, drop_rls_statements, rls_statements

revision = "0002_identity_crm"
down_revision = "0001_platform"
branch_labels = None
depends_on = None


TENANT_TABLES = ("users", "customers", "customer_shares", "vehicles", "audit_logs", "idempotency_records")
GLOBAL_TABLES = ("user_logins", "auth_sessions", "refresh_tokens", "rate_limit_hits")
READ_WRITE = ("tenants", "users", "customers", "customer_shares", "vehicles", "idempotency_records", *GLOBAL_TABLES)


def upgrade() -> None:
    _create_tables()
    for table in READ_WRITE:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    # Append-only: whatever the schema's default privileges say, the app may only add and read audit rows.
    op.execute(f"REVOKE ALL ON audit_logs FROM {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON audit_logs TO {APP_ROLE}")
    for statement in rls_statements("tenants", column="id"):
        op.execute(statement)
    for table in TENANT_TABLES:
        for statement in rls_statements(table):
            op.execute(statement)
    op.execute(
        """
        CREATE FUNCTION app_tenant_ids() RETURNS TABLE (tenant_id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$ SELECT id FROM public.tenants ORDER BY id $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_tenant_ids() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_tenant_ids() TO {APP_ROLE}")
    # One round trip per request for the authenticator: is this session of this user in this tenant alive,
    # and what may the user do. Answers only for ids taken from a verified access token.
    op.execute(
        """
        CREATE FUNCTION app_session_principal(p_session uuid, p_user uuid, p_tenant uuid)
        RETURNS TABLE (role text, disabled boolean, enabled_modules text[], revoked boolean,
                       absolute_expires_at timestamptz)
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$
        BEGIN
          -- plpgsql keeps the plan per connection: the authenticator's query is planned once, not per request
          RETURN QUERY
          SELECT u.role::text, u.disabled, t.enabled_modules::text[], s.revoked_at IS NOT NULL, s.absolute_expires_at
          FROM public.auth_sessions s
          JOIN public.users u ON u.id = s.user_id
          JOIN public.tenants t ON t.id = u.tenant_id
          WHERE s.id = p_session AND s.user_id = p_user AND u.tenant_id = p_tenant AND s.tenant_id = p_tenant;
        END
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_session_principal(uuid, uuid, uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_session_principal(uuid, uuid, uuid) TO {APP_ROLE}")


def _create_tables() -> None:
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_logs")),
    )
    op.create_index("ix_audit_logs_tenant_entity", "audit_logs", ["tenant_id", "entity", "entity_id"], unique=False)
    op.create_table(
        "idempotency_records",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("response_mimetype", sa.String(length=127), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "key", name=op.f("pk_idempotency_records")),
    )
    op.create_index(op.f("ix_idempotency_records_expires_at"), "idempotency_records", ["expires_at"], unique=False)
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("bucket", sa.String(length=64), nullable=False),
        sa.Column("hit_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hits")),
    )
    op.create_index(op.f("ix_rate_limit_hits_bucket"), "rate_limit_hits", ["bucket"], unique=False)
    op.create_table(
        "tenants",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("brand_colour", sa.String(length=7), nullable=True),
        sa.Column("quiet_hours_start", sa.Time(), nullable=True),
        sa.Column("quiet_hours_end", sa.Time(), nullable=True),
        sa.Column("enabled_modules", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("invited_by", sa.UUID(), nullable=True),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_users_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_users_tenant_id_id"),
    )
    op.create_index(op.f("ix_users_tenant_id"), "users", ["tenant_id"], unique=False)
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("absolute_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"], unique=False)
    op.create_table(
        "customers",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "owner_id"], ["users.tenant_id", "users.id"], name="fk_customers_owner_users"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("tenant_id", "id", name="uq_customers_tenant_id_id"),
    )
    op.create_index("ix_customers_tenant_name", "customers", ["tenant_id", "name", "id"], unique=False)
    op.create_index("ix_customers_tenant_owner", "customers", ["tenant_id", "owner_id"], unique=False)
    op.create_index("ix_customers_tenant_phone", "customers", ["tenant_id", "phone"], unique=False)
    op.create_table(
        "user_logins",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("login_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_logins_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_logins")),
        sa.UniqueConstraint("kind", "login_hash", name="uq_user_logins_kind_login_hash"),
    )
    op.create_index(op.f("ix_user_logins_user_id"), "user_logins", ["user_id"], unique=False)
    op.create_table(
        "customer_shares",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name="fk_customer_shares_customer",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_customer_shares_user",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "user_id", name="pk_customer_shares"),
    )
    op.create_index("ix_customer_shares_tenant_user", "customer_shares", ["tenant_id", "user_id"], unique=False)
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_sessions.id"],
            name=op.f("fk_refresh_tokens_session_id_auth_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_index(op.f("ix_refresh_tokens_session_id"), "refresh_tokens", ["session_id"], unique=False)
    op.create_table(
        "vehicles",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("make", sa.String(length=64), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("vin", sa.String(length=17), nullable=True),
        sa.Column("mileage", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], name="fk_vehicles_customer"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
    )
    op.create_index("ix_vehicles_tenant_customer", "vehicles", ["tenant_id", "customer_id"], unique=False)
    op.create_index("ix_vehicles_tenant_vin", "vehicles", ["tenant_id", "vin"], unique=False)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS app_session_principal(uuid, uuid, uuid)")
    op.execute("DROP FUNCTION IF EXISTS app_tenant_ids()")
    for table in (*TENANT_TABLES, "tenants"):
        for statement in drop_rls_statements(table):
            op.execute(statement)
    op.drop_index("ix_vehicles_tenant_vin", table_name="vehicles")
    op.drop_index("ix_vehicles_tenant_customer", table_name="vehicles")
    op.drop_table("vehicles")
    op.drop_index(op.f("ix_refresh_tokens_session_id"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index("ix_customer_shares_tenant_user", table_name="customer_shares")
    op.drop_table("customer_shares")
    op.drop_index(op.f("ix_user_logins_user_id"), table_name="user_logins")
    op.drop_table("user_logins")
    op.drop_index("ix_customers_tenant_phone", table_name="customers")
    op.drop_index("ix_customers_tenant_owner", table_name="customers")
    op.drop_index("ix_customers_tenant_name", table_name="customers")
    op.drop_table("customers")
    op.drop_index(op.f("ix_auth_sessions_user_id"), table_name="auth_sessions")
    op.drop_table("auth_sessions")
    op.drop_index(op.f("ix_users_tenant_id"), table_name="users")
    op.drop_table("users")
    op.drop_table("tenants")
    op.drop_index(op.f("ix_rate_limit_hits_bucket"), table_name="rate_limit_hits")
    op.drop_table("rate_limit_hits")
    op.drop_index(op.f("ix_idempotency_records_expires_at"), table_name="idempotency_records")
    op.drop_table("idempotency_records")
    op.drop_index("ix_audit_logs_tenant_entity", table_name="audit_logs")
    op.drop_table("audit_logs")
