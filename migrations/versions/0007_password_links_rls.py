"""Password links under row-level security, found before the tenant is known through one definer function.

password_links has a tenant_id, so it gets the forced tenant policy every tenant-owned table has. The
link page and the emailer start from a link id (the token is that id with an HMAC, checked before any
lookup) and know no tenant yet: app_password_link_tenant(id) answers that one link's tenant and nothing
else, and the caller binds its transaction to it before reading the row.

Revision ID: 0007_password_links_rls
Revises: 0006_password_links
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from shared.db import APP_ROLE, drop_rls_statements, rls_statements

revision = "0007_password_links_rls"
down_revision = "0006_password_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in rls_statements("password_links"):
        op.execute(statement)
    op.execute(
        """
        CREATE FUNCTION app_password_link_tenant(p_link uuid) RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
        AS $$ SELECT tenant_id FROM public.password_links WHERE id = p_link $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_password_link_tenant(uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_password_link_tenant(uuid) TO {APP_ROLE}")


def downgrade() -> None:
    op.execute("DROP FUNCTION app_password_link_tenant(uuid)")
    for statement in drop_rls_statements("password_links"):
        op.execute(statement)
