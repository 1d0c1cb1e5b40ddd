"""A DriverQuery answers what session.execute answers, on the session's own transaction, and fails as it does.

It is the hot read path (the session check of every signed-in request, list pages): the same rows as dicts,
what the session wrote and has not committed included, row-level security bound by the same set_config, the
statement's own parameters (OFFSET 0, LIMIT 1) bound without the caller naming them; a statement it would run
wrongly (a parameter whose type converts values, an IN list) is refused when compiled; a server error is
SQLAlchemy's, and a lost connection counts as an outage and is replaced.
"""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from sqlalchemy import JSON, Enum, bindparam, select, text
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm import Session

from blueprints.crm.models import Customer
from shared.db import DriverQuery, is_outage, make_engine, set_tenant, set_tenant_with
from tests.builders import create_customer, create_tenant, create_user
from tests.conftest import Database

_NAMES = DriverQuery(
    select(Customer.id, Customer.name, Customer.created_at)
    .where(Customer.owner_id == bindparam("owner_id", type_=Customer.owner_id.type))
    .order_by(Customer.name)
)


def test_it_answers_the_rows_session_execute_answers_including_what_the_session_has_not_committed(
    db_session: Session,
) -> None:
    tenant = create_tenant(db_session, name="Driver Paint")
    owner = create_user(db_session, tenant=tenant)
    for name in ("Cy", "Ada", "Bea"):
        create_customer(db_session, tenant=tenant, owner=owner, name=name)
    db_session.flush()

    rows = _NAMES.rows(db_session, {"owner_id": owner.id})

    expected = [row._asdict() for row in db_session.execute(_NAMES.statement, {"owner_id": owner.id})]
    assert rows == expected
    assert [row["name"] for row in rows] == ["Ada", "Bea", "Cy"]
    assert isinstance(rows[0]["id"], uuid.UUID) and rows[0]["created_at"].tzinfo is not None


def test_it_sees_what_the_session_added_and_has_not_flushed_as_execute_does(db_session: Session) -> None:
    tenant = create_tenant(db_session, name="Pending Paint")
    owner = create_user(db_session, tenant=tenant)
    db_session.flush()
    db_session.add(Customer(id=uuid.uuid4(), tenant_id=tenant.id, owner_id=owner.id, name="Dee"))

    assert [row["name"] for row in _NAMES.rows(db_session, {"owner_id": owner.id})] == ["Dee"]
    with db_session.no_autoflush:  # and, as execute, not inside no_autoflush
        db_session.add(Customer(id=uuid.uuid4(), tenant_id=tenant.id, owner_id=owner.id, name="Eve"))
        assert [row["name"] for row in _NAMES.rows(db_session, {"owner_id": owner.id})] == ["Dee"]


def test_row_level_security_binds_it_as_it_binds_the_session(db_session: Session) -> None:
    first = create_tenant(db_session, name="First Paint")
    create_customer(db_session, tenant=first, name="Ada")
    second = create_tenant(db_session, name="Second Paint")
    create_customer(db_session, tenant=second, name="Bea")
    db_session.flush()
    every_name = DriverQuery(select(Customer.name))  # no tenant filter at all

    set_tenant(db_session, first.id)
    assert [row["name"] for row in every_name.rows(db_session, {})] == ["Ada"]
    set_tenant(db_session, second.id)
    assert [row["name"] for row in every_name.rows(db_session, {})] == ["Bea"]


def test_the_statements_own_parameters_are_bound_without_the_caller_naming_them(db_session: Session) -> None:
    tenant = create_tenant(db_session, name="Paged Paint")
    owner = create_user(db_session, tenant=tenant)
    for name in ("Ada", "Bea", "Cy"):
        create_customer(db_session, tenant=tenant, owner=owner, name=name)
    db_session.flush()
    second = DriverQuery(_NAMES.statement.offset(1).limit(1))  # type: ignore[attr-defined]

    assert [row["name"] for row in second.rows(db_session, {"owner_id": owner.id})] == ["Bea"]
    assert second.first(db_session, {"owner_id": uuid.uuid4()}) is None


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(select(bindparam("kind", type_=Enum("walls", "ceiling", name="kind"))), id="enum"),
        pytest.param(select(bindparam("payload", type_=JSON())), id="json"),
        pytest.param(select(Customer.name).where(Customer.id.in_(bindparam("ids", expanding=True))), id="in-list"),
    ],
)
def test_a_statement_whose_parameters_sqlalchemy_would_convert_is_refused(db_session: Session, statement) -> None:
    with pytest.raises(ValueError, match=r"use session\.execute"):
        DriverQuery(statement).rows(db_session, {})


def test_a_server_error_is_sqlalchemys_and_the_session_rolls_back_to_work_again(database: Database) -> None:
    engine = make_engine(database.app_url, pool_size=1, max_overflow=0)
    try:
        with Session(bind=engine) as session:
            with pytest.raises(DataError) as raised:
                DriverQuery(text("SELECT 1 / :zero AS q")).rows(session, {"zero": 0})
            assert "division by zero" in str(raised.value) and not is_outage(raised.value)
            session.rollback()
            assert DriverQuery(text("SELECT 1 / :one AS q")).first(session, {"one": 1}) == {"q": 1}
    finally:
        engine.dispose()


def test_a_lost_connection_is_an_outage_and_the_next_session_gets_a_new_one(database: Database) -> None:
    engine = make_engine(database.app_url, pool_size=1, max_overflow=0)
    backend = DriverQuery(text("SELECT pg_backend_pid() AS pid"))
    try:
        with Session(bind=engine) as session:
            pid = backend.first(session, {})["pid"]  # type: ignore[index]
            admin = database.owner_url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            time.sleep(0.2)
            with pytest.raises(DBAPIError) as raised:
                backend.first(session, {})
            assert raised.value.connection_invalidated and is_outage(raised.value)
            session.rollback()
        with Session(bind=engine) as session:
            assert backend.first(session, {})["pid"] != pid  # type: ignore[index]
    finally:
        engine.dispose()


def test_set_tenant_with_binds_the_transaction_only_when_the_query_answers_a_row(db_session: Session) -> None:
    tenant = create_tenant(db_session, name="Bound Paint")
    create_customer(db_session, tenant=tenant, name="Ada")
    db_session.flush()
    set_tenant(db_session, None)
    setting = DriverQuery(text("SELECT current_setting('app.tenant_id', true) AS tenant"))

    assert set_tenant_with(db_session, tenant.id, "SELECT 1 AS one WHERE false", {}) is None
    assert setting.first(db_session, {}) == {"tenant": ""}
    found = set_tenant_with(db_session, tenant.id, "SELECT :n AS n", {"n": 7})
    assert found is not None and found["n"] == 7
    assert setting.first(db_session, {}) == {"tenant": str(tenant.id)}
    assert [row["name"] for row in DriverQuery(select(Customer.name)).rows(db_session, {})] == ["Ada"]
