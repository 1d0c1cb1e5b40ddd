"""The estimate formulas: quantities per surface, labour hours, gallons, lines and totals. Pure, no I/O.

Money is integer cents computed with Decimal and rounded half-up once per line: a labour line per
surface, a material line per product (gallons rounded up once per product per option), then the
labour markup, material markup, discount, tax and total.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from blueprints.estimates.schemas import RateBookBody, RoomIn, SurfaceIn

CENT = Decimal("1")
AREA_KINDS = ("walls", "ceiling")
ITEM_KINDS = ("doors", "windows")


def cents(amount: Decimal) -> int:
    """An amount of cents rounded half-up to a whole cent."""
    return int(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def percent_of(base: int, percent: Decimal) -> int:
    """percent of base cents, rounded half-up once."""
    return cents(Decimal(base) * percent / 100)


def wall_area(room: RoomIn, book: RateBookBody) -> Decimal:
    """2 x (length + width) x height minus the door and window deductions, never below zero."""
    gross = 2 * (room.length_ft + room.width_ft) * room.height_ft
    deductions = room.doors * book.door_deduction_sqft + room.windows * book.window_deduction_sqft
    return max(Decimal(0), gross - deductions)


def quantity(surface: SurfaceIn, room: RoomIn, book: RateBookBody) -> Decimal:
    """How much of the surface there is: sq ft (walls, ceiling), linear ft (trim) or a count (doors, windows)."""
    if surface.quantity is not None:
        return surface.quantity
    if surface.kind == "walls":
        return wall_area(room, book)
    if surface.kind == "ceiling":
        return room.length_ft * room.width_ft
    if surface.kind == "trim":
        return 2 * (room.length_ft + room.width_ft)
    return Decimal(room.doors if surface.kind == "doors" else room.windows)


def paint_quantity(surface: SurfaceIn, qty: Decimal, book: RateBookBody) -> Decimal:
    """What a product's coverage is measured against: the area, trim's linear ft, or a door's/window's area."""
    if surface.kind == "doors":
        return qty * book.door_deduction_sqft
    if surface.kind == "windows":
        return qty * book.window_deduction_sqft
    return qty


def hours(surface: SurfaceIn, qty: Decimal, book: RateBookBody) -> Decimal:
    """qty / first-coat rate + qty x (coats - 1) / additional-coat rate, times the prep multiplier.

    Doors and windows are rated in hours per item, so their hours are qty x rate instead.
    """
    rate = book.production[surface.kind]
    extra = surface.coats - 1
    if surface.kind in ITEM_KINDS:
        raw = qty * rate.first_coat + qty * extra * rate.additional_coat
    else:
        raw = qty / rate.first_coat + qty * extra / rate.additional_coat
    return raw * book.prep[surface.prep]


@dataclass(frozen=True)
class SurfaceLine:
    """One priced surface of a room: its quantity, hours and labour line."""

    room_id: uuid.UUID
    kind: str
    product_id: uuid.UUID
    coats: int
    prep: str
    quantity: Decimal
    hours: Decimal
    gallons_exact: Decimal
    labour_cents: int


@dataclass(frozen=True)
class MaterialLine:
    """One product of an option: gallons rounded up once, times its price per gallon."""

    product_id: uuid.UUID
    name: str
    gallons: int
    price_per_gallon_cents: int
    cents: int


@dataclass(frozen=True)
class Totals:
    """An option's money, in cents."""

    labour_cents: int
    materials_cents: int
    labour_markup_cents: int
    materials_markup_cents: int
    discount_cents: int
    tax_cents: int
    total_cents: int
    hours: Decimal
    deposit_cents: int


@dataclass(frozen=True)
class PricedOption:
    """An option's surfaces, material lines and totals."""

    surfaces: list[SurfaceLine] = field(default_factory=list)
    materials: list[MaterialLine] = field(default_factory=list)
    totals: Totals | None = None


def price_surface(
    room_id: uuid.UUID, room: RoomIn, surface: SurfaceIn, product_id: uuid.UUID, book: RateBookBody
) -> SurfaceLine:
    """The quantity, hours, exact gallons and labour line of one surface."""
    product = book.product(product_id)
    qty = quantity(surface, room, book)
    surface_hours = hours(surface, qty, book)
    gallons = paint_quantity(surface, qty, book) * surface.coats / product.coverage_sqft_per_gallon
    return SurfaceLine(
        room_id=room_id,
        kind=surface.kind,
        product_id=product_id,
        coats=surface.coats,
        prep=surface.prep,
        quantity=qty,
        hours=surface_hours,
        gallons_exact=gallons,
        labour_cents=cents(surface_hours * book.labour_rate_cents),
    )


def materials(lines: list[SurfaceLine], book: RateBookBody) -> list[MaterialLine]:
    """One line per product: the sum of its surfaces' gallons, rounded up once to whole gallons."""
    exact: dict[uuid.UUID, Decimal] = {}
    for line in lines:
        exact[line.product_id] = exact.get(line.product_id, Decimal(0)) + line.gallons_exact
    out = []
    for product_id, gallons in exact.items():
        product = book.product(product_id)
        whole = math.ceil(gallons)
        out.append(
            MaterialLine(
                product_id=product_id,
                name=product.name,
                gallons=whole,
                price_per_gallon_cents=product.price_per_gallon_cents,
                cents=cents(Decimal(whole) * product.price_per_gallon_cents),
            )
        )
    return out


def totals(
    surfaces: list[SurfaceLine], material_lines: list[MaterialLine], book: RateBookBody, *, discount_cents: int = 0
) -> Totals:
    """Labour and materials, their separate markups, the discount (never past the subtotal), tax, total."""
    labour = sum(line.labour_cents for line in surfaces)
    paint = sum(line.cents for line in material_lines)
    labour_markup = percent_of(labour, book.labour_markup_percent)
    paint_markup = percent_of(paint, book.materials_markup_percent)
    subtotal = labour + labour_markup + paint + paint_markup
    discount = min(max(0, discount_cents), subtotal)
    taxable = paint + paint_markup if book.tax_applies_to == "materials" else subtotal - discount
    tax = percent_of(taxable, book.tax_percent)
    total = subtotal - discount + tax
    return Totals(
        labour_cents=labour,
        materials_cents=paint,
        labour_markup_cents=labour_markup,
        materials_markup_cents=paint_markup,
        discount_cents=discount,
        tax_cents=tax,
        total_cents=total,
        hours=sum((line.hours for line in surfaces), Decimal(0)),
        deposit_cents=percent_of(total, book.deposit_percent),
    )


def price_option(
    rooms: list[tuple[uuid.UUID, RoomIn]],
    book: RateBookBody,
    *,
    product_overrides: dict[uuid.UUID, uuid.UUID] | None = None,
    discount_cents: int = 0,
    cache: dict[tuple[uuid.UUID, int, uuid.UUID], SurfaceLine] | None = None,
) -> PricedOption:
    """Every surface of the option's rooms (with its product tier swapped in), its materials and totals.

    Options of one estimate share a cache: a surface priced with the same product is the same line in each.
    """
    swaps = product_overrides or {}
    lines = []
    for room_id, room in rooms:
        for index, surface in enumerate(room.surfaces):
            product_id = swaps.get(surface.product_id, surface.product_id)
            key = (room_id, index, product_id)
            line = cache.get(key) if cache is not None else None
            if line is None:
                line = price_surface(room_id, room, surface, product_id, book)
                if cache is not None:
                    cache[key] = line
            lines.append(line)
    material_lines = materials(lines, book)
    return PricedOption(
        surfaces=lines,
        materials=material_lines,
        totals=totals(lines, material_lines, book, discount_cents=discount_cents),
    )
