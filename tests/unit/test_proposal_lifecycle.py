"""The proposal lifecycle every customer decision shares (estimates, bids): no sequence of events leaves the
table, an accepted proposal never moves, the customer's answers only follow a send, and each module's refusal
names its own records."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.bids import bid_transitions
from blueprints.estimates import transitions as estimate_transitions
from shared import proposal_lifecycle as lifecycle
from shared.errors import Conflict
from shared.proposal_lifecycle import FINAL, TABLE, Event, Lifecycle, Status, allowed

LIFECYCLES = (estimate_transitions.LIFECYCLE, bid_transitions.LIFECYCLE)
events = st.lists(st.sampled_from(list(Event)), max_size=25)


def test_both_modules_go_through_the_one_table() -> None:
    assert estimate_transitions.TABLE is bid_transitions.TABLE is TABLE
    assert estimate_transitions.Status is bid_transitions.Status is Status
    assert estimate_transitions.OPEN == bid_transitions.OPEN == lifecycle.OPEN == {Status.SENT, Status.VIEWED}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(LIFECYCLES), st.sampled_from(list(Status)), st.sampled_from(list(Event)))
def test_every_move_is_in_the_table_or_refused_with_409(lifecycle: Lifecycle, status: Status, event: Event) -> None:
    if (status, event) in TABLE:
        assert allowed(status, event) and lifecycle.next_status(status, event) == TABLE[(status, event)]
    else:
        assert not allowed(status.value, event)
        with pytest.raises(Conflict) as refused:
            lifecycle.next_status(status.value, event)
        assert refused.value.status == 409
        assert refused.value.code == ("already_accepted" if status in FINAL else "invalid_transition")


@settings(max_examples=300, deadline=None)
@given(events)
def test_a_proposal_only_moves_along_the_table_and_never_after_acceptance(sequence: list[Event]) -> None:
    status, sent = Status.DRAFT, False
    for event in sequence:
        if not allowed(status, event):
            continue
        assert status not in FINAL, "an accepted proposal moved"
        status = Lifecycle("A proposal").next_status(status, event)
        sent = (sent or event == Event.SEND) and event != Event.REVISE
        if status in (Status.VIEWED, Status.ACCEPTED, Status.DECLINED, Status.EXPIRED):
            assert sent
    assert status in set(Status)


@given(st.sampled_from(list(Status)))
def test_every_sent_state_but_accepted_returns_to_draft_through_a_new_revision(status: Status) -> None:
    assert (status in lifecycle.EDITABLE) == (status != Status.ACCEPTED)
    assert lifecycle.new_revision(status) == (status in lifecycle.EDITABLE and status != Status.DRAFT)


def test_each_module_names_its_own_records_in_a_refusal() -> None:
    with pytest.raises(Conflict, match=r"^An estimate that is draft cannot accept$"):
        estimate_transitions.next_status("draft", Event.ACCEPT)
    with pytest.raises(Conflict, match=r"^A bid that is declined cannot accept$"):
        bid_transitions.next_status("declined", Event.ACCEPT)
    with pytest.raises(ValueError):
        estimate_transitions.next_status("lost", Event.SEND)  # not a status at all
