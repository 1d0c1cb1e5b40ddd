"""Draw realistic plumbing plan sheets as PDFs, with the ground truth of every fixture on them.

A set has a cover/schedule sheet (the plumbing fixture schedule, general notes that name fixtures in prose),
plumbing floor plans (walls, fixture symbols with tags or word labels beside them, a title block naming the
discipline) and an architectural sheet with a finish schedule whose P-1 codes are a trap: they look like
tags but are paint. Every fixture's box is the symbol's box in PDF points with the origin at the top left
(pdfplumber's convention). The same sheets can be written with text outlined (glyphs as paths, no text
layer) or as raster scans (each page one image).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fpdf import FPDF
from fpdf.enums import PathPaintRule

PAGE_W, PAGE_H = 1224.0, 792.0  # 17 x 11 in, landscape
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
Variant = Literal["vector", "outlined", "raster"]

# tag prefix -> (schedule "FIXTURE" column, description, manufacturer, model, CW, HW, waste, vent)
SCHEDULE: dict[str, tuple[str, str, str, str, str, str, str, str]] = {
    "WC-1": ("WATER CLOSET", "FLOOR MOUNTED, TANK TYPE, 1.28 GPF", "KOHLER", "K-3999", '1/2"', "-", '3"', '2"'),
    "LAV-1": (
        "LAVATORY",
        "WALL HUNG, VITREOUS CHINA",
        "AMERICAN STANDARD",
        "0355.012",
        '1/2"',
        '1/2"',
        '1-1/4"',
        '1-1/4"',
    ),
    "UR-1": ("URINAL", "WALL HUNG, 0.125 GPF FLUSH VALVE", "SLOAN", "SU-7009", '3/4"', "-", '2"', '1-1/2"'),
    "S-1": ("SINK", "DOUBLE COMPARTMENT STAINLESS", "ELKAY", "LRAD3322", '1/2"', '1/2"', '1-1/2"', '1-1/2"'),
    "MS-1": ("MOP SINK", "FLOOR MOUNTED MOLDED STONE", "FIAT", "MSB2424", '1/2"', '1/2"', '3"', '1-1/2"'),
    "DF-1": ("DRINKING FOUNTAIN", "BI-LEVEL, ADA", "ELKAY", "LZSTL8WSLK", '1/2"', "-", '1-1/4"', '1-1/4"'),
    "WH-1": ("WATER HEATER", "GAS, 50 GAL", "A.O. SMITH", "BTH-120", '3/4"', '3/4"', "-", "-"),
    "FD-1": ("FLOOR DRAIN", "CAST IRON, NICKEL BRONZE STRAINER", "ZURN", "ZN-415", "-", "-", '3"', '2"'),
    "HB-1": ("HOSE BIBB", "FROST FREE WALL HYDRANT", "WOODFORD", "MODEL 65", '3/4"', "-", "-", "-"),
    "SH-1": ("SHOWER", "PRE-FAB FIBERGLASS, PRESSURE BALANCE", "SYMMONS", "S-96", '1/2"', '1/2"', '2"', '1-1/2"'),
    "DF-2": (
        "DRINKING FOUNTAIN",
        "SINGLE LEVEL, REFRIGERATED",
        "HALSEY TAYLOR",
        "HTHB-HAC8",
        '1/2"',
        "-",
        '1-1/4"',
        '1-1/4"',
    ),
}
KIND_OF = {tag: row[0] for tag, row in SCHEDULE.items()}
SYMBOL_SIZE = {
    "WATER CLOSET": (20, 30),
    "LAVATORY": (22, 16),
    "URINAL": (14, 16),
    "SINK": (32, 20),
    "MOP SINK": (24, 24),
    "DRINKING FOUNTAIN": (18, 14),
    "WATER HEATER": (26, 26),
    "FLOOR DRAIN": (10, 10),
    "HOSE BIBB": (8, 8),
    "SHOWER": (34, 34),
}
ROOMS = 6
DISAGREEING = "LAV-1"  # its schedule QTY is one more than the plans show: the takeoff must flag it, not average
# Word labels a few fixtures carry instead of a tag, as drafters do for drains and bibbs.
WORD_LABEL = {"FLOOR DRAIN": "FLOOR DRAIN", "HOSE BIBB": "HOSE BIBB"}


@dataclass
class Fixture:
    """One fixture drawn on a sheet: where its symbol is and what it is."""

    page: int  # 1-based
    kind: str  # the schedule's FIXTURE column, e.g. "WATER CLOSET"
    tag: str | None  # the schedule mark it resolves to (None: labelled with words only)
    label: str  # what is written beside it
    box: tuple[float, float, float, float]  # x0, top, x1, bottom in points
    scheduled: bool = True


@dataclass
class Sheet:
    """One page of the set."""

    number: str
    title: str
    discipline: str
    fixtures: list[Fixture] = field(default_factory=list)


@dataclass
class PlanSet:
    """A drawn set and its ground truth."""

    pdf: bytes
    sheets: list[Sheet]
    schedule_tags: list[str]
    unscheduled_tags: list[str]
    never_placed: list[str]
    disagreeing: dict[str, tuple[int, int]]  # tag -> (schedule QTY, fixtures on the plans)

    @property
    def fixtures(self) -> list[Fixture]:
        """Every fixture of every sheet."""
        return [f for s in self.sheets for f in s.fixtures]

    def counts(self) -> dict[str, int]:
        """How many fixtures of each kind the set holds."""
        found: dict[str, int] = {}
        for fixture in self.fixtures:
            found[fixture.kind] = found.get(fixture.kind, 0) + 1
        return found


class _Pen:
    """Draws text either as real text or as glyph outlines (paths, no text layer)."""

    def __init__(self, pdf: FPDF, *, outlined: bool) -> None:
        self.pdf = pdf
        self.outlined = outlined
        self._font = None
        if outlined:
            from fontTools.ttLib import TTFont

            self._font = TTFont(FONT)

    def text(self, x: float, baseline: float, text: str, size: float) -> None:
        """Write text with its baseline at (x, baseline)."""
        if not self.outlined:
            self.pdf.set_font("dejavu", size=size)
            self.pdf.text(x, baseline, text)
            return
        self._outline(x, baseline, text, size)

    def _outline(self, x: float, baseline: float, text: str, size: float) -> None:
        from fontTools.pens.recordingPen import RecordingPen

        assert self._font is not None
        cmap = self._font.getBestCmap()
        glyphs = self._font.getGlyphSet()
        scale = size / self._font["head"].unitsPerEm
        cursor = x
        for char in text:
            name = cmap.get(ord(char))
            if name is None:
                continue
            pen = RecordingPen()
            glyphs[name].draw(pen)
            self._draw_recording(pen.value, cursor, baseline, scale)
            cursor += glyphs[name].width * scale

    def _draw_recording(self, ops: list, ox: float, oy: float, scale: float) -> None:
        if not ops:
            return
        with self.pdf.new_path(x=ox, y=oy) as path:
            path.style.fill_color = "#000000"
            path.style.stroke_color = None
            path.style.paint_rule = PathPaintRule.FILL_NONZERO
            for op, args in ops:
                pts = [(ox + px * scale, oy - py * scale) for px, py in args]
                if op == "moveTo":
                    path.move_to(*pts[0])
                elif op == "lineTo":
                    path.line_to(*pts[0])
                elif op == "qCurveTo":
                    for i in range(len(pts) - 1):
                        ctrl = pts[i]
                        end = (
                            pts[i + 1]
                            if i == len(pts) - 2
                            else ((pts[i][0] + pts[i + 1][0]) / 2, (pts[i][1] + pts[i + 1][1]) / 2)
                        )
                        path.quadratic_curve_to(ctrl[0], ctrl[1], end[0], end[1])
                elif op == "curveTo":
                    path.curve_to(*pts[0], *pts[1], *pts[2])
                elif op in ("closePath", "endPath"):
                    path.close()


def _symbol(pdf: FPDF, kind: str, x: float, y: float) -> tuple[float, float, float, float]:
    """Draw a fixture symbol with its top-left at (x, y); its bounding box."""
    w, h = SYMBOL_SIZE[kind]
    pdf.set_line_width(0.8)
    if kind == "WATER CLOSET":
        pdf.rect(x, y, w, 8)
        pdf.ellipse(x + 2, y + 9, w - 4, h - 9)
    elif kind in ("LAVATORY", "DRINKING FOUNTAIN", "URINAL"):
        pdf.rect(x, y, w, h)
        pdf.ellipse(x + 3, y + 3, w - 6, h - 6)
    elif kind == "SINK":
        pdf.rect(x, y, w, h)
        pdf.rect(x + 2, y + 2, w / 2 - 3, h - 4)
        pdf.rect(x + w / 2 + 1, y + 2, w / 2 - 3, h - 4)
    elif kind == "MOP SINK":
        pdf.rect(x, y, w, h)
        pdf.rect(x + 3, y + 3, w - 6, h - 6)
    elif kind == "WATER HEATER":
        pdf.ellipse(x, y, w, h)
        pdf.ellipse(x + 6, y + 6, w - 12, h - 12)
    elif kind in ("FLOOR DRAIN", "HOSE BIBB"):
        pdf.ellipse(x, y, w, h)
    elif kind == "SHOWER":
        pdf.rect(x, y, w, h)
        pdf.ellipse(x + w / 2 - 3, y + h / 2 - 3, 6, 6)
    return (x, y, x + w, y + h)


def _title_block(pdf: FPDF, pen: _Pen, sheet: Sheet, project: str) -> None:
    pdf.set_line_width(1.5)
    pdf.line(24, 24, PAGE_W - 24, 24)
    pdf.line(24, PAGE_H - 24, PAGE_W - 24, PAGE_H - 24)
    pdf.line(24, 24, 24, PAGE_H - 24)
    pdf.line(PAGE_W - 24, 24, PAGE_W - 24, PAGE_H - 24)
    x0, y0 = PAGE_W - 264, PAGE_H - 124
    pdf.line(x0, y0, PAGE_W - 24, y0)
    pdf.line(x0, y0, x0, PAGE_H - 24)
    pen.text(x0 + 10, y0 + 20, project, 10)
    pen.text(x0 + 10, y0 + 40, f"DISCIPLINE: {sheet.discipline}", 8)
    pen.text(x0 + 10, y0 + 60, sheet.title, 8)
    pen.text(x0 + 10, y0 + 88, f"SHEET {sheet.number}", 14)


def _table(
    pdf: FPDF, pen: _Pen, x: float, y: float, title: str, header: list[str], rows: list[list[str]], widths: list[float]
) -> None:
    pen.text(x, y - 8, title, 11)
    row_h = 16.0
    total_w = sum(widths)
    pdf.set_line_width(0.5)
    for i in range(len(rows) + 2):
        pdf.line(x, y + i * row_h, x + total_w, y + i * row_h)
    cx = x
    for w in [*widths, 0]:
        pdf.line(cx, y, cx, y + (len(rows) + 1) * row_h)
        cx += w
    for r, cells in enumerate([header, *rows]):
        cx = x
        for w, cell in zip(widths, cells, strict=True):
            pen.text(cx + 3, y + r * row_h + 11.5, cell, 6.5)
            cx += w


def _walls(pdf: FPDF) -> list[tuple[float, float, float, float]]:
    """Rooms as a grid of wall lines; the rooms' inner rectangles (for placing fixtures)."""
    pdf.set_line_width(3)
    left, top, right, bottom = 60.0, 60.0, 880.0, 700.0
    xs = [left, left + 270, left + 540, right]
    ys = [top, top + 320, bottom]
    for x in xs:
        pdf.line(x, top, x, bottom)
    for y in ys:
        pdf.line(left, y, right, y)
    return [(xs[i] + 14, ys[j] + 14, xs[i + 1] - 14, ys[j + 1] - 14) for i in range(3) for j in range(2)]


def _place(room: tuple[float, float, float, float], slot: int, kind: str) -> tuple[float, float]:
    """Slots in rows, far enough apart that no two symbols (with their labels) touch."""
    per_row = 3
    col, row = slot % per_row, slot // per_row
    return room[0] + 6 + col * 82, room[1] + 10 + row * 62


def _plan_fixtures(rng: random.Random, page: int, rooms: int) -> list[tuple[int, str, str | None, str, bool]]:
    """(room, kind, tag, label, scheduled) for one floor plan."""
    placed_tags = [t for t in SCHEDULE if t != "DF-2"]
    items: list[tuple[int, str, str | None, str, bool]] = []
    for room in range(rooms):
        for _ in range(rng.randint(2, 6)):
            tag = rng.choice(placed_tags)
            kind = KIND_OF[tag]
            if kind in WORD_LABEL and rng.random() < 0.4:
                items.append((room, kind, None, WORD_LABEL[kind], True))
            else:
                items.append((room, kind, tag, tag, True))
    if page % 4 == 0:  # a tag the schedule does not have: the takeoff must list it to check
        items.append((0, "SHOWER", None, "SH-2", False))
    return items


def _layout(rng: random.Random, page: int) -> list[tuple[int, int, str, str | None, str, bool]]:
    """(room, slot, kind, tag, label, scheduled) of one floor plan, at most nine fixtures a room."""
    slots = [0] * ROOMS
    placed = []
    for room, kind, tag, label, scheduled in _plan_fixtures(rng, page, ROOMS):
        if slots[room] < 9:
            placed.append((room, slots[room], kind, tag, label, scheduled))
            slots[room] += 1
    return placed


def _draw_plan(
    pdf: FPDF, pen: _Pen, sheet: Sheet, page: int, layout: list[tuple[int, int, str, str | None, str, bool]]
) -> None:
    rooms = _walls(pdf)
    for room, slot, kind, tag, label, scheduled in layout:
        x, y = _place(rooms[room], slot, kind)
        box = _symbol(pdf, kind, x, y)
        w, h = box[2] - box[0], box[3] - box[1]
        if " " in label:  # word labels sit below the symbol on two short lines
            first, second = label.split(" ", 1)
            pen.text(x, y + h + 9, first, 6)
            pen.text(x, y + h + 16, second, 6)
        else:
            pen.text(x + w + 3, y + h / 2 + 2.5, label, 6.5)
        sheet.fixtures.append(Fixture(page=page, kind=kind, tag=tag, label=label, box=box, scheduled=scheduled))
    pen.text(900, 80, "KEYED NOTES:", 8)
    pen.text(900, 94, "1. EACH WATER CLOSET AND LAVATORY SHALL HAVE A STOP VALVE.", 5.5)
    pen.text(900, 104, "2. FLOOR DRAIN TRAP PRIMERS PER CODE.", 5.5)


def _draw_schedule_sheet(pdf: FPDF, pen: _Pen, quantities: dict[str, int]) -> None:
    header = ["MARK", "FIXTURE", "DESCRIPTION", "MANUFACTURER", "MODEL", "CW", "HW", "WASTE", "VENT", "QTY"]
    rows = [[tag, *values, str(quantities.get(tag, 0))] for tag, values in SCHEDULE.items()]
    widths = [40, 90, 190, 100, 70, 34, 34, 40, 36, 30]
    _table(pdf, pen, 60, 120, "PLUMBING FIXTURE SCHEDULE", header, rows, widths)
    pen.text(60, 420, "GENERAL NOTES:", 9)
    pen.text(60, 436, "A. VERIFY EVERY WATER CLOSET ROUGH-IN WITH THE MANUFACTURER BEFORE SETTING.", 7)
    pen.text(60, 448, "B. PROVIDE A HOSE BIBB WITHIN 100 FT OF EVERY FLOOR DRAIN.", 7)


def _draw_architectural(pdf: FPDF, pen: _Pen) -> None:
    rooms = _walls(pdf)
    for i, room in enumerate(rooms):
        pen.text(room[0] + 20, room[1] + 40, f"P-{1 + i % 3}", 8)
        pen.text(room[0] + 20, room[1] + 60, f"ROOM {101 + i}", 8)
    header = ["MARK", "FINISH", "MANUFACTURER", "COLOR"]
    rows = [
        ["P-1", "PAINT, EGGSHELL", "SHERWIN-WILLIAMS", "SW 7005"],
        ["P-2", "PAINT, SEMI-GLOSS", "BENJAMIN MOORE", "OC-17"],
        ["P-3", "EPOXY", "TNEMEC", "GRAY"],
    ]
    _table(pdf, pen, 900, 120, "FINISH SCHEDULE", header, rows, [40, 90, 100, 60])


def make_plan_set(
    *, plan_sheets: int = 8, variant: Variant = "vector", seed: int = 15, project: str = "RIVERSIDE CLINIC"
) -> PlanSet:
    """A set: the schedule sheet, `plan_sheets` plumbing plans and one architectural sheet (its P-1 codes a trap)."""
    rng = random.Random(seed)
    pdf = FPDF(orientation="L", unit="pt", format=(PAGE_H, PAGE_W))
    pdf.set_auto_page_break(False)
    pdf.add_font("dejavu", fname=FONT)
    pen = _Pen(pdf, outlined=variant == "outlined")
    sheets = [Sheet("P-001", "PLUMBING SCHEDULES AND NOTES", "PLUMBING")]
    sheets += [Sheet(f"P-{101 + i}", f"PLUMBING FLOOR PLAN - AREA {i + 1}", "PLUMBING") for i in range(plan_sheets)]
    sheets.append(Sheet("A-101", "FINISH PLAN", "ARCHITECTURAL"))
    layouts = {page: _layout(rng, page) for page in range(2, plan_sheets + 2)}
    row_of = {kind: tag for tag, kind in KIND_OF.items() if tag != "DF-2"}
    quantities: dict[str, int] = {}
    for layout in layouts.values():
        for _, _, kind, tag, _, scheduled in layout:
            if scheduled:
                quantities[tag or row_of[kind]] = quantities.get(tag or row_of[kind], 0) + 1
    counted = dict(quantities)
    quantities[DISAGREEING] = quantities.get(DISAGREEING, 0) + 1  # the schedule says one more than the plans show
    for page, sheet in enumerate(sheets, start=1):
        pdf.add_page()
        _title_block(pdf, pen, sheet, project)
        if sheet.number == "P-001":
            _draw_schedule_sheet(pdf, pen, quantities)
        elif sheet.discipline == "PLUMBING":
            _draw_plan(pdf, pen, sheet, page, layouts[page])
        else:
            _draw_architectural(pdf, pen)
    data = bytes(pdf.output())
    if variant == "raster":
        data = rasterise(data)
    unscheduled = sorted({f.label for s in sheets for f in s.fixtures if not f.scheduled})
    return PlanSet(
        pdf=data,
        sheets=sheets,
        schedule_tags=list(SCHEDULE),
        unscheduled_tags=unscheduled,
        never_placed=sorted(set(SCHEDULE) - set(counted)),
        disagreeing={DISAGREEING: (quantities[DISAGREEING], counted.get(DISAGREEING, 0))},
    )


def rasterise(pdf_bytes: bytes, *, dpi: int = 100, seed: int = 7) -> bytes:
    """The same pages as scans: each page rendered to a grey image with speckle, one image per page."""
    import pypdfium2 as pdfium
    from PIL import ImageFilter

    rng = random.Random(seed)
    document = pdfium.PdfDocument(pdf_bytes)
    images = []
    for index in range(len(document)):
        image = document[index].render(scale=dpi / 72).to_pil().convert("L")
        pixels = image.load()
        assert pixels is not None
        for _ in range(image.width * image.height // 400):
            pixels[rng.randrange(image.width), rng.randrange(image.height)] = rng.choice((0, 200))
        images.append(image.filter(ImageFilter.GaussianBlur(0.4)))
    document.close()
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return out.getvalue()


def big_plan_set(*, target_bytes: int, seed: int = 3) -> bytes:
    """A plan set followed by incompressible scan pages, at least target_bytes long (size limits, memory)."""
    from PIL import Image

    rng = random.Random(seed)
    base = make_plan_set(plan_sheets=2, seed=seed).pdf

    def noise() -> Image.Image:
        return Image.frombytes("L", (1400, 1400), rng.randbytes(1400 * 1400))

    probe = io.BytesIO()
    noise().save(probe, format="PDF", resolution=150)
    count = max(1, -(-(target_bytes - len(base)) // len(probe.getvalue())))
    scans = io.BytesIO()
    first, *rest = [noise() for _ in range(count)]
    first.save(scans, format="PDF", save_all=True, append_images=rest, resolution=150)
    import pypdfium2 as pdfium

    merged = pdfium.PdfDocument(base)
    merged.import_pages(pdfium.PdfDocument(scans.getvalue()))
    out = io.BytesIO()
    merged.save(out)
    return out.getvalue()


def write(path: Path, **kwargs: object) -> PlanSet:
    """Draw a set into a file (for looking at it)."""
    plan_set = make_plan_set(**kwargs)  # type: ignore[arg-type]
    path.write_bytes(plan_set.pdf)
    return plan_set


def zero_page_pdf() -> bytes:
    """A well-formed PDF whose page tree is empty."""
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def encrypted_pdf(*, user_password: str | None = "open-sesame") -> bytes:
    """A one-page PDF encrypted with fpdf2 (with a user password unless told otherwise)."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.text(20, 20, "WC-1 WATER CLOSET")
    pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    return bytes(pdf.output())
