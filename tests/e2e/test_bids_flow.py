"""Plumbing bids over HTTP through the dev host: a generated 10-sheet set uploaded by SAS, analysed by the
Durable orchestration, reviewed, and the marked set; refused uploads leave nothing behind."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pypdfium2 as pdfium

from tests.builders import Account, register, unique_phone
from tests.conftest import RunningHost
from tests.plansets.generator import encrypted_pdf, make_plan_set


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _project(client: httpx.Client, owner: Account) -> str:
    customer = _ok(
        client.post(
            "/api/v1/crm/customers", headers=owner.headers, json={"name": "Riverside", "phone": unique_phone()}
        ),
        201,
    )
    body = {"customer_id": customer["id"], "name": "Riverside Clinic", "address": "12 River Rd"}
    return _ok(client.post("/api/v1/bids/projects", headers=owner.headers, json=body), 201)["id"]


def _upload(client: httpx.Client, owner: Account, project_id: str, data: bytes) -> tuple[str, httpx.Response]:
    ticket = _ok(
        client.post(
            f"/api/v1/bids/projects/{project_id}/documents", headers=owner.headers, json={"filename": "set.pdf"}
        ),
        201,
    )
    put = httpx.put(ticket["upload_url"], content=data, headers=ticket["upload_headers"], timeout=120)
    assert put.status_code == 201, put.text
    document_id = ticket["document"]["id"]
    commit = client.post(f"/api/v1/bids/documents/{document_id}/commit", headers=owner.headers, json={})
    return document_id, commit


def test_a_ten_sheet_set_is_analysed_reviewed_and_marked_through_the_dev_host(app_host: RunningHost) -> None:
    client = app_host.client()
    owner = register(client, tenant_name="PipelineOS Plumbing")
    plan_set = make_plan_set(plan_sheets=8, seed=15)  # schedule sheet, 8 plans, the architectural trap: 10 sheets
    document_id, commit = _upload(client, owner, _project(client, owner), plan_set.pdf)
    assert _ok(commit, 202)["status"] == "queued"
    seen: set[tuple[str, int]] = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        document = _ok(client.get(f"/api/v1/bids/documents/{document_id}", headers=owner.headers))
        if document["progress"]:
            seen.add((document["progress"]["stage"], document["progress"]["pages_done"]))
        if document["status"] in ("analyzed", "failed"):
            break
        time.sleep(0.05)
    assert document["status"] == "analyzed", (document, app_host.log_tail())
    assert document["progress"]["pages_done"] == document["progress"]["pages_total"] == 10
    assert len({done for _, done in seen}) >= 2, seen  # progress moved while it ran
    takeoff = _ok(client.get(f"/api/v1/bids/documents/{document_id}/takeoff", headers=owner.headers))
    truth = {kind.lower().replace(" ", "_"): n for kind, n in plan_set.counts().items()}
    assert {c["fixture_type"]: c["count"] for c in takeoff["counts"]} == truth
    assert {row["tag"] for row in takeoff["schedule"]} == set(plan_set.schedule_tags)
    assert not [f for f in _fixtures(client, owner, document_id, "") if (f["tag"] or "").startswith("P-")]
    # every fixture has its page and box; the filters narrow the list
    listed = _fixtures(client, owner, document_id, "")
    assert len(listed) == sum(truth.values()) and all(f["page_number"] >= 2 and f["box"]["x1"] > 0 for f in listed)
    closets = _fixtures(client, owner, document_id, "fixture_type=water_closet&sheet=P-101")
    assert closets and {f["sheet_number"] for f in closets} == {"P-101"}
    # a person decides on the pending ones, then the takeoff is frozen and the marked set drawn
    pending = [f["id"] for f in _fixtures(client, owner, document_id, "state=pending")]
    path = f"/api/v1/bids/documents/{document_id}"
    assert _ok(client.post(f"{path}/fixtures/confirm", headers=owner.headers, json={"fixture_ids": pending}))[
        "confirmed"
    ] == len(pending)
    reviewed = _ok(client.post(f"{path}/takeoff/review", headers=owner.headers))
    assert reviewed["version"] == 1 and reviewed["totals"]["total_fixtures"] == sum(truth.values())
    marked = client.get(f"{path}/marked-set", headers=owner.headers)
    assert marked.status_code == 200 and marked.headers["content-type"] == "application/pdf"
    assert len(pdfium.PdfDocument(marked.content)) == 10


def _fixtures(client: httpx.Client, owner: Account, document_id: str, query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        url = f"/api/v1/bids/documents/{document_id}/fixtures?limit=200&{query}{cursor}"
        page = _ok(client.get(url, headers=owner.headers))
        items += page["items"]
        if not page["next_cursor"]:
            return items
        cursor = f"&cursor={page['next_cursor']}"


def test_refused_uploads_answer_4xx_and_leave_no_document(app_host: RunningHost) -> None:
    client = app_host.client()
    owner = register(client, tenant_name="PipelineOS Refusals")
    project_id = _project(client, owner)
    cases = [
        (encrypted_pdf(), 422, "pdf_encrypted"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(4096), 422, "upload_wrong_type"),
        (b"%PDF-1.7\n" + bytes(51 * 1024 * 1024), 413, "upload_too_large"),
    ]
    for data, status, code in cases:
        document_id, commit = _upload(client, owner, project_id, data)
        assert commit.status_code == status and commit.json()["code"] == code, commit.text
        assert commit.headers["content-type"] == "application/problem+json"
        missing = client.get(f"/api/v1/bids/documents/{document_id}", headers=owner.headers)
        assert missing.status_code == 404
    assert _ok(client.get(f"/api/v1/bids/projects/{project_id}/documents", headers=owner.headers))["items"] == []


def test_cancel_terminates_the_running_analysis(app_host: RunningHost) -> None:
    from devhost.durable.api import system_key

    client = app_host.client()
    owner = register(client, tenant_name="PipelineOS Cancels")
    document_id, commit = _upload(client, owner, _project(client, owner), make_plan_set(plan_sheets=40, seed=3).pdf)
    assert _ok(commit, 202)["status"] == "queued"
    cancelled = _ok(client.post(f"/api/v1/bids/documents/{document_id}/cancel", headers=owner.headers))
    assert cancelled["status"] == "cancelled"
    status_url = f"/runtime/webhooks/durabletask/instances/bids-{document_id}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runtime = client.get(status_url, params={"code": system_key(app_host.master_key)}).json()["runtimeStatus"]
        if runtime == "Terminated":
            break
        time.sleep(0.1)
    assert runtime == "Terminated"
    document = _ok(client.get(f"/api/v1/bids/documents/{document_id}", headers=owner.headers))
    assert document["status"] == "cancelled" and document["analyzed_at"] is None
    again = client.post(f"/api/v1/bids/documents/{document_id}/cancel", headers=owner.headers)
    assert again.status_code == 409


def test_scanned_sheets_without_a_vision_key_are_reported_needing_vision(app_host: RunningHost) -> None:
    client = app_host.client()
    owner = register(client, tenant_name="PipelineOS Scans")
    scans = make_plan_set(plan_sheets=1, seed=6, variant="raster").pdf
    document_id, commit = _upload(client, owner, _project(client, owner), scans)
    assert commit.status_code == 202, commit.text
    for _ in range(600):
        document = _ok(client.get(f"/api/v1/bids/documents/{document_id}", headers=owner.headers))
        if document["status"] == "analyzed":
            break
        time.sleep(0.1)
    assert document["status"] == "analyzed"
    assert document["progress"]["needs_vision_pages"] == [1, 2, 3]
    takeoff = _ok(client.get(f"/api/v1/bids/documents/{document_id}/takeoff", headers=owner.headers))
    assert {p["status"] for p in takeoff["pages"]} == {"needs_vision"} and takeoff["total_fixtures"] == 0
