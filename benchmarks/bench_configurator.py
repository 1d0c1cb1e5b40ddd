"""Cache-hit render job latency: from POST /api/v1/configurator/jobs to a COMPLETED job, over HTTP through the
dev host serving the real function app, against an embedded PostgreSQL and an Azurite this script starts.

A GLB already sits at the configuration's cache path (tenant, product, template version, configuration hash),
so each POST answers COMPLETED with cached=true without rendering; the figure is the client's wall time per
POST. The stored GLB is a placeholder: a cache hit never opens it. Render timings are bench_render.py's.

Last line: one JSON object with the figures (target: p95 under 100 ms).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

JOBS = 200
WARMUP = 20
TARGET_MS = 100.0


def _database() -> tuple[object, str, str]:
    """An embedded PostgreSQL migrated like the app's own (every head); returns (server, app URL, owner URL)."""
    from devhost.services import embedded_database

    server, database = embedded_database("bench_configurator", revision="heads")
    return server, database.app_url, database.owner_url


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


def _measure(client: object, headers: dict[str, str], configuration_id: str) -> list[float]:
    timings = []
    for i in range(WARMUP + JOBS):
        started = time.perf_counter()
        response = client.post(
            "/api/v1/configurator/jobs",
            headers=headers,  # type: ignore[attr-defined]
            json={"configuration_id": configuration_id},
        )
        elapsed = (time.perf_counter() - started) * 1000
        job = response.json()
        assert response.status_code == 202 and job["status"] == "COMPLETED" and job["cached"], response.text
        if i >= WARMUP:
            timings.append(elapsed)
    return timings


def _baseline(client: object, headers: dict[str, str]) -> float:
    """Median of a signed-in GET /api/v1/me through the same host: what any authenticated request costs here."""
    timings = []
    for _ in range(WARMUP + JOBS // 2):
        started = time.perf_counter()
        client.get("/api/v1/me", headers=headers)  # type: ignore[attr-defined]
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings[WARMUP:]), 2)


def main() -> int:
    """Start the services, measure, print the figures; the last line is JSON."""
    from devhost.services import free_azurite

    server, app_url, owner_url = _database()
    azurite = free_azurite().start()
    os.environ.update(
        {
            "APP_ENV": "development",
            "DATABASE_URL": app_url,
            "DATABASE_MIGRATION_URL": owner_url,
            "AzureWebJobsStorage": azurite.connection_string,
            "LOG_LEVEL": "WARNING",
            "JWT_SIGNING_KEY": "bench-signing-key-0123456789abcdef0123456789abcdef",
        }
    )
    from tests.conftest import start_host

    host = start_host("function_app:app")
    try:
        with host.client() as client:
            headers, configuration_id = _prepare(client, azurite.connection_string)
            timings = _measure(client, headers, configuration_id)
            baseline = _baseline(client, headers)
    finally:
        host.stop()
        azurite.stop()
        server.stop()  # type: ignore[attr-defined]
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
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
