"""The bid status machine: the proposal lifecycle every customer decision shares (`shared/proposal_lifecycle.py`).

draft -> sent (the generation orchestration records the email) -> viewed (first open) -> accepted | declined;
sent or viewed -> expired once the validity date passes undecided. Editing a sent, viewed, declined or expired
bid makes a new revision, back to draft; an accepted bid never changes.
"""

from __future__ import annotations

from shared.proposal_lifecycle import EDITABLE, FINAL, OPEN, TABLE, Event, Lifecycle, Status, allowed, new_revision

__all__ = [
    "EDITABLE",
    "FINAL",
    "LIFECYCLE",
    "OPEN",
    "TABLE",
    "Event",
    "Status",
    "allowed",
    "new_revision",
    "next_status",
]

LIFECYCLE = Lifecycle("A bid")
next_status = LIFECYCLE.next_status
