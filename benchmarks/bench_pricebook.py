"""ServiceTitan pricebook: a full pull of LAZI's size, an incremental sync, bulk-write speed next to COPY, images.

Runs the real function app in the dev host (durable orchestrations included) against an embedded PostgreSQL,
Azurite and the loopback fake ServiceTitan (tests/fakes/servicetitan.py) seeded with 104 categories, 5,719
materials, 2,161 services and 292 equipment, allowing 60 requests per second as ServiceTitan does.

Figures: the full pull's wall time (POST /syncs to completed; target < 10 s); an incremental sync after 50
remote changes (target < 2 s); rows per second of our bulk writes into raw and into master (executemany
upserts, as the pull activity runs them) next to a plain COPY of the same rows into a table of the same shape,
measured in the same run (target >= 50 % of COPY); the image endpoint's warm p95. The syncs' requests and the image
GETs go through the harness's TimingClient (http.client on one kept-alive connection), not httpx, whose own ~0.2 ms
per call would be counted as the host's.

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

SIZES = {"categories": 104, "materials": 5719, "services": 2161, "equipment": 292}
CHANGES = 50
IMAGE_GETS = 200


def _wait(client: harness.TimingClient, run_id: str) -> dict[str, Any]:
    while True:
        run = client.get(f"/api/v1/pricebook/syncs/{run_id}").json()
        if run["status"] in ("completed", "failed"):
            return run
        time.sleep(0.02)


def _timed_sync(client: harness.TimingClient, mode: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.post("/api/v1/pricebook/syncs", json={"mode": mode}, expect=202)
    run = _wait(client, response.json()["id"])
    assert run["status"] == "completed", run
    return time.perf_counter() - started, run


def _copy_seconds(table: str, columns: list[str], rows: list[tuple[Any, ...]], owner_url: str) -> float:
    """Seconds for a plain COPY of rows into an empty table shaped like `table` (same keys)."""
    import psycopg

    with psycopg.connect(harness.libpq(owner_url)) as conn:
        conn.execute(f"CREATE TEMP TABLE copy_target (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)")
        started = time.perf_counter()
        with conn.cursor().copy(f"COPY copy_target ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        elapsed = time.perf_counter() - started
        conn.rollback()
    return elapsed


def _bulk_rates(fake: Any, owner_url: str) -> dict[str, Any]:
    """Our bulk upserts of every item (in a fresh business) against a plain COPY of the same rows.

    Both sides get the same prepared rows; normalising ServiceTitan's JSON (Python) is timed on its own.
    """
    from psycopg.types.json import Jsonb

    from blueprints.pricebook import bulk, normalise, pull
    from blueprints.pricebook.models import MASTER_MODELS, RAW_MODELS, MasterCategory, table_of
    from shared.db import session_scope
    from tests.builders import create_tenant

    with session_scope() as session:
        tenant_id = create_tenant(session, name="Bulk bench").id
    items = {kind: list(fake.state.items[kind].values()) for kind in SIZES}
    run_id = uuid.uuid4()
    ours = {"raw": 0.0, "master": 0.0}
    baseline = {"raw": 0.0, "master": 0.0}
    normalise_seconds = 0.0
    for kind, page in items.items():
        raw_rows = [(tenant_id, int(i["id"]), Jsonb(i), normalise.st_time(i.get("modifiedOn")), run_id) for i in page]
        started = time.perf_counter()
        rows = [normalise.category_row(i) if kind == "categories" else normalise.item_row(kind, i) for i in page]
        normalise_seconds += time.perf_counter() - started
        master_columns = ["tenant_id", *rows[0]]
        master_rows = [(tenant_id, *row.values()) for row in rows]
        raw_table = table_of(RAW_MODELS[kind])
        master_table = table_of(MasterCategory if kind == "categories" else MASTER_MODELS[kind])
        with session_scope(tenant_id=tenant_id) as session:
            started = time.perf_counter()
            bulk.copy_upsert(
                session,
                raw_table,
                pull.RAW_COLUMNS,
                raw_rows,
                keys=("tenant_id", "st_id"),
                update=("payload", "modified_on", "run_id"),
                only_if_changed="payload",
            )
            ours["raw"] += time.perf_counter() - started
            started = time.perf_counter()
            bulk.copy_upsert(
                session,
                master_table,
                master_columns,
                master_rows,
                keys=("tenant_id", "st_id"),
                update=[c for c in rows[0] if c != "st_id"],
                touch="synced_at",
                returning=False,
            )
            ours["master"] += time.perf_counter() - started
        baseline["raw"] += _copy_seconds(raw_table.fullname, list(pull.RAW_COLUMNS), raw_rows, owner_url)
        baseline["master"] += _copy_seconds(master_table.fullname, master_columns, master_rows, owner_url)
    total = sum(len(page) for page in items.values())
    return {
        "rows": total,
        "raw_rows_per_s": round(total / ours["raw"]),
        "raw_copy_rows_per_s": round(total / baseline["raw"]),
        "master_rows_per_s": round(total / ours["master"]),
        "master_copy_rows_per_s": round(total / baseline["master"]),
        "normalise_rows_per_s": round(total / normalise_seconds),
    }


def _image_p95(client: harness.TimingClient) -> float:
    url = "/api/v1/pricebook/images/materials/20000"
    client.get(url)  # the cold fetch from ServiceTitan
    timings = [client.get(url).ms for _ in range(IMAGE_GETS)]
    return round(sorted(timings)[int(IMAGE_GETS * 0.95) - 1], 2)


def _run(bench: harness.Bench, fake: Any) -> dict[str, Any]:
    from tests.builders import register
    from tests.fakes.servicetitan import settings_for

    host = bench.start_host(settings_for(fake))
    try:
        owner = register(bench.client(), tenant_name="LAZI bench")
        client = bench.timing_client(owner.headers)
        body = {"st_tenant_id": fake.state.st_tenant_id, "client_id": "fake-client", "client_secret": "fake-secret"}
        client.request("PUT", "/api/v1/pricebook/connection", json=body)
        full_seconds, full = _timed_sync(client, "full")
        calls_full = len(fake.api_calls())
        for n in range(CHANGES):
            kind = ("materials", "services", "equipment")[n % 3]
            item_id = sorted(fake.state.items[kind])[n]
            fake.edit(kind, item_id, description=f"<p>changed {n}</p>")
        incremental_seconds, incremental = _timed_sync(client, "incremental")
        image_p95 = _image_p95(client)
    finally:
        host.stop()  # before the bulk rates, which the host's pollers would share the machine with
    return {
        "full_pull_s": round(full_seconds, 2),
        "full_pull_items_per_s": round(sum(SIZES.values()) / full_seconds),
        "full_pull_api_calls": calls_full,
        "full_written": {k: v["written"] for k, v in full["progress"].items()},
        "incremental_50_changes_s": round(incremental_seconds, 2),
        "incremental_written": sum(v["written"] for v in incremental["progress"].values()),
        "image_warm_p95_ms": image_p95,
    }


def main() -> int:
    """Start the services and the fake, measure, print the figures; the last line is JSON."""
    with harness.services("bench_pricebook", log_level="WARNING") as bench:
        from tests.fakes.servicetitan import FakeServiceTitan

        fake = bench.closing(FakeServiceTitan().start())
        fake.seed(**SIZES)
        fake.state.max_per_second = 60
        figures = _run(bench, fake)
        figures.update(_bulk_rates(fake, bench.owner_url))
    figures = {
        "benchmark": "pricebook_pull",
        **figures,
        "raw_vs_copy": round(figures["raw_rows_per_s"] / figures["raw_copy_rows_per_s"], 2),
        "master_vs_copy": round(figures["master_rows_per_s"] / figures["master_copy_rows_per_s"], 2),
        "targets": {"full_pull_s": 10, "incremental_s": 2, "vs_copy": 0.5},
    }
    figures["within_targets"] = (
        figures["full_pull_s"] < 10
        and figures["incremental_50_changes_s"] < 2
        and figures["raw_vs_copy"] >= 0.5
        and figures["master_vs_copy"] >= 0.5
    )
    print(
        f"full pull of {sum(SIZES.values())} items: {figures['full_pull_s']} s; incremental with {CHANGES} changes: "
        f"{figures['incremental_50_changes_s']} s; raw {figures['raw_rows_per_s']} rows/s vs COPY "
        f"{figures['raw_copy_rows_per_s']}; master {figures['master_rows_per_s']} rows/s vs COPY "
        f"{figures['master_copy_rows_per_s']}; image warm p95 {figures['image_warm_p95_ms']} ms"
    )
    harness.print_figures(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
