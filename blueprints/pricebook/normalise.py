"""ServiceTitan's JSON to our rows, and our edited fields back to its JSON: pure functions, no I/O.

Money arrives as decimal dollars and is stored as integer cents (half-up, once); timestamps carry seven
fractional digits (Python reads six); service categories are objects, material and equipment ones ids.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ITEM_KINDS = ("materials", "services", "equipment")
KINDS = ("categories", *ITEM_KINDS)
MONEY = ("price_cents", "member_price_cents", "add_on_price_cents", "cost_cents")
WIRE_NAMES = {
    "code": "code",
    "display_name": "displayName",
    "description": "description",
    "price_cents": "price",
    "member_price_cents": "memberPrice",
    "add_on_price_cents": "addOnPrice",
    "cost_cents": "cost",
    "hours": "hours",
    "active": "active",
}
# What an estimator may change locally and push; ServiceTitan has no cost to patch on a service.
EDITABLE: dict[str, tuple[str, ...]] = {
    "materials": tuple(WIRE_NAMES),
    "equipment": tuple(WIRE_NAMES),
    "services": tuple(name for name in WIRE_NAMES if name != "cost_cents"),
}
_FRACTION = re.compile(r"\.(\d{6})\d+")


def cents(value: Any) -> int:
    """Decimal dollars (a JSON number) as integer cents, rounded half-up."""
    if value is None:
        return 0
    return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def dollars(value_cents: int) -> float:
    """Integer cents as the decimal dollars ServiceTitan takes (exact to the cent in JSON)."""
    return float(Decimal(value_cents) / 100)


def hours(value: Any) -> str:
    """Hours as a two-decimal string, the one spelling merges compare."""
    return str(Decimal(str(value or 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def st_time(value: str | None) -> datetime | None:
    """A ServiceTitan timestamp (`2021-07-19T20:35:38.2876004Z`) as an aware UTC datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(_FRACTION.sub(r".\1", value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def category_ids(payload: dict[str, Any]) -> list[int]:
    """The item's category ids, whether ServiceTitan sent ids (materials, equipment) or objects (services)."""
    out = []
    for entry in payload.get("categories") or []:
        out.append(int(entry["id"] if isinstance(entry, dict) else entry))
    return out


def image_paths(payload: dict[str, Any]) -> list[str]:
    """The item's image paths (`Images/...`), the default one first."""
    assets = [a for a in payload.get("assets") or [] if a.get("type") == "Image" and a.get("url")]
    assets.sort(key=lambda a: not a.get("isDefault"))
    return [str(a["url"]) for a in assets]


def category_row(payload: dict[str, Any]) -> dict[str, Any]:
    """A category's master row (its path is computed once the whole tree is in)."""
    return {
        "st_id": int(payload["id"]),
        "name": str(payload.get("name") or ""),
        "description": payload.get("description"),
        "parent_st_id": payload.get("parentId"),
        "position": int(payload.get("position") or 0),
        "category_type": payload.get("categoryType"),
        "active": bool(payload.get("active", True)),
        "image_path": payload.get("image"),
        "modified_on": st_time(payload.get("modifiedOn")),
    }


def flatten_categories(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every category of the feed, the ones nested in `subcategories` too (each knowing its parent)."""
    out: list[dict[str, Any]] = []
    stack = [(item, None) for item in reversed(items)]
    while stack:
        item, parent = stack.pop()
        if item.get("id") is None:
            continue
        out.append({**item, "parentId": item.get("parentId") or parent})
        stack.extend((child, item["id"]) for child in reversed(item.get("subcategories") or []))
    return out


def item_row(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A material's, service's or equipment's master row."""
    row = {
        "st_id": int(payload["id"]),
        "code": str(payload.get("code") or ""),
        "display_name": payload.get("displayName"),
        "description": payload.get("description"),
        "price_cents": cents(payload.get("price")),
        "member_price_cents": cents(payload.get("memberPrice")),
        "add_on_price_cents": cents(payload.get("addOnPrice")),
        "cost_cents": None if kind == "services" else cents(payload.get("cost")),
        "hours": Decimal(hours(payload.get("hours"))),
        "active": bool(payload.get("active", True)),
        "category_ids": category_ids(payload),
        "image_paths": image_paths(payload),
        "modified_on": st_time(payload.get("modifiedOn")),
    }
    if kind == "equipment":
        row["manufacturer"] = payload.get("manufacturer")
        row["model"] = payload.get("model")
    return row


def service_links(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The materials and equipment a service uses (skuId, quantity)."""
    links: dict[tuple[str, int], Decimal] = {}
    for sku_kind, key in (("material", "serviceMaterials"), ("equipment", "serviceEquipment")):
        for link in payload.get(key) or []:
            pair = (sku_kind, int(link["skuId"]))
            links[pair] = links.get(pair, Decimal(0)) + Decimal(str(link.get("quantity") or 0))
    return [
        {"service_st_id": int(payload["id"]), "sku_kind": k, "sku_st_id": i, "quantity": q}
        for (k, i), q in links.items()
    ]


def editable_values(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """The editable fields of a master row (or of a normalised remote item), JSON-ready for merging."""
    out = {}
    for name in EDITABLE[kind]:
        value = row.get(name)
        out[name] = hours(value) if name == "hours" else value
    return out


def to_wire(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Our changed fields as a ServiceTitan PATCH body (only those fields)."""
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in EDITABLE[kind]:
            continue
        if name in MONEY:
            body[WIRE_NAMES[name]] = dollars(int(value))
        elif name == "hours":
            body["hours"] = float(Decimal(str(value)))
        else:
            body[WIRE_NAMES[name]] = value
    return body


def category_paths(parents: dict[int, int | None]) -> dict[int, str]:
    """Each category's path `/root/.../self/` from the parent map; a cycle or a lost parent makes a root."""
    paths: dict[int, str] = {}

    def walk(node: int) -> str:
        chain, seen, current = [], set(), node
        while current is not None and current not in seen and current in parents:
            if current in paths:
                break
            seen.add(current)
            chain.append(current)
            current = parents[current]
        prefix = paths.get(current, "/") if current is not None and current in paths else "/"
        for member in reversed(chain):
            prefix = f"{prefix}{member}/"
            paths[member] = prefix
        return paths[node]

    for node in parents:
        if node not in paths:
            walk(node)
    return paths
