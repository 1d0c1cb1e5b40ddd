"""The app's clock: `now()` in UTC, pinnable by tests that need days to pass in a second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, PlainSerializer

_pinned: datetime | None = None


def now() -> datetime:
    """The current time in UTC (the pinned time while a test holds one)."""
    return _pinned if _pinned is not None else datetime.now(UTC)


def pin(moment: datetime) -> None:
    """Stop the clock at moment (tests)."""
    global _pinned
    if moment.tzinfo is None:
        raise ValueError("pin an aware datetime")
    _pinned = moment.astimezone(UTC)


def advance(delta: timedelta) -> datetime:
    """Move a pinned clock forward (tests); pins the real time first when none is pinned."""
    pin(now() + delta)
    return now()


def unpin() -> None:
    """Let the clock run again."""
    global _pinned
    _pinned = None


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z suffix."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# A datetime field that always renders as UTC with a Z, whatever zone the driver handed back.
UtcDateTime = Annotated[datetime, PlainSerializer(iso_utc, return_type=str, when_used="json")]


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone such as America/Chicago") from None
    return name


# A request field naming an IANA time zone ("America/Chicago").
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
