"""The lead status machine: new -> contacted -> qualified | lost, one pure table.

Pure logic, no I/O: the service locks the lead, asks `next_status` whether the move is allowed, and applies it.
"""

from __future__ import annotations

from enum import StrEnum

from shared.errors import Conflict


class Status(StrEnum):
    """Where a lead stands."""

    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    LOST = "lost"


S = Status
# from -> the statuses a lead may move to. Anything not listed is refused (409).
MOVES: dict[Status, frozenset[Status]] = {
    S.NEW: frozenset({S.CONTACTED, S.LOST}),
    S.CONTACTED: frozenset({S.QUALIFIED, S.LOST}),
    S.QUALIFIED: frozenset(),
    S.LOST: frozenset(),
}
# Once a lead is out of `new`, nobody needs the automatic answer or its follow-ups any more.
OPEN = frozenset({S.NEW})


def may_move(source: Status, target: Status) -> bool:
    """Whether the table allows the move (staying put is not a move)."""
    return target in MOVES[source]


def next_status(source: str, target: str) -> Status:
    """The new status, or 409 naming the refused move."""
    current, wanted = Status(source), Status(target)
    if not may_move(current, wanted):
        raise Conflict(f"A {current.value} lead cannot become {wanted.value}", code="invalid_transition")
    return wanted
