"""The shop's demo step books a dozen appointments across the board once, however often it runs."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from blueprints.crm.demo import seed_crm
from blueprints.identity.demo import seed_identity
from blueprints.identity.service import DEMO_TENANT_ID
from blueprints.shop.demo import seed_shop
from blueprints.shop.models import Appointment, InspectionChecklist, Payment
from devhost.seed import STEPS
from shared.db import session_scope
from tests.conftest import Database


def test_the_shop_seed_is_idempotent(database: Database) -> None:
    # given the demo business and its customers
    seed_identity()
    seed_crm()
    # when the shop step runs twice
    first = seed_shop()
    again = seed_shop()
    # then a dozen appointments cover every column, with payments and an inspection, once
    assert "12 demo appointments" in first or "demo appointments exist" in first
    assert again == "demo appointments exist (12)"
    with session_scope(tenant_id=DEMO_TENANT_ID) as session:
        statuses = Counter(session.scalars(select(Appointment.status)).all())
        assert set(statuses) == {"SCHEDULED", "IN_PROGRESS", "READY", "COMPLETED", "NO_SHOW", "CANCELED"}
        assert session.scalars(select(Payment)).first() is not None
        assert session.scalars(select(InspectionChecklist)).first() is not None
    assert "shop" in [name for name, _ in STEPS]
