"""The bids demo step analyses a small generated plan set in the demo business once, however often it runs."""

from __future__ import annotations

from sqlalchemy import func, select

from blueprints.bids.demo import seed_bids
from blueprints.bids.models import BidDocument, BidFixture, BidScheduleRow
from blueprints.crm.demo import seed_crm
from blueprints.identity.demo import seed_identity
from blueprints.identity.service import DEMO_TENANT_ID
from devhost.seed import STEPS
from shared.db import session_scope
from tests.conftest import Database


def test_the_bids_seed_is_idempotent(database: Database) -> None:
    seed_identity()
    seed_crm()  # the steps run in their order; the demo tenant other seed tests of this database share
    first = seed_bids()
    again = seed_bids()
    assert "sheets analysed" in first or first == "demo project exists"
    assert again == "demo project exists"
    with session_scope(tenant_id=DEMO_TENANT_ID) as session:
        assert session.scalar(select(func.count()).select_from(BidDocument)) == 1
        assert session.scalar(select(BidDocument.status)) == "analyzed"
        assert session.scalar(select(func.count()).select_from(BidScheduleRow)) == 11
        assert session.scalar(select(func.count()).select_from(BidFixture)) > 10
    assert "bids" in [name for name, _ in STEPS]
