"""The lifecycle of a proposal a customer decides on behind a signed link (a painting estimate, a plumbing bid):
the one table of which event moves it from which status to which. Pure logic, no I/O.

draft -> sent (the frozen revision goes out) -> viewed (first open) -> accepted | declined; sent or viewed ->
expired once the validity date passes undecided. Changing a sent, viewed, declined or expired proposal makes a
new revision, back to draft; an accepted one never changes. Each module names its own records in the refusal
(`Lifecycle("An estimate")`); the service locks the row, asks `next_status`, and applies the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.errors import Conflict

__all__ = ["EDITABLE", "FINAL", "OPEN", "TABLE", "Event", "Lifecycle", "Status", "allowed", "new_revision"]


class Status(StrEnum):
    """Where a proposal stands."""

    DRAFT = "draft"
    SENT = "sent"
    VIEWED = "viewed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class Event(StrEnum):
    """What happens to a proposal."""

    SEND = "send"  # the sender sends the frozen revision
    VIEW = "view"  # the customer opens the link
    ACCEPT = "accept"
    DECLINE = "decline"
    EXPIRE = "expire"  # the validity date passed undecided
    REVISE = "revise"  # a change after sending: a new revision, back to draft


S, E = Status, Event
# (status, event) -> the status after. An event not listed for a status is refused (409).
TABLE: dict[tuple[Status, Event], Status] = {
    (S.DRAFT, E.SEND): S.SENT,
    (S.SENT, E.VIEW): S.VIEWED,
    (S.VIEWED, E.VIEW): S.VIEWED,  # a second view changes nothing (the first view time is kept)
    (S.SENT, E.ACCEPT): S.ACCEPTED,
    (S.VIEWED, E.ACCEPT): S.ACCEPTED,
    (S.SENT, E.DECLINE): S.DECLINED,
    (S.VIEWED, E.DECLINE): S.DECLINED,
    (S.SENT, E.EXPIRE): S.EXPIRED,
    (S.VIEWED, E.EXPIRE): S.EXPIRED,
    (S.DRAFT, E.REVISE): S.DRAFT,  # editing a draft stays a draft of the same revision
    (S.SENT, E.REVISE): S.DRAFT,
    (S.VIEWED, E.REVISE): S.DRAFT,
    (S.DECLINED, E.REVISE): S.DRAFT,
    (S.EXPIRED, E.REVISE): S.DRAFT,
}
FINAL = frozenset({S.ACCEPTED})
OPEN = frozenset({S.SENT, S.VIEWED})  # waiting for the customer: follow-ups and expiry apply
EDITABLE = frozenset(status for (status, event) in TABLE if event == E.REVISE)


def allowed(status: Status | str, event: Event) -> bool:
    """Whether the table has a move for this event from this status."""
    return (Status(status), event) in TABLE


def new_revision(status: Status | str) -> bool:
    """Whether a change to a proposal in this status starts a new revision (it was sent before)."""
    return Status(status) != S.DRAFT and allowed(status, E.REVISE)


@dataclass(frozen=True)
class Lifecycle:
    """The table as one module's records go through it; `subject` names them in a refusal ("An estimate")."""

    subject: str

    def next_status(self, status: Status | str, event: Event) -> Status:
        """The status after the event, or 409 when the table has no such move (already_accepted once accepted)."""
        current = Status(status)
        if (current, event) not in TABLE:
            code = "already_accepted" if current in FINAL else "invalid_transition"
            raise Conflict(f"{self.subject} that is {current} cannot {event}", code=code, status=current.value)
        return TABLE[(current, event)]
