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


def test_the_bids_pricing_seed_gives_the_demo_a_price_book_and_one_bid(database: Database) -> None:
    from blueprints.bids.demo import seed_bid_pricing
    from blueprints.bids.models import Bid, BidPriceBook

    seed_identity()
    seed_crm()
    seed_bids()
    first = seed_bid_pricing()
    again = seed_bid_pricing()
    assert "bid P-" in first or first == "demo bid exists"
    assert again == "demo bid exists"
    with session_scope(tenant_id=DEMO_TENANT_ID) as session:
        assert session.scalar(select(func.count()).select_from(BidPriceBook)) == 1
        assert session.scalar(select(func.count()).select_from(Bid)) == 1
        assert session.scalar(select(Bid.total_cents)) > 0
    assert "bids_pricing" in [name for name, _ in STEPS]
