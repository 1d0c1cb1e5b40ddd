"""The render worker in-process against real Azurite and real Blender (bpy)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from render_container import trace_context
from render_container.contract import RenderResult, RenderStatus, cancel_blob_name
from render_container.settings import RenderSettings
from render_container.storage import encode_message_text
from render_container.worker import RenderWorker
from tests.render_container.glb import glb_size, material_names
from tests.render_container.support import ResultReader, blob_bytes, make_request, validate_glb

SAMPLE_CONFIGS = {
    "base-cabinet": {
        "width": 914.4,
        "height": 876,
        "depth": 610,
        "door_count": 3,
        "door_style": "raised",
        "finish": "walnut",
        "hardware": "knob",
    },
    "range-hood": {"width": 762, "height": 1100, "depth": 530, "style": "box", "finish": "black"},
    "fireplace-cover": {"width": 1830, "height": 1372, "depth": 305, "style": "rustic", "finish": "oak"},
}


def statuses(results: list[RenderResult]) -> list[tuple[str, int]]:
    """(status, progress) pairs, the shape of a job's story."""
    return [(r.status.value, r.progress) for r in results]


def queue_is_empty(connection_string: str, name: str) -> bool:
    """True when no message is left, visible or not."""
    queue = QueueClient.from_connection_string(connection_string, name)
    return queue.get_queue_properties().approximate_message_count == 0


@pytest.mark.parametrize("slug", sorted(SAMPLE_CONFIGS))
def test_each_sample_product_renders_to_a_valid_glb_of_the_configured_size(
    slug: str,
    products: dict[str, dict[str, Any]],
    worker: RenderWorker,
    send_job: Any,
    results: ResultReader,
    output_container: str,
    blob_service: BlobServiceClient,
    settings: RenderSettings,
    tmp_path: Path,
) -> None:
    # given a job for the product with non-default options
    config = SAMPLE_CONFIGS[slug]
    request = make_request(products[slug], config, output_container=output_container)
    send_job(request)
    # when the worker drains the queue
    assert worker.run(once=True) == 1
    # then it reported progress, completed, and the GLB is valid glTF with the configured size in metres
    assert statuses(results.drain()) == [("PROCESSING", 10), ("PROCESSING", 60), ("PROCESSING", 90), ("COMPLETED", 100)]
    completed = results.results[-1]
    assert completed.output_blob_path == request.output_blob_path and not completed.cached
    assert completed.worker_attempt == 1 and completed.render_ms is not None
    glb = tmp_path / "render.glb"
    glb.write_bytes(blob_bytes(blob_service, output_container, request.output_blob_path))
    report = validate_glb(glb)[str(glb)]
    assert report["mimeType"] == "model/gltf-binary"
    assert report["numErrors"] == 0, report["errors"]
    expected = (config["width"] / 1000, config["height"] / 1000, config["depth"] / 1000)
    assert glb_size(glb.read_bytes()) == pytest.approx(expected, abs=0.001)
    assert f"finish:{config['finish']}" in material_names(glb.read_bytes())
    properties = blob_service.get_blob_client(output_container, request.output_blob_path).get_blob_properties()
    assert properties.content_settings.content_type == "model/gltf-binary"
    assert queue_is_empty(settings.storage_connection_string or "", settings.jobs_queue)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"width": 5000}, "width"),  # above the template's maximum
        ({"width": 10}, "width"),  # below the minimum
        ({"door_count": "two"}, "door_count"),  # wrong type
        ({"door_count": 2.5}, "door_count"),  # not an integer
        ({"door_count": True}, "door_count"),  # a boolean is not a count
        ({"door_style": "gothic"}, "door_style"),  # not one of the menu items
        ({"finish": "gold"}, "finish"),  # no such material variant
        ({"colour": "red"}, "colour"),  # unknown option
    ],
)
def test_a_config_that_does_not_fit_the_template_fails_as_invalid_config_without_retry(
    change: dict[str, Any],
    problem: str,
    products: dict[str, dict[str, Any]],
    worker: RenderWorker,
    send_job: Any,
    results: ResultReader,
    output_container: str,
    blob_service: BlobServiceClient,
) -> None:
    config = SAMPLE_CONFIGS["base-cabinet"] | change
    request = make_request(products["base-cabinet"], config, output_container=output_container)
    send_job(request)
    worker.run(once=True)
    failed = results.drain()[-1]
    assert failed.status is RenderStatus.FAILED
    assert failed.error_code == "invalid_config" and failed.recoverable is False
    assert problem in (failed.error_message or "")
    assert not blob_service.get_blob_client(output_container, request.output_blob_path).exists()


def test_a_missing_option_is_an_invalid_config(
    products: dict[str, dict[str, Any]], worker: RenderWorker, send_job: Any, results: ResultReader
) -> None:
    config = dict(SAMPLE_CONFIGS["range-hood"])
    del config["style"]
    send_job(make_request(products["range-hood"], config))
    worker.run(once=True)
    failed = results.drain()[-1]
    assert (failed.status, failed.error_code, failed.recoverable) == (RenderStatus.FAILED, "invalid_config", False)
    assert "style: missing" in (failed.error_message or "")


def test_a_missing_template_fails_without_retry(
    products: dict[str, dict[str, Any]],
    worker: RenderWorker,
    send_job: Any,
    results: ResultReader,
    settings: RenderSettings,
) -> None:
    request = make_request(
        products["range-hood"], SAMPLE_CONFIGS["range-hood"], template_blob_path="products/x/9.blend"
    )
    send_job(request)
    worker.run(once=True)
    assert statuses(results.drain()) == [("FAILED", 0)]
    failed = results.results[0]
    assert failed.error_code == "template_missing" and failed.recoverable is False
    assert queue_is_empty(settings.storage_connection_string or "", settings.jobs_queue)


def test_an_existing_output_completes_as_cached_without_rendering(
    products: dict[str, dict[str, Any]],
    worker: RenderWorker,
    send_job: Any,
    results: ResultReader,
    output_container: str,
    blob_service: BlobServiceClient,
) -> None:
    # given the output already exists, and a template path that would fail if the worker tried to render
    request = make_request(
        products["base-cabinet"], SAMPLE_CONFIGS["base-cabinet"], output_container=output_container
    ).model_copy(update={"template_blob_path": "products/does-not-exist/1.blend"})
    blob_service.get_blob_client(output_container, request.output_blob_path).upload_blob(b"previous render")
    send_job(request)
    worker.run(once=True)
    assert statuses(results.drain()) == [("COMPLETED", 100)]
    assert results.results[0].cached is True and results.results[0].render_ms is None
    assert blob_bytes(blob_service, output_container, request.output_blob_path) == b"previous render"


def test_a_job_cancelled_before_it_starts_uploads_nothing(
    products: dict[str, dict[str, Any]],
    worker: RenderWorker,
    send_job: Any,
    results: ResultReader,
    output_container: str,
    blob_service: BlobServiceClient,
    settings: RenderSettings,
) -> None:
    request = make_request(products["base-cabinet"], SAMPLE_CONFIGS["base-cabinet"], output_container=output_container)
    blob_service.get_blob_client(settings.control_container, cancel_blob_name(request.job_id)).upload_blob(b"")
    send_job(request)
    worker.run(once=True)
    assert statuses(results.drain()) == [("CANCELLED", 0)]
    assert not blob_service.get_blob_client(output_container, request.output_blob_path).exists()
    assert queue_is_empty(settings.storage_connection_string or "", settings.jobs_queue)


def test_a_job_cancelled_while_rendering_uploads_nothing(
    products: dict[str, dict[str, Any]],
    worker: RenderWorker,
    send_job: Any,
    results: ResultReader,
    output_container: str,
    blob_service: BlobServiceClient,
    settings: RenderSettings,
) -> None:
    # given a render padded to 1.5 s and a cancellation arriving half a second in
    worker.settings.min_render_seconds = 1.5
    request = make_request(
        products["fireplace-cover"], SAMPLE_CONFIGS["fireplace-cover"], output_container=output_container
    )
    send_job(request)
    cancel = blob_service.get_blob_client(settings.control_container, cancel_blob_name(request.job_id))
    canceller = threading.Timer(0.5, lambda: cancel.upload_blob(b""))
    canceller.start()
    worker.run(once=True)
    canceller.join()
    # then the check just before upload sees it
    assert statuses(results.drain())[-1] == ("CANCELLED", 0)
    assert not blob_service.get_blob_client(output_container, request.output_blob_path).exists()


def test_a_storage_failure_during_the_job_is_a_recoverable_render_error(
    products: dict[str, dict[str, Any]],
    worker: RenderWorker,
    send_job: Any,
    results: ResultReader,
    settings: RenderSettings,
) -> None:
    # given an output container that does not exist, so the upload fails after a good render
    request = make_request(products["range-hood"], SAMPLE_CONFIGS["range-hood"], output_container="no-such-container")
    send_job(request)
    worker.run(once=True)
    failed = results.drain()[-1]
    assert (failed.status, failed.error_code, failed.recoverable) == (RenderStatus.FAILED, "render_error", True)
    assert failed.attempt == 1  # the app counts this failure against the job's attempt 1, once
    # the app decides the retry: the worker has deleted the message after reporting
    assert queue_is_empty(settings.storage_connection_string or "", settings.jobs_queue)


def test_a_template_version_is_downloaded_once_and_then_served_from_the_local_cache(
    products: dict[str, dict[str, Any]],
    worker: RenderWorker,
    send_job: Any,
    results: ResultReader,
    output_container: str,
) -> None:
    cabinet = products["base-cabinet"]
    send_job(make_request(cabinet, SAMPLE_CONFIGS["base-cabinet"], output_container=output_container))
    worker.run(once=True)
    cached = worker.templates.path_for(
        cabinet["template_container"], cabinet["template_blob_path"], cabinet["template_version"]
    )
    first_download = cached.stat().st_mtime_ns
    send_job(make_request(cabinet, SAMPLE_CONFIGS["base-cabinet"] | {"width": 450}, output_container=output_container))
    worker.run(once=True)
    assert cached.stat().st_mtime_ns == first_download
    assert [r.status for r in results.drain() if r.is_terminal] == [RenderStatus.COMPLETED] * 2
    assert list(cached.parent.glob("*.part")) == []


@pytest.mark.parametrize(
    "raw",
    [
        "this is not base64!",
        encode_message_text("{not json"),
        encode_message_text('{"job_id": "not-a-uuid"}'),
        encode_message_text('{"hello": "world"}'),
    ],
)
def test_a_malformed_message_goes_to_the_poison_queue_at_once(
    raw: str,
    storage_connection_string: str,
    worker: RenderWorker,
    results: ResultReader,
    settings: RenderSettings,
) -> None:
    # given a message sent raw (already encoded or not base64 at all)
    QueueClient.from_connection_string(storage_connection_string, settings.jobs_queue).send_message(raw)
    worker.run(once=True)
    # then it was moved byte for byte to <queue>-poison, and no result can exist for it
    poison = QueueClient.from_connection_string(storage_connection_string, settings.poison_queue)
    assert [m.content for m in poison.peek_messages(max_messages=32)] == [raw]
    assert queue_is_empty(storage_connection_string, settings.jobs_queue)
    assert results.drain() == []


def test_a_message_dequeued_more_than_five_times_is_poisoned_and_reported(
    products: dict[str, dict[str, Any]],
    storage_connection_string: str,
    worker: RenderWorker,
    send_job: Any,
    results: ResultReader,
    settings: RenderSettings,
) -> None:
    # given a job whose previous five deliveries all died without deleting it
    request = make_request(products["range-hood"], SAMPLE_CONFIGS["range-hood"])
    send_job(request)
    jobs = QueueClient.from_connection_string(storage_connection_string, settings.jobs_queue)
    for _ in range(5):
        message = jobs.receive_message(visibility_timeout=30)
        assert message is not None
        jobs.update_message(message.id, pop_receipt=message.pop_receipt, visibility_timeout=0)
    worker.run(once=True)
    assert statuses(results.drain()) == [("FAILED", 0)]
    assert results.results[0].error_code == "poisoned" and results.results[0].worker_attempt == 6
    poison = QueueClient.from_connection_string(storage_connection_string, settings.poison_queue)
    assert len(poison.peek_messages(max_messages=32)) == 1


def test_the_lease_keeps_a_slow_job_invisible_past_its_visibility_timeout(
    products: dict[str, dict[str, Any]],
    storage_connection_string: str,
    worker: RenderWorker,
    send_job: Any,
    results: ResultReader,
    settings: RenderSettings,
    output_container: str,
) -> None:
    # given a 2 s visibility timeout and a render padded to 4 s
    worker.settings.visibility_seconds = 2
    worker.settings.min_render_seconds = 4
    send_job(make_request(products["base-cabinet"], SAMPLE_CONFIGS["base-cabinet"], output_container=output_container))
    jobs = QueueClient.from_connection_string(storage_connection_string, settings.jobs_queue)
    stolen: list[object] = []
    finished = threading.Event()

    def competitor() -> None:
        # another consumer polling the same queue throughout the render, once the worker holds the message
        # (its first PROCESSING report is on the results queue), until the worker has finished
        deadline = time.monotonic() + 60  # guards against a hang only
        while not results.queue.peek_messages(max_messages=1) and not finished.is_set():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        while not finished.is_set():
            message = jobs.receive_message(visibility_timeout=1)
            if message is not None:
                stolen.append(message)
            time.sleep(0.1)

    thief = threading.Thread(target=competitor)
    thief.start()
    try:
        worker.run(once=True)
    finally:
        finished.set()
        thief.join()
    assert stolen == []
    reports = sorted(results.queue.receive_messages(max_messages=32), key=lambda m: m.inserted_on)
    parsed = [RenderResult.model_validate(trace_context.split_traceparent(json.loads(m.content))[0]) for m in reports]
    assert parsed[0].status is RenderStatus.PROCESSING and parsed[-1].status is RenderStatus.COMPLETED
    # the storage service's own stamps: the job was held from its first report to its last for longer than the
    # 2 s visibility timeout (the lease kept extending it); second precision, so 3 s is the least 4 s can read
    assert (reports[-1].inserted_on - reports[0].inserted_on).total_seconds() >= 3
    assert queue_is_empty(storage_connection_string, settings.jobs_queue)


def test_a_result_names_the_job_its_tenant_and_the_job_attempt_it_reports_on(
    products: dict[str, dict[str, Any]], worker: RenderWorker, send_job: Any, results: ResultReader
) -> None:
    # the app's third attempt at the job: every report echoes it (the worker's own delivery count is apart)
    request = make_request(products["range-hood"], SAMPLE_CONFIGS["range-hood"], job_id=uuid.uuid4(), attempt=3)
    send_job(request)
    worker.run(once=True)
    reports = results.drain()
    assert {(r.job_id, r.tenant_id, r.attempt) for r in reports} == {(request.job_id, request.tenant_id, 3)}
    assert {r.worker_attempt for r in reports} == {1}
