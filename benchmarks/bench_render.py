"""Render worker figures for the sample base cabinet, measured through real queues and a real worker process.

Prints the worker's start-up time (spawn to ready, mostly the bpy import), cold render time in a fresh
worker, warm render time per job (median of 20), cache-hit completion time (message sent -> COMPLETED
received) and the worker's peak RSS after 10 and after 100 jobs. The last stdout line is one JSON object
with every figure and the targets. Uses AzureWebJobsStorage when set, otherwise starts its own in-memory
Azurite on loopback.
"""

from __future__ import annotations

import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from azure.storage.blob import BlobServiceClient  # noqa: E402

from render_container.contract import RenderResult, RenderStatus  # noqa: E402
from render_container.templates.products import BASE_CABINET  # noqa: E402
from render_container.templates.upload import upload_templates  # noqa: E402
from tests.render_container.support import (  # noqa: E402
    ResultReader,
    job_sender,
    make_request,
    start_azurite,
    unique_name,
    wait_until_ready,
    worker_process,
)

WARM_JOBS = 20
MEMORY_JOBS = 100
CACHE_HITS = 10
WARM_RENDER_TARGET_MS = 1000
RSS_GROWTH_TARGET_PCT = 10.0


class Bench:
    """One storage account, one set of queues, one worker process under test."""

    def __init__(self, connection_string: str, workdir: Path) -> None:
        self.connection_string = connection_string
        self.workdir = workdir
        self.blobs = BlobServiceClient.from_connection_string(connection_string)
        self.jobs_queue, self.results_queue = unique_name("bench-jobs"), unique_name("bench-results")
        self.output_container = unique_name("bench-renders")
        self.blobs.create_container(self.output_container)
        descriptors = upload_templates(
            self.blobs, container=unique_name("bench-templates"), build_dir=workdir / "built"
        )
        self.cabinet = next(d for d in descriptors if d["slug"] == BASE_CABINET.slug)
        self.sender = job_sender(connection_string, self.jobs_queue)
        self.results = ResultReader(connection_string, self.results_queue)
        self.log = workdir / "worker.log"
        self.worker_start_ms = 0

    def start_worker(self) -> Any:
        """A fresh `python -m render_container` process, ready to receive."""
        env = {
            "AzureWebJobsStorage": self.connection_string,
            "RENDER_JOBS_QUEUE": self.jobs_queue,
            "RENDER_RESULTS_QUEUE": self.results_queue,
            "TEMPLATE_CACHE_DIR": str(self.workdir / "cache"),
        }
        ready_before = self.log.read_text().count("render worker ready") if self.log.exists() else 0
        started = time.perf_counter()
        process = worker_process(env, "--poll-interval", "0.02", log_path=self.log)
        wait_until_ready(self.log, count=ready_before + 1)
        self.worker_start_ms = round((time.perf_counter() - started) * 1000)
        return process

    def send(self, config: dict[str, Any], output_blob_path: str | None = None) -> str:
        """Queue one cabinet job; returns its job id."""
        overrides = {"output_container": self.output_container}
        if output_blob_path:
            overrides["output_blob_path"] = output_blob_path
        request = make_request(self.cabinet, config, **overrides)
        self.sender.send_message(request.model_dump_json())
        return str(request.job_id)

    def completed(self, job_id: str, timeout: float = 120) -> RenderResult:
        """Wait for the job's COMPLETED result."""
        result = self.results.wait_for(lambda r: str(r.job_id) == job_id and r.is_terminal, timeout=timeout)
        if result.status is not RenderStatus.COMPLETED:
            raise RuntimeError(f"job {job_id} ended {result.status}: {result.error_message}")
        return result

    def timed(self, config: dict[str, Any], output_blob_path: str | None = None) -> tuple[RenderResult, float]:
        """Send one job and wait for it; returns the result and milliseconds from send to COMPLETED."""
        started = time.perf_counter()
        result = self.completed(self.send(config, output_blob_path))
        return result, (time.perf_counter() - started) * 1000


def random_cabinet(rng: random.Random) -> dict[str, Any]:
    """A valid cabinet configuration; distinct widths make every job a real render, never a cache hit."""
    return {
        "width": round(rng.uniform(300, 1200), 1),
        "height": rng.choice([720, 870, 900]),
        "depth": rng.choice([560, 580, 600]),
        "door_count": rng.randint(1, 4),
        "door_style": rng.choice(["shaker", "slab", "raised"]),
        "finish": rng.choice(["white", "walnut", "graphite"]),
        "hardware": rng.choice(["bar", "knob", "none"]),
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(bench: Bench) -> dict[str, Any]:
    """Run every measurement against one worker process (plus the fresh one for the cold figure)."""
    rng = random.Random(7)
    worker = bench.start_worker()
    try:
        cold, cold_e2e = bench.timed(random_cabinet(rng))
        warm = [bench.timed(random_cabinet(rng)) for _ in range(WARM_JOBS)]
        hits = []
        for _ in range(CACHE_HITS):
            existing = warm[len(hits) % len(warm)][0].output_blob_path
            hits.append(bench.timed(random_cabinet(rng), output_blob_path=existing))
        assert all(result.cached for result, _ in hits)
        rendered = [cold] + [result for result, _ in warm]
        job_ids = [bench.send(random_cabinet(rng)) for _ in range(MEMORY_JOBS - len(rendered))]
        rendered += [bench.completed(job_id) for job_id in job_ids]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    rss_10, rss_100 = rendered[9].worker_peak_rss_kb or 0, rendered[MEMORY_JOBS - 1].worker_peak_rss_kb or 0
    return {
        "worker_start_ms": bench.worker_start_ms,
        "cold_render_ms": cold.render_ms,
        "cold_end_to_end_ms": round(cold_e2e),
        # Blender only (the worker's own render_ms) next to end to end for the same jobs: queue send, template
        # fetch (from the worker's cache after the cold job), render, GLB upload, COMPLETED on the results queue
        "warm_render_ms_median": statistics.median(result.render_ms or 0 for result, _ in warm),
        "warm_render_ms_p95": _p95([result.render_ms or 0 for result, _ in warm]),
        "warm_end_to_end_ms_median": round(statistics.median(ms for _, ms in warm)),
        "warm_end_to_end_ms_p95": round(_p95([ms for _, ms in warm])),
        "warm_outside_blender_ms_median": round(statistics.median(ms - (r.render_ms or 0) for r, ms in warm)),
        "end_to_end_covers": "queue send, template fetch, Blender render, GLB upload, COMPLETED report received",
        "cache_hit_ms_median": round(statistics.median(ms for _, ms in hits)),
        "peak_rss_kb_after_10": rss_10,
        "peak_rss_kb_after_100": rss_100,
        "rss_growth_pct": round((rss_100 - rss_10) * 100 / rss_10, 2) if rss_10 else None,
        "jobs_rendered": len(rendered),
    }


def main() -> int:
    """Measure and print; the last line is the JSON summary."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-render-"))
    azurite = None
    connection_string = os.environ.get("AzureWebJobsStorage")
    if not connection_string:
        azurite = start_azurite(workdir)
        connection_string = azurite.connection_string
    try:
        figures = measure(Bench(connection_string, workdir))
    finally:
        if azurite:
            azurite.stop()
    figures["targets"] = {"warm_render_ms_lt": WARM_RENDER_TARGET_MS, "rss_growth_pct_max": RSS_GROWTH_TARGET_PCT}
    figures["targets_met"] = {
        "warm_render": figures["warm_render_ms_median"] < WARM_RENDER_TARGET_MS,
        "flat_memory": figures["rss_growth_pct"] is not None and figures["rss_growth_pct"] <= RSS_GROWTH_TARGET_PCT,
    }
    for key, value in figures.items():
        if not isinstance(value, dict):
            print(f"{key:28} {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
