"""The document status machine and fixture decisions: no sequence of requests leaves the table."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.bids.transitions import DETECTOR_STATES, DOCUMENT_MOVES, PERSON_STATES, RUNNING, decide, move
from shared.errors import Conflict

STATUSES = sorted(DOCUMENT_MOVES)


@settings(max_examples=300, deadline=None)
@given(requests=st.lists(st.sampled_from(STATUSES), max_size=20))
def test_a_document_only_ever_moves_along_the_table_and_ends_where_it_ends(requests: list[str]) -> None:
    status = "awaiting_upload"
    history = [status]
    for target in requests:
        try:
            status = move(status, target)
        except Conflict:
            assert target not in DOCUMENT_MOVES[status]
            continue
        history.append(status)
    for before, after in itertools.pairwise(history):
        assert after in DOCUMENT_MOVES[before]
    if history[-1] in ("analyzed", "failed", "cancelled"):
        assert not DOCUMENT_MOVES[history[-1]]  # finished documents never move again
    assert history.count("queued") <= 1 and history.count("analyzing") <= 1  # the analysis runs once


def test_only_a_running_analysis_can_be_cancelled() -> None:
    assert {s for s in STATUSES if "cancelled" in DOCUMENT_MOVES[s]} == RUNNING


@given(current=st.sampled_from(sorted(DETECTOR_STATES | PERSON_STATES)), decision=st.text(max_size=12))
def test_a_person_only_confirms_or_rejects(current: str, decision: str) -> None:
    if decision in PERSON_STATES:
        assert decide(current, decision) == decision
    else:
        with pytest.raises(Conflict):
            decide(current, decision)
