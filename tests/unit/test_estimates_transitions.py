"""The estimate status machine: every move comes from the one table, acceptance is final."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.estimates.transitions import EDITABLE, TABLE, Event, Status, new_revision, next_status
from shared.errors import Conflict

statuses, events = st.sampled_from(list(Status)), st.sampled_from(list(Event))


def test_the_happy_path_draft_sent_viewed_accepted() -> None:
    status = Status.DRAFT
    for event in (Event.SEND, Event.VIEW, Event.VIEW, Event.ACCEPT):
        status = next_status(status, event)
    assert status == Status.ACCEPTED


@given(statuses, events)
def test_every_move_is_in_the_table_or_refused_with_409(status: Status, event: Event) -> None:
    if (status, event) in TABLE:
        assert next_status(status, event) == TABLE[(status, event)]
    else:
        with pytest.raises(Conflict):
            next_status(status, event)


@given(events)
def test_an_accepted_estimate_never_moves(event: Event) -> None:
    with pytest.raises(Conflict) as refused:
        next_status(Status.ACCEPTED, event)
    assert refused.value.code == "already_accepted"


@given(st.lists(events, max_size=30))
def test_any_sequence_of_events_stays_in_the_machine(sequence: list[Event]) -> None:
    status = Status.DRAFT
    for event in sequence:
        try:
            status = next_status(status, event)
        except Conflict:
            continue
    assert status in set(Status)


@given(statuses)
def test_every_sent_state_returns_to_draft_through_a_new_revision(status: Status) -> None:
    if status in (Status.SENT, Status.VIEWED, Status.DECLINED, Status.EXPIRED):
        assert next_status(status, Event.REVISE) == Status.DRAFT and new_revision(status)
    assert (status in EDITABLE) == (status != Status.ACCEPTED)


def test_only_a_draft_is_sent_and_only_an_open_estimate_is_decided() -> None:
    with pytest.raises(Conflict):
        next_status(Status.SENT, Event.SEND)
    with pytest.raises(Conflict):
        next_status(Status.DRAFT, Event.ACCEPT)
    with pytest.raises(Conflict):
        next_status(Status.DECLINED, Event.ACCEPT)
