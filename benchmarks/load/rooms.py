"""A painter's measured room as the API takes it (POST /v1/estimates/{id}/rooms); no imports, so both the load's
world builder and its Locust users use it."""

from __future__ import annotations

from typing import Any


def room(name: str, products: list[str], n: int) -> dict[str, Any]:
    """A measured room with walls, ceiling, trim and doors to paint (sizes vary with n)."""
    walls, ceiling, trim = products[0], products[3], products[4]
    return {
        "name": name,
        "length_ft": str(10 + n % 9),
        "width_ft": str(9 + n % 7),
        "height_ft": "8",
        "doors": 1 + n % 3,
        "windows": n % 4,
        "surfaces": [
            {"kind": "walls", "product_id": walls, "coats": 2},
            {"kind": "ceiling", "product_id": ceiling, "coats": 1},
            {"kind": "trim", "product_id": trim, "coats": 1, "prep": "light"},
            {"kind": "doors", "product_id": trim, "coats": 2},
        ],
    }
