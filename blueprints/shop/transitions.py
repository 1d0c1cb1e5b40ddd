"""The appointment status machine: the one table of which move each role may make, and its rules.

Pure logic, no I/O: the service locks the row, asks `plan_move` what the move does, and applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from shared.errors import Conflict, Forbidden, Unprocessable


class Status(StrEnum):
    """Where an appointment stands; also the board's columns, in this order."""

    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN_PROGRESS"
    READY = "READY"
    COMPLETED = "COMPLETED"
    NO_SHOW = "NO_SHOW"
    CANCELED = "CANCELED"


BOARD_ORDER: tuple[Status, ...] = tuple(Status)
S = Status
_DESK = frozenset({"owner", "admin", "advisor"})
_FLOOR = _DESK | {"tech"}

# (from, to) -> the roles that may make that move. A move not listed here is forbidden for everyone.
MOVES: dict[tuple[Status, Status], frozenset[str]] = {
    (S.SCHEDULED, S.IN_PROGRESS): _FLOOR,
    (S.IN_PROGRESS, S.READY): _FLOOR,
    (S.READY, S.IN_PROGRESS): _FLOOR,
    (S.READY, S.COMPLETED): _DESK,
    (S.SCHEDULED, S.NO_SHOW): _DESK,
    (S.SCHEDULED, S.CANCELED): _DESK,
    (S.IN_PROGRESS, S.CANCELED): _DESK,
    (S.READY, S.CANCELED): _DESK,
    (S.NO_SHOW, S.SCHEDULED): _DESK,
    (S.CANCELED, S.SCHEDULED): _DESK,
}
# Reordering inside a column is not a status move; any role with board.move may do it.
REORDER_ROLES = _FLOOR
OVERRIDE_ROLES = frozenset({"owner"})
CANCELED_BY = ("customer", "shop")
# Statuses that keep a technician's time booked (the database's exclusion constraint says the same).
BOOKED = (S.SCHEDULED, S.IN_PROGRESS, S.READY, S.COMPLETED)


def may_move(role: str, source: Status, target: Status) -> bool:
    """Whether the table lets role move an appointment from source to target."""
    if source == target:
        return role in REORDER_ROLES
    return role in MOVES.get((source, target), frozenset())


@dataclass(frozen=True)
class MoveState:
    """The parts of an appointment a move reads and writes."""

    status: Status
    total_cents: int = 0
    paid_cents: int = 0
    check_in_at: datetime | None = None
    check_out_at: datetime | None = None
    canceled_by: str | None = None
    cancel_reason: str | None = None
    override_reason: str | None = None


@dataclass(frozen=True)
class MoveRequest:
    """What the caller asks for besides the target: who cancels and why, or an owner's completion override."""

    target: Status
    role: str
    now: datetime
    canceled_by: str | None = None
    reason: str | None = None
    override: bool = False


def plan_move(state: MoveState, move: MoveRequest) -> MoveState:
    """The state after the move, or a 403/409/422 explaining why it may not happen."""
    if state.status == move.target:
        if move.role not in REORDER_ROLES:
            raise Forbidden("Your role may not reorder the board", code="move_forbidden")
        return state
    if (state.status, move.target) not in MOVES:
        raise Conflict(
            f"An appointment cannot move from {state.status} to {move.target}",
            code="invalid_transition",
            source=state.status.value,
            target=move.target.value,
        )
    if move.role not in MOVES[(state.status, move.target)]:
        raise Forbidden(
            f"A {move.role} may not move an appointment from {state.status} to {move.target}", code="move_forbidden"
        )
    after = replace(state, status=move.target)
    if move.target == S.IN_PROGRESS and after.check_in_at is None:
        after = replace(after, check_in_at=move.now)
    if move.target == S.COMPLETED:
        after = _complete(after, move)
    if move.target == S.CANCELED:
        after = _cancel(after, move)
    if move.target == S.SCHEDULED:
        after = replace(after, canceled_by=None, cancel_reason=None)
    return after


def _complete(state: MoveState, move: MoveRequest) -> MoveState:
    balance = state.total_cents - state.paid_cents
    if balance > 0:
        if not move.override:
            raise Conflict(
                f"The balance of {balance} cents is unpaid; record the payment or override",
                code="balance_unpaid",
                balance_cents=balance,
            )
        if move.role not in OVERRIDE_ROLES:
            raise Forbidden("Only an owner may complete with a balance unpaid", code="override_forbidden")
        if not (move.reason or "").strip():
            raise Unprocessable("An override needs a reason", code="reason_required")
        state = replace(state, override_reason=move.reason.strip() if move.reason else None)
    if state.check_out_at is None:
        state = replace(state, check_out_at=move.now)
    return state


def _cancel(state: MoveState, move: MoveRequest) -> MoveState:
    if move.canceled_by not in CANCELED_BY:
        raise Unprocessable("Say who cancels: canceled_by is customer or shop", code="canceled_by_required")
    if not (move.reason or "").strip():
        raise Unprocessable("A cancellation needs a reason", code="reason_required")
    return replace(state, canceled_by=move.canceled_by, cancel_reason=(move.reason or "").strip())
