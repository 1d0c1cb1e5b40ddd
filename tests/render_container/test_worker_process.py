"""`python -m render_container` as real processes: killed mid-job, and two workers sharing one queue."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from render_container.contract import RenderStatus
from render_container.settings import RenderSettings
from tests.render_container.glb import glb_size
from tests.render_container.support import (
    ResultReader,
    blob_bytes,
    make_request,
    validate_glb,
    wait_until_ready,
    worker_process,
)

CABINET = {
    "width": 1200,
    "height": 900,
    "depth": 600,
    "door_count": 4,
    "door_style": "shaker",
    "finish": "graphite",
    "hardware": "bar",
}


def worker_env(settings: RenderSettings, **extra: str) -> dict[str, str]:
    """Environment variables naming this test's queues, as the container would receive them."""
    return {
        "AzureWebJobsStorage": settings.storage_connection_string or "",
        "RENDER_JOBS_QUEUE": settings.jobs_queue,
        "RENDER_RESULTS_QUEUE": settings.results_queue,
        "RENDER_CONTROL_CONTAINER": settings.control_container,
        "TEMPLATE_CACHE_DIR": str(settings.template_cache_dir),
        **extra,
    }


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (finish the current job, then exit) and wait."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_a_worker_killed_mid_job_leaves_no_blob_and_the_job_completes_exactly_once_after_restart(
    products: dict[str, dict[str, Any]],
    worker: Any,
    send_job: Any,
    results: ResultReader,
    settings: RenderSettings,
    output_container: str,
    blob_service: BlobServiceClient,
    tmp_path: Path,
) -> None:
    # given a worker with a 2 s lease, slowed so that it is still busy when killed
    request = make_request(products["base-cabinet"], CABINET, output_container=output_container)
    send_job(request)
    log = tmp_path / "worker.log"
    env = worker_env(settings, RENDER_VISIBILITY_SECONDS="2")
    first = worker_process(env | {"RENDER_MIN_SECONDS": "30"}, "--poll-interval", "0.2", log_path=log)
    try:
        results.wait_for(lambda r: r.status is RenderStatus.PROCESSING and r.progress == 90, timeout=60)
        # when it is killed between export and upload
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    output = blob_service.get_blob_client(output_container, request.output_blob_path)
    assert not output.exists()
    # and a new worker starts; the message reappears once the dead worker's lease runs out
    second = worker_process(env, "--max-jobs", "1", "--poll-interval", "0.2", log_path=log)
    assert second.wait(timeout=60) == 0, log.read_text()[-3000:]
    # then the job completed once, on the second delivery, and the blob is a whole valid GLB
    results.drain()
    completed = [r for r in results.results if r.status is RenderStatus.COMPLETED]
    assert len(completed) == 1 and results.terminal() == completed
    assert completed[0].worker_attempt == 2 and completed[0].cached is False
    assert completed[0].attempt == 1  # the same job attempt, delivered to a second worker
    glb = tmp_path / "render.glb"
    glb.write_bytes(blob_bytes(blob_service, output_container, request.output_blob_path))
    assert validate_glb(glb)[str(glb)]["numErrors"] == 0
    assert glb_size(glb.read_bytes()) == pytest.approx((1.2, 0.9, 0.6), abs=0.001)
    jobs = QueueClient.from_connection_string(settings.storage_connection_string or "", settings.jobs_queue)
    assert jobs.get_queue_properties().approximate_message_count == 0


def test_a_render_longer_than_the_visibility_timeout_is_not_picked_up_by_a_second_worker(
    products: dict[str, dict[str, Any]],
    worker: Any,
    send_job: Any,
    results: ResultReader,
    settings: RenderSettings,
    output_container: str,
    tmp_path: Path,
) -> None:
    # given two workers on one queue, a 2 s visibility timeout and renders padded to 4 s
    log = tmp_path / "workers.log"
    env = worker_env(settings, RENDER_VISIBILITY_SECONDS="2", RENDER_MIN_SECONDS="4")
    workers = [worker_process(env, "--poll-interval", "0.2", log_path=log) for _ in range(2)]
    try:
        wait_until_ready(log, count=2)
        # when one job arrives
        hood = {"width": 600, "height": 400, "depth": 400, "style": "slim", "finish": "white"}
        send_job(make_request(products["range-hood"], hood, output_container=output_container))
        results.wait_for(lambda r: r.status is RenderStatus.COMPLETED, timeout=60)
        # then neither worker took it a second time, even after more than a visibility timeout
        time.sleep(3)
        results.drain()
    finally:
        for process in workers:
            stop(process)
    assert [(r.status, r.progress) for r in results.results] == [
        (RenderStatus.PROCESSING, 10),
        (RenderStatus.PROCESSING, 60),
        (RenderStatus.PROCESSING, 90),
        (RenderStatus.COMPLETED, 100),
    ]
    assert {r.worker_attempt for r in results.results} == {1}
    assert all(process.returncode == 0 for process in workers)


def test_once_drains_the_queue_and_exits_like_a_container_apps_job_execution(
    products: dict[str, dict[str, Any]],
    worker: Any,
    send_job: Any,
    results: ResultReader,
    settings: RenderSettings,
    output_container: str,
    tmp_path: Path,
) -> None:
    # given two jobs waiting
    hood = {"width": 1500, "height": 1500, "depth": 700, "style": "pyramid", "finish": "stainless"}
    for _ in range(2):
        send_job(make_request(products["range-hood"], hood, output_container=output_container))
    # when a worker runs with --once
    process = worker_process(worker_env(settings), "--once", log_path=tmp_path / "worker.log")
    # then it renders both and exits 0 on its own
    assert process.wait(timeout=60) == 0
    assert [r.status for r in results.drain() if r.is_terminal] == [RenderStatus.COMPLETED] * 2


def test_a_worker_without_storage_settings_exits_with_an_error(tmp_path: Path) -> None:
    env = {"AzureWebJobsStorage": "", "AzureWebJobsStorage__accountName": ""}
    process = worker_process(env, "--once", log_path=tmp_path / "worker.log")
    assert process.wait(timeout=60) == 1
    assert "AzureWebJobsStorage" in (tmp_path / "worker.log").read_text()
