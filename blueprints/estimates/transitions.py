"""The estimate status machine: the proposal lifecycle every customer decision shares
(`shared/proposal_lifecycle.py`: draft -> sent -> viewed -> accepted | declined | expired, revise back to draft).

Pure logic, no I/O: the service locks the estimate, asks `next_status`, and applies the answer.
"""

from __future__ import annotations

from shared.proposal_lifecycle import *  # noqa: F403 - the shared table's names are this module's own
from shared.proposal_lifecycle import Lifecycle

LIFECYCLE = Lifecycle("An estimate")
next_status = LIFECYCLE.next_status
