"""The three-way merge of a local edit against ServiceTitan's current item: a pure function.

base is each edited field's value when it was last synced (when the estimator first changed it), local the
estimator's value, remote what ServiceTitan has now. A field changed only here is sent; one changed only
there is kept (we send nothing for it); one changed on both sides to the same value needs nothing; one
changed on both sides to different values is a conflict and nothing is sent for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldConflict:
    """One field both sides changed differently."""

    base: Any
    local: Any
    remote: Any


@dataclass(frozen=True)
class MergeResult:
    """What to PATCH, which fields conflict, and which local edits ServiceTitan already agrees with."""

    send: dict[str, Any] = field(default_factory=dict)
    conflicts: dict[str, FieldConflict] = field(default_factory=dict)
    already: frozenset[str] = frozenset()


def three_way(*, base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any]) -> MergeResult:
    """Merge the locally changed fields (local) with remote, knowing their last synced values (base)."""
    send: dict[str, Any] = {}
    conflicts: dict[str, FieldConflict] = {}
    already: set[str] = set()
    for name, mine in local.items():
        theirs, synced = remote.get(name), base.get(name)
        if mine == theirs:
            already.add(name)
        elif theirs == synced:
            send[name] = mine
        else:
            conflicts[name] = FieldConflict(base=synced, local=mine, remote=theirs)
    return MergeResult(send=send, conflicts=conflicts, already=frozenset(already))
