"""The sample products for the local demo business (`make seed`): templates built with bpy and uploaded,
then one product per template with a price rule; safe to run again. Local use only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from blueprints.configurator import service
from blueprints.configurator.models import Product
from blueprints.configurator.schemas import ProductIn
from blueprints.identity import service as identity
from shared import audit
from shared.config import get_settings
from shared.db import session_scope
from shared.storage import blob_service

# Integer cents: a base price, adders for dearer choices, and a rate per started 100 mm above the base size.
PRICE_RULES: dict[str, dict[str, Any]] = {
    "base-cabinet": {
        "currency": "USD",
        "base_cents": 42_000,
        "option_adders": {
            "finish": {"walnut": 11_000, "graphite": 6_000},
            "door_style": {"raised": 4_500},
            "hardware": {"knob": 0, "bar": 1_800},
        },
        "dimension_rates": {
            "width": {"cents_per_unit": 2_400, "unit": 100, "included": 600},
            "door_count": {"cents_per_unit": 3_500, "unit": 1, "included": 2},
        },
    },
    "range-hood": {
        "currency": "USD",
        "base_cents": 89_000,
        "option_adders": {"finish": {"black": 9_000}},
        "dimension_rates": {"width": {"cents_per_unit": 6_000, "unit": 100, "included": 900}},
    },
    "fireplace-cover": {
        "currency": "USD",
        "base_cents": 180_000,
        "option_adders": {"finish": {"oak": 25_000}},
        "dimension_rates": {"width": {"cents_per_unit": 9_000, "unit": 100, "included": 1500}},
    },
}


def seed_configurator() -> str:
    """Upload the three sample templates and create their products in the demo business (missing ones only)."""
    from render_container.templates.upload import upload_templates  # builds with bpy in a child process

    descriptors = upload_templates(blob_service(), container=get_settings().render_template_container)
    with session_scope(tenant_id=identity.DEMO_TENANT_ID) as session:
        principal = identity.principal_for_user(session=session, user_id=identity.demo_user_id("owner"))
        if principal is None:
            return "no demo tenant yet; run the identity step first"
        existing = set(session.scalars(select(Product.name).where(Product.tenant_id == principal.tenant_id)))
        made = []
        for descriptor in descriptors:
            if descriptor["name"] in existing:
                continue
            product_in = ProductIn(
                name=descriptor["name"],
                description=descriptor["description"],
                config_schema=descriptor["config_schema"],
                template_blob_path=descriptor["template_blob_path"],
                template_version=descriptor["template_version"],
                price_rule=PRICE_RULES.get(descriptor["slug"]),
            )
            service.create_product(
                session=session, principal=principal, product_in=product_in, actor=audit.Actor(request_id="seed")
            )
            made.append(descriptor["name"])
    return f"{len(descriptors)} templates uploaded; products created: {', '.join(made) or 'none (all exist)'}"
