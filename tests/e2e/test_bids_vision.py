"""Scanned sheets through the dev host's orchestration with the vision detector on: a dev host configured with
an Anthropic key and base URL pointing at the loopback fake Messages API, which answers as a perfect model
would for each tile we render."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from blueprints.bids import vision
from tests.builders import register
from tests.conftest import Database, RunningHost, start_host
from tests.e2e.test_bids_flow import _ok, _project, _upload
from tests.fakes.anthropic import API_KEY, FakeAnthropic
from tests.plansets.generator import PlanSet, make_plan_set


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def vision_host(database: Database, fake: FakeAnthropic) -> Iterator[RunningHost]:
    host = start_host("function_app:app", env={"ANTHROPIC_API_KEY": API_KEY, "ANTHROPIC_BASE_URL": fake.base_url})
    yield host
    host.stop()


def _perfect_model(plan_set: PlanSet, path: Path) -> dict[bytes, dict[str, Any]]:
    answers: dict[bytes, dict[str, Any]] = {}
    for sheet_index, sheet in enumerate(plan_set.sheets, start=1):
        for tile in vision.tiles(path, sheet_index, dpi=100, tile_px=1024):
            found = []
            for fixture in sheet.fixtures:
                origin = (tile.left_pt, tile.top_pt) * 2
                px = [(v - o) / tile.points_per_pixel for v, o in zip(fixture.box, origin, strict=True)]
                if min(px) >= 0 and max(px[0], px[2]) <= 1024 and max(px[1], px[3]) <= 1024:
                    kind = fixture.kind.lower().replace(" ", "_")
                    found.append({"fixture_type": kind, "tag": fixture.tag, "box": px, "confidence": 0.96})
            answers[tile.png] = {"fixtures": found}
    return answers


def test_scanned_sheets_are_found_by_vision_through_the_orchestration(
    vision_host: RunningHost, fake: FakeAnthropic, tmp_path: Path
) -> None:
    plan_set = make_plan_set(plan_sheets=2, seed=12, variant="raster")
    path = tmp_path / "scans.pdf"
    path.write_bytes(plan_set.pdf)
    answers = _perfect_model(plan_set, path)
    fake.responder = lambda body: answers.get(
        base64.b64decode(body["messages"][0]["content"][0]["source"]["data"]), {"fixtures": []}
    )
    fake.plan("rate_limited", retry_after=1)  # the first call waits what retry-after says, then succeeds
    client = vision_host.client()
    owner = register(client, tenant_name="PipelineOS Vision")
    document_id, commit = _upload(client, owner, _project(client, owner), plan_set.pdf)
    assert commit.status_code == 202, commit.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        document = _ok(client.get(f"/api/v1/bids/documents/{document_id}", headers=owner.headers))
        if document["status"] in ("analyzed", "failed"):
            break
        time.sleep(0.1)
    assert document["status"] == "analyzed", vision_host.log_tail()
    assert document["progress"]["needs_vision_pages"] == [] and document["progress"]["failed_pages"] == []
    takeoff = _ok(client.get(f"/api/v1/bids/documents/{document_id}/takeoff", headers=owner.headers))
    truth = {kind.lower().replace(" ", "_"): n for kind, n in plan_set.counts().items()}
    assert {c["fixture_type"]: c["count"] for c in takeoff["counts"]} == truth
    listed = _ok(
        client.get(f"/api/v1/bids/documents/{document_id}/fixtures?limit=200&source=vision", headers=owner.headers)
    )
    assert len(listed["items"]) == sum(truth.values())
    # the raster schedule could not be read: every mark is one to check, none silently trusted
    assert any(item["kind"] == "tag_without_schedule_row" for item in takeoff["to_check"])
    assert len(fake.requests) == len(answers) + 1  # one tile per call, plus the rate-limited retry
