"""The bid status machine: the one table of which event moves a bid from which status to which. Pure, no I/O.

draft -> sent (the generation orchestration records the email) -> viewed (first open) -> accepted | declined;
sent or viewed -> expired once the validity date passes undecided. Editing a sent, viewed, declined or expired
bid makes a new revision, back to draft; an accepted bid never changes.
"""

from __future__ import annotations

from enum import StrEnum

from shared.errors import Conflict


class Status(StrEnum):
    """Where a bid stands."""

    DRAFT = "draft"
    SENT = "sent"
    VIEWED = "viewed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class Event(StrEnum):
    """What happens to a bid."""

    SEND = "send"
    VIEW = "view"
    ACCEPT = "accept"
    DECLINE = "decline"
    EXPIRE = "expire"
    REVISE = "revise"


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
OPEN = frozenset({S.SENT, S.VIEWED})  # waiting for the customer: expiry applies
FINAL = frozenset({S.ACCEPTED})


def allowed(status: Status | str, event: Event) -> bool:
    """Whether the table has a move for this event from this status."""
    return (Status(status), event) in TABLE


def next_status(status: Status | str, event: Event) -> Status:
    """The status after the event, or 409 when the table has no such move."""
    current = Status(status)
    if (current, event) not in TABLE:
        code = "already_accepted" if current == S.ACCEPTED else "invalid_transition"
        raise Conflict(f"A bid that is {current} cannot {event}", code=code, status=current.value)
    return TABLE[(current, event)]


def new_revision(status: Status | str) -> bool:
    """Whether a change to a bid in this status starts a new revision (it was sent before)."""
    return Status(status) != S.DRAFT and allowed(status, E.REVISE)
