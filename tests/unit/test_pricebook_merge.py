"""The three-way merge, as properties: what is sent, kept and flagged for any base, local and remote."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from blueprints.pricebook.merge import three_way

FIELDS = st.sampled_from(["price_cents", "cost_cents", "description", "code", "active"])
VALUES = st.one_of(st.integers(0, 5), st.sampled_from(["a", "b", None]), st.booleans())
RECORDS = st.dictionaries(FIELDS, VALUES, max_size=5)


@given(base=RECORDS, local=RECORDS, remote=RECORDS)
def test_every_local_field_is_sent_settled_or_a_conflict_exactly_once(base, local, remote) -> None:
    result = three_way(base=base, local=local, remote=remote)
    assert set(result.send) | set(result.conflicts) | result.already == set(local)
    assert not set(result.send) & set(result.conflicts)
    assert not set(result.send) & result.already
    assert not set(result.conflicts) & result.already


@given(base=RECORDS, local=RECORDS, remote=RECORDS)
def test_nothing_is_sent_over_a_remote_change(base, local, remote) -> None:
    result = three_way(base=base, local=local, remote=remote)
    for name in result.send:
        assert remote.get(name) == base.get(name)  # ServiceTitan still had the synced value
        assert result.send[name] == local[name]


@given(base=RECORDS, local=RECORDS)
def test_with_no_remote_change_every_real_local_change_is_sent(base, local) -> None:
    result = three_way(base=base, local=local, remote=dict(base))
    assert result.send == {k: v for k, v in local.items() if v != base.get(k)}
    assert result.conflicts == {}


@given(base=RECORDS, remote=RECORDS)
def test_without_local_edits_nothing_is_sent_and_remote_changes_are_kept(base, remote) -> None:
    assert three_way(base=base, local={}, remote=remote).send == {}


@given(base=RECORDS, local=RECORDS, remote=RECORDS)
def test_a_conflict_shows_three_different_sides(base, local, remote) -> None:
    for name, conflict in three_way(base=base, local=local, remote=remote).conflicts.items():
        assert conflict.local != conflict.remote and conflict.remote != conflict.base
        assert (conflict.base, conflict.local, conflict.remote) == (base.get(name), local[name], remote.get(name))


@given(base=RECORDS, local=RECORDS, remote=RECORDS)
def test_applying_the_patch_gives_remote_with_only_local_changes_on_top(base, local, remote) -> None:
    result = three_way(base=base, local=local, remote=remote)
    merged = {**remote, **result.send}
    for name in local:
        if name not in result.conflicts:
            assert merged.get(name) == local[name]
    for name in set(remote) - set(local):
        assert merged[name] == remote[name]


def test_the_issue_example_price_here_description_there() -> None:
    base = {"price_cents": 1000, "description": "old"}
    result = three_way(base=base, local={"price_cents": 1200}, remote={"price_cents": 1000, "description": "new"})
    assert result.send == {"price_cents": 1200} and not result.conflicts
