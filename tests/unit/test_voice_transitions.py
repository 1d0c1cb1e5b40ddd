"""A voice draft's state machine: pending drafts may be amended, then confirmed or rejected once, for good.

The expectation is written out from the module's docstring and the README, not taken from `TABLE`, so a wrong
row in the implementation fails here.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.estimates.voice_transitions import DraftEvent, DraftStatus, next_draft_status
from shared.errors import Conflict

EXPECTED = {
    ("pending", "amend"): "pending",
    ("pending", "confirm"): "confirmed",
    ("pending", "reject"): "rejected",
}


@pytest.mark.parametrize("status", [s.value for s in DraftStatus])
@pytest.mark.parametrize("event", [e.value for e in DraftEvent])
def test_each_move_is_allowed_exactly_as_written(status: str, event: str) -> None:
    expected = EXPECTED.get((status, event))
    if expected is None:
        with pytest.raises(Conflict) as refused:
            next_draft_status(status, DraftEvent(event))
        assert refused.value.code == "draft_decided"
    else:
        assert next_draft_status(status, DraftEvent(event)).value == expected


@given(st.lists(st.sampled_from(list(DraftEvent)), max_size=12))
def test_any_sequence_decides_a_draft_at_most_once_and_never_undoes_it(events: list[DraftEvent]) -> None:
    status, decisions = DraftStatus.PENDING, []
    for event in events:
        try:
            after = next_draft_status(status, event)
        except Conflict:
            assert status != DraftStatus.PENDING  # only a decided draft refuses anything
            continue
        if after != DraftStatus.PENDING:
            decisions.append(after)
        status = after
    assert len(decisions) <= 1
    if decisions:
        assert status == decisions[0]
