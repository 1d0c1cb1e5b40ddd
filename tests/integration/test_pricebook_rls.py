"""Row-level security across every schema: each table with tenant_id forces it, and pricebook rows stay home."""

from __future__ import annotations

from sqlalchemy import func, select, text

from blueprints.pricebook.models import MASTER_MODELS, TENANT_TABLES
from shared.db import session_scope, set_tenant
from tests.builders import create_pricebook_item, create_tenant
from tests.fakes.servicetitan import FakeServiceTitan
from tests.integration.test_pricebook_pull import connected_business, fake_servicetitan, run_pull  # noqa: F401

CATALOGUE = text(
    """
    SELECT n.nspname || '.' || c.relname AS name, c.relrowsecurity AND c.relforcerowsecurity AS forced
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_temp%'
    """
)


def test_every_table_with_tenant_id_in_every_schema_forces_row_level_security(db_session) -> None:
    rows = {name: forced for name, forced in db_session.execute(CATALOGUE).all()}
    assert set(TENANT_TABLES) <= set(rows), "a pricebook table is missing from the catalogue"
    # public is the platform's and identity's (tests/integration/test_rls_isolation.py lists its tenant tables;
    # sign-in looks up sessions and links before a tenant is known); every other schema must force RLS.
    assert [name for name, forced in rows.items() if not forced and not name.startswith("public.")] == []


def test_bulk_writes_leave_no_staging_table_behind(fake: FakeServiceTitan) -> None:
    fake.seed(categories=3, materials=5, services=2, equipment=1)
    run_pull(connected_business(fake))
    with session_scope() as session:
        staged = session.scalars(text("SELECT relname FROM pg_class WHERE relname LIKE 'stage_%'")).all()
    assert staged == []


def test_another_business_sees_none_of_our_pricebook(db_session) -> None:
    ours = create_tenant(db_session, name="Ours")
    create_pricebook_item(db_session, tenant_id=ours.id, kind="materials")
    theirs = create_tenant(db_session, name="Theirs")
    set_tenant(db_session, theirs.id)
    assert db_session.scalar(select(func.count()).select_from(MASTER_MODELS["materials"])) == 0
    set_tenant(db_session, ours.id)
    assert db_session.scalar(select(func.count()).select_from(MASTER_MODELS["materials"])) == 1
