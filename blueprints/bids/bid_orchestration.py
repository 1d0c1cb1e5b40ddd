"""Bid generation as a Durable Functions orchestration: freeze the priced revision -> render and store its PDF ->
email the customer the signed link -> record the bid as sent with its email. Deterministic: no I/O, clock or
random here; every activity is idempotent (bid_generation), so a replayed or restarted instance does each once.
A revision edited while it was sent stops here as stale; a failure after the retries lets the draft be sent again.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from shared import tracing

ORCHESTRATOR = "bids_generate_bid"
FREEZE = "bids_freeze_bid"
RENDER = "bids_render_bid"
EMAIL = "bids_email_bid"
RECORD = "bids_record_bid"
FAIL = "bids_fail_bid"
NOTICE_ORCHESTRATOR = "bids_notify_acceptance"
NOTIFY = "bids_notify_estimator"
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=3)


def generate_bid(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Price, render, store, email and record one revision of a bid; the custom status says how far it is."""
    job = context.get_input() or {}
    ident = {"tenant_id": job["tenant_id"], "bid_id": job["bid_id"], "revision": job["revision"], **tracing.carry(job)}
    status: dict[str, Any] = {"stage": "pricing", "revision": job["revision"]}
    context.set_custom_status(status)
    try:
        frozen = yield context.call_activity_with_retry(FREEZE, RETRY, {**ident, "user_id": job.get("user_id")})
        if frozen.get("stale"):
            status["stage"] = "stale"
            context.set_custom_status(status)
            return status
        step = {"tenant_id": job["tenant_id"], "revision_id": frozen["revision_id"], **tracing.carry(job)}
        status.update(stage="rendering", total_cents=frozen["total_cents"])
        context.set_custom_status(status)
        rendered = yield context.call_activity_with_retry(RENDER, RETRY, step)
        status.update(stage="emailing", pdf_sha256=rendered["pdf_sha256"])
        context.set_custom_status(status)
        emailed = yield context.call_activity_with_retry(EMAIL, RETRY, {**step, "ttl_days": job.get("ttl_days", 7)})
        status.update(stage="recording", message_id=emailed["message_id"], message_status=emailed["status"])
        context.set_custom_status(status)
        recorded = yield context.call_activity_with_retry(RECORD, RETRY, step)
    except Exception as error:
        yield context.call_activity_with_retry(FAIL, RETRY, {**ident, "error": str(error)[:1000]})
        status["stage"] = "failed"
        context.set_custom_status(status)
        raise
    status["stage"] = recorded["status"]
    context.set_custom_status(status)
    return status


def notify_acceptance(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Email the estimator that the customer accepted (one activity, retried on transient SMTP errors)."""
    job = context.get_input() or {}
    outcome = yield context.call_activity_with_retry(
        NOTIFY, RETRY, {"tenant_id": job["tenant_id"], "bid_id": job["bid_id"], **tracing.carry(job)}
    )
    return outcome
