"""The configurator's demo step uploads the three sample templates and creates their products once."""

from __future__ import annotations

from sqlalchemy import select

from blueprints.configurator.demo import seed_configurator
from blueprints.configurator.models import Product
from blueprints.identity.demo import seed_identity
from blueprints.identity.service import DEMO_TENANT_ID
from devhost.seed import STEPS
from shared.db import session_scope
from shared.storage import blob_service
from tests.conftest import Database


def test_the_configurator_seed_is_idempotent(database: Database) -> None:
    # given the demo business
    seed_identity()
    # when the configurator step runs twice
    seed_configurator()
    again = seed_configurator()
    # then the three products exist once each, with their templates in blob storage and a price rule
    assert "none (all exist)" in again
    with session_scope(tenant_id=DEMO_TENANT_ID) as session:
        products = session.scalars(select(Product).order_by(Product.name)).all()
        assert [p.name for p in products] == ["Base cabinet", "Fireplace cover", "Range hood"]
        for product in products:
            assert blob_service().get_blob_client("templates", product.template_blob_path).exists()
            assert product.price_rule and product.config_schema["type"] == "object"
    assert "configurator" in [name for name, _ in STEPS]
