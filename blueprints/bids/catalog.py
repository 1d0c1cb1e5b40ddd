"""The plumbing fixture vocabulary: canonical types, the words and tag prefixes that name them, fixture units.

Fixture units come from the code's tables, in code, never from a model. Values are the public-use figures of
IPC Table 709.1 (drainage) and Table E103.3(2) (water supply, total), and UPC Table 702.1 and Table 610.3.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

FixtureType = Literal[
    "water_closet",
    "lavatory",
    "urinal",
    "sink",
    "mop_sink",
    "drinking_fountain",
    "water_heater",
    "floor_drain",
    "hose_bibb",
    "shower",
    "bathtub",
    "other",
]
FIXTURE_TYPES: tuple[str, ...] = FixtureType.__args__  # type: ignore[attr-defined]
Code = Literal["IPC", "UPC"]

# Phrases as drafters write them (upper case, single spaces) -> type. Longer phrases win over their parts.
PHRASES: dict[str, str] = {
    "WATER CLOSET": "water_closet",
    "TOILET": "water_closet",
    "LAVATORY": "lavatory",
    "LAV": "lavatory",
    "URINAL": "urinal",
    "SINK": "sink",
    "KITCHEN SINK": "sink",
    "MOP SINK": "mop_sink",
    "SERVICE SINK": "mop_sink",
    "MOP BASIN": "mop_sink",
    "DRINKING FOUNTAIN": "drinking_fountain",
    "ELECTRIC WATER COOLER": "drinking_fountain",
    "WATER HEATER": "water_heater",
    "FLOOR DRAIN": "floor_drain",
    "HOSE BIBB": "hose_bibb",
    "WALL HYDRANT": "hose_bibb",
    "SHOWER": "shower",
    "BATHTUB": "bathtub",
    "TUB": "bathtub",
}
MAX_PHRASE_WORDS = max(len(p.split()) for p in PHRASES)

# Tag prefixes of plumbing fixture marks. A finish code (P-1) or door mark (D-1) has none of these.
PREFIXES: dict[str, str] = {
    "WC": "water_closet",
    "T": "water_closet",
    "LAV": "lavatory",
    "L": "lavatory",
    "UR": "urinal",
    "U": "urinal",
    "S": "sink",
    "SK": "sink",
    "KS": "sink",
    "MS": "mop_sink",
    "SS": "mop_sink",
    "MB": "mop_sink",
    "DF": "drinking_fountain",
    "EWC": "drinking_fountain",
    "WH": "water_heater",
    "FD": "floor_drain",
    "HB": "hose_bibb",
    "WHY": "hose_bibb",
    "SH": "shower",
    "BT": "bathtub",
    "TUB": "bathtub",
}

# (drainage fixture units, water supply fixture units) per code, public use.
FIXTURE_UNITS: dict[str, dict[str, tuple[Decimal, Decimal]]] = {
    "IPC": {
        "water_closet": (Decimal("4"), Decimal("5")),
        "lavatory": (Decimal("1"), Decimal("2")),
        "urinal": (Decimal("4"), Decimal("5")),
        "sink": (Decimal("2"), Decimal("4")),
        "mop_sink": (Decimal("3"), Decimal("3")),
        "drinking_fountain": (Decimal("0.5"), Decimal("0.25")),
        "water_heater": (Decimal("0"), Decimal("0")),
        "floor_drain": (Decimal("2"), Decimal("0")),
        "hose_bibb": (Decimal("0"), Decimal("5")),
        "shower": (Decimal("2"), Decimal("4")),
        "bathtub": (Decimal("2"), Decimal("4")),
        "other": (Decimal("0"), Decimal("0")),
    },
    "UPC": {
        "water_closet": (Decimal("4"), Decimal("4")),
        "lavatory": (Decimal("1"), Decimal("1")),
        "urinal": (Decimal("2"), Decimal("4")),
        "sink": (Decimal("2"), Decimal("1.5")),
        "mop_sink": (Decimal("3"), Decimal("3")),
        "drinking_fountain": (Decimal("0.5"), Decimal("0.5")),
        "water_heater": (Decimal("0"), Decimal("0")),
        "floor_drain": (Decimal("2"), Decimal("0")),
        "hose_bibb": (Decimal("0"), Decimal("2.5")),
        "shower": (Decimal("2"), Decimal("2")),
        "bathtub": (Decimal("2"), Decimal("4")),
        "other": (Decimal("0"), Decimal("0")),
    },
}


def type_of_phrase(text: str) -> str | None:
    """The fixture type a schedule cell or label names ("WATER CLOSET, TANK TYPE" -> water_closet), if any."""
    words = " ".join(text.upper().replace(",", " ").replace("/", " ").split())
    best: tuple[int, str] | None = None
    for phrase, kind in PHRASES.items():
        if f" {phrase} " in f" {words} " and (best is None or len(phrase) > best[0]):
            best = (len(phrase), kind)
    return best[1] if best else None


def type_of_tag(tag: str) -> str | None:
    """The fixture type a mark's prefix names (WC-1 -> water_closet); None for P-1 and other non-plumbing marks."""
    return PREFIXES.get(tag.split("-", 1)[0].upper())


def fixture_units(code: str, counts: dict[str, int]) -> tuple[Decimal, Decimal]:
    """Total (DFU, WSFU) of fixture counts by type under the code's tables."""
    table = FIXTURE_UNITS[code]
    dfu = sum((table.get(kind, table["other"])[0] * n for kind, n in counts.items()), Decimal("0"))
    wsfu = sum((table.get(kind, table["other"])[1] * n for kind, n in counts.items()), Decimal("0"))
    return dfu, wsfu
