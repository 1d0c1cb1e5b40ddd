"""The render worker loop: take a job from the queue, render it with Blender, upload the GLB, report."""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from pathlib import Path

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContentSettings
from azure.storage.queue import QueueClient, QueueMessage
from opentelemetry import metrics
from opentelemetry.trace import SpanKind

from render_container import blender, trace_context
from render_container.contract import RenderErrorCode, RenderRequest, RenderResult, RenderStatus, cancel_blob_name
from render_container.lease import MessageLease
from render_container.settings import RenderSettings
from render_container.storage import StorageClients, connect, decode_message_text, ensure_resources
from render_container.template_cache import TemplateCache, TemplateMissingError

log = logging.getLogger(__name__)
GLB_CONTENT_TYPE = "model/gltf-binary"
_MAX_ERROR_MESSAGE = 1000
render_duration = metrics.get_meter("tradeops.render").create_histogram(
    "tradeops.render.duration", unit="ms", description="Render jobs from pick-up to terminal result"
)


class JobReporter:
    """Posts one job's results to the results queue."""

    def __init__(self, results: QueueClient, request: RenderRequest, worker_attempt: int) -> None:
        self._results = results
        self._request = request
        self._attempt = worker_attempt
        self.last_status: RenderStatus | None = None

    def post(self, status: RenderStatus, progress: int, **fields: object) -> RenderResult:
        """Send one result message and return it."""
        result = RenderResult(
            job_id=self._request.job_id,
            tenant_id=self._request.tenant_id,
            status=status,
            progress=progress,
            worker_attempt=self._attempt,
            attempt=self._request.attempt,
            worker_peak_rss_kb=blender.peak_rss_kb(),
            **fields,
        )
        self._results.send_message(trace_context.with_traceparent(result.model_dump_json()))
        self.last_status = status
        return result

    @property
    def attempt(self) -> int:
        """The message's dequeue count for this delivery."""
        return self._attempt

    def progress(self, percent: int) -> None:
        """Report a PROCESSING milestone."""
        self.post(RenderStatus.PROCESSING, percent)

    def completed(self, *, render_ms: int | None, cached: bool) -> None:
        """Report the GLB as available at the requested output path."""
        self.post(
            RenderStatus.COMPLETED,
            100,
            output_blob_path=self._request.output_blob_path,
            render_ms=render_ms,
            cached=cached,
        )

    def failed(self, code: RenderErrorCode, message: str, *, recoverable: bool) -> None:
        """Report a failure; only recoverable ones are worth a retry by the function app."""
        self.post(
            RenderStatus.FAILED,
            0,
            error_code=code.value,
            error_message=message[:_MAX_ERROR_MESSAGE],
            recoverable=recoverable,
        )

    def cancelled(self) -> None:
        """Report that the job was cancelled and nothing was uploaded."""
        self.post(RenderStatus.CANCELLED, 0)


def parse_request(content: str) -> tuple[RenderRequest, str | None]:
    """Decode a base64 JSON queue message into its request and the traceparent it carried; raises ValueError
    when it is not a valid RenderRequest."""
    fields, traceparent = trace_context.split_traceparent(json.loads(decode_message_text(content)))
    return RenderRequest.model_validate(fields), traceparent


class RenderWorker:
    """Processes render jobs one at a time; bpy is single-threaded, so one worker per process."""

    def __init__(self, settings: RenderSettings, clients: StorageClients | None = None) -> None:
        self.settings = settings
        self.clients = clients or connect(settings)
        self.templates = TemplateCache(self.clients.blobs, settings.template_cache_dir)

    def prepare(self) -> None:
        """Make sure the queues and the control container exist."""
        ensure_resources(self.clients, self.settings)

    def run(
        self,
        *,
        once: bool = False,
        max_jobs: int | None = None,
        poll_interval: float = 2.0,
        stop: threading.Event | None = None,
    ) -> int:
        """Process messages until stopped, until max_jobs, or (once) until the queue is empty."""
        stop = stop or threading.Event()
        handled = 0
        while not stop.is_set() and (max_jobs is None or handled < max_jobs):
            try:
                received = self.process_next()
            except Exception:
                # Storage down or a result that could not be posted: the message reappears and is retried.
                log.exception("render worker iteration failed")
                received = False
            if received:
                handled += 1
            elif once:
                break
            else:
                stop.wait(poll_interval)
        return handled

    def process_next(self) -> bool:
        """Receive and handle one message; False when the queue had none."""
        message = self.clients.jobs.receive_message(visibility_timeout=self.settings.visibility_seconds)
        if message is None:
            return False
        self.handle(message)
        return True

    def handle(self, message: QueueMessage) -> None:
        """Handle one job message end to end; the message is deleted once a terminal result is posted."""
        try:
            request, traceparent = parse_request(message.content)
        except ValueError as exc:
            # No job id to report against; the message is kept in the poison queue for inspection.
            log.error("malformed render message %s moved to poison: %s", message.id, str(exc)[:300])
            self._poison(message)
            return
        attributes = {"tradeops.job_id": str(request.job_id), "messaging.delivery.count": message.dequeue_count or 1}
        with trace_context.span("render_job", traceparent=traceparent, kind=SpanKind.CONSUMER, attributes=attributes):
            self._handle(message, request)

    def _handle(self, message: QueueMessage, request: RenderRequest) -> None:
        job = JobReporter(self.clients.results, request, worker_attempt=message.dequeue_count or 1)
        if (message.dequeue_count or 1) > self.settings.max_dequeue_count:
            log.error("render job %s dequeued %s times; moved to poison", request.job_id, message.dequeue_count)
            job.failed(RenderErrorCode.POISONED, "the job kept crashing its worker", recoverable=False)
            self._poison(message)
            return
        started = time.monotonic()
        with MessageLease(self.clients.jobs, message, self.settings.visibility_seconds) as lease:
            self.execute(request, job)
        duration_ms = round((time.monotonic() - started) * 1000)
        status = job.last_status.value if job.last_status else None
        render_duration.record(duration_ms, {"status": status or "none"})
        log.info(
            "render job finished",
            extra={
                "job_id": str(request.job_id),
                "tenant_id": str(request.tenant_id),
                "status": status,
                "attempt": job.attempt,
                "duration_ms": duration_ms,
            },
        )
        try:
            lease.delete()
        except HttpResponseError:
            # Lost the lease: another worker now holds the message and will find the finished blob (cache hit).
            log.warning("could not delete render message %s (lease lost: %s)", message.id, lease.lost)

    def _poison(self, message: QueueMessage) -> None:
        self.clients.poison.send_message(message.content)
        self.clients.jobs.delete_message(message.id, message.pop_receipt)

    def is_cancelled(self, request: RenderRequest) -> bool:
        """True when the function app has asked to cancel this job."""
        control = self.clients.blobs.get_blob_client(self.settings.control_container, cancel_blob_name(request.job_id))
        return control.exists()

    def execute(self, request: RenderRequest, job: JobReporter) -> None:
        """Run one job: cancellation and cache checks, render, upload, terminal result."""
        if self.is_cancelled(request):
            job.cancelled()
            return
        output = self.clients.blobs.get_blob_client(request.output_container, request.output_blob_path)
        if output.exists():
            job.completed(render_ms=None, cached=True)
            return
        try:
            template = self.templates.fetch(
                request.template_container, request.template_blob_path, request.template_version
            )
            with tempfile.TemporaryDirectory(prefix="render-") as scratch:
                glb = Path(scratch) / "render.glb"
                render_ms = self._render(template, request, glb, job)
                if self.is_cancelled(request):
                    job.cancelled()
                    return
                with glb.open("rb") as stream:
                    # One call with the whole file: readers see no blob or the complete GLB, never a part.
                    output.upload_blob(
                        stream, overwrite=True, content_settings=ContentSettings(content_type=GLB_CONTENT_TYPE)
                    )
            job.completed(render_ms=render_ms, cached=False)
        except blender.InvalidConfigError as exc:
            job.failed(RenderErrorCode.INVALID_CONFIG, str(exc), recoverable=False)
        except TemplateMissingError as exc:
            job.failed(RenderErrorCode.TEMPLATE_MISSING, str(exc), recoverable=False)
        except Exception as exc:
            log.exception("render job %s failed", request.job_id)
            job.failed(RenderErrorCode.RENDER_ERROR, f"{type(exc).__name__}: {exc}", recoverable=True)

    def _render(self, template: Path, request: RenderRequest, glb: Path, job: JobReporter) -> int:
        """Run Blender; returns the milliseconds Blender itself took (progress posts excluded)."""
        reporting = 0.0

        def report(percent: int) -> None:
            nonlocal reporting
            posted = time.monotonic()
            job.progress(percent)
            reporting += time.monotonic() - posted

        started = time.monotonic()
        blender.render_template(template, request.config, glb, report)
        render_ms = round((time.monotonic() - started - reporting) * 1000)
        padding = self.settings.min_render_seconds - (time.monotonic() - started)
        if padding > 0:
            time.sleep(padding)  # load-testing knob only (RENDER_MIN_SECONDS)
        return render_ms
