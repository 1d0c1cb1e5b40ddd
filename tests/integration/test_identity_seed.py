"""The demo seed creates the demo business once and can run again without harm."""

from __future__ import annotations

from sqlalchemy import func, select

from blueprints.crm.demo import DEMO_CUSTOMERS, seed_crm
from blueprints.crm.models import Customer, Vehicle
from blueprints.identity.demo import DEMO_PASSWORD, seed_identity
from blueprints.identity.models import User
from blueprints.identity.service import DEMO_TENANT_ID
from devhost.seed import STEPS
from shared.db import session_scope
from tests.conftest import Database


def test_the_demo_seed_is_idempotent(database: Database) -> None:
    first = [seed_identity(), seed_crm()]
    again = [seed_identity(), seed_crm()]
    assert DEMO_PASSWORD in first[0] or "exists" in first[0]
    assert "exists" in again[0] and "exist" in again[1]
    with session_scope(tenant_id=DEMO_TENANT_ID) as session:
        roles = set(session.scalars(select(User.role)).all())
        demo_names = [customer_in.name for _, customer_in, _ in DEMO_CUSTOMERS]
        customers = session.scalar(select(func.count()).select_from(Customer).where(Customer.name.in_(demo_names)))
        vehicles = session.scalar(
            select(func.count())
            .select_from(Vehicle)
            .join(Customer, Customer.id == Vehicle.customer_id)
            .where(Customer.name.in_(demo_names))
        )
    assert roles == {"owner", "estimator", "tech"}
    # other modules' demo steps may add customers of their own to the shared demo business
    assert customers == 3 and vehicles == 4
    assert [name for name, _ in STEPS][:2] == ["identity", "crm"]
