"""The bid status machine: the proposal lifecycle every customer decision shares (`shared/proposal_lifecycle.py`).

draft -> sent (the generation orchestration records the email) -> viewed (first open) -> accepted | declined;
sent or viewed -> expired once the validity date passes undecided. Editing a sent, viewed, declined or expired
bid makes a new revision, back to draft; an accepted bid never changes.
"""

from __future__ import annotations

from shared.proposal_lifecycle import *  # noqa: F403 - the shared table's names are this module's own
from shared.proposal_lifecycle import Lifecycle

LIFECYCLE = Lifecycle("A bid")
next_status = LIFECYCLE.next_status
