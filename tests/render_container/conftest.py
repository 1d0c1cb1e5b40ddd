"""Fixtures for the render worker tests: real Azurite, real bpy, the sample templates uploaded once."""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

from render_container.settings import RenderSettings
from render_container.templates.upload import ensure_built, upload_templates
from render_container.worker import RenderWorker
from tests.render_container.support import ResultReader, job_sender, start_azurite, unique_name


@pytest.fixture(scope="session")
def storage_connection_string(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The platform's Azurite when tests/conftest.py started one, else our own for this session."""
    existing = os.environ.get("AzureWebJobsStorage")
    if existing:
        yield existing
        return
    azurite = start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield azurite.connection_string
    finally:
        azurite.stop()


@pytest.fixture(scope="session")
def blob_service(storage_connection_string: str) -> BlobServiceClient:
    """Blob client on the test storage account."""
    return BlobServiceClient.from_connection_string(storage_connection_string)


@pytest.fixture(scope="session")
def template_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three sample templates, built once per session by `python -m render_container.templates.build`."""
    directory = tmp_path_factory.mktemp("templates")
    ensure_built(directory)
    return directory


@pytest.fixture(scope="session")
def products(blob_service: BlobServiceClient, template_build_dir: Path) -> dict[str, dict[str, Any]]:
    """Product descriptors of the sample templates, uploaded to a container of this session."""
    descriptors = upload_templates(blob_service, container=unique_name("templates"), build_dir=template_build_dir)
    return {descriptor["slug"]: descriptor for descriptor in descriptors}


@pytest.fixture
def settings(storage_connection_string: str, tmp_path: Path) -> RenderSettings:
    """Worker settings with queues and containers of this test only."""
    return RenderSettings(
        storage_connection_string=storage_connection_string,
        jobs_queue=unique_name("jobs"),
        results_queue=unique_name("results"),
        control_container=unique_name("control"),
        template_cache_dir=tmp_path / "template-cache",
        visibility_seconds=30,
    )


@pytest.fixture
def output_container(blob_service: BlobServiceClient) -> str:
    """A fresh container for rendered GLBs."""
    name = unique_name("renders")
    try:
        blob_service.create_container(name)
    except ResourceExistsError:
        pass
    return name


@pytest.fixture
def worker(settings: RenderSettings) -> RenderWorker:
    """An in-process worker with its queues created."""
    render_worker = RenderWorker(settings)
    render_worker.prepare()
    return render_worker


@pytest.fixture
def results(storage_connection_string: str, settings: RenderSettings) -> ResultReader:
    """Reader of this test's results queue."""
    return ResultReader(storage_connection_string, settings.results_queue)


@pytest.fixture
def send_job(storage_connection_string: str, settings: RenderSettings, worker: RenderWorker) -> Any:
    """Send a RenderRequest (or raw text) to this test's jobs queue, base64-encoded like the function app."""
    sender = job_sender(storage_connection_string, settings.jobs_queue)

    def send(request: Any) -> None:
        sender.send_message(request if isinstance(request, str) else request.model_dump_json())

    return send


_session_exit_status = {"code": 0}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remember the run's exit status for the hard exit below."""
    _session_exit_status["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Once every other plugin has cleaned up, leave without bpy's C++ destructors (they can hang in 4.5)."""
    if "bpy" in sys.modules:
        from render_container.blender import hard_exit

        atexit.register(hard_exit, _session_exit_status["code"])
