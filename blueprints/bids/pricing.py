"""The plumbing bid formulas: fixture lines, the pipe allowance, permits, allowances, and the totals chain. Pure.

Money is integer cents computed with Decimal and rounded half-up once per line and once per step:

    fixture line   hours = qty x (rough-in + trim) x productivity; labour = hours x rate;
                   material = qty x material; other = qty x allowance
    pipe line      feet = (fixtures | sq ft) x feet per unit; hours = feet x hours per foot x productivity
    direct cost    the sum of the lines (fixtures, pipe, permit fees, allowances)
    contingency    direct x contingency %
    overhead       (direct + contingency) x overhead %
    cost           direct + contingency + overhead
    price          cost / (1 - margin)          (profit as a margin of the price, not a markup on cost)
    bond           price x bond %               (its own line)
    tax            (price + bond) x tax %       (last)
    total          price + bond + tax

Each alternate is priced through the same chain on its own lines (and its pipe, when pipe is per fixture).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from blueprints.bids.bid_schemas import (
    AlternateIn,
    BidContent,
    BidTotals,
    LineIn,
    PriceBookBody,
    PricedAlternate,
    PricedBid,
    PricedLine,
)

CENT = Decimal(1)
HUNDRED = Decimal(100)
ZERO = Decimal(0)


def cents(amount: Decimal) -> int:
    """An amount of cents rounded half-up to a whole cent."""
    return int(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def percent_of(base: int, percent: Decimal) -> int:
    """percent of base cents, rounded half-up once."""
    return cents(Decimal(base) * percent / HUNDRED)


def price_for_margin(cost: int, margin_percent: Decimal) -> int:
    """The price whose margin is margin_percent of it: cost / (1 - margin), rounded half-up once."""
    return cents(Decimal(cost) / (1 - margin_percent / HUNDRED))


def fixture_line(line: LineIn, book: PriceBookBody) -> PricedLine:
    """One fixture type's line: the book's assembly unless the line overrides a figure."""
    assembly = book.assemblies[line.fixture_type]
    rough = assembly.rough_in_hours if line.rough_in_hours is None else line.rough_in_hours
    trim = assembly.trim_hours if line.trim_hours is None else line.trim_hours
    material = assembly.material_cents if line.material_cents is None else line.material_cents
    allowance = assembly.allowance_cents if line.allowance_cents is None else line.allowance_cents
    hours = line.quantity * (rough + trim) * book.productivity_factor
    labour = cents(hours * book.labour_rate_cents)
    material_cents = cents(line.quantity * material)
    other = cents(line.quantity * allowance)
    return PricedLine(
        kind="fixture",
        fixture_type=line.fixture_type,
        description=line.description or line.fixture_type.replace("_", " ").capitalize(),
        quantity=line.quantity,
        unit="ea",
        hours=hours,
        labour_cents=labour,
        material_cents=material_cents,
        other_cents=other,
        direct_cents=labour + material_cents + other,
        source=line.source,
    )


def pipe_line(fixtures: Decimal, area_sqft: Decimal | None, book: PriceBookBody) -> PricedLine | None:
    """The pipe footage allowance: per fixture counted, or per sq ft of the bid's area (None when nothing)."""
    pipe = book.pipe
    basis = fixtures if pipe.basis == "per_fixture" else (area_sqft or ZERO)
    feet = basis * pipe.feet
    if feet == 0:
        return None
    hours = feet * pipe.hours_per_foot * book.productivity_factor
    labour = cents(hours * book.labour_rate_cents)
    material = cents(feet * pipe.material_cents_per_foot)
    per = "fixture" if pipe.basis == "per_fixture" else "sq ft"
    return PricedLine(
        kind="pipe",
        description=f"Pipe and fittings ({pipe.feet.normalize():f} ft per {per})",
        quantity=feet,
        unit="ft",
        hours=hours,
        labour_cents=labour,
        material_cents=material,
        other_cents=0,
        direct_cents=labour + material,
    )


def _lump(kind: str, description: str, amount: int) -> PricedLine:
    return PricedLine(
        kind=kind,  # type: ignore[arg-type]
        description=description,
        quantity=Decimal(1),
        unit="ls",
        hours=ZERO,
        labour_cents=0,
        material_cents=0,
        other_cents=amount,
        direct_cents=amount,
    )


def totals(lines: Sequence[PricedLine], book: PriceBookBody) -> BidTotals:
    """The chain from direct cost to total, each step rounded half-up once."""
    direct = sum(line.direct_cents for line in lines)
    contingency = percent_of(direct, book.contingency_percent)
    overhead = percent_of(direct + contingency, book.overhead_percent)
    cost = direct + contingency + overhead
    price = price_for_margin(cost, book.margin_percent)
    bond = percent_of(price, book.bond_percent)
    tax = percent_of(price + bond, book.tax_percent)
    return BidTotals(
        direct_cost_cents=direct,
        contingency_percent=book.contingency_percent,
        contingency_cents=contingency,
        overhead_percent=book.overhead_percent,
        overhead_cents=overhead,
        cost_cents=cost,
        margin_percent=book.margin_percent,
        margin_cents=price - cost,
        price_cents=price,
        bond_percent=book.bond_percent,
        bond_cents=bond,
        tax_percent=book.tax_percent,
        tax_cents=tax,
        total_cents=price + bond + tax,
        hours=sum((line.hours for line in lines), ZERO),
    )


def base_lines(content: BidContent, book: PriceBookBody) -> list[PricedLine]:
    """The base bid's lines: fixtures, pipe, permit fees, then the allowances."""
    lines = [fixture_line(line, book) for line in content.lines]
    pipe = pipe_line(sum((line.quantity for line in content.lines), ZERO), content.area_sqft, book)
    if pipe is not None:
        lines.append(pipe)
    if book.permit_fees_cents:
        lines.append(_lump("permit", "Permit fees", book.permit_fees_cents))
    lines += [_lump("allowance", f"Allowance: {a.name}", a.amount_cents) for a in content.allowances]
    return lines


def alternate_lines(alternate: AlternateIn, book: PriceBookBody) -> list[PricedLine]:
    """An alternate's lines: its fixtures, their pipe (per-fixture pipe only) and its lump cost."""
    lines = [fixture_line(line, book) for line in alternate.lines]
    if book.pipe.basis == "per_fixture":
        pipe = pipe_line(sum((line.quantity for line in alternate.lines), ZERO), None, book)
        if pipe is not None:
            lines.append(pipe)
    if alternate.extra_cost_cents:
        lines.append(_lump("lump", alternate.description or alternate.name, alternate.extra_cost_cents))
    return lines


def price_bid(content: BidContent, book: PriceBookBody) -> PricedBid:
    """The base bid and every alternate, priced."""
    lines = base_lines(content, book)
    alternates = []
    for alternate in content.alternates:
        alt_lines = alternate_lines(alternate, book)
        alternates.append(
            PricedAlternate(
                id=alternate.id,
                name=alternate.name,
                description=alternate.description,
                lines=alt_lines,
                totals=totals(alt_lines, book),
            )
        )
    return PricedBid(lines=lines, totals=totals(lines, book), alternates=alternates)
