"""Phone numbers normalised to E.164; numbers without a country code are taken as NANP (US/Canada)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_SEPARATORS = re.compile(r"[\s().\-/]")


def to_e164(raw: str) -> str:
    """The number in E.164 (`+15551234567`); ValueError when it cannot be a dialable number."""
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        digits = text[1:]
        if not digits.isdigit() or not 8 <= len(digits) <= 15 or digits[0] == "0":
            raise ValueError("not a valid international phone number")
        if digits[0] == "1":
            _check_nanp(digits[1:])
        return "+" + digits
    if not text.isdigit():
        raise ValueError("a phone number has digits only")
    if len(text) == 11 and text[0] == "1":
        text = text[1:]
    if len(text) != 10:
        raise ValueError("a phone number without a country code needs 10 digits (US/Canada)")
    _check_nanp(text)
    return "+1" + text


def _check_nanp(national: str) -> None:
    # NANP: NXX-NXX-XXXX, where N is 2-9 for both the area code and the exchange.
    if len(national) != 10 or national[0] in "01" or national[3] in "01":
        raise ValueError("not a valid US/Canada phone number")


def mask(e164: str) -> str:
    """The number with all but the last two digits hidden (for messages to the user, never logs)."""
    return "+" + "•" * max(0, len(e164) - 3) + e164[-2:]


def _validate(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("a phone number is a string")
    return to_e164(value)


# A request field holding a phone number, normalised to E.164 on the way in.
E164 = Annotated[str, BeforeValidator(_validate)]
