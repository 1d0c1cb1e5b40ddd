"""Pricing inputs, a service's suggested price with every term, and the drift report, on the real database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from blueprints.pricebook import pricing, schemas
from blueprints.pricebook.models import ServiceLink
from shared import audit
from shared.auth import system_principal
from shared.errors import Unprocessable
from tests.builders import create_pricebook_item, create_tenant

INPUTS = schemas.PricingIn(
    technicians=[
        schemas.TechnicianIn(
            name="Ana",
            wage_cents=3_000,
            burden_percent=Decimal(30),
            paid_hours_per_month=Decimal(160),
            billable_hours_per_month=Decimal(120),
        )
    ],
    vehicles=[schemas.MonthlyCostIn(name="Van 1", monthly_cents=150_000)],
    expense_items=[schemas.MonthlyCostIn(name="Office", monthly_cents=450_000)],
    markup_tiers=[
        schemas.TierIn(min_cost_cents=0, max_cost_cents=1_000, multiplier=Decimal("2.5")),
        schemas.TierIn(min_cost_cents=1_000, max_cost_cents=10_000, multiplier=Decimal("2.0")),
        schemas.TierIn(min_cost_cents=10_000, multiplier=Decimal("1.5")),
    ],
    profit_percent=Decimal(20),
)


def test_a_services_suggested_price_explains_each_term(db_session: Session) -> None:
    tenant = create_tenant(db_session)
    principal = system_principal(tenant.id, permissions=frozenset({"pricing.read", "pricing.manage"}))
    saved = pricing.put_pricing(session=db_session, principal=principal, actor=audit.SYSTEM, pricing_in=INPUTS)
    # labour 30 x 160 x 1.3 = $6,240 + $6,000 overhead = $12,240 over 120 h = $102/h, +20% = $122.40
    assert saved.rate.rate_cents == 12_240
    valve = create_pricebook_item(db_session, tenant_id=tenant.id, kind="materials", cost_cents=800)
    heater = create_pricebook_item(db_session, tenant_id=tenant.id, kind="materials", cost_cents=45_000)
    service = create_pricebook_item(
        db_session, tenant_id=tenant.id, kind="services", hours=Decimal("1.5"), price_cents=90_000
    )
    db_session.add_all(
        [
            ServiceLink(tenant_id=tenant.id, service_st_id=service, sku_kind="material", sku_st_id=valve, quantity=2),
            ServiceLink(tenant_id=tenant.id, service_st_id=service, sku_kind="material", sku_st_id=heater, quantity=1),
        ]
    )
    db_session.flush()
    suggestion = pricing.suggested_price(session=db_session, principal=principal, st_id=service)
    assert suggestion.labour_cents == 18_360  # 1.5 h x $122.40
    assert sorted((m.cost_cents, m.multiplier, m.cents) for m in suggestion.materials) == [
        (800, Decimal("2.5"), 4_000),
        (45_000, Decimal("1.5"), 67_500),
    ]
    assert suggestion.suggested_cents == 18_360 + 4_000 + 67_500
    # and the drift report lists only services further from their suggestion than the threshold
    dear = create_pricebook_item(db_session, tenant_id=tenant.id, kind="services", hours=1, price_cents=20_000)
    report = pricing.drift_report(
        session=db_session, principal=principal, query=schemas.DriftQuery(threshold_percent=Decimal(5))
    )
    assert [(item.st_id, item.suggested_cents, item.drift_percent) for item in report.items] == [
        (dear, 12_240, Decimal("63.4"))
    ]


def test_tiers_with_a_gap_are_refused(db_session: Session) -> None:
    tenant = create_tenant(db_session)
    principal = system_principal(tenant.id, permissions=frozenset({"pricing.manage"}))
    gap = INPUTS.model_copy(update={"markup_tiers": [schemas.TierIn(min_cost_cents=500, multiplier=Decimal(2))]})
    with pytest.raises(Unprocessable):
        pricing.put_pricing(session=db_session, principal=principal, actor=audit.SYSTEM, pricing_in=gap)
