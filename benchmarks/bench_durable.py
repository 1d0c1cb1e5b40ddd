"""Durable Functions in the dev host: 200 orchestrations of 5 activities each, through a dev host this
script starts itself (benchmarks/harness.py: an embedded PostgreSQL unless BENCH_DATABASE_ADMIN_URL names a server;
durable state needs no Azurite).

Figures: orchestrations per second with all 200 in flight (started through an HTTP starter and the
real DurableOrchestrationClient), and the engine's overhead per activity, from the history timestamps
of orchestrations run one at a time, against calling the same activity directly in this process. The starts go
through the harness's TimingClient (http.client, one kept-alive connection per caller), not a new httpx client per
call, whose own cost would be counted as the host's in the throughput.
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

ROOT = Path(__file__).resolve().parent.parent
ORCHESTRATIONS = 200
ACTIVITIES = 5
SEQUENTIAL = 20

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="n")
def digest(n: int) -> str:
    """A small CPU-bound step: hash a few kilobytes."""
    return hashlib.sha256(str(n).encode() * 2000).hexdigest()[:8]


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Five activities in sequence."""
    results = []
    for n in range(ACTIVITIES):
        results.append((yield context.call_activity("digest", n)))
    return results


@app.route(route="start/{instance_id}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """HTTP starter: start `chain` with a given instance id."""
    instance_id = await client.start_new("chain", req.route_params["instance_id"])
    return client.create_check_status_response(req, instance_id)


def direct_seconds_per_activity(calls: int = 2000) -> float:
    """The activity called directly, in this process."""
    started = time.perf_counter()
    for n in range(calls):
        digest(n % ACTIVITIES)
    return (time.perf_counter() - started) / calls


def wait_all(base: str, key: str, prefix: str, count: int, timeout: float = 600) -> None:
    """Poll the list API until `count` instances with the prefix have completed."""
    import httpx

    url = f"{base}/runtime/webhooks/durabletask/instances/"
    params = {"code": key, "instanceIdPrefix": prefix, "runtimeStatus": "Completed", "top": str(count + 10)}
    deadline = time.monotonic() + timeout
    while len(httpx.get(url, params=params, timeout=30).json()) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"not all {count} orchestrations completed")
        time.sleep(0.1 if count > 1 else 0.02)


def engine_seconds(status_url: str) -> float:
    """ExecutionStarted to ExecutionCompleted, from the instance's history timestamps."""
    import httpx

    events = httpx.get(status_url + "&showHistory=true", timeout=30).json()["historyEvents"]
    started = datetime.fromisoformat(events[0]["Timestamp"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(events[-1]["Timestamp"].replace("Z", "+00:00"))
    return (finished - started).total_seconds()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(base: str, host_pid: int, master_key: str) -> dict[str, float | None]:
    """Throughput with everything in flight, then one-at-a-time latency."""
    import threading

    from benchmarks import harness
    from devhost.durable.api import system_key

    key = system_key(master_key)
    prefix = f"bench-{uuid.uuid4().hex[:8]}-"
    local, clients = threading.local(), []

    def start(path: str) -> harness.Answer:
        if not hasattr(local, "client"):
            local.client = harness.TimingClient(base, timeout=60)
            clients.append(local.client)
        return local.client.post(path, expect=None)

    cpu_before = cpu_seconds(host_pid)
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(start, [f"/api/start/{prefix}{i}" for i in range(ORCHESTRATIONS)]))
    assert all(a.status == 202 for a in answers), [a.text for a in answers if a.status != 202][:3]
    for client in clients:
        client.close()
    wait_all(base, key, prefix, ORCHESTRATIONS)
    wall = time.perf_counter() - started
    cpu_after = cpu_seconds(host_pid)
    host_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before

    durations = []
    sequential = harness.TimingClient(base, timeout=60)
    for i in range(SEQUENTIAL):
        links = sequential.post(f"/api/start/{prefix}seq-{i}", expect=202).json()
        wait_all(base, key, f"{prefix}seq-{i}", 1)
        durations.append(engine_seconds(links["statusQueryGetUri"]))
    sequential.close()
    direct = direct_seconds_per_activity()
    per_orchestration = statistics.median(durations)
    return {
        "orchestrations": ORCHESTRATIONS,
        "activities_per_orchestration": ACTIVITIES,
        "wall_seconds": round(wall, 3),
        "orchestrations_per_second": round(ORCHESTRATIONS / wall, 2),
        "activities_per_second": round(ORCHESTRATIONS * ACTIVITIES / wall, 1),
        "direct_activity_ms": round(direct * 1000, 4),
        "sequential_orchestration_ms_median": round(per_orchestration * 1000, 2),
        "engine_overhead_per_activity_ms": round((per_orchestration / ACTIVITIES - direct) * 1000, 3),
        # CPU the dev host spent per orchestration (HTTP starter and SDK client included) while all ran,
        # and the machine's load: wall-clock figures above depend on what else the machine was doing.
        "host_cpu_ms_per_orchestration": None if host_cpu is None else round(host_cpu / ORCHESTRATIONS * 1000, 2),
        "load_average_1m": harness.load_average_1m(),
    }


def main() -> None:
    """Start PostgreSQL and a dev host serving this module's app, run the benchmark, print the figures."""
    from benchmarks import harness

    with harness.services("bench_durable", azurite=False, log_level="WARNING") as bench:
        host = bench.start_host(app="benchmarks.bench_durable:app")
        figures = run(host.base_url, host.process.pid, host.master_key)
    print(
        f"{figures['orchestrations_per_second']} orchestrations/s "
        f"({figures['activities_per_second']} activities/s) with {ORCHESTRATIONS} in flight"
    )
    print(
        f"engine overhead per activity: {figures['engine_overhead_per_activity_ms']} ms "
        f"(activity itself {figures['direct_activity_ms']} ms when called directly)"
    )
    harness.print_figures(figures)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
