"""The plumbing bid formulas, each against a calculation done by hand, and the properties every price keeps:
totals are the sum of their lines, more quantity never lowers a price, the margin is a margin of the price."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.bids import pricing
from blueprints.bids.bid_schemas import (
    AllowanceIn,
    AlternateIn,
    Assembly,
    BidContent,
    LineIn,
    PipeAllowance,
    PriceBookBody,
)
from blueprints.bids.catalog import FIXTURE_TYPES


def book(**changes: object) -> PriceBookBody:
    """A round-number book: $100/h, 25% slower crews, 10 ft of pipe per fixture at $5/ft and 0.1 h/ft."""
    base = PriceBookBody(
        labour_rate_cents=10_000,
        productivity_factor=Decimal("1.25"),
        pipe=PipeAllowance(
            basis="per_fixture", feet=Decimal(10), material_cents_per_foot=500, hours_per_foot=Decimal("0.1")
        ),
        permit_fees_cents=35_000,
        contingency_percent=Decimal(5),
        overhead_percent=Decimal(10),
        margin_percent=Decimal(20),
        bond_percent=Decimal("1.5"),
        tax_percent=Decimal("8.25"),
    )
    assemblies = dict(base.assemblies)
    assemblies["water_closet"] = Assembly(
        rough_in_hours=Decimal(3), trim_hours=Decimal("1.5"), material_cents=32_000, allowance_cents=5_000
    )
    assemblies["lavatory"] = Assembly(rough_in_hours=Decimal("2.5"), trim_hours=Decimal("1.5"), material_cents=22_000)
    return base.model_copy(update={"assemblies": assemblies, **changes})


def test_a_fixture_line_by_hand() -> None:
    # 4 WC x (3 + 1.5) h x 1.25 = 22.5 h; x $100 = $2,250.00; material 4 x $320 = $1,280; allowance 4 x $50
    line = pricing.fixture_line(LineIn(fixture_type="water_closet", quantity=Decimal(4)), book())
    assert line.hours == Decimal("22.5")
    assert (line.labour_cents, line.material_cents, line.other_cents) == (225_000, 128_000, 20_000)
    assert line.direct_cents == 373_000


def test_a_line_override_wins_over_the_book() -> None:
    line = pricing.fixture_line(
        LineIn(fixture_type="lavatory", quantity=Decimal(2), trim_hours=Decimal(0), material_cents=10_001), book()
    )
    # 2 x 2.5 x 1.25 = 6.25 h -> $625; 2 x 10,001 = 20,002
    assert (line.hours, line.labour_cents, line.material_cents) == (Decimal("6.25"), 62_500, 20_002)


def test_pipe_per_fixture_and_per_square_foot_by_hand() -> None:
    per_fixture = pricing.pipe_line(Decimal(6), None, book())
    assert per_fixture is not None
    # 6 fixtures x 10 ft = 60 ft; 60 x 0.1 x 1.25 = 7.5 h -> $750; 60 x $5 = $300
    assert (per_fixture.quantity, per_fixture.hours) == (Decimal(60), Decimal("7.5"))
    assert (per_fixture.labour_cents, per_fixture.material_cents, per_fixture.direct_cents) == (75_000, 30_000, 105_000)
    by_area = book(
        pipe=PipeAllowance(
            basis="per_sqft", feet=Decimal("0.05"), material_cents_per_foot=500, hours_per_foot=Decimal("0.1")
        )
    )
    area = pricing.pipe_line(Decimal(6), Decimal(2000), by_area)
    assert area is not None and area.quantity == Decimal(100) and area.material_cents == 50_000
    assert pricing.pipe_line(Decimal(6), None, by_area) is None  # no area, no per-sq-ft pipe


def test_the_totals_chain_by_hand() -> None:
    content = BidContent(
        title="Clinic",
        lines=[
            LineIn(fixture_type="water_closet", quantity=Decimal(4)),
            LineIn(fixture_type="lavatory", quantity=Decimal(2)),
        ],
        allowances=[AllowanceIn(name="Owner fixtures", amount_cents=100_000)],
    )
    priced = pricing.price_bid(content, book())
    kinds = [line.kind for line in priced.lines]
    assert kinds == ["fixture", "fixture", "pipe", "permit", "allowance"]
    # WC 373,000; lav: 2 x 4 x 1.25 = 10 h -> 100,000 + 44,000 = 144,000; pipe 6 fixtures -> 105,000;
    # permit 35,000; allowance 100,000
    t = priced.totals
    assert t.direct_cost_cents == 373_000 + 144_000 + 105_000 + 35_000 + 100_000 == 757_000
    assert t.contingency_cents == 37_850  # 5% of 757,000
    assert t.overhead_cents == 79_485  # 10% of 794,850
    assert t.cost_cents == 874_335
    assert t.price_cents == 1_092_919  # 874,335 / 0.8 = 1,092,918.75 -> half up
    assert t.margin_cents == 218_584
    assert t.bond_cents == 16_394  # 1.5% of 1,092,919 = 16,393.785
    assert t.tax_cents == 91_518  # 8.25% of 1,109,313 = 91,518.32
    assert t.total_cents == 1_092_919 + 16_394 + 91_518 == 1_200_831
    assert t.hours == Decimal("22.5") + Decimal(10) + Decimal("7.5")


def test_an_alternate_is_priced_on_its_own_lines() -> None:
    alternate = AlternateIn(
        name="Add 1 urinal", lines=[LineIn(fixture_type="lavatory", quantity=Decimal(1))], extra_cost_cents=1_000
    )
    priced = pricing.price_bid(BidContent(title="x", alternates=[alternate]), book())
    alt = priced.alternates[0]
    # lav 1 x 4 x 1.25 = 5 h -> 50,000 + 22,000; pipe 10 ft -> 1.25 h = 12,500 + 5,000; lump 1,000
    assert [line.direct_cents for line in alt.lines] == [72_000, 17_500, 1_000]
    assert alt.totals.direct_cost_cents == 90_500
    assert priced.totals.direct_cost_cents == 35_000  # the base has only the permit fees


def test_half_up_rounds_a_half_cent_up_once() -> None:
    assert pricing.cents(Decimal("0.5")) == 1 and pricing.cents(Decimal("1.49")) == 1
    assert pricing.percent_of(150, Decimal(1)) == 2  # 1.5 cents
    assert pricing.price_for_margin(100, Decimal(0)) == 100


lines_strategy = st.lists(
    st.builds(
        LineIn,
        fixture_type=st.sampled_from(FIXTURE_TYPES),
        quantity=st.decimals(min_value=0, max_value=500, places=0),
    ),
    max_size=12,
)
percents = st.decimals(min_value=0, max_value=30, places=2)


@settings(max_examples=200, deadline=None)
@given(lines=lines_strategy, contingency=percents, overhead=percents, margin=percents, bond=percents, tax=percents)
def test_totals_are_the_sum_of_their_lines_and_steps(
    lines: list[LineIn], contingency: Decimal, overhead: Decimal, margin: Decimal, bond: Decimal, tax: Decimal
) -> None:
    b = book(
        contingency_percent=contingency,
        overhead_percent=overhead,
        margin_percent=margin,
        bond_percent=bond,
        tax_percent=tax,
    )
    priced = pricing.price_bid(BidContent(title="x", lines=lines), b)
    t = priced.totals
    assert t.direct_cost_cents == sum(line.direct_cents for line in priced.lines)
    assert all(line.direct_cents == line.labour_cents + line.material_cents + line.other_cents for line in priced.lines)
    assert t.cost_cents == t.direct_cost_cents + t.contingency_cents + t.overhead_cents
    assert t.price_cents == t.cost_cents + t.margin_cents
    assert t.total_cents == t.price_cents + t.bond_cents + t.tax_cents


@settings(max_examples=200, deadline=None)
@given(
    lines=lines_strategy.filter(bool),
    index=st.integers(min_value=0),
    extra=st.integers(min_value=1, max_value=50),
    margin=percents,
    tax=percents,
)
def test_more_quantity_never_lowers_the_price(
    lines: list[LineIn], index: int, extra: int, margin: Decimal, tax: Decimal
) -> None:
    b = book(margin_percent=margin, tax_percent=tax)
    before = pricing.price_bid(BidContent(title="x", lines=lines), b).totals
    i = index % len(lines)
    more = [*lines[:i], lines[i].model_copy(update={"quantity": lines[i].quantity + extra}), *lines[i + 1 :]]
    after = pricing.price_bid(BidContent(title="x", lines=more), b).totals
    assert after.direct_cost_cents >= before.direct_cost_cents
    assert after.price_cents >= before.price_cents and after.total_cents >= before.total_cents


@settings(max_examples=300, deadline=None)
@given(cost=st.integers(min_value=0, max_value=10**11), margin=st.decimals(min_value=0, max_value=95, places=4))
def test_the_margin_is_a_share_of_the_price_not_a_markup_on_cost(cost: int, margin: Decimal) -> None:
    price = pricing.price_for_margin(cost, margin)
    # price x (1 - margin) is the cost, within the half cent the price was rounded by
    assert abs(Decimal(price) * (1 - margin / 100) - cost) <= Decimal("0.5")
    assert price >= cost
