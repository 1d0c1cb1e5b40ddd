"""The estimate formulas with the published defaults, the issue's worked example, and their properties."""

from __future__ import annotations

import uuid
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from blueprints.estimates import pricing
from blueprints.estimates.schemas import Product, RateBookBody, RoomIn, SurfaceIn

WALL_PAINT = Product(name="Eggshell", coverage_sqft_per_gallon=Decimal(350), price_per_gallon_cents=4_500)
CEILING_PAINT = Product(name="Ceiling flat", coverage_sqft_per_gallon=Decimal(400), price_per_gallon_cents=4_000)
TRIM_PAINT = Product(name="Semi-gloss", coverage_sqft_per_gallon=Decimal(500), price_per_gallon_cents=5_500)
BOOK = RateBookBody(products=[WALL_PAINT, CEILING_PAINT, TRIM_PAINT])
ROOM_ID = uuid.uuid4()


def example_room(**changes: object) -> RoomIn:
    """The issue's 12 x 14 ft room, 8 ft high, 1 door, 2 windows: walls 2 coats, ceiling 1 coat."""
    values: dict[str, object] = dict(
        name="Living room",
        length_ft=Decimal(12),
        width_ft=Decimal(14),
        height_ft=Decimal(8),
        doors=1,
        windows=2,
        surfaces=[
            SurfaceIn(kind="walls", product_id=WALL_PAINT.id, coats=2),
            SurfaceIn(kind="ceiling", product_id=CEILING_PAINT.id, coats=1),
        ],
    )
    values.update(changes)
    return RoomIn.model_validate(values)


def test_the_published_defaults() -> None:
    book = RateBookBody()
    assert book.prep == {"none": 1, "light": Decimal("1.1"), "medium": Decimal("1.25"), "heavy": Decimal("1.5")}
    assert (book.door_deduction_sqft, book.window_deduction_sqft) == (21, 15)
    assert book.production["walls"].first_coat == 200 and book.validity_days == 30


def test_the_worked_example_of_the_issue() -> None:
    priced = pricing.price_option([(ROOM_ID, example_room())], BOOK)
    walls, ceiling = priced.surfaces
    assert (walls.quantity, walls.hours) == (Decimal(365), Decimal("3.285"))
    assert (ceiling.quantity, ceiling.hours) == (Decimal(168), Decimal("1.12"))
    assert [(m.gallons, m.cents) for m in priced.materials] == [(3, 13_500), (1, 4_000)]
    assert priced.totals is not None
    assert priced.totals.labour_cents == 28_633
    assert priced.totals.materials_cents == 17_500
    assert priced.totals.total_cents == 46_133


def test_trim_is_the_perimeter_unless_given_and_doors_and_windows_are_counted() -> None:
    room = example_room()
    trim = SurfaceIn(kind="trim", product_id=TRIM_PAINT.id, coats=1)
    assert pricing.quantity(trim, room, BOOK) == 52
    assert pricing.quantity(trim.model_copy(update={"quantity": Decimal(40)}), room, BOOK) == 40
    assert pricing.quantity(SurfaceIn(kind="doors", product_id=TRIM_PAINT.id), room, BOOK) == 1
    assert pricing.quantity(SurfaceIn(kind="windows", product_id=TRIM_PAINT.id), room, BOOK) == 2
    # trim 52 lf at 60 lf/h first coat and 80 lf/h after: 52/60 + 52/80
    two_coats = trim.model_copy(update={"coats": 2})
    assert pricing.hours(two_coats, Decimal(52), BOOK) == Decimal(52) / 60 + Decimal(52) / 80
    # doors are rated in hours per item: 0.75 h first coat, 0.5 h each further coat
    door = SurfaceIn(kind="doors", product_id=TRIM_PAINT.id, coats=2)
    assert pricing.hours(door, Decimal(3), BOOK) == Decimal("3.75")


def test_walls_never_go_below_zero_and_prep_multiplies_hours() -> None:
    closet = example_room(length_ft=Decimal(2), width_ft=Decimal(2), height_ft=Decimal(7), doors=2, windows=0)
    assert pricing.wall_area(closet, BOOK) == 14  # 56 - 42
    tiny = example_room(length_ft=Decimal(1), width_ft=Decimal(1), doors=2)
    assert pricing.wall_area(tiny, BOOK) == 0
    heavy = SurfaceIn(kind="walls", product_id=WALL_PAINT.id, coats=1, prep="heavy")
    assert pricing.hours(heavy, Decimal(200), BOOK) == Decimal("1.5")


def test_gallons_round_up_once_per_product_per_option() -> None:
    # two rooms of 0.42 gal of ceiling paint each: 0.84 gal, one gallon, not two
    rooms = [(uuid.uuid4(), example_room()), (uuid.uuid4(), example_room())]
    priced = pricing.price_option(rooms, BOOK)
    by_product = {m.product_id: m.gallons for m in priced.materials}
    assert by_product[CEILING_PAINT.id] == 1
    assert by_product[WALL_PAINT.id] == 5  # 2 x 2.0857 = 4.17 -> 5


def test_markups_discount_and_tax_apply_in_order() -> None:
    book = BOOK.model_copy(
        update={
            "labour_markup_percent": Decimal(10),
            "materials_markup_percent": Decimal(20),
            "tax_percent": Decimal("8.25"),
            "tax_applies_to": "materials",
            "deposit_percent": Decimal(30),
        }
    )
    totals = pricing.price_option([(ROOM_ID, example_room())], book, discount_cents=1_000).totals
    assert totals is not None
    assert (totals.labour_markup_cents, totals.materials_markup_cents) == (2_863, 3_500)
    assert totals.tax_cents == pricing.cents(Decimal(21_000) * Decimal("8.25") / 100) == 1_733
    assert totals.total_cents == 28_633 + 2_863 + 17_500 + 3_500 - 1_000 + 1_733
    assert totals.deposit_cents == pricing.cents(Decimal(totals.total_cents) * Decimal("0.3"))
    on_total = pricing.price_option([(ROOM_ID, example_room())], book.model_copy(update={"tax_applies_to": "total"}))
    assert on_total.totals is not None
    assert on_total.totals.tax_cents == pricing.cents(Decimal(52_496) * Decimal("8.25") / 100)


def test_a_product_tier_swaps_the_product_of_an_option() -> None:
    premium = Product(name="Premium", coverage_sqft_per_gallon=Decimal(400), price_per_gallon_cents=6_500)
    book = BOOK.model_copy(update={"products": [*BOOK.products, premium]})
    priced = pricing.price_option([(ROOM_ID, example_room())], book, product_overrides={WALL_PAINT.id: premium.id})
    assert {m.name: m.gallons for m in priced.materials} == {"Premium": 2, "Ceiling flat": 1}


def test_half_cents_round_up() -> None:
    assert pricing.cents(Decimal("213.5")) == 214 and pricing.cents(Decimal("213.4999")) == 213


feet = st.decimals(min_value=1, max_value=60, places=1)
counts = st.integers(min_value=0, max_value=8)


@given(feet, feet, feet, counts, counts)
def test_adding_a_door_never_raises_wall_area(length, width, height, doors, windows) -> None:
    room = example_room(length_ft=length, width_ft=width, height_ft=height, doors=doors, windows=windows)
    more = room.model_copy(update={"doors": doors + 1})
    assert pricing.wall_area(more, BOOK) <= pricing.wall_area(room, BOOK)


@given(
    st.sampled_from(["walls", "ceiling", "trim", "doors", "windows"]),
    st.integers(1, 4),
    st.sampled_from(["none", "light", "medium", "heavy"]),
    st.decimals(min_value=0, max_value=5000, places=2),
)
def test_more_coats_never_lowers_hours(kind, coats, prep, qty) -> None:
    surface = SurfaceIn(kind=kind, product_id=WALL_PAINT.id, coats=coats, prep=prep)
    more = surface.model_copy(update={"coats": coats + 1})
    assert pricing.hours(more, qty, BOOK) >= pricing.hours(surface, qty, BOOK)


@given(
    st.lists(st.tuples(feet, feet, counts, counts, st.integers(1, 3)), min_size=1, max_size=6), st.integers(0, 50_000)
)
def test_totals_equal_the_sum_of_their_lines(rooms, discount) -> None:
    priced_rooms = [
        (
            uuid.uuid4(),
            example_room(
                length_ft=length,
                width_ft=width,
                doors=d,
                windows=w,
                surfaces=[
                    SurfaceIn(kind="walls", product_id=WALL_PAINT.id, coats=coats),
                    SurfaceIn(kind="trim", product_id=TRIM_PAINT.id, coats=1),
                ],
            ),
        )
        for length, width, d, w, coats in rooms
    ]
    book = BOOK.model_copy(update={"labour_markup_percent": Decimal(15), "tax_percent": Decimal(7)})
    priced = pricing.price_option(priced_rooms, book, discount_cents=discount)
    t = priced.totals
    assert t is not None
    assert t.labour_cents == sum(s.labour_cents for s in priced.surfaces)
    assert t.materials_cents == sum(m.cents for m in priced.materials)
    assert t.total_cents == (
        t.labour_cents
        + t.labour_markup_cents
        + t.materials_cents
        + t.materials_markup_cents
        - t.discount_cents
        + t.tax_cents
    )
    assert t.total_cents >= 0
