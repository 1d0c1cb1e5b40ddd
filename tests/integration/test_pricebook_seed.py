"""The pricebook's demo step writes a browsable, priced pricebook into the demo business once."""

from __future__ import annotations

from blueprints.identity.demo import seed_identity
from blueprints.identity.service import DEMO_TENANT_ID
from blueprints.pricebook import browse, pricing, pull, schemas
from blueprints.pricebook.demo import seed_pricebook
from shared.auth import system_principal
from shared.db import session_scope
from tests.conftest import Database


def test_the_pricebook_seed_is_idempotent_and_prices_its_services(database: Database) -> None:
    seed_identity()
    first = seed_pricebook()
    assert seed_pricebook() == "demo pricebook exists"
    assert "demo pricebook" in first
    principal = system_principal(DEMO_TENANT_ID, permissions=frozenset({"pricebook.read", "pricing.read"}))
    with session_scope(tenant_id=DEMO_TENANT_ID) as session:
        assert pull.counts(session, DEMO_TENANT_ID) == {"categories": 6, "materials": 8, "services": 5, "equipment": 0}
        heaters = browse.list_items(
            session=session, principal=principal, kind="materials", query=schemas.ItemQuery(category_id=1)
        )
        assert len(heaters.items) == 5  # plumbing and its subcategories: water heaters, drains
        suggestion = pricing.suggested_price(session=session, principal=principal, st_id=201)
        assert suggestion.materials_cents > 0 and suggestion.labour_cents > 0
