"""Queue message contract between the function app and the render worker.

This module imports nothing but pydantic so the function app can import the same file.
Messages travel as UTF-8 JSON, base64-encoded (TextBase64EncodePolicy) as the Functions host expects.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

JOBS_QUEUE = "render-jobs"
RESULTS_QUEUE = "render-results"
CONTROL_CONTAINER = "render-control"


class RenderStatus(StrEnum):
    """Lifecycle states a render job reports on the results queue."""

    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class RenderErrorCode(StrEnum):
    """Why a render job failed; only `render_error` is worth retrying."""

    INVALID_CONFIG = "invalid_config"
    TEMPLATE_MISSING = "template_missing"
    RENDER_ERROR = "render_error"
    POISONED = "poisoned"


class RenderRequest(BaseModel):
    """One render job on the `render-jobs` queue."""

    model_config = ConfigDict(extra="forbid")

    job_id: UUID
    tenant_id: UUID
    product_id: UUID
    template_container: str = Field(default="templates", min_length=3, max_length=63)
    template_blob_path: str = Field(min_length=1, max_length=1024)
    template_version: str = Field(min_length=1, max_length=64)
    config: dict[str, Any]
    output_container: str = Field(default="renders", min_length=3, max_length=63)
    output_blob_path: str = Field(min_length=1, max_length=1024)
    attempt: int = Field(default=1, ge=1)


class RenderResult(BaseModel):
    """One status report on the `render-results` queue; several arrive per job, the last is terminal."""

    model_config = ConfigDict(extra="forbid")

    job_id: UUID
    tenant_id: UUID
    status: RenderStatus
    progress: int = Field(ge=0, le=100)
    output_blob_path: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    recoverable: bool = False
    render_ms: int | None = None
    cached: bool = False
    worker_attempt: int = Field(ge=1)
    # The job attempt this report is on: the request's `attempt`, echoed. The function app counts each attempt's
    # failure once and ignores reports on an attempt it has already counted (late or duplicate copies). None: a
    # report from a worker that predates the field (still queued at a deploy); it is taken as the current attempt.
    attempt: int | None = Field(default=None, ge=1)
    # Peak resident set of the worker process (VmHWM) when the result was posted; lets ops spot leaks.
    worker_peak_rss_kb: int | None = None

    @property
    def is_terminal(self) -> bool:
        """True for the last result of a job attempt."""
        return self.status is not RenderStatus.PROCESSING


def cancel_blob_name(job_id: UUID | str) -> str:
    """Name of the blob in the control container whose presence cancels a job."""
    return f"cancel/{job_id}"
