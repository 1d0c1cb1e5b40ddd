"""The declarative price rule of a product: a base price, adders per chosen option value and rates per dimension.

Everything is integer cents. A dimension rate charges `cents_per_unit` for every started `unit` the option's
value exceeds `included` (a width rate of 500 cents per 100 mm above 600 mm charges 1000 for 750 mm).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Cents = Annotated[int, Field(ge=0, le=100_000_000_00)]
OptionName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class DimensionRate(BaseModel):
    """A price per started unit of a numeric option above what the base price includes."""

    model_config = ConfigDict(extra="forbid")

    cents_per_unit: Cents
    unit: float = Field(1, gt=0, le=1_000_000, description="Size of one charged unit in the option's own unit")
    included: float = Field(0, ge=-1_000_000, le=1_000_000, description="Value the base price already covers")


class PriceRule(BaseModel):
    """How a configuration of a product is priced."""

    model_config = ConfigDict(extra="forbid")

    currency: Currency = "USD"
    base_cents: Cents
    option_adders: dict[OptionName, dict[Annotated[str, StringConstraints(max_length=100)], Cents]] = Field(
        default_factory=dict, description="Option name -> chosen value -> cents added"
    )
    dimension_rates: dict[OptionName, DimensionRate] = Field(
        default_factory=dict, description="Numeric option name -> rate"
    )

    def options(self) -> set[str]:
        """Every option the rule refers to."""
        return set(self.option_adders) | set(self.dimension_rates)


class PriceLine(BaseModel):
    """One part of a price."""

    label: str
    amount_cents: int


class Price(BaseModel):
    """A configuration's price, with how it was reached."""

    amount_cents: int
    currency: str
    lines: list[PriceLine]


def _value_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _dimension_cents(rate: DimensionRate, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    excess = Decimal(str(value)) - Decimal(str(rate.included))
    if excess <= 0:
        return 0
    units = math.ceil(excess / Decimal(str(rate.unit)))
    return units * rate.cents_per_unit


def price(rule: PriceRule, config: dict[str, Any]) -> Price:
    """The price of config under rule; options the configuration lacks add nothing."""
    lines = [PriceLine(label="Base price", amount_cents=rule.base_cents)]
    for option, adders in sorted(rule.option_adders.items()):
        if option in config:
            key = _value_key(config[option])
            if adders.get(key):
                lines.append(PriceLine(label=f"{option}: {key}", amount_cents=adders[key]))
    for option, rate in sorted(rule.dimension_rates.items()):
        cents = _dimension_cents(rate, config.get(option))
        if cents:
            lines.append(PriceLine(label=f"{option}: {_value_key(config[option])}", amount_cents=cents))
    return Price(amount_cents=sum(line.amount_cents for line in lines), currency=rule.currency, lines=lines)


def rule_errors(rule: PriceRule, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Options the rule names that the product's schema does not define."""
    known = set(schema.get("properties", {}) or {})
    errors = []
    for option in sorted(rule.options() - known):
        section = "option_adders" if option in rule.option_adders else "dimension_rates"
        errors.append(
            {
                "loc": f"body.price_rule.{section}.{option}",
                "path": f"$.{section}.{option}",
                "msg": f"The schema has no option {option!r}",
                "type": "price_rule.unknown_option",
            }
        )
    return errors
