"""What the measuring client itself costs: the same GET /api/health through the dev host, timed with httpx.Client
and with the harness's TimingClient (http.client on one kept-alive connection), sampled in turn.

The script starts its own embedded PostgreSQL, Azurite and a dev host serving function_app (all on loopback).
Both clients keep their connection alive; each round calls each once, each round starting one further along, so
load from other processes falls on both alike. The difference is the measuring client's cost, not the system's:
the reason the other benchmarks time their HTTP calls with TimingClient.

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

REQUESTS, WARMUP = 1000, 100


def main() -> None:
    """Start the services, sample both clients in turn, print the figures."""
    with harness.services("bench_http_client", host=True) as bench:
        timing = bench.timing_client()
        httpx_client = bench.client()

        def with_httpx(n: int) -> float:
            started = time.perf_counter()
            response = httpx_client.get("/api/health")
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.text[:300]
            return elapsed

        samples = harness.time_in_turn(
            {"httpx": with_httpx, "http_client": lambda n: timing.get("/api/health").ms}, REQUESTS, WARMUP
        )
        connects = timing.connects
    percentile = harness.percentile
    pairs = [a - b for a, b in zip(samples["httpx"], samples["http_client"], strict=True)]
    figures = {
        "benchmark": "http_client",
        "requests_each": REQUESTS,
        "httpx_p50_ms": percentile(samples["httpx"], 0.5, digits=3),
        "httpx_p95_ms": percentile(samples["httpx"], 0.95, digits=3),
        "http_client_p50_ms": percentile(samples["http_client"], 0.5, digits=3),
        "http_client_p95_ms": percentile(samples["http_client"], 0.95, digits=3),
        "httpx_added_median_ms": round(statistics.median(pairs), 3),
        "http_client_connections": connects,
    }
    figures["httpx_added_p50_ms"] = round(figures["httpx_p50_ms"] - figures["http_client_p50_ms"], 3)
    figures["httpx_added_p95_ms"] = round(figures["httpx_p95_ms"] - figures["http_client_p95_ms"], 3)
    print(
        f"GET /api/health: httpx p50 {figures['httpx_p50_ms']} / p95 {figures['httpx_p95_ms']} ms, http.client "
        f"p50 {figures['http_client_p50_ms']} / p95 {figures['http_client_p95_ms']} ms; httpx adds "
        f"{figures['httpx_added_median_ms']} ms per call (median of paired differences)"
    )
    harness.print_figures(figures, load_average=True)


if __name__ == "__main__":
    main()
