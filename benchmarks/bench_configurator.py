"""Cache-hit render job latency: from POST /api/v1/configurator/jobs to a COMPLETED job, over HTTP through the
dev host serving the real function app, against an embedded PostgreSQL and an Azurite this script starts.

A GLB already sits at the configuration's cache path (tenant, product, template version, configuration hash),
so each POST answers COMPLETED with cached=true without rendering; the figure is the client's wall time per
POST. The stored GLB is a placeholder: a cache hit never opens it. Render timings are bench_render.py's.

The POSTs and the baseline GETs are timed through the harness's TimingClient (http.client on one kept-alive
connection), not httpx, whose own ~0.2 ms per call would be counted as the host's.

Last line: one JSON object with the figures (target: p95 under 100 ms).
"""

from __future__ import annotations

import statistics
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

JOBS = 200
WARMUP = 20
TARGET_MS = 100.0


def _prepare(client: object, connection_string: str) -> tuple[dict[str, str], str]:
    """A business, the sample cabinet product, one configuration and its GLB at the cache path."""
    from azure.storage.blob import BlobServiceClient

    from blueprints.configurator.blobs import glb_path
    from render_container.templates.products import BASE_CABINET
    from tests.builders import register

    owner = register(client, tenant_name="Bench Cabinets")  # type: ignore[arg-type]
    product = client.post(
        "/api/v1/configurator/products",
        headers=owner.headers,
        json={  # type: ignore[attr-defined]
            "name": "Base cabinet",
            "config_schema": BASE_CABINET.json_schema(),
            "template_blob_path": BASE_CABINET.template_blob_path,
            "template_version": BASE_CABINET.template_version,
        },
    ).json()
    configuration = client.post(
        "/api/v1/configurator/configurations",
        headers=owner.headers,
        json={  # type: ignore[attr-defined]
            "product_id": product["id"],
            "name": "Bench",
            "config_data": BASE_CABINET.default_config(),
        },
    ).json()
    path = glb_path(
        tenant_id=uuid.UUID(owner.tenant_id),
        product_id=uuid.UUID(product["id"]),
        template_version=product["template_version"],
        config_hash=configuration["config_hash"],
    )
    container = BlobServiceClient.from_connection_string(connection_string).get_container_client("renders")
    if not container.exists():
        container.create_container()
    container.upload_blob(path, b"glTF placeholder", overwrite=True)
    return owner.headers, configuration["id"]


def _measure(client: harness.TimingClient, configuration_id: str) -> list[float]:
    timings = []
    for i in range(WARMUP + JOBS):
        answer = client.post("/api/v1/configurator/jobs", json={"configuration_id": configuration_id}, expect=202)
        job = answer.json()
        assert job["status"] == "COMPLETED" and job["cached"], answer.text
        if i >= WARMUP:
            timings.append(answer.ms)
    return timings


def _baseline(client: harness.TimingClient) -> float:
    """Median of a signed-in GET /api/v1/me through the same host: what any authenticated request costs here."""
    timings = [client.get("/api/v1/me").ms for _ in range(WARMUP + JOBS // 2)]
    return round(statistics.median(timings[WARMUP:]), 2)


def main() -> int:
    """Start the services, measure, print the figures; the last line is JSON."""
    with harness.services("bench_configurator", log_level="WARNING", host=True) as bench:
        assert bench.azurite_connection_string is not None
        headers, configuration_id = _prepare(bench.client(), bench.azurite_connection_string)
        client = bench.timing_client(headers)
        timings = _measure(client, configuration_id)
        baseline = _baseline(client)
    ordered = sorted(timings)
    figures = {
        "benchmark": "configurator_cache_hit",
        "jobs": JOBS,
        "post_to_completed_ms_p50": round(statistics.median(ordered), 2),
        "post_to_completed_ms_p95": round(ordered[int(len(ordered) * 0.95) - 1], 2),
        "post_to_completed_ms_max": round(ordered[-1], 2),
        "baseline_get_me_ms_p50": baseline,
        "target_ms": TARGET_MS,
        "within_target": ordered[int(len(ordered) * 0.95) - 1] < TARGET_MS,
    }
    print(
        f"cache hit POST -> COMPLETED over HTTP: p50 {figures['post_to_completed_ms_p50']} ms, "
        f"p95 {figures['post_to_completed_ms_p95']} ms, max {figures['post_to_completed_ms_max']} ms "
        f"(a signed-in GET /me: p50 {baseline} ms)"
    )
    harness.print_figures(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
