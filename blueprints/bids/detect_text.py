"""The local detector: words with positions (pdfplumber), the fixture schedule parsed, tags and fixture words
found on plan sheets with the box of the symbol they label.

Boxes are PDF points with the origin at the page's top left, as pdfplumber gives them: [x0, top, x1, bottom].
Resolution of tags to schedule rows happens later (merge.py): the schedule may sit on another sheet.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from blueprints.bids import catalog

Box = tuple[float, float, float, float]
TAG = re.compile(r"^([A-Z]{1,4})-(\d{1,3}[A-Z]?)$")
SHEET = re.compile(r"^([A-Z]{1,2})-?(\d{3}[A-Z]?)$")
DISCIPLINES = {"P": "PLUMBING", "A": "ARCHITECTURAL", "M": "MECHANICAL", "E": "ELECTRICAL", "S": "STRUCTURAL"}
PLAN_DISCIPLINES = {"PLUMBING", "MECHANICAL", "UNKNOWN"}  # sheets where fixture marks are plumbing marks
SYMBOL_REACH = 12.0  # how far (points) a label may sit from the symbol it names
COLUMNS = {
    "mark": ("MARK", "TAG", "SYMBOL", "ID"),
    "fixture": ("FIXTURE", "TYPE", "ITEM"),
    "description": ("DESCRIPTION", "REMARKS"),
    "manufacturer": ("MANUFACTURER", "MFR", "MAKE"),
    "model": ("MODEL", "MODEL NO", "CATALOG"),
    "cw": ("CW", "COLD"),
    "hw": ("HW", "HOT"),
    "waste": ("WASTE", "W", "SAN"),
    "vent": ("VENT", "V"),
    "quantity": ("QTY", "QUANTITY", "COUNT"),
}
PIPE_COLUMNS = {"cw", "hw", "waste", "vent"}


@dataclass
class ScheduleRow:
    """One row of a plumbing fixture schedule."""

    tag: str
    fixture_type: str
    description: str = ""
    manufacturer: str = ""
    model: str = ""
    cw: str = ""
    hw: str = ""
    waste: str = ""
    vent: str = ""
    quantity: int | None = None
    page: int = 0


@dataclass
class Hit:
    """A fixture label found on a page: a tag (WC-1) or fixture words, with the box of what it labels."""

    label: str
    fixture_type: str | None
    tag: str | None
    box: Box
    confidence: float
    source: str = "text"


@dataclass
class PageText:
    """What the local detector read on one page."""

    discipline: str = "UNKNOWN"
    sheet_number: str | None = None
    schedule_rows: list[ScheduleRow] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    finish_codes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (activity output)."""
        return asdict(self)


def _overlaps(a: Box, b: Box, pad: float = 0.0) -> bool:
    return a[0] - pad <= b[2] and b[0] - pad <= a[2] and a[1] - pad <= b[3] and b[1] - pad <= a[3]


def _distance(a: Box, b: Box) -> float:
    dx = max(b[0] - a[2], a[0] - b[2], 0.0)
    dy = max(b[1] - a[3], a[1] - b[3], 0.0)
    return (dx * dx + dy * dy) ** 0.5


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _box(obj: dict[str, Any]) -> Box:
    return (float(obj["x0"]), float(obj["top"]), float(obj["x1"]), float(obj["bottom"]))


def read_page(page: Any, *, page_number: int) -> PageText:
    """Run the local detector over one pdfplumber page."""
    words = page.extract_words(keep_blank_chars=False, x_tolerance=1.5, y_tolerance=2)
    result = PageText()
    result.discipline, result.sheet_number = _discipline(words)
    table_boxes: list[Box] = []  # schedules' areas: their marks are not plan tags (walls make "tables" too)
    for table in page.find_tables():
        bbox: Box = (float(table.bbox[0]), float(table.bbox[1]), float(table.bbox[2]), float(table.bbox[3]))
        rows = table.extract()
        kind = _table_kind(_title_above(words, bbox), rows[0] if rows else [])
        if kind == "fixtures":
            result.schedule_rows += _schedule_rows(rows, page_number)
        elif kind == "finishes":
            result.finish_codes += [str(r[0]).strip() for r in rows[1:] if r and r[0]]
        if kind:
            table_boxes.append(bbox)
    if result.discipline in PLAN_DISCIPLINES:
        loose = [
            w
            for w in words
            if w["text"].upper() != result.sheet_number and not any(_overlaps(_box(w), t, 2) for t in table_boxes)
        ]
        symbols = _symbols(page, table_boxes)
        result.hits = _tag_hits(loose, symbols) + _phrase_hits(loose, symbols)
    return result


def _discipline(words: list[dict[str, Any]]) -> tuple[str, str | None]:
    """The sheet's discipline from its title block ("DISCIPLINE: PLUMBING", else the sheet number's letter)."""
    texts = [w["text"].upper() for w in words]
    discipline = "UNKNOWN"
    for i, text in enumerate(texts[:-1]):
        if text == "DISCIPLINE:":
            discipline = texts[i + 1]
    sheet = None
    for i, text in enumerate(texts[:-1]):
        if text == "SHEET" and SHEET.match(texts[i + 1]):
            sheet = texts[i + 1]
    if discipline == "UNKNOWN" and sheet:
        discipline = DISCIPLINES.get(SHEET.match(sheet).group(1)[0], "UNKNOWN")  # type: ignore[union-attr]
    return discipline, sheet


def _title_above(words: list[dict[str, Any]], bbox: Box) -> str:
    band = [w for w in words if bbox[1] - 28 <= w["bottom"] <= bbox[1] + 1 and bbox[0] - 4 <= w["x0"] <= bbox[2]]
    return " ".join(w["text"] for w in sorted(band, key=lambda w: (round(w["top"]), w["x0"]))).upper()


def _header_map(header: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = " ".join(str(cell or "").upper().replace(".", "").split())
        for column, names in COLUMNS.items():
            if name in names and column not in found:
                found[column] = index
    return found


def _table_kind(title: str, header: list[Any]) -> str | None:
    """fixtures (a plumbing fixture schedule), finishes (paint and finish codes) or None."""
    columns = _header_map(header)
    if "FINISH" in title or "PAINT" in title:
        return "finishes"
    if "mark" in columns and ("FIXTURE" in title or "PLUMBING" in title or PIPE_COLUMNS & columns.keys()):
        return "fixtures"
    return None


def _schedule_rows(rows: list[list[Any]], page_number: int) -> list[ScheduleRow]:
    columns = _header_map(rows[0])
    parsed = []
    for row in rows[1:]:
        cell = {name: " ".join(str(row[i] or "").split()) for name, i in columns.items() if i < len(row)}
        tag = cell.get("mark", "").upper()
        if not TAG.match(tag):
            continue
        kind = catalog.type_of_phrase(cell.get("fixture", "")) or catalog.type_of_phrase(cell.get("description", ""))
        quantity = cell.get("quantity", "")
        parsed.append(
            ScheduleRow(
                tag=tag,
                fixture_type=kind or catalog.type_of_tag(tag) or "other",
                description=" ".join(x for x in (cell.get("fixture", ""), cell.get("description", "")) if x),
                manufacturer=cell.get("manufacturer", ""),
                model=cell.get("model", ""),
                cw=cell.get("cw", ""),
                hw=cell.get("hw", ""),
                waste=cell.get("waste", ""),
                vent=cell.get("vent", ""),
                quantity=int(quantity) if quantity.isdigit() else None,
                page=page_number,
            )
        )
    return parsed


def _symbols(page: Any, table_boxes: list[Box]) -> list[Box]:
    """Drawn symbols: small rectangles and curves, merged into one box where they touch."""
    shapes = [_box(o) for o in [*page.rects, *page.curves]]
    shapes = [b for b in shapes if b[2] - b[0] < 120 and b[3] - b[1] < 120]
    shapes = [b for b in shapes if not any(_overlaps(b, t, 1) for t in table_boxes)]
    merged: list[Box] = []
    for shape in sorted(shapes):
        for i, other in enumerate(merged):
            if _overlaps(shape, other, 1.0):
                merged[i] = _union([shape, other])
                break
        else:
            merged.append(shape)
    changed = True
    while changed:  # a later shape may join two clusters
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                if _overlaps(merged[i], merged[j], 1.0):
                    merged[i] = _union([merged[i], merged.pop(j)])
                    changed = True
                    break
            if changed:
                break
    return merged


def _nearest(label: Box, symbols: list[Box]) -> Box | None:
    best = min(symbols, key=lambda s: _distance(label, s), default=None)
    return best if best is not None and _distance(label, best) <= SYMBOL_REACH else None


def _tag_hits(words: list[dict[str, Any]], symbols: list[Box]) -> list[Hit]:
    hits = []
    for word in words:
        text = word["text"].upper()
        if not TAG.match(text):
            continue
        symbol = _nearest(_box(word), symbols)
        hits.append(
            Hit(
                label=text,
                fixture_type=catalog.type_of_tag(text),
                tag=text,
                box=symbol or _box(word),
                confidence=0.95 if symbol else 0.6,
            )
        )
    return hits


def _phrase_hits(words: list[dict[str, Any]], symbols: list[Box]) -> list[Hit]:
    """Fixture words, on one line or stacked two lines deep, near a symbol; prose far from any symbol is weak."""
    hits: list[Hit] = []
    used: set[int] = set()
    order = sorted(range(len(words)), key=lambda i: (round(words[i]["top"]), words[i]["x0"]))
    for i in order:
        if i in used:
            continue
        for run in _runs(words, i):
            phrase = " ".join(words[j]["text"].upper() for j in run)
            if phrase in catalog.PHRASES:
                box = _union([_box(words[j]) for j in run])
                symbol = _nearest(box, symbols)
                hits.append(
                    Hit(
                        label=phrase,
                        fixture_type=catalog.PHRASES[phrase],
                        tag=None,
                        box=symbol or box,
                        confidence=0.85 if symbol else 0.2,
                    )
                )
                used.update(run)
                break
    return hits


def _runs(words: list[dict[str, Any]], start: int) -> list[list[int]]:
    """Word runs starting at `start`, longest first: along the line, or down a stacked label."""
    along, down = [start], [start]
    for _ in range(catalog.MAX_PHRASE_WORDS - 1):
        last = words[along[-1]]
        nxt = [
            j
            for j, w in enumerate(words)
            if abs(w["top"] - last["top"]) < 2 and 0 <= w["x0"] - last["x1"] < 6 and j not in along
        ]
        if nxt:
            along.append(min(nxt, key=lambda j: words[j]["x0"]))
        last = words[down[-1]]
        below = [
            j
            for j, w in enumerate(words)
            if abs(w["x0"] - last["x0"]) < 3 and 0 < w["top"] - last["top"] < 12 and j not in down
        ]
        if below:
            down.append(min(below, key=lambda j: words[j]["top"]))
    runs = [along[:n] for n in range(len(along), 0, -1)] + [down[:n] for n in range(len(down), 1, -1)]
    return sorted(runs, key=len, reverse=True)
