"""The painting demo (`make seed`): a rate book with published industry defaults and one sample estimate with
Good / Better / Best options; safe to run again."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select

from blueprints.crm import service as crm
from blueprints.crm.schemas import CustomerQuery
from blueprints.estimates import estimates, photo_demo, rate_book
from blueprints.estimates.models import Estimate
from blueprints.estimates.schemas import AddonIn, EstimateIn, OptionIn, Product, RateBookBody, RoomIn, SurfaceIn
from blueprints.identity import service as identity
from shared import audit
from shared.db import session_scope

_NS = uuid.UUID("5a1e7c1e-0000-4000-8000-000000000013")


def _product(name: str, coverage: int, cents: int, brand: str = "Trade line") -> Product:
    return Product(
        id=uuid.uuid5(_NS, name),
        name=name,
        brand=brand,
        coverage_sqft_per_gallon=Decimal(coverage),
        price_per_gallon_cents=cents,
    )


# Published rules of thumb: ~350 sq ft/gal on walls, ~400 on ceilings; trim coverage is in linear ft per gallon.
PRODUCTS = (
    _product("Interior eggshell (walls)", 350, 4_500),
    _product("Premium satin (walls)", 400, 6_200),
    _product("Designer matte (walls)", 400, 8_400),
    _product("Ceiling flat", 400, 4_000),
    _product("Semi-gloss enamel (trim, doors)", 500, 5_500),
)


def published_defaults() -> RateBookBody:
    """The rate book the demo business starts from: $65/h, the default production rates, prep and deductions."""
    return RateBookBody(
        products=list(PRODUCTS),
        labour_rate_cents=6_500,
        materials_markup_percent=Decimal(15),
        tax_percent=Decimal("8.25"),
        tax_applies_to="materials",
        deposit_percent=Decimal(30),
    )


def _rooms(option_ids: dict[str, uuid.UUID]) -> list[RoomIn]:
    walls, ceiling, trim = PRODUCTS[0].id, PRODUCTS[3].id, PRODUCTS[4].id
    surfaces = [
        SurfaceIn(kind="walls", product_id=walls, coats=2),
        SurfaceIn(kind="ceiling", product_id=ceiling, coats=1),
        SurfaceIn(kind="trim", product_id=trim, coats=1, prep="light"),
        SurfaceIn(kind="doors", product_id=trim, coats=2),
    ]
    base = {"height_ft": Decimal(8), "surfaces": surfaces}
    return [
        RoomIn(name="Living room", length_ft=Decimal(12), width_ft=Decimal(14), doors=1, windows=2, **base),
        RoomIn(name="Main bedroom", length_ft=Decimal(13), width_ft=Decimal(12), doors=2, windows=2, **base),
        RoomIn(name="Hall", length_ft=Decimal(18), width_ft=Decimal(4), doors=3, windows=0, **base),
        RoomIn(
            name="Stairwell accent wall",
            length_ft=Decimal(14),
            width_ft=Decimal(0),
            height_ft=Decimal(16),
            option_id=option_ids["Best"],
            surfaces=[
                SurfaceIn(kind="walls", product_id=PRODUCTS[2].id, coats=2, prep="medium", quantity=Decimal(224))
            ],
        ),
    ]


def seed_estimates() -> str:
    """Save the published-defaults rate book and one sample estimate for the demo estimator."""
    with session_scope(tenant_id=identity.DEMO_TENANT_ID) as session:
        owner = identity.principal_for_user(session=session, user_id=identity.demo_user_id("owner"))
        estimator = identity.principal_for_user(session=session, user_id=identity.demo_user_id("estimator"))
        if owner is None or estimator is None:
            return "no demo tenant yet; run the identity step first"
        existing = session.scalar(select(func.count()).select_from(Estimate))
        if existing:
            return f"demo estimates exist ({existing})"
        actor = audit.Actor(user_id=owner.user_id)
        if rate_book.current_version(session, owner.tenant_id) == rate_book.DEFAULT_VERSION:
            rate_book.save_rate_book(session=session, principal=owner, actor=actor, book=published_defaults())
        customers = crm.list_customers(session=session, principal=estimator, query=CustomerQuery(limit=1)).items
        if not customers:
            return "rate book saved; no demo customers for the estimator yet; run the crm step first"
        walls = PRODUCTS[0].id
        options = [
            OptionIn(name="Good", description="Interior eggshell, two coats"),
            OptionIn(name="Better", description="Premium satin walls", product_overrides={walls: PRODUCTS[1].id}),
            OptionIn(
                name="Best",
                description="Designer matte and a stairwell accent wall",
                product_overrides={walls: PRODUCTS[2].id},
            ),
        ]
        body = EstimateIn(customer_id=customers[0].id, title="Interior repaint", job_address="Demo St", options=options)
        me = audit.Actor(user_id=estimator.user_id)
        out, _ = estimates.create_estimate(session=session, principal=estimator, actor=me, estimate_in=body)
        option_ids = {o.name: o.id for o in out.options}
        for room in _rooms(option_ids):
            estimates.add_room(session=session, principal=estimator, actor=me, estimate_id=out.id, room_in=room)
        addon = AddonIn(name="Power-wash the front porch", price_cents=15_000)
        estimates.add_addon(session=session, principal=estimator, actor=me, estimate_id=out.id, addon_in=addon)
        photo = photo_demo.seed_photo(session=session, principal=estimator, actor=me, estimate_id=out.id)
    return f"painting rate book (published defaults) and a Good/Better/Best sample estimate with {photo}"
