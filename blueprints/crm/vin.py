"""Vehicle identification numbers (ISO 3779 / 49 CFR 565): 17 characters, no I, O or Q, a valid check digit."""

from __future__ import annotations

_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def check_digit(vin: str) -> str:
    """The check digit (position 9) a 17-character VIN must carry: 0-9 or X."""
    total = sum(_VALUES[char] * weight for char, weight in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalise(raw: str) -> str:
    """The VIN upper-cased without spaces; ValueError unless it is 17 valid characters with the right check digit."""
    vin = raw.strip().replace(" ", "").replace("-", "").upper()
    if len(vin) != 17:
        raise ValueError("a VIN has 17 characters")
    bad = sorted({c for c in vin if c not in _VALUES})
    if bad:
        raise ValueError(f"a VIN cannot contain {', '.join(bad)} (I, O and Q are never used)")
    if vin[8] != check_digit(vin):
        raise ValueError("the VIN's check digit (9th character) does not match; check for a typo")
    return vin
