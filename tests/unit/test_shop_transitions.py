"""The appointment status machine: the README's table is the only way between states, timestamps are set once.

The expectation below is written out from the README ("Status machine"), not taken from
`transitions.MOVES`, so a wrong row in the implementation's table fails here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.identity.permissions import ROLES
from blueprints.shop.transitions import MoveRequest, MoveState, Status, may_move, plan_move
from shared.errors import AppError, Conflict, Forbidden, Unprocessable

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

# The README: SCHEDULED -> IN_PROGRESS -> READY -> COMPLETED; READY -> IN_PROGRESS; SCHEDULED -> NO_SHOW;
# SCHEDULED/IN_PROGRESS/READY -> CANCELED; NO_SHOW/CANCELED -> SCHEDULED. The desk (owner, admin, advisor)
# makes every move; techs move on the floor (to IN_PROGRESS and READY) but never complete; the estimator and
# the accountant move nothing. (from, to) -> who may; every pair not listed is refused to every role.
DESK = ("owner", "admin", "advisor")
FLOOR = (*DESK, "tech")
EXPECTED_MOVES: dict[tuple[str, str], tuple[str, ...]] = {
    ("SCHEDULED", "IN_PROGRESS"): FLOOR,
    ("IN_PROGRESS", "READY"): FLOOR,
    ("READY", "IN_PROGRESS"): FLOOR,
    ("READY", "COMPLETED"): DESK,
    ("SCHEDULED", "NO_SHOW"): DESK,
    ("SCHEDULED", "CANCELED"): DESK,
    ("IN_PROGRESS", "CANCELED"): DESK,
    ("READY", "CANCELED"): DESK,
    ("NO_SHOW", "SCHEDULED"): DESK,
    ("CANCELED", "SCHEDULED"): DESK,
}
EXPECTED_ROLES = ("owner", "admin", "estimator", "advisor", "tech", "accountant")
EXPECTED_STATUSES = ("SCHEDULED", "IN_PROGRESS", "READY", "COMPLETED", "NO_SHOW", "CANCELED")


def expected_allowed(role: str, source: str, target: str) -> bool:
    """Whether the README lets role move a card from source to target (another column)."""
    return role in EXPECTED_MOVES.get((source, target), ())


def test_the_roles_and_statuses_are_the_ones_the_table_above_decides_for() -> None:
    # a new role or status needs a row decision here before the matrix below means anything
    assert tuple(ROLES) == EXPECTED_ROLES
    assert tuple(s.value for s in Status) == EXPECTED_STATUSES


step = st.tuples(
    st.sampled_from(list(Status)),
    st.sampled_from([*ROLES, "system"]),
    st.sampled_from([None, "customer", "shop", "nobody"]),
    st.sampled_from([None, "", "Customer called", "Owner said so"]),
    st.booleans(),
    st.integers(min_value=0, max_value=30_000),
)


@settings(max_examples=400, deadline=None)
@given(total=st.integers(min_value=0, max_value=20_000), steps=st.lists(step, max_size=25))
def test_no_sequence_of_moves_leaves_the_table_or_rewrites_a_timestamp(total: int, steps: list[tuple]) -> None:
    # given an appointment with some balance
    state = MoveState(status=Status.SCHEDULED, total_cents=total, paid_cents=0)
    now = T0
    for target, role, canceled_by, reason, override, paid in steps:
        now += timedelta(minutes=7)
        state = MoveState(**{**state.__dict__, "paid_cents": paid})
        before = state
        # when any role asks for any move
        try:
            state = plan_move(
                state,
                MoveRequest(
                    target=target, role=role, now=now, canceled_by=canceled_by, reason=reason, override=override
                ),
            )
        except (Conflict, Forbidden, Unprocessable):
            continue
        # then a move that happened is one the README allows that role
        if before.status != state.status:
            assert expected_allowed(role, before.status.value, state.status.value)
        else:
            assert role in FLOOR  # a reorder inside the column
        # and check-in/check-out, once set, never change
        for name in ("check_in_at", "check_out_at"):
            if getattr(before, name) is not None:
                assert getattr(state, name) == getattr(before, name)
        if state.status == Status.IN_PROGRESS:
            assert state.check_in_at is not None
        if state.status == Status.COMPLETED and before.status != Status.COMPLETED:
            assert state.check_out_at is not None
            assert state.paid_cents >= state.total_cents or (role == "owner" and override and state.override_reason)


@pytest.mark.parametrize(
    ("role", "source", "target"),
    [(r, a, b) for r in EXPECTED_ROLES for a in EXPECTED_STATUSES for b in EXPECTED_STATUSES if a != b],
)
def test_every_role_from_every_status_to_every_other_matches_the_readme(role: str, source: str, target: str) -> None:
    # given a paid card, and a move that says who cancels and why (so only the table can refuse it)
    state = MoveState(status=Status(source), total_cents=100, paid_cents=100)
    request = MoveRequest(target=Status(target), role=role, now=T0, canceled_by="shop", reason="Parts delayed")
    allowed = expected_allowed(role, source, target)
    assert may_move(role, Status(source), Status(target)) is allowed
    if allowed:
        assert plan_move(state, request).status == target
    else:
        with pytest.raises(AppError) as caught:
            plan_move(state, request)
        # a pair nobody may take is an invalid transition (409); a pair only other roles may take is 403
        anyone = (source, target) in EXPECTED_MOVES
        assert (caught.value.status, caught.value.code) == (
            (403, "move_forbidden") if anyone else (409, "invalid_transition")
        )


def test_a_tech_cannot_complete_even_when_paid() -> None:
    with pytest.raises(Forbidden):
        plan_move(
            MoveState(status=Status.READY, total_cents=100, paid_cents=100),
            MoveRequest(target=Status.COMPLETED, role="tech", now=T0),
        )


def test_completing_needs_the_balance_paid_or_an_owners_override_with_a_reason() -> None:
    ready = MoveState(status=Status.READY, total_cents=10_000, paid_cents=4_000)
    with pytest.raises(Conflict) as unpaid:
        plan_move(ready, MoveRequest(target=Status.COMPLETED, role="advisor", now=T0))
    assert unpaid.value.code == "balance_unpaid"
    with pytest.raises(Forbidden):
        plan_move(ready, MoveRequest(target=Status.COMPLETED, role="advisor", now=T0, override=True, reason="ok"))
    with pytest.raises(Unprocessable):
        plan_move(ready, MoveRequest(target=Status.COMPLETED, role="owner", now=T0, override=True))
    done = plan_move(
        ready,
        MoveRequest(
            target=Status.COMPLETED, role="owner", now=T0, override=True, reason="Fleet account, invoiced monthly"
        ),
    )
    assert (done.status, done.check_out_at, done.override_reason) == (
        Status.COMPLETED,
        T0,
        "Fleet account, invoiced monthly",
    )


def test_cancelling_says_who_and_why_and_going_back_clears_it() -> None:
    scheduled = MoveState(status=Status.SCHEDULED)
    with pytest.raises(Unprocessable):
        plan_move(scheduled, MoveRequest(target=Status.CANCELED, role="advisor", now=T0, reason="No parts"))
    with pytest.raises(Unprocessable):
        plan_move(scheduled, MoveRequest(target=Status.CANCELED, role="advisor", now=T0, canceled_by="shop"))
    canceled = plan_move(
        scheduled,
        MoveRequest(target=Status.CANCELED, role="advisor", now=T0, canceled_by="customer", reason="Sold the car"),
    )
    assert (canceled.canceled_by, canceled.cancel_reason) == ("customer", "Sold the car")
    back = plan_move(canceled, MoveRequest(target=Status.SCHEDULED, role="advisor", now=T0))
    assert (back.status, back.canceled_by, back.cancel_reason) == (Status.SCHEDULED, None, None)


def test_back_to_in_progress_keeps_the_first_check_in() -> None:
    state = plan_move(MoveState(status=Status.SCHEDULED), MoveRequest(target=Status.IN_PROGRESS, role="tech", now=T0))
    later = T0 + timedelta(hours=2)
    state = plan_move(state, MoveRequest(target=Status.READY, role="tech", now=later))
    state = plan_move(state, MoveRequest(target=Status.IN_PROGRESS, role="tech", now=later))
    assert state.check_in_at == T0


def test_completed_is_final() -> None:
    done = MoveState(status=Status.COMPLETED, check_out_at=T0)
    for target in Status:
        if target != Status.COMPLETED:
            with pytest.raises(Conflict):
                plan_move(done, MoveRequest(target=target, role="owner", now=T0))
