"""Helpers shared by the render worker tests and benchmarks/bench_render.py: Azurite, queues, validator."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from render_container import trace_context
from render_container.contract import RenderRequest, RenderResult, RenderStatus

ROOT = Path(__file__).resolve().parents[2]
AZURITE = ROOT / "node_modules" / ".bin" / "azurite"
VALIDATOR_SCRIPT = Path(__file__).with_name("validate_gltf.cjs")
DEV_ACCOUNT = "devstoreaccount1"
# Azurite's published development key, not a secret.
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Azurite:
    """An in-memory Azurite on free loopback ports."""

    process: subprocess.Popen[bytes]
    blob_port: int
    queue_port: int

    @property
    def connection_string(self) -> str:
        """Connection string for the Python storage SDKs."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.blob_port}/{DEV_ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{DEV_ACCOUNT};"
        )

    def stop(self) -> None:
        """Stop Azurite; it keeps nothing (in-memory) and SIGTERM waits for idle keep-alive connections."""
        self.process.kill()
        self.process.wait()


def start_azurite(workdir: Path) -> Azurite:
    """Start Azurite (blob and queue only) and wait until both ports accept connections."""
    blob_port, queue_port, table_port = _free_port(), _free_port(), _free_port()
    command = [str(AZURITE), "--silent", "--inMemoryPersistence", "--skipApiVersionCheck", "--loose"]
    command += ["--blobHost", "127.0.0.1", "--blobPort", str(blob_port)]
    command += ["--queueHost", "127.0.0.1", "--queuePort", str(queue_port)]
    command += ["--tableHost", "127.0.0.1", "--tablePort", str(table_port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    azurite = Azurite(process, blob_port, queue_port)
    deadline = time.monotonic() + 30
    for port in (blob_port, queue_port):
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    azurite.stop()
                    raise RuntimeError("Azurite did not start") from None
                time.sleep(0.1)
    return azurite


def unique_name(prefix: str) -> str:
    """A queue or container name nobody else uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def job_sender(connection_string: str, queue_name: str) -> QueueClient:
    """A client that sends jobs the way the function app does (base64 JSON)."""
    return QueueClient.from_connection_string(
        connection_string, queue_name, message_encode_policy=TextBase64EncodePolicy()
    )


def make_request(product_blob: dict[str, Any], config: dict[str, Any], **overrides: Any) -> RenderRequest:
    """A render request for a product descriptor from upload_templates()."""
    job_id = uuid.uuid4()
    fields: dict[str, Any] = {
        "job_id": job_id,
        "tenant_id": uuid.uuid4(),
        "product_id": uuid.uuid4(),
        "template_container": product_blob["template_container"],
        "template_blob_path": product_blob["template_blob_path"],
        "template_version": product_blob["template_version"],
        "config": config,
        "output_container": "renders",
        "output_blob_path": f"renders/{job_id}.glb",
    }
    return RenderRequest(**(fields | overrides))


class ResultReader:
    """Drains a results queue and keeps everything it has read, in arrival order."""

    def __init__(self, connection_string: str, queue_name: str) -> None:
        self.queue = QueueClient.from_connection_string(
            connection_string, queue_name, message_decode_policy=TextBase64DecodePolicy()
        )
        self.results: list[RenderResult] = []

    def drain(self) -> list[RenderResult]:
        """Read (and delete) every visible result; returns all results read so far."""
        while True:
            batch = list(self.queue.receive_messages(messages_per_page=32, max_messages=32, visibility_timeout=30))
            if not batch:
                return self.results
            for message in batch:
                # a traceparent rides along once a tracer provider is set (test_trace_across_hops sets the
                # process's global one, so later tests in the same process see it too)
                fields, _ = trace_context.split_traceparent(json.loads(message.content))
                self.results.append(RenderResult.model_validate(fields))
                self.queue.delete_message(message)

    def wait_for(self, predicate: Callable[[RenderResult], bool], timeout: float = 60) -> RenderResult:
        """Poll until a result matching the predicate has arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for result in self.drain():
                if predicate(result):
                    return result
            time.sleep(0.05)
        raise TimeoutError(f"no matching result within {timeout}s; got {self.results}")

    def terminal(self) -> list[RenderResult]:
        """The terminal results read so far."""
        return [r for r in self.results if r.status is not RenderStatus.PROCESSING]


def validate_glb(*paths: Path) -> dict[str, Any]:
    """Run the Khronos glTF Validator on GLB files; returns {path: report summary}."""
    completed = subprocess.run(
        ["node", str(VALIDATOR_SCRIPT), *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def worker_process(env_overrides: dict[str, str], *args: str, log_path: Path) -> subprocess.Popen[bytes]:
    """Start `python -m render_container` with the given settings; stderr (JSON logs) goes to log_path."""
    env = os.environ | {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"} | env_overrides
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "render_container", *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def wait_until_ready(log_path: Path, count: int = 1, timeout: float = 60) -> None:
    """Wait until `count` workers logging to log_path have said they are ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_path.exists() and log_path.read_text(errors="replace").count("render worker ready") >= count:
            return
        time.sleep(0.05)
    raise TimeoutError(f"worker not ready: {log_path.read_text(errors='replace')[-2000:]}")


def blob_bytes(blobs: BlobServiceClient, container: str, name: str) -> bytes:
    """Download a whole blob."""
    return blobs.get_blob_client(container, name).download_blob().readall()
