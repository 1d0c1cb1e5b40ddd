"""One request's trace continues through its queue message into the render worker and back to the app.

The OpenTelemetry SDK with an in-memory exporter records every span of this process: the HTTP trigger
(shared.http.dispatch), the render worker picking the job up (real Azurite, real worker code), and the app's
queue trigger reading the worker's report. They must share one trace id, each the child of the hop before.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage
from azure.storage.queue import QueueClient, TextBase64DecodePolicy
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from render_container.contract import RenderRequest, RenderResult, RenderStatus
from render_container.settings import RenderSettings
from render_container.worker import RenderWorker
from shared import storage
from shared.http import Request, RouteSpec, dispatch
from tests.app_index import user_function
from tests.spans import memory_exporter


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span this process finishes while the module runs, kept in memory."""
    exporter = memory_exporter()
    yield exporter
    exporter.shutdown()


def _start_render(settings: RenderSettings) -> tuple[RouteSpec, Callable[[Request], None]]:
    """An anonymous route whose handler asks for a render through the outbox, as the configurator does."""
    spec = RouteSpec(
        name="trace_start_render",
        module="tests",
        route="v1/tests/renders",
        methods=["POST"],
        auth="anonymous",
        summary="Start a render",
        status=202,
    )

    def handler(req: Request) -> None:
        job = RenderRequest(
            job_id=uuid.uuid4(),
            tenant_id=uuid.uuid4(),
            product_id=uuid.uuid4(),
            template_blob_path="missing/template.blend",
            template_version="v1",
            config={},
            output_blob_path="renders/none.glb",
        )
        storage.enqueue(req.session, settings.jobs_queue, job)

    return spec, handler


def test_an_http_request_and_the_render_it_causes_share_one_trace(
    database, spans, settings: RenderSettings, worker: RenderWorker
) -> None:
    # given a request that queues a render job (its template is missing, so the worker fails it fast)
    spec, handler = _start_render(settings)
    raw = func.HttpRequest("POST", "http://127.0.0.1/api/v1/tests/renders", headers={}, body=b"")
    # when the app answers it, the worker takes the job, and the app's queue trigger reads the worker's report
    assert dispatch(spec, handler, raw).status_code == 202
    assert worker.process_next() is True
    report = QueueClient.from_connection_string(
        settings.storage_connection_string or "", settings.results_queue, message_decode_policy=TextBase64DecodePolicy()
    ).receive_message()
    assert report is not None
    assert RenderResult.model_validate_json(_without_traceparent(report.content)).status == RenderStatus.FAILED
    message = QueueMessage(id=report.id, body=report.content.encode(), dequeue_count=1)
    user_function("configurator_render_results")(msg=message)
    # then the three hops are one trace, each hop the child of the one before
    by_name = {span.name: span for span in spans.get_finished_spans()}
    http, worker, results = by_name["trace_start_render"], by_name["render_job"], by_name["configurator_render_results"]
    assert http.kind == SpanKind.SERVER and worker.kind == SpanKind.CONSUMER and results.kind == SpanKind.CONSUMER
    assert http.context.trace_id == worker.context.trace_id == results.context.trace_id
    assert worker.parent is not None and worker.parent.span_id == http.context.span_id
    assert results.parent is not None and results.parent.span_id == worker.context.span_id
    assert http.attributes["http.response.status_code"] == 202


def _without_traceparent(text: str) -> str:
    body = json.loads(text)
    assert isinstance(body.pop("traceparent"), str)  # the report carries the worker's trace context
    return json.dumps(body)
