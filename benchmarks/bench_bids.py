"""Plumbing bids: the analysis orchestration through the dev host, the worker's memory on a 50 MB PDF, and the
local detector's precision and recall on generated ground truth. Starts its own embedded PostgreSQL, Azurite
and dev hosts.

Figures:
- a 60-page vector set with its schedule, through the orchestration (upload, commit, analysed): pages per
  second with 1 page in flight and with 4, and the orchestration's overhead against calling the same activity
  functions in a plain loop in this process (same database, same blob, one page at a time);
- the peak RSS of a worker process that streams a 50 MB PDF from Blob to a temp file, checks it and analyses
  pages of it, next to the same process's RSS before the file (the file is never held whole in memory);
- precision and recall of the local detector (no vision) against the truth, by page kind (vector with text,
  vector with outlined text, raster) and, on vector pages, by label kind (tags, fixture words).
The commit and the polls that time the orchestration go through the harness's TimingClient (http.client on one
kept-alive connection), not httpx, whose own ~0.2 ms per call would be counted as the host's.
Last line: one JSON object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

PAGES = 60
BIG_BYTES = 49 * 1024 * 1024  # just under the 50 MiB upload limit


def _through_host(bench: harness.Bench, env: dict[str, str], plan_pdf: bytes) -> tuple[float, str, dict[str, str]]:
    """Seconds from commit to analyzed for one upload through a dev host; the document id and auth headers."""
    import httpx

    from tests.builders import register, unique_phone

    host = bench.start_host(env)
    try:
        client = bench.client()
        owner = register(client, tenant_name=f"Bench Plumbing {uuid.uuid4().hex[:6]}")
        customer = client.post(
            "/api/v1/crm/customers", headers=owner.headers, json={"name": "Bench", "phone": unique_phone()}
        ).json()
        project = client.post(
            "/api/v1/bids/projects",
            headers=owner.headers,
            json={"customer_id": customer["id"], "name": "Bench", "address": "1 Bench St"},
        ).json()
        ticket = client.post(
            f"/api/v1/bids/projects/{project['id']}/documents", headers=owner.headers, json={"filename": "b.pdf"}
        ).json()
        assert httpx.put(ticket["upload_url"], content=plan_pdf, headers=ticket["upload_headers"]).status_code == 201
        document_id = ticket["document"]["id"]
        timed = bench.timing_client(owner.headers)
        started = time.perf_counter()
        timed.post(f"/api/v1/bids/documents/{document_id}/commit", json={}, expect=202)
        while True:
            document = timed.get(f"/api/v1/bids/documents/{document_id}", expect=None).json()
            if document["status"] in ("analyzed", "failed"):
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        assert document["status"] == "analyzed", document
        return seconds, document_id, owner.headers
    finally:
        host.stop()  # each run has its own host; the next must not share the machine with this one


def _plain_loop(owner_url: str, document_id: str) -> float:
    """The same activity functions called one after another in this process, on the same document."""
    import psycopg

    from blueprints.bids import functions

    with psycopg.connect(harness.libpq(owner_url), autocommit=True) as conn:
        row = conn.execute(
            "UPDATE bids_documents SET status = 'queued' WHERE id = %s RETURNING tenant_id", (document_id,)
        ).fetchone()
    assert row is not None
    job = {"tenant_id": str(row[0]), "document_id": document_id}
    started = time.perf_counter()
    first = functions.bids_start_analysis(job)
    for page in range(1, int(first["page_count"]) + 1):
        functions.bids_analyze_page(
            {**job, **{k: first[k] for k in ("blob_name", "size_bytes", "vision_all")}, "page": page}
        )
    functions.bids_finish_analysis(job)
    return time.perf_counter() - started


# The worker reads its own high-water mark (VmHWM: reset by exec, unlike ru_maxrss, which a child inherits).
WORKER = """
import json, sys
from blueprints.bids import pages, pdfcheck
import pdfplumber, pypdfium2
def hwm():
    line = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    return int(line.split()[1])
before = hwm()
path = pdfcheck.local_copy(sys.argv[1])
count = pdfcheck.page_count(path, max_pages=300)
for page in (1, 2, count):
    pages.analyze_page(path, page, vision=None)
print(json.dumps({"rss_before_kb": before, "rss_peak_kb": hwm(), "pages": count, "bytes": path.stat().st_size}))
"""


def _worker_memory(env: dict[str, str]) -> dict[str, Any]:
    """Peak RSS of a worker process analysing a 50 MB PDF streamed from Blob."""
    from shared import uploads
    from shared.storage import blob_service
    from tests.plansets.generator import big_plan_set

    data = big_plan_set(target_bytes=BIG_BYTES)
    name = uploads.blob_name_for(tenant_id=uuid.uuid4(), area="bench", kind="pdf")
    uploads.ensure_container("uploads")
    blob_service().get_blob_client("uploads", name).upload_blob(data, overwrite=True)
    size = len(data)
    del data
    with tempfile.TemporaryDirectory(prefix="bench-bids-work-") as work:
        out = subprocess.run(
            [sys.executable, "-c", WORKER, name],
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT), "BIDS_WORK_DIR": work},
            capture_output=True,
            text=True,
            check=True,
        )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "pdf_mb": round(size / 1e6, 1),
        "pdf_pages": figures["pages"],
        "worker_rss_before_mb": round(figures["rss_before_kb"] / 1024, 1),
        "worker_rss_peak_mb": round(figures["rss_peak_kb"] / 1024, 1),
    }


def _precision_recall() -> dict[str, Any]:
    """The local detector against the truth, by page kind and (vector pages) by label kind."""
    from blueprints.bids import merge, pages
    from tests.plansets.generator import make_plan_set

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for variant in ("vector", "outlined", "raster"):
            plan_set = make_plan_set(plan_sheets=6, seed=99, variant=variant)
            path = Path(scratch) / f"{variant}.pdf"
            path.write_bytes(plan_set.pdf)
            results = [pages.analyze_page(path, n, vision=None) for n in range(1, len(plan_set.sheets) + 1)]
            found = [f for f in merge.merge(results, merge.Thresholds()).fixtures if f.state in merge.COUNTED]
            for label_kind, truth in _truth_groups(plan_set, variant).items():
                matched, used = 0, set()
                for t in truth:
                    best = max(
                        (i for i, f in enumerate(found) if f.page == t.page and i not in used),
                        key=lambda i: merge.iou(t.box, found[i].box),
                        default=None,
                    )
                    if best is not None and merge.iou(t.box, found[best].box) >= 0.5:
                        matched += 1
                        used.add(best)
                detections = len(found) if label_kind == variant else None
                figures[label_kind] = {
                    "truth": len(truth),
                    "recall": round(matched / len(truth), 4) if truth else None,
                    "precision": round(matched / detections, 4) if detections else None,
                }
    return figures


def _truth_groups(plan_set: Any, variant: str) -> dict[str, list[Any]]:
    groups = {variant: plan_set.fixtures}
    if variant == "vector":
        groups["vector_tags"] = [f for f in plan_set.fixtures if f.label == f.tag or not f.scheduled]
        groups["vector_words"] = [f for f in plan_set.fixtures if " " in f.label]
    return groups


def main() -> int:
    """Start the services, measure, print the figures; the last line is JSON."""
    with harness.services("bench_bids", log_level="WARNING") as bench:
        from tests.plansets.generator import make_plan_set

        plan_pdf = make_plan_set(plan_sheets=PAGES - 2, seed=60).pdf
        one, document_id, _ = _through_host(bench, {"BIDS_PAGES_IN_FLIGHT": "1"}, plan_pdf)
        four, _, _ = _through_host(bench, {"BIDS_PAGES_IN_FLIGHT": "4"}, plan_pdf)
        loop = _plain_loop(bench.owner_url, document_id)
        memory = _worker_memory(dict(os.environ))
        quality = _precision_recall()
    figures = {
        "benchmark": "bids",
        "pages": PAGES,
        "orchestrated_seconds_1_in_flight": round(one, 2),
        "orchestrated_seconds_4_in_flight": round(four, 2),
        "plain_loop_seconds": round(loop, 2),
        "pages_per_second_1_in_flight": round(PAGES / one, 2),
        "pages_per_second_4_in_flight": round(PAGES / four, 2),
        "pages_per_second_plain_loop": round(PAGES / loop, 2),
        "orchestration_overhead_pct_1_in_flight": round((one - loop) / loop * 100, 1),
        **memory,
        "local_detector": quality,
        "load_average_1m": harness.load_average_1m(),
        "cpus": os.cpu_count(),
    }
    print(
        f"{PAGES} pages: {figures['pages_per_second_1_in_flight']} pages/s orchestrated (1 in flight), "
        f"{figures['pages_per_second_4_in_flight']} (4 in flight), "
        f"{figures['pages_per_second_plain_loop']} in a plain loop"
    )
    print(
        f"worker on a {memory['pdf_mb']} MB PDF: peak RSS {memory['worker_rss_peak_mb']} MB "
        f"(before the file {memory['worker_rss_before_mb']} MB)"
    )
    harness.print_figures(figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
