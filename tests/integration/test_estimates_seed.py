"""The painting demo step saves the published-defaults rate book and a Good/Better/Best estimate once."""

from __future__ import annotations

from blueprints.crm.demo import seed_crm
from blueprints.estimates import service as estimates
from blueprints.estimates.demo import seed_estimates
from blueprints.estimates.schemas import EstimateQuery
from blueprints.identity import service as identity
from blueprints.identity.demo import seed_identity
from devhost.seed import STEPS
from shared.db import session_scope
from tests.conftest import Database


def test_the_estimates_seed_is_idempotent_and_uses_the_published_defaults(database: Database) -> None:
    seed_identity()
    seed_crm()
    first = seed_estimates()
    again = seed_estimates()
    assert "sample estimate" in first or "demo estimates exist" in first
    assert again == "demo estimates exist (1)"
    with session_scope(tenant_id=identity.DEMO_TENANT_ID) as session:
        owner = identity.principal_for_user(session=session, user_id=identity.demo_user_id("owner"))
        assert owner is not None
        book = estimates.get_rate_book(session=session, principal=owner)
        coverage = {p.name: p.coverage_sqft_per_gallon for p in book.products}
        assert coverage["Interior eggshell (walls)"] == 350 and coverage["Ceiling flat"] == 400
        assert book.production["walls"].first_coat == 200 and book.prep["heavy"] == 1.5
        (summary,) = estimates.list_estimates(session=session, principal=owner, query=EstimateQuery()).items
        estimate, _ = estimates.get_estimate(session=session, principal=owner, estimate_id=summary.id)
        totals = [o.totals.total_cents for o in estimate.options]
        assert [o.name for o in estimate.options] == ["Good", "Better", "Best"]
        assert totals == sorted(totals) and totals[0] > 0
        assert len(estimate.rooms) == 4 and estimate.addons[0].price_cents == 15_000
        (photo,) = estimates.list_photos(session=session, principal=owner, estimate_id=estimate.id).items
        assert (photo.status, photo.kind, photo.in_proposal, photo.caption) == (
            "committed",
            "jpeg",
            True,
            "Living room, before",
        )
    assert "estimates" in [name for name, _ in STEPS]
