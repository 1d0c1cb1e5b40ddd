"""The lead status machine: new -> contacted -> qualified | lost, and new -> lost; nothing else.

The expectation is written out from the brief, not read from `transitions.MOVES`, so a wrong row there fails here.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.leads.transitions import OPEN, Status, may_move, next_status
from shared.errors import Conflict

EXPECTED_MOVES = {
    ("new", "contacted"),
    ("new", "lost"),
    ("contacted", "qualified"),
    ("contacted", "lost"),
}
STATUSES = ("new", "contacted", "qualified", "lost")


def test_the_statuses_are_the_ones_the_table_decides_for() -> None:
    assert tuple(s.value for s in Status) == STATUSES
    assert set(OPEN) == {Status.NEW}


@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_each_pair_is_allowed_exactly_when_the_table_says(source: str, target: str) -> None:
    allowed = (source, target) in EXPECTED_MOVES
    assert may_move(Status(source), Status(target)) is allowed
    if allowed:
        assert next_status(source, target) == Status(target)
    else:
        with pytest.raises(Conflict) as refused:
            next_status(source, target)
        assert refused.value.code == "invalid_transition"


@given(st.lists(st.sampled_from(STATUSES), max_size=30))
def test_any_walk_of_allowed_moves_never_leaves_a_final_status_and_never_returns_to_new(walk: list[str]) -> None:
    current = "new"
    seen = [current]
    for target in walk:
        try:
            current = next_status(current, target).value
        except Conflict:
            continue
        seen.append(current)
    # once out of new it never comes back, and qualified or lost is the end
    assert "new" not in seen[1:]
    for final in ("qualified", "lost"):
        if final in seen:
            assert seen[seen.index(final) :] == [final]
    assert len(seen) <= 3
