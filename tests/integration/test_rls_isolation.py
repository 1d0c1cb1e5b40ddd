"""Row-level security keeps tenants apart even when a query forgets its tenant filter.

The tables are read from the catalogue, not listed here: every table with a `tenant_id` column (and
`tenants`, keyed by its own id) must have RLS enabled and forced, except the allow-list below, and each
gets a cross-tenant read and write probe. A table another module adds later is checked without anyone
editing this file.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, create_engine, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from blueprints.crm import service as crm
from blueprints.crm.models import Customer, Vehicle
from blueprints.identity.models import Tenant, User
from shared.db import APP_ROLE, set_tenant
from shared.errors import NotFound
from tests.builders import create_customer, create_tenant, create_user, create_vehicle, principal_of
from tests.conftest import Database

# Tables with a tenant_id that are deliberately global (README, Identity: "Lookups before the tenant is
# known"), each with its reason. Nothing else may be missing RLS.
GLOBAL_BY_DESIGN = {
    "user_logins": "sign-in lookup by the hash of an email or phone, read before any tenant is known",
    "auth_sessions": "sessions are found from a refresh token before the tenant is known; ids and times only",
}
# The tenants table is keyed by its own id.
TENANT_KEY = {"tenants": "id"}


@pytest.fixture
def two_tenants(db_session: Session) -> dict[str, object]:
    first = create_tenant(db_session, name="First Paint")
    first_owner = create_user(db_session, tenant=first)
    first_customer = create_customer(db_session, tenant=first, owner=first_owner, name="Ada")
    create_vehicle(db_session, customer=first_customer)
    second = create_tenant(db_session, name="Second Auto")
    second_owner = create_user(db_session, tenant=second)
    second_customer = create_customer(db_session, tenant=second, owner=second_owner, name="Bea")
    create_vehicle(db_session, customer=second_customer)
    return {
        "first": first,
        "second": second,
        "first_customer": first_customer,
        "second_customer": second_customer,
        "second_owner": second_owner,
    }


def test_a_query_without_a_tenant_filter_sees_only_its_tenant(db_session: Session, two_tenants: dict) -> None:
    # given the transaction is bound to the first tenant
    set_tenant(db_session, two_tenants["first"].id)
    db_session.expunge_all()
    # when queries name no tenant at all
    names = db_session.scalars(select(Customer.name)).all()
    raw = db_session.execute(text("SELECT count(*) FROM vehicles")).scalar_one()
    tenants = db_session.scalars(select(Tenant.name)).all()
    users = db_session.scalars(select(User.tenant_id)).all()
    # then only the first tenant's rows come back
    assert names == ["Ada"]
    assert raw == 1
    assert tenants == ["First Paint"]
    assert set(users) == {two_tenants["first"].id}


def test_no_tenant_bound_means_no_rows(db_session: Session, two_tenants: dict) -> None:
    set_tenant(db_session, None)
    assert db_session.scalar(select(func.count()).select_from(Customer)) == 0
    assert db_session.scalar(select(func.count()).select_from(Tenant)) == 0


def test_writing_into_another_tenant_fails(db_session: Session, two_tenants: dict) -> None:
    set_tenant(db_session, two_tenants["first"].id)
    # an update aimed at the other tenant's row touches nothing
    result = db_session.execute(
        update(Customer).where(Customer.id == two_tenants["second_customer"].id).values(name="Hacked")
    )
    assert result.rowcount == 0
    # and inserting a row labelled with the other tenant is refused by the policy
    with pytest.raises(DBAPIError, match="row-level security"), db_session.begin_nested():
        db_session.execute(
            text("INSERT INTO customers (id, tenant_id, owner_id, name, version) VALUES (:i, :t, :o, 'X', 1)"),
            {"i": uuid.uuid4(), "t": two_tenants["second"].id, "o": two_tenants["second_owner"].id},
        )
    set_tenant(db_session, two_tenants["second"].id)
    assert db_session.scalar(select(Customer.name).where(Customer.id == two_tenants["second_customer"].id)) == "Bea"


def test_a_service_asked_for_another_tenants_customer_answers_404(db_session: Session, two_tenants: dict) -> None:
    owner = create_user(db_session, tenant=two_tenants["first"], role="owner")
    set_tenant(db_session, two_tenants["first"].id)
    with pytest.raises(NotFound):
        crm.get_customer(
            session=db_session, principal=principal_of(owner), customer_id=two_tenants["second_customer"].id
        )
    # even a principal claiming the other tenant sees nothing while the transaction is bound to the first
    forged = principal_of(owner)
    object.__setattr__(forged, "tenant_id", two_tenants["second"].id)
    with pytest.raises(NotFound):
        crm.get_customer(session=db_session, principal=forged, customer_id=two_tenants["second_customer"].id)


def tenant_tables(session: Session) -> dict[str, str]:
    """Every table of the database (any schema) that holds tenant rows: qualified name -> tenant column."""
    rows = session.execute(
        text(
            """
            SELECT format('%I.%I', n.nspname, c.relname), c.relname, a.attname
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'devhost') AND n.nspname NOT LIKE 'pg_%'
              AND (a.attname = 'tenant_id' OR (c.relname = 'tenants' AND a.attname = 'id'))
            """
        )
    ).all()
    return {qualified: column for qualified, name, column in rows if TENANT_KEY.get(name, "tenant_id") == column}


def _short(qualified: str) -> str:
    return qualified.split(".", 1)[1] if qualified.startswith("public.") else qualified


def test_every_tenant_table_has_rls_enabled_and_forced_except_the_documented_global_ones(db_session: Session) -> None:
    tables = tenant_tables(db_session)
    assert len(tables) >= 20 and "public.customers" in tables  # not vacuous: the catalogue query sees them
    state = dict(
        db_session.execute(
            text(
                "SELECT format('%I.%I', n.nspname, c.relname), c.relrowsecurity AND c.relforcerowsecurity "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE format('%I.%I', n.nspname, c.relname) = ANY(:names)"
            ),
            {"names": list(tables)},
        ).all()
    )
    assert {_short(t) for t, forced in state.items() if not forced} == set(GLOBAL_BY_DESIGN)
    # the allow-list names only tables that exist (a renamed or dropped one is noticed)
    assert set(GLOBAL_BY_DESIGN) <= {_short(t) for t in tables}


def test_the_app_role_owns_no_table(db_session: Session) -> None:
    owned = db_session.execute(
        text("SELECT tablename FROM pg_tables WHERE tableowner = :role"), {"role": APP_ROLE}
    ).all()
    assert owned == []
    assert db_session.execute(text("SELECT current_user")).scalar_one() == APP_ROLE


def test_vehicles_of_another_tenant_are_invisible_through_the_service(db_session: Session, two_tenants: dict) -> None:
    owner = create_user(db_session, tenant=two_tenants["first"])
    set_tenant(db_session, two_tenants["first"].id)
    other_vehicle = db_session.execute(text("SELECT id FROM vehicles")).scalars().all()
    assert len(other_vehicle) == 1  # only the first tenant's vehicle exists for this transaction
    set_tenant(db_session, two_tenants["second"].id)
    second_vehicle = db_session.scalars(select(Vehicle.id)).one()
    set_tenant(db_session, two_tenants["first"].id)
    with pytest.raises(NotFound):
        crm.get_vehicle(session=db_session, principal=principal_of(owner), vehicle_id=second_vehicle)


def _value_for(type_name: str) -> str:
    """A SQL expression of this column type for a planted row (constraints are off while it is planted)."""
    if type_name.endswith("[]"):
        return "'{}'"
    base = type_name.split("(")[0]
    simple = {
        "uuid": "gen_random_uuid()",
        "boolean": "false",
        "smallint": "0",
        "integer": "0",
        "bigint": "0",
        "double precision": "0",
        "real": "0",
        "numeric": "0",
        "text": "md5(random()::text)",
        "jsonb": "'{}'",
        "json": "'{}'",
        "bytea": "decode(md5(random()::text), 'hex')",
        "timestamp with time zone": "now()",
        "timestamp without time zone": "now()",
        "date": "current_date",
        "time without time zone": "'00:00'",
    }
    if base in simple:
        return simple[base]
    if base == "character varying":
        length = int(type_name.split("(")[1].rstrip(")")) if "(" in type_name else 32
        return f"left(md5(random()::text), {length})"
    raise AssertionError(f"teach the RLS probe a value of type {type_name}")


def _plant(connection: Connection, table: str, column: str, tenant_id: uuid.UUID) -> None:
    """Insert a row of tenant_id into table as the superuser, with foreign keys and CHECKs off for this transaction."""
    connection.execute(text("SET LOCAL session_replication_role = replica"))  # no FK triggers: no parent rows
    checks = connection.execute(
        text("SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) AND contype = 'c'"), {"t": table}
    ).scalars()
    for name in list(checks):
        connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    required = connection.execute(
        text(
            "SELECT quote_ident(attname), format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped AND attnotnull "
            "AND NOT atthasdef AND attidentity = '' AND attgenerated = '' AND attname <> :c"
        ),
        {"t": table, "c": column},
    ).all()
    names = ", ".join([column, *(name for name, _ in required)])
    values = ", ".join([":tenant", *(_value_for(type_name) for _, type_name in required)])
    connection.execute(text(f"INSERT INTO {table} ({names}) VALUES ({values})"), {"tenant": tenant_id})


def _probe(connection: Connection, table: str, column: str) -> list[str]:
    """What the app role, bound to one tenant, could do to another tenant's row of table (empty: nothing)."""
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    _plant(connection, table, column, theirs)
    may = {
        kind: connection.execute(
            text("SELECT has_table_privilege(:role, :t, :kind)"), {"role": APP_ROLE, "t": table, "kind": kind}
        ).scalar_one()
        for kind in ("SELECT", "INSERT", "UPDATE", "DELETE")
    }
    connection.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
    bind = text("SELECT set_config('app.tenant_id', :tenant, true)")
    connection.execute(bind, {"tenant": str(ours)})
    problems = []
    where = f"WHERE {column} = :theirs"
    statements = {
        "reads another tenant's row": ("SELECT", f"SELECT count(*) FROM {table} {where}"),
        "updates another tenant's row": ("UPDATE", f"UPDATE {table} SET {column} = {column} {where}"),
        "deletes another tenant's row": ("DELETE", f"DELETE FROM {table} {where}"),
    }
    for problem, (kind, sql) in statements.items():
        if not (may[kind] and may["SELECT"]):
            continue
        result = connection.execute(text(sql), {"theirs": theirs})
        if (result.scalar_one() if kind == "SELECT" else result.rowcount) != 0:
            problems.append(problem)
    if may["INSERT"]:
        savepoint = connection.begin_nested()
        try:
            connection.execute(text(f"INSERT INTO {table} ({column}) VALUES (:theirs)"), {"theirs": theirs})
            problems.append("inserts a row labelled with another tenant")
        except DBAPIError as refused:
            if "row-level security" not in str(refused):
                problems.append(f"an insert for another tenant got past the policy: {str(refused).splitlines()[0]}")
        savepoint.rollback()
    if may["SELECT"]:
        # control: bound to the row's own tenant, the planted row is there (the probe above was not vacuous)
        connection.execute(bind, {"tenant": str(theirs)})
        if connection.execute(text(f"SELECT count(*) FROM {table} {where}"), {"theirs": theirs}).scalar_one() != 1:
            problems.append("its own tenant cannot read the planted row (probe broken)")
    return problems


def test_every_tenant_table_refuses_another_tenants_reads_and_writes(database: Database) -> None:
    engine = create_engine(database.owner_url)  # the superuser plants rows; the probes run as the app role
    failures: dict[str, list[str]] = {}
    try:
        with engine.connect() as connection:
            with Session(bind=connection) as catalogue:
                tables = tenant_tables(catalogue)
            connection.rollback()
            probed = []
            for table, column in sorted(tables.items()):
                if _short(table) in GLOBAL_BY_DESIGN:
                    continue
                transaction = connection.begin()
                try:
                    problems = _probe(connection, table, column)
                finally:
                    transaction.rollback()
                probed.append(table)
                if problems:
                    failures[table] = problems
    finally:
        engine.dispose()
    assert len(probed) >= 20
    assert failures == {}
