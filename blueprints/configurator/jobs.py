"""Render jobs: create (a cached GLB completes at once), read with a short-lived GLB URL, cancel, and apply
the render worker's reports from the results queue (idempotent: a message seen before, or a report on an attempt
already counted, changes nothing; a terminal job never moves again).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from blueprints.configurator import blobs, validation
from blueprints.configurator.models import Configuration, RenderJob, RenderJobResult
from blueprints.configurator.schemas import RenderJobIn, RenderJobOut, job_out
from blueprints.configurator.service import configuration_or_raise, product_or_raise
from blueprints.configurator.transitions import JobStatus, decide, is_stale, may_cancel
from render_container.contract import JOBS_QUEUE, RenderRequest, RenderResult
from shared import audit, clock
from shared.auth import Principal
from shared.config import Settings, get_settings
from shared.db import on_commit, session_scope
from shared.errors import Conflict, NotFound
from shared.models import OutboxMessage
from shared.storage import enqueue

log = logging.getLogger(__name__)


def _job_or_raise(session: Session, *, tenant_id: uuid.UUID, job_id: uuid.UUID, lock: bool = False) -> RenderJob:
    stmt = select(RenderJob).where(RenderJob.id == job_id, RenderJob.tenant_id == tenant_id)
    job = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if job is None:
        raise NotFound("No such render job")
    return job


def _out(job: RenderJob, settings: Settings) -> RenderJobOut:
    """The job as the API shows it: a read URL only for a completed job's GLB."""
    if job.status != JobStatus.COMPLETED:
        return job_out(job)
    url, expires = blobs.read_url(
        job.output_container, job.output_blob_path, ttl_seconds=settings.render_read_url_ttl_seconds
    )
    return job_out(job, glb_url=url, expires_at=expires)


def _request_of(session: Session, job: RenderJob, settings: Settings) -> RenderRequest:
    # A retry still renders a configuration deleted meanwhile: the job was accepted while it existed.
    configuration = session.scalars(select(Configuration).where(Configuration.id == job.configuration_id)).one()
    return RenderRequest(
        job_id=job.id,
        tenant_id=job.tenant_id,
        product_id=job.product_id,
        template_container=settings.render_template_container,
        template_blob_path=job.template_blob_path,
        template_version=job.template_version,
        config=configuration.config_data,
        output_container=job.output_container,
        output_blob_path=job.output_blob_path,
        attempt=job.retry_count + 1,
    )


def _send(session: Session, job: RenderJob, settings: Settings, *, delay_seconds: int = 0) -> None:
    """Queue the render request with the job's change; once it is on the queue the job reads QUEUED."""
    outbox_id = enqueue(session, JOBS_QUEUE, _request_of(session, job, settings), delay_seconds=delay_seconds)
    job_id, tenant_id = job.id, job.tenant_id
    on_commit(session, lambda: mark_queued(job_id=job_id, tenant_id=tenant_id, outbox_id=outbox_id))


def mark_queued(*, job_id: uuid.UUID, tenant_id: uuid.UUID, outbox_id: uuid.UUID) -> None:
    """PENDING -> QUEUED once the outbox has sent the request (a send left to the sweeper stays PENDING)."""
    with session_scope(tenant_id=tenant_id) as session:
        sent = ~exists().where(OutboxMessage.id == outbox_id)
        session.execute(
            update(RenderJob)
            .where(RenderJob.id == job_id, RenderJob.status == JobStatus.PENDING, sent)
            .values(status=JobStatus.QUEUED, updated_at=clock.now())
        )


def create_job(*, session: Session, principal: Principal, job_in: RenderJobIn) -> RenderJobOut:
    """Start rendering a configuration; when its GLB already exists the job completes at once (cached)."""
    settings = get_settings()
    configuration = configuration_or_raise(
        session=session, tenant_id=principal.tenant_id, configuration_id=job_in.configuration_id
    )
    product = product_or_raise(session=session, tenant_id=principal.tenant_id, product_id=configuration.product_id)
    if product.version != configuration.product_version:  # the options changed since it was saved
        validation.check_config(product.config_schema, configuration.config_data, code="configuration_outdated")
    path = blobs.glb_path(
        tenant_id=principal.tenant_id,
        product_id=product.id,
        template_version=product.template_version,
        config_hash=configuration.config_hash,
    )
    now = clock.now()
    job = RenderJob(
        id=uuid.uuid4(),
        tenant_id=principal.tenant_id,
        configuration_id=configuration.id,
        product_id=product.id,
        created_by=principal.user_id,
        status=JobStatus.PENDING,
        progress=0,
        cached=False,
        template_blob_path=product.template_blob_path,
        template_version=product.template_version,
        config_hash=configuration.config_hash,
        output_container=settings.render_output_container,
        output_blob_path=path,
        retry_count=0,
        max_retries=settings.render_max_retries,
        created_at=now,
        updated_at=now,
    )
    if blobs.exists(job.output_container, path):
        job.status, job.progress, job.cached = JobStatus.COMPLETED, 100, True
        job.started_at = job.completed_at = now
    session.add(job)
    session.flush()
    if job.status == JobStatus.PENDING:
        blobs.ensure_container(job.output_container)  # the worker uploads into it but does not create it
        _send(session, job, settings)
    return _out(job, settings)


def get_job(*, session: Session, principal: Principal, job_id: uuid.UUID) -> RenderJobOut:
    """A job of the caller's business, with a read URL for its GLB when completed."""
    return _out(_job_or_raise(session, tenant_id=principal.tenant_id, job_id=job_id), get_settings())


def cancel_job(*, session: Session, principal: Principal, job_id: uuid.UUID, actor: audit.Actor) -> RenderJobOut:
    """Cancel a job still on its way: it is never rendered, or its output is discarded (cancelling twice is fine)."""
    settings = get_settings()
    job = _job_or_raise(session, tenant_id=principal.tenant_id, job_id=job_id, lock=True)
    if job.status == JobStatus.CANCELLED:
        return job_out(job)
    if not may_cancel(JobStatus(job.status)):
        raise Conflict(f"The job is already {job.status}", code="render_job_finished")
    # The marker first: if writing it fails, nothing changed and the caller may retry.
    blobs.write_cancel_marker(settings.render_control_container, job.id)
    before = job.status
    now = clock.now()
    job.status, job.completed_at, job.updated_at, job.retry_at = JobStatus.CANCELLED, now, now, None
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="render_jobs.cancelled",
        entity="render_job",
        entity_id=job.id,
        before={"status": before},
        after={"status": job.status},
    )
    return job_out(job)


def _claim_message(session: Session, job: RenderJob, result: RenderResult, message_id: str) -> bool:
    """Record the message as seen; False when it was applied before (a redelivery)."""
    inserted = session.execute(
        insert(RenderJobResult)
        .values(
            tenant_id=job.tenant_id,
            job_id=job.id,
            message_id=message_id,
            status=result.status.value,
            applied=False,
            received_at=clock.now(),
        )
        .on_conflict_do_nothing()
        .returning(RenderJobResult.message_id)
    ).first()
    return inserted is not None


def apply_result(*, session: Session, result: RenderResult, message_id: str) -> str:
    """Apply one worker report to its job; returns what happened (for the log)."""
    job = session.scalars(
        select(RenderJob)
        .where(RenderJob.id == result.job_id, RenderJob.tenant_id == result.tenant_id)
        .with_for_update()
    ).first()
    if job is None:
        return "unknown job"
    if not _claim_message(session, job, result, message_id):
        return "duplicate"
    settings = get_settings()
    decision = decide(
        JobStatus(job.status),
        result,
        retry_count=job.retry_count,
        max_retries=job.max_retries,
        base_seconds=settings.render_retry_base_seconds,
    )
    if decision.discard_output:
        _discard_late_output(session, job)
    if decision.status is None:
        if is_stale(result, retry_count=job.retry_count):
            return f"ignored {result.status} of attempt {result.attempt}: the job is at attempt {job.retry_count + 1}"
        return f"ignored {result.status} for {job.status} job"
    _apply(session, job, result, decision.status, decision.retry_delay_seconds, settings)
    session.execute(
        update(RenderJobResult)
        .where(RenderJobResult.job_id == job.id, RenderJobResult.message_id == message_id)
        .values(applied=True)
    )
    return f"{result.status} -> {job.status}"


def _apply(
    session: Session, job: RenderJob, result: RenderResult, status: JobStatus, delay: int | None, settings: Settings
) -> None:
    now = clock.now()
    job.updated_at = now
    if status is JobStatus.PROCESSING:
        job.progress = max(job.progress, result.progress) if job.status == JobStatus.PROCESSING else result.progress
        job.started_at = job.started_at or now
    elif status is JobStatus.COMPLETED:
        job.progress, job.cached, job.render_ms, job.completed_at = 100, result.cached, result.render_ms, now
        job.error_code = job.error_message = None
        job.retry_at = None
    elif status is JobStatus.PENDING:
        job.error_code, job.error_message = result.error_code, result.error_message
        job.retry_count += 1
        job.progress = 0
        job.retry_at = now + timedelta(seconds=delay or 0)
    else:  # FAILED or CANCELLED
        job.error_code = result.error_code if status is JobStatus.FAILED else None
        job.error_message = result.error_message if status is JobStatus.FAILED else None
        job.completed_at, job.retry_at = now, None
    job.status = status
    session.flush()
    if status is JobStatus.PENDING:
        _send(session, job, settings, delay_seconds=delay or 0)


def _discard_late_output(session: Session, job: RenderJob) -> None:
    """A GLB uploaded for a job cancelled meanwhile is deleted, unless another live job wants the same file."""
    others = exists().where(
        RenderJob.tenant_id == job.tenant_id,
        RenderJob.output_blob_path == job.output_blob_path,
        RenderJob.id != job.id,
        RenderJob.status != JobStatus.CANCELLED,
    )
    if session.scalar(select(others)):
        return
    container, path = job.output_container, job.output_blob_path
    on_commit(session, lambda: blobs.delete(container, path))
