"""`python -m devhost` with its own embedded services: serves, and leaves no process behind when stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from blueprints.identity.demo import DEMO_PASSWORD, DEMO_PEOPLE
from devhost.services import ROOT, free_port


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline[:160]}")
    return found


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_devhost_starts_its_services_and_stops_every_child(
    tmp_path: Path, shared_tmp: Path, stop_signal: signal.Signals
) -> None:
    # given a dev host that must start its own PostgreSQL and Azurite (in shared_tmp: PostgreSQL runs unprivileged)
    data_dir = shared_tmp / "data"
    port = free_port()
    ours = ("DATABASE_URL", "DATABASE_MIGRATION_URL", "AzureWebJobsStorage")
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(DEVHOST_MASTER_KEY="k", PYTHONPATH=str(ROOT))
    log = tmp_path / "host.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
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
                "--seed",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        ready = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/api/ready", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert ready is not None, log.read_text()
        # then it answers with a real database and storage behind it
        assert ready.status_code == 200, ready.text
        assert _processes_mentioning(str(data_dir)), "expected PostgreSQL and Azurite under the data dir"
        assert "Try it:" in log.read_text()
        # and the demo people it printed can sign in with what it printed
        email, password = DEMO_PEOPLE[0][2], DEMO_PASSWORD
        assert email in log.read_text() and password in log.read_text()
        login = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
    finally:
        # when it is stopped the way Ctrl-C or a service manager stops it
        process.send_signal(stop_signal)
        process.wait(timeout=60)
    # then nothing it started is left running
    time.sleep(0.5)
    assert _processes_mentioning(str(data_dir)) == []
    assert process.returncode == 0, log.read_text()
