"""A voice draft's states: the one table of which event moves a draft room from which state to which.

Pure logic, no I/O: the service locks the draft, asks `next_draft_status`, and applies the answer. A draft the
agent heard is pending; the agent may still amend it (set_surface) while it is; a person confirms it (it becomes
a priced room) or rejects it, and either decision is final.
"""

from __future__ import annotations

from enum import StrEnum

from shared.errors import Conflict


class DraftStatus(StrEnum):
    """Where a draft room stands."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class DraftEvent(StrEnum):
    """What happens to a draft room."""

    AMEND = "amend"  # the agent changes a surface during the call
    CONFIRM = "confirm"  # a person accepts it, with corrections: it becomes a room
    REJECT = "reject"  # a person throws it away


D, V = DraftStatus, DraftEvent
TABLE: dict[tuple[DraftStatus, DraftEvent], DraftStatus] = {
    (D.PENDING, V.AMEND): D.PENDING,
    (D.PENDING, V.CONFIRM): D.CONFIRMED,
    (D.PENDING, V.REJECT): D.REJECTED,
}
FINAL = frozenset({D.CONFIRMED, D.REJECTED})


def next_draft_status(status: DraftStatus | str, event: DraftEvent) -> DraftStatus:
    """The state after the event, or 409 when the table has no such move (the draft was decided)."""
    current = DraftStatus(status)
    if (current, event) not in TABLE:
        raise Conflict(f"A draft that is {current} cannot {event}", code="draft_decided", status=current.value)
    return TABLE[(current, event)]
