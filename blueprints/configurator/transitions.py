"""The render job state machine: which status a job moves to when a worker reports, and when to retry.

PENDING -> QUEUED -> PROCESSING -> COMPLETED | FAILED | CANCELLED. A recoverable failure with retries left
goes back to PENDING and is sent again after 1 s, 2 s, 4 s ... Terminal jobs never move again, and a report on
an attempt already counted (each request carries its `attempt`, each report echoes it) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from render_container.contract import RenderErrorCode, RenderResult, RenderStatus


class JobStatus(StrEnum):
    """Where a render job stands."""

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE = frozenset({JobStatus.PENDING, JobStatus.QUEUED, JobStatus.PROCESSING})
# Errors that no retry can fix: the input or the template is wrong.
PERMANENT_ERRORS = frozenset(
    {RenderErrorCode.INVALID_CONFIG.value, RenderErrorCode.TEMPLATE_MISSING.value, RenderErrorCode.POISONED.value}
)


@dataclass(frozen=True)
class Decision:
    """What a worker's report does to a job."""

    status: JobStatus | None  # None: ignore the report
    retry_delay_seconds: int | None = None  # set when the job is sent again
    discard_output: bool = False  # a GLB arrived for a job that was cancelled meanwhile


def retry_delay(retry_count: int, *, base_seconds: int = 1) -> int:
    """Seconds before retry number retry_count + 1: base, 2 x base, 4 x base ..."""
    return base_seconds * 2**retry_count


def may_retry(result: RenderResult, *, retry_count: int, max_retries: int) -> bool:
    """A failure is retried when the worker says it may pass next time and retries remain."""
    return result.recoverable and result.error_code not in PERMANENT_ERRORS and retry_count < max_retries


def is_stale(result: RenderResult, *, retry_count: int) -> bool:
    """A report on an attempt the job has already counted (attempt n is over once retry_count >= n): a late or
    duplicate copy. A report without an attempt (a worker older than the field) is taken as the current one."""
    return result.attempt is not None and result.attempt <= retry_count


def decide(
    status: JobStatus, result: RenderResult, *, retry_count: int, max_retries: int, base_seconds: int = 1
) -> Decision:
    """The job's next status after a worker's report (None when the report changes nothing)."""
    if status in TERMINAL:
        late_glb = status is JobStatus.CANCELLED and result.status is RenderStatus.COMPLETED and not result.cached
        return Decision(None, discard_output=late_glb)
    if is_stale(result, retry_count=retry_count):
        return Decision(None)
    if result.status is RenderStatus.PROCESSING:
        return Decision(JobStatus.PROCESSING)
    if result.status is RenderStatus.COMPLETED:
        return Decision(JobStatus.COMPLETED)
    if result.status is RenderStatus.CANCELLED:
        return Decision(JobStatus.CANCELLED)
    if may_retry(result, retry_count=retry_count, max_retries=max_retries):
        return Decision(JobStatus.PENDING, retry_delay_seconds=retry_delay(retry_count, base_seconds=base_seconds))
    return Decision(JobStatus.FAILED)


def may_cancel(status: JobStatus) -> bool:
    """Only a job still on its way can be cancelled."""
    return status in ACTIVE
