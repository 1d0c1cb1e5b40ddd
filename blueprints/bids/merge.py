"""Merging a document's page results into its takeoff: schedule rows are the types, detections from both
detectors merge by overlap (each keeps its sources and best confidence), states come from the business's
thresholds, and the "to check" list names what a person must look at. Pure functions, no I/O.

Sources: `text` (the local detector), `vision` (Claude), and `schedule` when the fixture resolved to a row of
the fixture schedule (the row, not the detector, says what it is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from blueprints.bids import catalog

Box = tuple[float, float, float, float]
MERGE_IOU = 0.3


@dataclass
class Thresholds:
    """Above auto_accept a detection is accepted; below hide_below it is hidden; in between, a person decides."""

    auto_accept: float = 0.9
    hide_below: float = 0.4


@dataclass
class MergedFixture:
    """One fixture of the takeoff."""

    page: int
    fixture_type: str
    tag: str | None
    schedule_tag: str | None
    box: Box
    sources: list[str]
    confidence: float
    state: str
    label: str


@dataclass
class Takeoff:
    """Schedule rows, fixtures and what to check."""

    schedule: list[dict[str, Any]] = field(default_factory=list)
    fixtures: list[MergedFixture] = field(default_factory=list)
    to_check: list[dict[str, Any]] = field(default_factory=list)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def state_for(confidence: float, thresholds: Thresholds) -> str:
    """auto_accepted, pending or hidden by the business's thresholds."""
    if confidence >= thresholds.auto_accept:
        return "auto_accepted"
    return "pending" if confidence >= thresholds.hide_below else "hidden"


def _resolve(hit: dict[str, Any], schedule: dict[str, dict[str, Any]]) -> tuple[str | None, str | None]:
    """(fixture type, schedule tag) of a hit; (None, None) when it names no plumbing fixture (P-1)."""
    tag = (hit.get("tag") or "").upper() or None
    if tag and tag in schedule:
        return schedule[tag]["fixture_type"], tag
    if tag:
        return catalog.type_of_tag(tag), None
    kind = hit.get("fixture_type")
    if kind is None:
        return None, None
    rows = [t for t, row in schedule.items() if row["fixture_type"] == kind]
    return kind, rows[0] if len(rows) == 1 else None


def merge(pages: list[dict[str, Any]], thresholds: Thresholds) -> Takeoff:
    """The takeoff of a document from its pages' results (each: page, discipline, schedule_rows, hits)."""
    schedule: dict[str, dict[str, Any]] = {}
    for page in pages:
        for row in page.get("schedule_rows", []):
            schedule.setdefault(row["tag"].upper(), row)
    takeoff = Takeoff(schedule=list(schedule.values()))
    unscheduled: dict[str, list[int]] = {}
    for page in sorted(pages, key=lambda p: p["page"]):
        placed: list[MergedFixture] = []
        for hit in sorted(page.get("hits", []), key=lambda h: -float(h["confidence"])):
            kind, schedule_tag = _resolve(hit, schedule)
            if kind is None:
                continue
            box: Box = tuple(hit["box"])  # type: ignore[assignment]
            twin = next((f for f in placed if f.fixture_type == kind and iou(f.box, box) >= MERGE_IOU), None)
            if twin is not None:
                twin.sources = sorted({*twin.sources, hit["source"], *(["schedule"] if schedule_tag else [])})
                twin.confidence = max(twin.confidence, float(hit["confidence"]))
                twin.schedule_tag = twin.schedule_tag or schedule_tag
                continue
            confidence = float(hit["confidence"])
            if hit.get("tag") and schedule_tag is None:
                confidence = min(confidence, thresholds.auto_accept - 0.05)  # a person must see an unknown mark
                unscheduled.setdefault(hit["tag"].upper(), []).append(page["page"])
            placed.append(
                MergedFixture(
                    page=page["page"],
                    fixture_type=kind,
                    tag=(hit.get("tag") or None),
                    schedule_tag=schedule_tag,
                    box=box,
                    sources=sorted({hit["source"], *(["schedule"] if schedule_tag else [])}),
                    confidence=round(confidence, 3),
                    state=state_for(confidence, thresholds),
                    label=hit.get("label") or kind,
                )
            )
        for fixture in placed:
            fixture.state = state_for(fixture.confidence, thresholds)
        takeoff.fixtures += placed
    takeoff.to_check = to_check(takeoff, unscheduled)
    return takeoff


def counts_by_tag(fixtures: list[MergedFixture]) -> dict[str, int]:
    """How many counted fixtures resolved to each schedule row."""
    found: dict[str, int] = {}
    for f in fixtures:
        if f.schedule_tag and f.state in COUNTED:
            found[f.schedule_tag] = found.get(f.schedule_tag, 0) + 1
    return found


COUNTED = frozenset({"auto_accepted", "pending", "confirmed"})


def to_check(takeoff: Takeoff, unscheduled: dict[str, list[int]]) -> list[dict[str, Any]]:
    """Tags with no schedule row, schedule rows never found, low-confidence hits, schedule/count disagreements."""
    items: list[dict[str, Any]] = [
        {"kind": "tag_without_schedule_row", "tag": tag, "pages": sorted(set(pages))}
        for tag, pages in sorted(unscheduled.items())
    ]
    found = counts_by_tag(takeoff.fixtures)
    for row in takeoff.schedule:
        tag = row["tag"]
        if tag not in found:
            items.append({"kind": "schedule_row_not_found", "tag": tag, "pages": []})
        elif row.get("quantity") is not None and row["quantity"] != found[tag]:
            items.append(
                {
                    "kind": "count_disagrees_with_schedule",
                    "tag": tag,
                    "schedule_quantity": row["quantity"],
                    "counted": found[tag],
                    "pages": [],
                }
            )
    items += [
        {"kind": "low_confidence", "tag": f.tag, "fixture_type": f.fixture_type, "pages": [f.page]}
        for f in takeoff.fixtures
        if f.state == "pending"
    ]
    return items
