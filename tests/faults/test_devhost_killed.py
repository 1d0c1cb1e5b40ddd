"""The dev host is killed with SIGKILL and started again on the same data folder: the new one adopts the
PostgreSQL and Azurite the dead one left running, serves with them, and stops them when it stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from devhost.services import ROOT, free_port
from tests.e2e.test_devhost_lifecycle import _processes_mentioning


def _devhost(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    ours = ("DATABASE_URL", "DATABASE_MIGRATION_URL", "AzureWebJobsStorage")
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(DEVHOST_MASTER_KEY="k", PYTHONPATH=str(ROOT))
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devhost",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--settings",
                os.devnull,
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _ready(process: subprocess.Popen[bytes], port: int, log: Path) -> httpx.Response:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/ready", timeout=5)
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"the dev host did not answer:\n{log.read_text()[-3000:]}")


def test_a_restarted_devhost_adopts_the_services_a_killed_one_left_and_stops_them(tmp_path: Path) -> None:
    # given a dev host running its own PostgreSQL and Azurite (under /tmp: PostgreSQL runs unprivileged)
    data_dir = Path(tempfile.mkdtemp(prefix="devhost-killed-")) / "data"
    data_dir.parent.chmod(0o755)
    log = tmp_path / "host.log"
    port = free_port()
    first = _devhost(data_dir, port, log)
    second = None
    try:
        assert _ready(first, port, log).status_code == 200, log.read_text()[-3000:]
        # when it is killed outright, its services live on
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert _processes_mentioning(str(data_dir)), "PostgreSQL and Azurite should outlive a SIGKILL"
        # then a new host on the same folder serves with them, saying it adopted both
        second = _devhost(data_dir, port, log)
        ready = _ready(second, port, log)
        assert ready.status_code == 200, ready.text
        text = log.read_text()
        assert "adopted the PostgreSQL" in text and "adopted the Azurite" in text, text[-3000:]
    finally:
        for process in (second, first):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    # and stopping it stops what it adopted
    time.sleep(0.5)
    assert _processes_mentioning(str(data_dir)) == []
