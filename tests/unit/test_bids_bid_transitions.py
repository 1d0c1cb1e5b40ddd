"""The bid status machine: no sequence of events leaves the table, an accepted bid never moves again, and the
customer's answers only come after a send."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.bids.bid_transitions import FINAL, OPEN, TABLE, Event, Status, allowed, new_revision, next_status
from shared.errors import Conflict


@settings(max_examples=400, deadline=None)
@given(events=st.lists(st.sampled_from(list(Event)), max_size=25))
def test_a_bid_only_moves_along_the_table(events: list[Event]) -> None:
    status = Status.DRAFT
    for event in events:
        try:
            after = next_status(status, event)
        except Conflict:
            assert (status, event) not in TABLE
            continue
        assert TABLE[(status, event)] == after
        if status in FINAL:
            raise AssertionError("an accepted bid moved")
        status = after


@settings(max_examples=200, deadline=None)
@given(events=st.lists(st.sampled_from(list(Event)), max_size=25))
def test_accepted_declined_and_viewed_only_follow_a_send(events: list[Event]) -> None:
    status, sent = Status.DRAFT, False
    for event in events:
        if not allowed(status, event):
            continue
        status = next_status(status, event)
        sent = sent or event == Event.SEND
        if event == Event.REVISE:
            sent = False
        if status in (Status.VIEWED, Status.ACCEPTED, Status.DECLINED, Status.EXPIRED):
            assert sent


def test_the_named_moves() -> None:
    assert next_status("draft", Event.SEND) == Status.SENT
    assert next_status("sent", Event.VIEW) == next_status("viewed", Event.VIEW) == Status.VIEWED
    assert next_status("viewed", Event.ACCEPT) == Status.ACCEPTED
    assert next_status("sent", Event.EXPIRE) == Status.EXPIRED
    assert {Status.SENT, Status.VIEWED} == OPEN
    assert new_revision("sent") and new_revision("declined") and not new_revision("draft")
    assert not new_revision("accepted")


def test_a_second_acceptance_is_409_naming_it() -> None:
    try:
        next_status("accepted", Event.ACCEPT)
    except Conflict as refused:
        assert refused.status == 409 and refused.code == "already_accepted"
    else:
        raise AssertionError("accepted twice")
