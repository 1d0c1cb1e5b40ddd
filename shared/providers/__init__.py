"""One adapter per outside service; each takes its base URL from settings so tests can use a loopback fake."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Receipt:
    """The provider accepted a message: its id there and the status it reported."""

    provider_id: str
    status: str


class SendError(Exception):
    """The provider did not take a message: `transient` says whether trying again later may work."""

    def __init__(self, *, code: str, detail: str, transient: bool) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail[:500]
        self.transient = transient


def backoff(attempt: int) -> float:
    """Seconds before another attempt when the provider named no wait: 2, 4, 8 ... at most 30."""
    return min(2.0**attempt, 30.0)


def retry_wait(retry_after: object, attempt: int, *, longest: float) -> float:
    """Seconds before another attempt: the provider's `retry-after` (seconds, at most `longest`), else backoff."""
    if retry_after is None:
        return backoff(attempt)
    try:
        return max(0.0, min(float(str(retry_after)), longest))
    except ValueError:
        return backoff(attempt)
