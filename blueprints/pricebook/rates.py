"""Pricing arithmetic, pure: the hourly billable rate and a service's suggested price, each term explained.

Money is integer cents with Decimal arithmetic, rounded half-up once per line: the rate once, the labour
line once, each material line once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise


def round_cents(value: Decimal) -> int:
    """Half-up to a whole cent."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Tech:
    """A technician's cost inputs."""

    wage_cents: int
    burden_percent: Decimal
    paid_hours_per_month: Decimal
    billable_hours_per_month: Decimal


@dataclass(frozen=True)
class Tier:
    """Material cost in [min, max) is sold at cost × multiplier (max None: no ceiling)."""

    min_cost_cents: int
    max_cost_cents: int | None
    multiplier: Decimal


@dataclass(frozen=True)
class Rate:
    """The hourly billable rate and the terms it comes from."""

    labour_cents_per_month: int
    overhead_cents_per_month: int
    billable_hours_per_month: Decimal
    cost_cents_per_billable_hour: int
    profit_percent: Decimal
    rate_cents: int


def hourly_rate(*, techs: list[Tech], monthly_overhead_cents: int, profit_percent: Decimal) -> Rate:
    """(wages with burden + vehicles + overhead) per billable hour, plus the profit margin."""
    labour = sum(
        (Decimal(t.wage_cents) * t.paid_hours_per_month * (1 + t.burden_percent / 100) for t in techs), Decimal(0)
    )
    hours = sum((t.billable_hours_per_month for t in techs), Decimal(0))
    cost_per_hour = (labour + monthly_overhead_cents) / hours if hours else Decimal(0)
    return Rate(
        labour_cents_per_month=round_cents(labour),
        overhead_cents_per_month=monthly_overhead_cents,
        billable_hours_per_month=hours,
        cost_cents_per_billable_hour=round_cents(cost_per_hour),
        profit_percent=profit_percent,
        rate_cents=round_cents(cost_per_hour * (1 + profit_percent / 100)),
    )


def tier_for(cost_cents: int, tiers: list[Tier]) -> Tier | None:
    """The tier a unit cost falls in."""
    for tier in sorted(tiers, key=lambda t: t.min_cost_cents):
        if cost_cents >= tier.min_cost_cents and (tier.max_cost_cents is None or cost_cents < tier.max_cost_cents):
            return tier
    return None


def tiers_problems(tiers: list[Tier]) -> list[str]:
    """What is wrong with a tier table: it must start at 0, leave no gap or overlap, and end open."""
    if not tiers:
        return []
    ordered = sorted(tiers, key=lambda t: t.min_cost_cents)
    problems = [] if ordered[0].min_cost_cents == 0 else ["the first tier must start at 0"]
    for low, high in pairwise(ordered):
        if low.max_cost_cents != high.min_cost_cents:
            problems.append(
                f"the tier from {low.min_cost_cents} must end where the next starts ({high.min_cost_cents})"
            )
    if ordered[-1].max_cost_cents is not None:
        problems.append("the last tier must have no ceiling")
    return problems


def material_line(cost_cents: int, quantity: Decimal, tiers: list[Tier]) -> tuple[int, Decimal]:
    """A linked material's sell value (quantity × cost × its tier's multiplier) and the multiplier used."""
    tier = tier_for(cost_cents, tiers)
    multiplier = tier.multiplier if tier else Decimal(1)
    return round_cents(Decimal(cost_cents) * quantity * multiplier), multiplier


def drift_percent(price_cents: int, suggested_cents: int) -> Decimal | None:
    """How far ServiceTitan's price is from the suggestion, in percent of the suggestion."""
    if suggested_cents == 0:
        return None
    return ((Decimal(price_cents) - suggested_cents) / suggested_cents * 100).quantize(Decimal("0.1"))
