"""The analysis as a Durable Functions orchestration: start, pages fanned out with a bounded number in flight
(a sliding window over `task_any`), failed pages recorded after their retries while the rest finish, then the
merge. Deterministic: no I/O, clock or random here; progress goes to the custom status.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.Task import TaskState

from shared import tracing

ORCHESTRATOR = "bids_analyze_document"
START = "bids_start_analysis"
ANALYZE_PAGE = "bids_analyze_page"
RECORD_FAILED_PAGE = "bids_record_failed_page"
FINISH = "bids_finish_analysis"
FAIL = "bids_fail_analysis"
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=3)


def _failed(task: Any) -> bool:
    return getattr(task, "state", None) == TaskState.FAILED or isinstance(getattr(task, "result", None), Exception)


def analyze_document(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Analyse every page of a document, then merge the takeoff; the custom status says how far it is."""
    job = context.get_input() or {}
    ident = {"tenant_id": job["tenant_id"], "document_id": job["document_id"], **tracing.carry(job)}
    status: dict[str, Any] = {
        "stage": "starting",
        "pages_done": 0,
        "pages_total": 0,
        "failed_pages": [],
        "needs_vision_pages": [],
    }
    context.set_custom_status(status)
    try:
        started = yield context.call_activity_with_retry(START, RETRY, ident)
        total = int(started["page_count"])
        if total == 0:
            status["stage"] = started["status"]
            context.set_custom_status(status)
            return status
        status.update(stage="pages", pages_total=total)
        context.set_custom_status(status)
        page_job = {**ident, **{k: started[k] for k in ("blob_name", "size_bytes", "vision_all")}}
        yield from _pages(context, page_job, total, max(1, int(job.get("pages_in_flight", 4))), status)
        status["stage"] = "merging"
        context.set_custom_status(status)
        summary = yield context.call_activity_with_retry(FINISH, RETRY, {**ident, "blob_name": started["blob_name"]})
    except Exception as error:
        yield context.call_activity_with_retry(FAIL, RETRY, {**ident, "error": str(error)[:1000]})
        status["stage"] = "failed"
        context.set_custom_status(status)
        raise
    status.update(stage=summary["status"], fixtures=summary.get("fixtures", 0))
    context.set_custom_status(status)
    return status


def _pages(
    context: df.DurableOrchestrationContext,
    page_job: dict[str, Any],
    total: int,
    in_flight: int,
    status: dict[str, Any],
) -> Generator[Any, Any, None]:
    """Every page through ANALYZE_PAGE, at most in_flight at once; a page that still fails is recorded failed."""
    running: list[Any] = []
    pages_of: list[int] = []
    next_page = 1
    while next_page <= total or running:
        while next_page <= total and len(running) < in_flight:
            running.append(context.call_activity_with_retry(ANALYZE_PAGE, RETRY, {**page_job, "page": next_page}))
            pages_of.append(next_page)
            next_page += 1
        done = yield context.task_any(running)
        index = next(i for i, task in enumerate(running) if task is done)
        page = pages_of.pop(index)
        running.pop(index)
        if _failed(done):
            error = str(done.result)[:1000]
            yield context.call_activity_with_retry(
                RECORD_FAILED_PAGE,
                RETRY,
                {
                    **{k: page_job[k] for k in ("tenant_id", "document_id")},
                    **tracing.carry(page_job),
                    "page": page,
                    "error": error,
                },
            )
            status["failed_pages"] = sorted([*status["failed_pages"], page])
        elif done.result.get("status") == "failed":  # refused for good inside the activity (a spend limit)
            status["failed_pages"] = sorted([*status["failed_pages"], page])
        elif done.result.get("status") == "needs_vision":
            status["needs_vision_pages"] = sorted([*status["needs_vision_pages"], page])
        status["pages_done"] += 1
        context.set_custom_status(status)
