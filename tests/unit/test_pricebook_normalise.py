"""ServiceTitan JSON to our rows and back: cents, 7-digit timestamps, category shapes, paths, PATCH bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from blueprints.pricebook import normalise


def test_money_is_cents_rounded_half_up_once() -> None:
    assert normalise.cents(12.345) == 1235
    assert normalise.cents(0.005) == 1
    assert normalise.cents(19.99) == 1999
    assert normalise.cents(None) == 0


@given(st.integers(min_value=0, max_value=10**10))
def test_cents_survive_the_round_trip_through_dollars(value: int) -> None:
    assert normalise.cents(normalise.dollars(value)) == value


def test_seven_digit_fractions_parse_to_utc() -> None:
    assert normalise.st_time("2021-07-19T20:35:38.2876004Z") == datetime(2021, 7, 19, 20, 35, 38, 287600, tzinfo=UTC)
    assert normalise.st_time(None) is None


def test_service_categories_are_objects_and_material_ones_ids() -> None:
    assert normalise.category_ids({"categories": [{"id": 5, "name": "x", "active": True}]}) == [5]
    assert normalise.category_ids({"categories": [5, 6]}) == [5, 6]


def test_a_service_has_no_cost_and_keeps_its_links() -> None:
    payload = {
        "id": 9,
        "code": "S1",
        "price": 100,
        "cost": 12,
        "hours": 1.5,
        "serviceMaterials": [{"skuId": 1, "quantity": 2}, {"skuId": 1, "quantity": 1}],
        "serviceEquipment": [{"skuId": 7, "quantity": 1}],
    }
    row = normalise.item_row("services", payload)
    assert row["cost_cents"] is None and row["hours"] == Decimal("1.50")
    assert {(link["sku_kind"], link["sku_st_id"], link["quantity"]) for link in normalise.service_links(payload)} == {
        ("material", 1, Decimal(3)),
        ("equipment", 7, Decimal(1)),
    }


def test_the_default_image_comes_first() -> None:
    assets = [
        {"type": "Image", "url": "Images/b.png", "isDefault": False},
        {"type": "Video", "url": "v.mp4", "isDefault": True},
        {"type": "Image", "url": "Images/a.png", "isDefault": True},
    ]
    assert normalise.image_paths({"assets": assets}) == ["Images/a.png", "Images/b.png"]


def test_a_patch_body_carries_only_the_changed_fields_in_dollars() -> None:
    assert normalise.to_wire("materials", {"price_cents": 12_345, "hours": "1.50"}) == {"price": 123.45, "hours": 1.5}
    assert normalise.to_wire("services", {"cost_cents": 100, "code": "X"}) == {"code": "X"}


def test_paths_follow_parents_and_survive_cycles_and_lost_parents() -> None:
    paths = normalise.category_paths({1: None, 2: 1, 3: 2, 4: 99, 5: 6, 6: 5})
    assert paths[3] == "/1/2/3/" and paths[1] == "/1/"
    assert paths[4] == "/4/"  # its parent is not in the pricebook
    assert paths[5].endswith("/5/") and paths[6].endswith("/6/")


def test_nested_subcategories_become_categories_under_their_parent() -> None:
    feed = [{"id": 1, "name": "HVAC", "subcategories": [{"id": 2, "name": "Furnaces", "subcategories": [{"id": 3}]}]}]
    assert [(c["id"], c["parentId"]) for c in normalise.flatten_categories(feed)] == [(1, None), (2, 1), (3, 2)]
