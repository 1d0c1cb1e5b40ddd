"""Row-level security keeps tenants apart even when a query forgets its tenant filter."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from blueprints.crm import service as crm
from blueprints.crm.models import Customer, Vehicle
from blueprints.identity.models import Tenant, User
from shared.db import APP_ROLE, set_tenant
from shared.errors import NotFound
from tests.builders import create_customer, create_tenant, create_user, create_vehicle, principal_of

TENANT_TABLES = ("tenants", "users", "customers", "customer_shares", "vehicles", "audit_logs", "idempotency_records")


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


def test_the_app_role_owns_no_table_and_rls_is_forced(db_session: Session) -> None:
    owned = db_session.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = :role"), {"role": APP_ROLE}
    ).all()
    assert owned == []
    rows = dict(
        db_session.execute(
            text("SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = ANY(:names)"),
            {"names": list(TENANT_TABLES)},
        ).all()
    )
    assert rows == {name: True for name in TENANT_TABLES}
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
