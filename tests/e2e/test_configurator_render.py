"""Configurator end to end: HTTP through the dev host serving the real function app, and the real Blender
worker (`python -m render_container`) on the same storage account, so a job posted over HTTP ends with a
GLB that downloads through its read URL.

The module runs on an Azurite of its own: the app's queues (render-jobs, render-results) then belong to
this module alone, whatever else the test run is doing. Where a test needs the worker to fail on purpose
(the 1/2/4 s retry schedule), the test itself plays the worker for those attempts: it takes the
RenderRequest from render-jobs and posts the RenderResult a failing worker would post, exactly as the
contract in render_container/contract.py describes; the real worker then renders the last attempt.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from render_container.contract import JOBS_QUEUE, RESULTS_QUEUE, RenderRequest, RenderResult, RenderStatus
from render_container.templates.products import BASE_CABINET, PRODUCTS
from tests.builders import Account, register
from tests.conftest import ROOT, Database, RunningHost, start_host

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED"}


@dataclass
class Stack:
    """The dev host, its private Azurite and the sample templates uploaded to it."""

    host: RunningHost
    connection_string: str
    descriptors: dict[str, dict[str, Any]]
    work_dir: Path

    def queue(self, name: str) -> QueueClient:
        """A queue client that speaks base64 JSON like the Functions host."""
        return QueueClient.from_connection_string(
            self.connection_string,
            name,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )

    def blob_exists(self, container: str, path: str) -> bool:
        """Whether a blob is there."""
        service = BlobServiceClient.from_connection_string(self.connection_string)
        return bool(service.get_blob_client(container, path).exists())


@pytest.fixture(scope="module")
def stack(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from devhost.services import free_azurite
    from render_container.templates.upload import upload_templates

    azurite = free_azurite().start()
    host = None
    try:
        blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
        descriptors = {d["slug"]: d for d in upload_templates(blobs)}
        host = start_host("function_app:app", env={"AzureWebJobsStorage": azurite.connection_string})
        yield Stack(
            host=host,
            connection_string=azurite.connection_string,
            descriptors=descriptors,
            work_dir=tmp_path_factory.mktemp("configurator-e2e"),
        )
    finally:
        if host is not None:
            host.stop()
        azurite.stop()


@contextlib.contextmanager
def render_worker(stack: Stack, *args: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m render_container` on the stack's storage, ready when it has imported bpy; SIGTERM after."""
    log_path = stack.work_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
    full_env = dict(
        os.environ,
        AzureWebJobsStorage=stack.connection_string,
        PYTHONPATH=str(ROOT),
        TEMPLATE_CACHE_DIR=str(stack.work_dir / "template-cache"),
        **(env or {}),
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "render_container", "--poll-interval", "0.1", *args],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "render worker ready" not in log_path.read_text(errors="replace"):
            assert process.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "render worker did not start"
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def client(stack: Stack) -> Iterator[httpx.Client]:
    with stack.host.client() as http:
        yield http


@pytest.fixture(scope="module")
def owner(client: httpx.Client) -> Account:
    return register(client, tenant_name="MSS Cabinets")


def _product(client: httpx.Client, account: Account, descriptor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "name": f"{descriptor['name']} {uuid.uuid4().hex[:6]}",
        "description": descriptor["description"],
        "config_schema": descriptor["config_schema"],
        "template_blob_path": descriptor["template_blob_path"],
        "template_version": descriptor["template_version"],
    } | fields
    response = client.post("/api/v1/configurator/products", headers=account.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def products(client: httpx.Client, owner: Account, stack: Stack) -> dict[str, dict[str, Any]]:
    return {slug: _product(client, owner, descriptor) for slug, descriptor in stack.descriptors.items()}


def _configure(client: httpx.Client, account: Account, product: dict[str, Any], **options: Any) -> dict[str, Any]:
    defaults = next(p for p in PRODUCTS if product["name"].startswith(p.name)).default_config()
    response = client.post(
        "/api/v1/configurator/configurations",
        headers=account.headers,
        json={"product_id": product["id"], "name": "Showroom", "config_data": defaults | options},
    )
    assert response.status_code == 201, response.text
    return response.json()


def _start(client: httpx.Client, account: Account, configuration: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/api/v1/configurator/jobs", headers=account.headers, json={"configuration_id": configuration["id"]}
    )
    assert response.status_code == 202, response.text
    return response.json()


def _job(client: httpx.Client, account: Account, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/configurator/jobs/{job_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _wait(client: httpx.Client, account: Account, job_id: str, statuses: set[str], timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = _job(client, account, job_id)
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job stuck in {job}"
        time.sleep(0.1)


def _wait_for(client: httpx.Client, account: Account, job_id: str, check: Any, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while not check(job := _job(client, account, job_id)):
        assert time.monotonic() < deadline, f"job never got there: {job}"
        time.sleep(0.1)
    return job


def _output_path(owner: Account, product: dict[str, Any], configuration: dict[str, Any]) -> str:
    return (
        f"tenants/{owner.tenant_id}/products/{product['id']}/{product['template_version']}/"
        f"{configuration['config_hash']}.glb"
    )


def test_invalid_configurations_answer_422_with_every_path(
    client: httpx.Client, owner: Account, products: dict[str, dict[str, Any]]
) -> None:
    # given the base cabinet's schema (width 300-1200 mm, 1-4 doors, three finishes, no other options)
    body = {
        "product_id": products["base-cabinet"]["id"],
        "name": "Wrong",
        "config_data": BASE_CABINET.default_config()
        | {"width": 5000, "door_count": "four", "finish": "teak", "glass_doors": True},
    }
    # when it is saved
    response = client.post("/api/v1/configurator/configurations", headers=owner.headers, json=body)
    # then one 422 names every violation by its JSON path
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert [(e["path"], e["type"]) for e in errors] == [
        ("$.door_count", "schema.type"),
        ("$.finish", "schema.enum"),
        ("$.glass_doors", "schema.unknown_option"),
        ("$.width", "schema.maximum"),
    ]


def test_cancelled_before_processing_is_never_rendered(
    stack: Stack, client: httpx.Client, owner: Account, products: dict[str, dict[str, Any]]
) -> None:
    # given a queued job and no worker running
    product = products["range-hood"]
    configuration = _configure(client, owner, product, width=1234)
    job = _wait(client, owner, _start(client, owner, configuration)["id"], {"QUEUED"}, timeout=10)
    # when it is cancelled, then a worker drains the queue
    cancelled = client.post(f"/api/v1/configurator/jobs/{job['id']}/cancel", headers=owner.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    with render_worker(stack, "--once") as worker:
        worker.wait(timeout=120)
    _wait_until_drained(stack.queue(RESULTS_QUEUE))  # the worker's report was handled (and deleted) by the host
    # then nothing was rendered and the job stays cancelled
    assert not stack.blob_exists("renders", _output_path(owner, product, configuration))
    final = _job(client, owner, job["id"])
    assert (final["status"], final["glb_url"]) == ("CANCELLED", None)


def test_recoverable_failures_retry_after_1_2_4_seconds_then_render(
    stack: Stack, client: httpx.Client, owner: Account, products: dict[str, dict[str, Any]]
) -> None:
    product = products["base-cabinet"]
    configuration = _configure(client, owner, product, width=611)
    job = _start(client, owner, configuration)
    jobs_queue, results = stack.queue(JOBS_QUEUE), stack.queue(RESULTS_QUEUE)
    delays: list[float] = []
    # the test plays a worker whose first three attempts hit a recoverable Blender error
    for attempt in (1, 2, 3):
        request, message = _take_request(jobs_queue, job["id"])
        assert request.attempt == attempt
        results.send_message(
            RenderResult(
                job_id=request.job_id,
                tenant_id=request.tenant_id,
                status=RenderStatus.FAILED,
                progress=0,
                error_code="render_error",
                error_message="Blender crashed",
                recoverable=True,
                worker_attempt=1,
                attempt=request.attempt,
            ).model_dump_json()
        )
        jobs_queue.delete_message(message)
        # the job records when it failed (updated_at) and when the next attempt is due (retry_at)
        waiting = _wait_for(client, owner, job["id"], lambda j, n=attempt: j["retry_count"] == n)
        assert waiting["status"] in ("PENDING", "QUEUED") and waiting["error_code"] == "render_error"
        delays.append((_instant(waiting["retry_at"]) - _instant(waiting["updated_at"])).total_seconds())
    # the backoff doubles from RENDER_RETRY_BASE_SECONDS (1 s): 1, 2, 4
    assert [round(d) for d in delays] == [1, 2, 4], delays
    # the fourth attempt goes to the real worker and renders
    with render_worker(stack):
        done = _wait(client, owner, job["id"], TERMINAL)
    assert (done["status"], done["retry_count"], done["cached"], done["error_code"]) == ("COMPLETED", 3, False, None)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _take_request(queue: QueueClient, job_id: str, timeout: float = 15) -> tuple[RenderRequest, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in queue.receive_messages(max_messages=32, visibility_timeout=60):
            request = RenderRequest.model_validate_json(message.content)
            if str(request.job_id) == job_id:
                return request, message
            queue.update_message(message, visibility_timeout=0)  # not ours: give it back
        time.sleep(0.05)
    raise AssertionError(f"no render request for {job_id}")


def test_jobs_render_to_a_downloadable_glb_and_a_second_one_is_a_cache_hit(
    stack: Stack, client: httpx.Client, owner: Account, products: dict[str, dict[str, Any]]
) -> None:
    with render_worker(stack):
        # given every sample product configured, when each is rendered by the real worker
        for slug, product in products.items():
            configuration = _configure(client, owner, product)
            done = _wait(client, owner, _start(client, owner, configuration)["id"], TERMINAL)
            # then it completes with a GLB behind a short-lived read URL
            assert (done["status"], done["progress"], done["cached"]) == ("COMPLETED", 100, False), (slug, done)
            glb = httpx.get(done["glb_url"], timeout=30)
            assert glb.status_code == 200 and glb.content[:4] == b"glTF", slug
            assert "sp=r" in done["glb_url"] and done["glb_url_expires_at"]
    # when the same options are saved again and rendered, with no worker running
    again = _configure(client, owner, products["base-cabinet"])
    job = _start(client, owner, again)
    # then the POST itself answers COMPLETED from the cache, without rendering
    assert (job["status"], job["cached"], job["progress"]) == ("COMPLETED", True, 100)
    assert httpx.get(job["glb_url"], timeout=30).content[:4] == b"glTF"  # how fast: bench_configurator.py


def test_a_permanent_failure_fails_at_once(stack: Stack, client: httpx.Client, owner: Account) -> None:
    # given a product whose template was never uploaded
    descriptor = stack.descriptors["fireplace-cover"] | {"template_blob_path": "products/missing/9.9.9.blend"}
    product = _product(client, owner, descriptor, template_version="9.9.9")
    configuration = _configure(client, owner, product)
    # when the real worker takes the job
    with render_worker(stack):
        done = _wait(client, owner, _start(client, owner, configuration)["id"], TERMINAL)
    # then it fails without a single retry
    assert (done["status"], done["error_code"], done["retry_count"]) == ("FAILED", "template_missing", 0)
    assert done["glb_url"] is None


def test_cancelled_while_processing_ends_cancelled_and_its_output_is_discarded(
    stack: Stack, client: httpx.Client, owner: Account, products: dict[str, dict[str, Any]]
) -> None:
    product = products["fireplace-cover"]
    configuration = _configure(client, owner, product, width=1777)
    # given a worker that takes a few seconds per job (RENDER_MIN_SECONDS pads the render)
    with render_worker(stack, env={"RENDER_MIN_SECONDS": "4"}):
        job = _start(client, owner, configuration)
        _wait(client, owner, job["id"], {"PROCESSING"}, timeout=60)
        # when the job is cancelled mid-render
        cancelled = client.post(f"/api/v1/configurator/jobs/{job['id']}/cancel", headers=owner.headers)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
        _wait_until_drained(stack.queue(JOBS_QUEUE))
    _wait_until_drained(stack.queue(RESULTS_QUEUE))  # the stopped worker's late reports were handled
    # then it stays cancelled, shows no GLB and none was kept
    final = _job(client, owner, job["id"])
    assert (final["status"], final["glb_url"]) == ("CANCELLED", None)
    assert not stack.blob_exists("renders", _output_path(owner, product, configuration))


def _wait_until_drained(queue: QueueClient, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while queue.get_queue_properties().approximate_message_count:
        assert time.monotonic() < deadline, "render-jobs never drained"
        time.sleep(0.2)


def test_another_tenant_cannot_read_the_job_or_its_glb(
    stack: Stack, client: httpx.Client, owner: Account, products: dict[str, dict[str, Any]]
) -> None:
    # given a completed job of ours (served from the cache of the render test, or rendered now)
    product = products["base-cabinet"]
    configuration = _configure(client, owner, product)
    with render_worker(stack):
        done = _wait(client, owner, _start(client, owner, configuration)["id"], TERMINAL)
    assert done["status"] == "COMPLETED"
    stranger = register(client, tenant_name="Someone Else's Cabinets")
    # then another business gets 404 for the job and cannot cancel it
    assert client.get(f"/api/v1/configurator/jobs/{done['id']}", headers=stranger.headers).status_code == 404
    assert client.post(f"/api/v1/configurator/jobs/{done['id']}/cancel", headers=stranger.headers).status_code == 404
    # and the GLB is unreadable without the owner's signed URL
    bare = done["glb_url"].split("?", 1)[0]
    assert httpx.get(bare, timeout=30).status_code in (401, 403, 404)
    # and the same options in their own product are rendered again, into a file under their tenant, not ours
    theirs = _product(client, stranger, stack.descriptors["base-cabinet"])
    their_configuration = _configure(client, stranger, theirs)
    their_job = _start(client, stranger, their_configuration)
    assert their_job["cached"] is False and their_job["status"] in ("PENDING", "QUEUED")
    with render_worker(stack):
        their_done = _wait(client, stranger, their_job["id"], TERMINAL)
    assert their_done["status"] == "COMPLETED" and their_done["cached"] is False
    ours, their_blob = _blob_of(done["glb_url"]), _blob_of(their_done["glb_url"])
    assert ours == ("renders", _output_path(owner, product, configuration))
    assert their_blob == ("renders", _output_path(stranger, theirs, their_configuration))
    assert their_blob[1].startswith(f"tenants/{stranger.tenant_id}/") and their_blob != ours
    assert their_configuration["config_hash"] == configuration["config_hash"]  # same options, other file
    assert stack.blob_exists(*their_blob) and stack.blob_exists(*ours)
    # and each business's read URL opens its own file only
    assert httpx.get(their_done["glb_url"], timeout=30).content[:4] == b"glTF"
    assert "/".join(their_blob) not in done["glb_url"]


def _blob_of(url: str) -> tuple[str, str]:
    """(container, blob path) a SAS URL points at (Azurite's path style: /account/container/blob)."""
    from urllib.parse import unquote, urlsplit

    _, _account, container, path = unquote(urlsplit(url).path).split("/", 3)
    return container, path


def test_a_malformed_result_goes_straight_to_the_poison_queue(stack: Stack) -> None:
    # given a report that is not a RenderResult
    poison = stack.queue(f"{RESULTS_QUEUE}-poison")
    with contextlib.suppress(Exception):
        poison.create_queue()
    marker = f"not a render result {uuid.uuid4().hex}"
    stack.queue(RESULTS_QUEUE).send_message(marker)
    # then it reaches the poison queue (the deadline only guards against a hang)
    deadline = time.monotonic() + 60
    while not any(m.content == marker for m in poison.peek_messages(max_messages=32)):
        assert time.monotonic() < deadline, "the malformed report never reached render-results-poison"
        time.sleep(0.2)
    # moved there by the results trigger on its first delivery, not by the host after failed tries
    log = stack.host.log_path.read_text(errors="replace")
    assert "malformed render-results message moved to poison" in log
    assert "configurator_render_results failed on message" not in log
    assert f"moved to {RESULTS_QUEUE}-poison" not in log
