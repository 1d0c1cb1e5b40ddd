"""The vision detector and the Anthropic provider against a loopback fake of the Messages API, driven by the
real `anthropic` SDK: tiles rendered by us, boxes mapped back to page points, retry-after honoured on 429 and
529, no retry on a spend limit, a malformed tool input refused, request ids kept."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from blueprints.bids import merge, pages, vision
from shared.providers.anthropic_vision import AnthropicVision, VisionError
from tests.fakes.anthropic import API_KEY, FakeAnthropic
from tests.plansets.generator import PlanSet, make_plan_set

DPI, TILE = 100, 1024


@pytest.fixture
def raster(tmp_path: Path) -> tuple[PlanSet, Path]:
    plan_set = make_plan_set(plan_sheets=1, seed=33, variant="raster")
    path = tmp_path / "scan.pdf"
    path.write_bytes(plan_set.pdf)
    return plan_set, path


def _truthful_model(plan_set: PlanSet, path: Path, page: int) -> dict[bytes, dict[str, Any]]:
    """What a perfect model would answer for each tile of the page: the true fixtures inside it, in tile pixels."""
    answers: dict[bytes, dict[str, Any]] = {}
    for tile in vision.tiles(path, page, dpi=DPI, tile_px=TILE):
        found = []
        for fixture in plan_set.sheets[page - 1].fixtures:
            px = [
                (v - o) / tile.points_per_pixel
                for v, o in zip(fixture.box, (tile.left_pt, tile.top_pt) * 2, strict=True)
            ]
            if px[0] >= 0 and px[1] >= 0 and px[2] <= TILE and px[3] <= TILE:
                kind = fixture.kind.lower().replace(" ", "_")
                found.append({"fixture_type": kind, "tag": fixture.tag, "box": px, "confidence": 0.93})
        answers[tile.png] = {"fixtures": found}
    return answers


def _image_of(body: dict[str, Any]) -> bytes:
    block = body["messages"][0]["content"][0]
    return base64.b64decode(block["source"]["data"])


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic().start()
    yield server
    server.stop()


def _client(fake: FakeAnthropic, sleeps: list[float]) -> AnthropicVision:
    return AnthropicVision(
        api_key=API_KEY, model="claude-test", base_url=fake.base_url, max_attempts=3, sleep=sleeps.append
    )


def test_a_scanned_page_is_found_by_vision_with_boxes_on_our_page(fake: FakeAnthropic, raster: Any) -> None:
    plan_set, path = raster
    answers = _truthful_model(plan_set, path, 2)
    fake.responder = lambda body: answers[_image_of(body)]
    detector = vision.ClaudeDetector(_client(fake, []), dpi=DPI, tile_px=TILE)
    result = pages.analyze_page(path, 2, vision=detector)
    assert result["kind"] == "raster" and result["status"] == "done" and result["detectors"] == ["vision"]
    assert len(result["request_ids"]) == len(answers) and all(r.startswith("req_") for r in result["request_ids"])
    takeoff = merge.merge([result], merge.Thresholds())
    assert len(takeoff.fixtures) == len(plan_set.sheets[1].fixtures)  # tiles overlap; duplicates merge
    for truth in plan_set.sheets[1].fixtures:
        assert max(merge.iou(truth.box, f.box) for f in takeoff.fixtures) >= 0.9
    request = fake.requests[0]["body"]
    assert request["tool_choice"] == {"type": "tool", "name": vision.TOOL_NAME}
    assert request["tools"][0]["input_schema"]["properties"]["fixtures"]["type"] == "array"
    assert _image_of(request).startswith(b"\x89PNG")  # our rendered tile, not the PDF


def test_429_and_529_wait_what_retry_after_says_then_succeed(fake: FakeAnthropic) -> None:
    sleeps: list[float] = []
    fake.plan("rate_limited", retry_after=2)
    fake.plan("overloaded", retry_after=1)
    call = _client(fake, sleeps).call_tool(image_png=b"\x89PNG", prompt="find", tool=vision.TOOL)
    assert call.input == {"fixtures": []} and call.attempts == 3 and call.request_id
    assert sleeps == [2.0, 1.0]


def test_a_spend_limit_is_never_retried(fake: FakeAnthropic) -> None:
    sleeps: list[float] = []
    fake.plan("spend_limit")
    with pytest.raises(VisionError) as refused:
        _client(fake, sleeps).call_tool(image_png=b"\x89PNG", prompt="find", tool=vision.TOOL)
    assert refused.value.code == "spend_limit" and not refused.value.transient
    assert refused.value.request_id and refused.value.request_id.startswith("req_")
    assert len(fake.requests) == 1 and sleeps == []


def test_a_malformed_tool_input_fails_the_page_for_its_retry(fake: FakeAnthropic, raster: Any) -> None:
    _, path = raster
    fake.plan("malformed")
    detector = vision.ClaudeDetector(_client(fake, []), dpi=DPI, tile_px=TILE)
    with pytest.raises(VisionError) as failed:
        detector.detect_page(path, 2)
    assert failed.value.code == "malformed_tool_input" and failed.value.transient


def test_overload_that_does_not_clear_gives_up_as_transient(fake: FakeAnthropic) -> None:
    sleeps: list[float] = []
    for _ in range(3):
        fake.plan("overloaded")
    with pytest.raises(VisionError) as failed:
        _client(fake, sleeps).call_tool(image_png=b"\x89PNG", prompt="find", tool=vision.TOOL)
    assert failed.value.transient and len(fake.requests) == 3 and sleeps == [2.0, 4.0]


def test_a_wrong_key_is_not_retried(fake: FakeAnthropic) -> None:
    client = AnthropicVision(api_key="wrong", model="m", base_url=fake.base_url, sleep=lambda s: None)
    with pytest.raises(VisionError) as refused:
        client.call_tool(image_png=b"\x89PNG", prompt="find", tool=vision.TOOL)
    assert refused.value.code == "authentication_error" and not refused.value.transient and len(fake.requests) == 1


def test_vision_on_every_page_merges_with_the_text_detector(fake: FakeAnthropic, tmp_path: Path) -> None:
    plan_set = make_plan_set(plan_sheets=1, seed=33)
    path = tmp_path / "vector.pdf"
    path.write_bytes(plan_set.pdf)
    answers = _truthful_model(plan_set, path, 2)
    fake.responder = lambda body: answers[_image_of(body)]
    detector = vision.ClaudeDetector(_client(fake, []), dpi=DPI, tile_px=TILE)
    schedule = pages.analyze_page(path, 1, vision=None)
    result = pages.analyze_page(path, 2, vision=detector, vision_all=True)
    assert result["detectors"] == ["text", "vision"]
    takeoff = merge.merge([schedule, result], merge.Thresholds())
    placed = [f for f in takeoff.fixtures if f.page == 2 and f.state in merge.COUNTED]
    assert len(placed) == len(plan_set.sheets[1].fixtures)
    assert all({"text", "vision"} <= set(f.sources) for f in placed)


def test_a_page_past_the_daily_cap_is_refused_before_any_call(fake: FakeAnthropic, raster: Any) -> None:
    _, path = raster
    asked: list[int] = []

    def claim(tiles: int) -> bool:
        asked.append(tiles)
        return False

    detector = vision.ClaudeDetector(_client(fake, []), dpi=DPI, tile_px=TILE, claim=claim)
    with pytest.raises(VisionError) as refused:
        detector.detect_page(path, 2)
    assert refused.value.code == "daily_cap" and not refused.value.transient
    assert asked == [len(vision.tiles(path, 2, dpi=DPI, tile_px=TILE))] and fake.requests == []
