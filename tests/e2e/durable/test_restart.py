"""An orchestration in flight survives dev host restarts: it resumes from its history, no completed step twice."""

from __future__ import annotations

import signal
import time
import uuid
from typing import Any

import httpx

from tests.conftest import RunningHost
from tests.e2e.durable.conftest import side_effects, start, start_durable_host, wait_for


def wait_custom_status(host: RunningHost, status_url: str, expected: Any, timeout: float = 20) -> None:
    """Poll (through this host) until the orchestration's custom status is `expected`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(status_url, timeout=5).json()["customStatus"] == expected:
            return
        time.sleep(0.03)
    raise AssertionError(f"custom status never became {expected!r}:\n{host.log_tail()}")


def on(host: RunningHost, url: str) -> str:
    """The same management URL served by another host (another port)."""
    return host.base_url + url[url.index("/runtime/") :]


def kill(host: RunningHost, sig: signal.Signals) -> None:
    """Stop a dev host with a signal and wait until it is gone."""
    host.process.send_signal(sig)
    host.process.wait(timeout=20)


def test_orchestration_resumes_after_restarts_without_repeating_completed_work(durable_database: str) -> None:
    run = uuid.uuid4().hex
    job = {"run": run, "steps": 3, "seconds": 1.0, "pause": 1.5}
    first = start_durable_host(durable_database)
    try:
        links = start(first, "steps", job).json()
        # given: step 0 is done and the durable timer is pending when the host stops gracefully
        wait_custom_status(first, links["statusQueryGetUri"], "pausing")
        kill(first, signal.SIGTERM)
    finally:
        first.stop()
    assert side_effects("step", run) == {f"{run}:0": 1}

    second = start_durable_host(durable_database)
    try:
        # when: the next host resumes the timer, then dies hard while step 1's activity runs
        wait_custom_status(second, on(second, links["statusQueryGetUri"]), {"step": 1})
        kill(second, signal.SIGKILL)
    finally:
        second.stop()
    assert side_effects("step", run) == {f"{run}:0": 1}

    third = start_durable_host(durable_database)
    try:
        status = wait_for(on(third, links["statusQueryGetUri"]), timeout=30)
    finally:
        third.stop()
    # then: it finishes with every step's result, and each step's side effect happened exactly once
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == ["step 0", "step 1", "step 2"]
    assert side_effects("step", run) == {f"{run}:{n}": 1 for n in range(3)}


def test_a_second_host_leaves_a_live_hosts_orchestrations_alone(durable_database: str) -> None:
    run = uuid.uuid4().hex
    first = start_durable_host(durable_database)
    second = None
    try:
        # step 0 outlasts the second host's start-up (about 2 s)
        links = start(first, "steps", {"run": run, "steps": 1, "seconds": 4.0, "pause": 0.1}).json()
        wait_custom_status(first, links["statusQueryGetUri"], {"step": 0})
        # when: another host of the same app starts on the same database while step 0 runs on the first
        second = start_durable_host(durable_database)
        status = wait_for(links["statusQueryGetUri"], timeout=30)
    finally:
        first.stop()
        if second is not None:
            second.stop()
    # then: the first host finished it, and the second did not run its pending step again
    assert status["output"] == ["step 0"]
    assert side_effects("step", run) == {f"{run}:0": 1}


def test_a_running_host_takes_over_what_a_killed_host_left_without_restarting(durable_database: str) -> None:
    run = uuid.uuid4().hex
    # given two hosts of the same app on one database, each looking for orphaned orchestrations every second
    first = start_durable_host(durable_database, DEVHOST_DURABLE_ADOPT_SECONDS="1")
    second = None
    try:
        second = start_durable_host(durable_database, DEVHOST_DURABLE_ADOPT_SECONDS="1")
        links = start(first, "steps", {"run": run, "steps": 2, "seconds": 2.0, "pause": 0.1}).json()
        # when the first dies hard while step 1's activity runs on it
        wait_custom_status(first, links["statusQueryGetUri"], {"step": 1})
        kill(first, signal.SIGKILL)
        # then the second, which started before it died, takes the orchestration over and finishes it
        status = wait_for(on(second, links["statusQueryGetUri"]), timeout=30)
    finally:
        first.stop()
        if second is not None:
            second.stop()
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == ["step 0", "step 1"]
    assert side_effects("step", run) == {f"{run}:{n}": 1 for n in range(2)}
