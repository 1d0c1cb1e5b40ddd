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
