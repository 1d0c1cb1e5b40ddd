"""The hourly billable rate, markup tiers and suggested prices: worked examples and properties."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from blueprints.pricebook import rates

TIERS = [
    rates.Tier(0, 1_000, Decimal("2.5")),
    rates.Tier(1_000, 10_000, Decimal("2.0")),
    rates.Tier(10_000, None, Decimal("1.5")),
]


def test_the_issue_tiers_price_each_band() -> None:
    assert rates.material_line(800, Decimal(1), TIERS) == (2_000, Decimal("2.5"))  # $8 x 2.5
    assert rates.material_line(1_000, Decimal(2), TIERS) == (4_000, Decimal("2.0"))  # $10 is the second band
    assert rates.material_line(25_000, Decimal(1), TIERS) == (37_500, Decimal("1.5"))


@given(st.integers(min_value=0, max_value=10**9))
def test_every_cost_falls_in_exactly_one_tier(cost: int) -> None:
    matching = [t for t in TIERS if cost >= t.min_cost_cents and (t.max_cost_cents is None or cost < t.max_cost_cents)]
    assert len(matching) == 1 and rates.tier_for(cost, TIERS) == matching[0]


def test_a_tier_table_with_a_gap_or_a_ceiling_is_refused() -> None:
    assert rates.tiers_problems(TIERS) == []
    gap = [rates.Tier(0, 1_000, Decimal(2)), rates.Tier(2_000, None, Decimal(1))]
    assert rates.tiers_problems(gap) != []
    assert rates.tiers_problems([rates.Tier(0, 5_000, Decimal(2))]) == ["the last tier must have no ceiling"]


def test_the_rate_covers_wages_with_burden_and_overhead_per_billable_hour_plus_profit() -> None:
    tech = rates.Tech(3_000, Decimal(30), Decimal(160), Decimal(120))  # $30/h, 30% burden, 160 paid, 120 billed
    rate = rates.hourly_rate(techs=[tech, tech], monthly_overhead_cents=1_200_000, profit_percent=Decimal(20))
    # labour 2 x 30 x 160 x 1.3 = $12,480; + $12,000 overhead = $24,480 over 240 h = $102/h; +20% = $122.40
    assert rate.labour_cents_per_month == 1_248_000
    assert rate.cost_cents_per_billable_hour == 10_200
    assert rate.rate_cents == 12_240


def test_no_billable_hours_gives_no_rate_rather_than_a_division_by_zero() -> None:
    assert rates.hourly_rate(techs=[], monthly_overhead_cents=100, profit_percent=Decimal(10)).rate_cents == 0


def test_drift_is_relative_to_the_suggestion() -> None:
    assert rates.drift_percent(11_000, 10_000) == Decimal("10.0")
    assert rates.drift_percent(100, 0) is None
