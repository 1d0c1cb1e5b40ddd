"""The local detector and the merge against the ground truth of generated plan sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from blueprints.bids import catalog, merge, pages
from tests.plansets.generator import PlanSet, make_plan_set


def _type(kind: str) -> str:
    found = catalog.type_of_phrase(kind)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def vector_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[PlanSet, Path]:
    plan_set = make_plan_set(plan_sheets=4, seed=21)
    path = tmp_path_factory.mktemp("plans") / "set.pdf"
    path.write_bytes(plan_set.pdf)
    return plan_set, path


def _takeoff(path: Path, count: int) -> tuple[list[dict], merge.Takeoff]:
    results = [pages.analyze_page(path, n, vision=None) for n in range(1, count + 1)]
    return results, merge.merge(results, merge.Thresholds())


def test_vector_sheets_count_every_fixture_with_its_box(vector_set: tuple[PlanSet, Path]) -> None:
    plan_set, path = vector_set
    _, takeoff = _takeoff(path, len(plan_set.sheets))
    counted = [f for f in takeoff.fixtures if f.state in merge.COUNTED]
    by_type: dict[str, int] = {}
    for f in counted:
        by_type[f.fixture_type] = by_type.get(f.fixture_type, 0) + 1
    assert by_type == {_type(kind): n for kind, n in plan_set.counts().items()}
    for truth in plan_set.fixtures:  # every true fixture matched by a detection on its page with its box
        best = max((merge.iou(truth.box, f.box) for f in counted if f.page == truth.page), default=0.0)
        assert best >= 0.7, (truth, best)


def test_schedule_is_parsed_and_the_paint_codes_are_not_fixtures(vector_set: tuple[PlanSet, Path]) -> None:
    plan_set, path = vector_set
    results, takeoff = _takeoff(path, len(plan_set.sheets))
    rows = {row["tag"]: row for row in takeoff.schedule}
    assert sorted(rows) == sorted(plan_set.schedule_tags)
    assert rows["WC-1"]["fixture_type"] == "water_closet"
    assert rows["WC-1"]["manufacturer"] == "KOHLER" and rows["WC-1"]["model"] == "K-3999"
    assert rows["LAV-1"]["cw"] == '1/2"' and rows["LAV-1"]["waste"] == '1-1/4"'
    architectural = results[-1]
    assert architectural["discipline"] == "ARCHITECTURAL" and architectural["finish_codes"] == ["P-1", "P-2", "P-3"]
    assert not [f for f in takeoff.fixtures if (f.tag or "").startswith("P-")]
    assert not [f for f in takeoff.fixtures if f.page == len(plan_set.sheets)]


def test_to_check_names_unscheduled_tags_and_rows_never_found(vector_set: tuple[PlanSet, Path]) -> None:
    plan_set, path = vector_set
    _, takeoff = _takeoff(path, len(plan_set.sheets))
    kinds = {(item["kind"], item.get("tag")) for item in takeoff.to_check}
    for tag in plan_set.unscheduled_tags:
        assert ("tag_without_schedule_row", tag) in kinds
    for tag in plan_set.never_placed:
        assert ("schedule_row_not_found", tag) in kinds
    disagreements = {
        i["tag"]: (i["schedule_quantity"], i["counted"])
        for i in takeoff.to_check
        if i["kind"] == "count_disagrees_with_schedule"
    }
    assert disagreements == plan_set.disagreeing  # flagged with both numbers, never averaged away
    prose = [f for f in takeoff.fixtures if f.page == 1]
    assert prose and {f.state for f in prose} == {"hidden"}  # general notes name fixtures in prose: not counted


def test_pages_without_text_need_vision_when_none_is_configured(tmp_path: Path) -> None:
    for variant in ("outlined", "raster"):
        plan_set = make_plan_set(plan_sheets=1, seed=5, variant=variant)
        path = tmp_path / f"{variant}.pdf"
        path.write_bytes(plan_set.pdf)
        result = pages.analyze_page(path, 2, vision=None)
        assert result["kind"] == ("vector_outlined" if variant == "outlined" else "raster")
        assert result["status"] == "needs_vision" and result["hits"] == []


def test_fixture_units_come_from_the_code_table() -> None:
    counts = {"water_closet": 2, "lavatory": 2, "floor_drain": 1}
    assert catalog.fixture_units("IPC", counts) == (catalog.Decimal("12"), catalog.Decimal("14"))
    assert catalog.fixture_units("UPC", counts) == (catalog.Decimal("12"), catalog.Decimal("10"))


def test_a_set_longer_than_the_page_limit_is_refused(tmp_path: Path) -> None:
    from blueprints.bids import pdfcheck
    from shared.errors import Unprocessable

    path = tmp_path / "long.pdf"
    path.write_bytes(make_plan_set(plan_sheets=4, seed=2).pdf)
    assert pdfcheck.page_count(path, max_pages=6) == 6
    with pytest.raises(Unprocessable) as refused:
        pdfcheck.page_count(path, max_pages=5)
    assert refused.value.code == "pdf_too_many_pages"
