"""A small home-services pricebook for the local demo business (`make seed`); safe to run again.

`make dev` has no ServiceTitan keys, so the demo business stays unconnected: its pricebook is written as a
pull would write it (ServiceTitan-shaped JSON through raw into master, the same code path), with pricing
inputs, so browsing, local edits, suggested prices and the drift report work at once. Pushing or pulling
needs a connection (PUT /api/v1/pricebook/connection) to a real or integration ServiceTitan tenant.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from blueprints.identity import service as identity
from blueprints.pricebook import pricing, pull, schemas
from blueprints.pricebook.models import MasterMaterial
from shared import audit
from shared.db import session_scope

CATEGORIES = [
    (1, "Plumbing", None),
    (2, "Water heaters", 1),
    (3, "Drains", 1),
    (4, "HVAC", None),
    (5, "Furnaces", 4),
    (6, "Electrical", None),
]
# (id, code, name, cost in dollars, category)
MATERIALS = [
    (101, "PV-050", "1/2 in ball valve", 8.40, 1),
    (102, "PX-075", "3/4 in PEX elbow", 1.15, 1),
    (103, "WH-40G", "40 gal gas water heater", 612.00, 2),
    (104, "WH-KIT", "Water heater install kit", 54.00, 2),
    (105, "DR-CAB", "Drain cable, 50 ft", 38.00, 3),
    (106, "FN-FLT", "Furnace filter 16x25", 9.75, 5),
    (107, "FN-IGN", "Hot surface igniter", 42.50, 5),
    (108, "EL-BRK", "20 A breaker", 11.20, 6),
]
# (id, code, name, hours, price in dollars, category, [(material, quantity)])
SERVICES = [
    (201, "WH-REPL", "Replace 40 gal water heater", 3.0, 1895.00, 2, [(103, 1), (104, 1)]),
    (202, "DR-CLR", "Clear main drain", 1.5, 289.00, 3, [(105, 1)]),
    (203, "FN-TUNE", "Furnace tune-up", 1.0, 149.00, 5, [(106, 1)]),
    (204, "FN-IGNR", "Replace igniter", 1.0, 325.00, 5, [(107, 1)]),
    (205, "EL-BRKR", "Replace breaker", 0.75, 219.00, 6, [(108, 1)]),
]
STAMP = "2026-11-30T12:00:00.0000000Z"


def _feed() -> dict[str, list[dict[str, Any]]]:
    """The demo pricebook as ServiceTitan's export feeds would send it."""
    categories = [
        {"id": i, "name": n, "active": True, "parentId": p, "position": i, "modifiedOn": STAMP}
        for i, n, p in CATEGORIES
    ]
    materials = [
        {
            "id": i,
            "code": c,
            "displayName": n,
            "description": f"<p>{n}</p>",
            "cost": cost,
            "price": round(cost * 2, 2),
            "memberPrice": round(cost * 1.8, 2),
            "addOnPrice": round(cost * 1.9, 2),
            "hours": 0,
            "active": True,
            "categories": [cat],
            "assets": [],
            "modifiedOn": STAMP,
        }
        for i, c, n, cost, cat in MATERIALS
    ]
    services = [
        {
            "id": i,
            "code": c,
            "displayName": n,
            "description": f"<p>{n}</p>",
            "hours": h,
            "price": price,
            "memberPrice": round(price * 0.9, 2),
            "addOnPrice": round(price * 0.95, 2),
            "active": True,
            "categories": [{"id": cat, "name": "", "active": True}],
            "assets": [],
            "serviceMaterials": [{"skuId": m, "quantity": q} for m, q in links],
            "serviceEquipment": [],
            "modifiedOn": STAMP,
        }
        for i, c, n, h, price, cat, links in SERVICES
    ]
    return {"categories": categories, "materials": materials, "services": services, "equipment": []}


PRICING = schemas.PricingIn(
    technicians=[
        schemas.TechnicianIn(
            name="Rosa", wage_cents=3_400, burden_percent=Decimal(28), billable_hours_per_month=Decimal(120)
        ),
        schemas.TechnicianIn(
            name="Mike", wage_cents=2_900, burden_percent=Decimal(28), billable_hours_per_month=Decimal(110)
        ),
    ],
    vehicles=[
        schemas.MonthlyCostIn(name="Van 1", monthly_cents=145_000),
        schemas.MonthlyCostIn(name="Van 2", monthly_cents=132_000),
    ],
    expense_items=[schemas.MonthlyCostIn(name="Office and dispatch", monthly_cents=620_000)],
    markup_tiers=[
        schemas.TierIn(min_cost_cents=0, max_cost_cents=1_000, multiplier=Decimal("2.5")),
        schemas.TierIn(min_cost_cents=1_000, max_cost_cents=10_000, multiplier=Decimal("2.0")),
        schemas.TierIn(min_cost_cents=10_000, multiplier=Decimal("1.5")),
    ],
    profit_percent=Decimal(20),
)


def seed_pricebook() -> str:
    """Write the demo pricebook and pricing inputs into the demo business, once."""
    tenant_id = identity.DEMO_TENANT_ID
    with session_scope(tenant_id=tenant_id) as session:
        owner = identity.principal_for_user(session=session, user_id=identity.demo_user_id("owner"))
        if owner is None:
            return "no demo tenant yet; run the identity step first"
        if session.scalar(select(func.count()).select_from(MasterMaterial)):
            return "demo pricebook exists"
        run_id = uuid.uuid5(tenant_id, "pricebook-demo")
        for kind, items in _feed().items():
            changed = pull.write_raw(session, tenant_id=tenant_id, run_id=run_id, kind=kind, items=items)
            pull.write_master(session, tenant_id=tenant_id, kind=kind, items=changed)
        pull.refresh_category_paths(session, tenant_id)
        pricing.put_pricing(session=session, principal=owner, actor=audit.SYSTEM, pricing_in=PRICING)
    return (
        f"demo pricebook: {len(CATEGORIES)} categories, {len(MATERIALS)} materials, {len(SERVICES)} services, "
        "pricing inputs (not connected to ServiceTitan)"
    )
