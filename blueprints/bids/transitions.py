"""The document status machine and the fixture review states: the one table of each. Pure, no I/O.

A document: awaiting_upload -> queued (commit) -> analyzing (the orchestration starts) -> analyzed, or failed;
queued and analyzing may be cancelled. A refused commit deletes the document instead of moving it.
A fixture: the detectors leave it auto_accepted, pending or hidden; a person confirms or rejects any of them
(and may change their mind); nobody moves a fixture back to a detector's state.
"""

from __future__ import annotations

from shared.errors import Conflict

DOCUMENT_MOVES: dict[str, frozenset[str]] = {
    "awaiting_upload": frozenset({"queued"}),
    "queued": frozenset({"analyzing", "cancelled", "failed"}),
    "analyzing": frozenset({"analyzed", "failed", "cancelled"}),
    "analyzed": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}
RUNNING = frozenset({"queued", "analyzing"})
DETECTOR_STATES = frozenset({"auto_accepted", "pending", "hidden"})
PERSON_STATES = frozenset({"confirmed", "rejected"})


def may_move(source: str, target: str) -> bool:
    """Whether a document may go from source to target."""
    return target in DOCUMENT_MOVES.get(source, frozenset())


def move(source: str, target: str) -> str:
    """The target status, or 409 naming both when the table has no such move."""
    if not may_move(source, target):
        raise Conflict(f"A document that is {source} cannot become {target}", code="document_state")
    return target


def decide(current: str, decision: str) -> str:
    """A person's decision on a fixture: confirmed or rejected, from any state."""
    if decision not in PERSON_STATES or current not in DETECTOR_STATES | PERSON_STATES:
        raise Conflict(f"A fixture cannot go from {current} to {decision}", code="fixture_state")
    return decision
