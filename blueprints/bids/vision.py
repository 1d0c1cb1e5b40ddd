"""The vision detector: pages rendered by us (pypdfium2) and cut into tiles, each sent to Claude with a tool
whose input is the list of fixtures with a pixel box each; boxes come back in tile pixels and are mapped to
PDF points (origin top left) through the tile's offset and the render scale, so they land on our page.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from blueprints.bids import catalog
from blueprints.bids.detect_text import Hit
from shared import pdfium as shared_pdfium
from shared.config import get_settings
from shared.providers import anthropic_vision
from shared.providers.anthropic_vision import VisionError

TOOL_NAME = "report_fixtures"
TOOL: dict[str, Any] = {
    "name": TOOL_NAME,
    "description": "Report every plumbing fixture symbol visible in the image, with its bounding box in pixels.",
    "input_schema": {
        "type": "object",
        "properties": {
            "fixtures": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "fixture_type": {"type": "string", "enum": list(catalog.FIXTURE_TYPES)},
                        "tag": {"type": ["string", "null"], "description": "the mark written beside it, e.g. WC-1"},
                        "box": {
                            "type": "array",
                            "items": {"type": "number"},
                            "minItems": 4,
                            "maxItems": 4,
                            "description": "[left, top, right, bottom] in pixels of this image",
                        },
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                    "required": ["fixture_type", "box", "confidence"],
                },
            }
        },
        "required": ["fixtures"],
    },
}
PROMPT = (
    "This is one tile of a plumbing plan sheet. Find every plumbing fixture symbol (water closets, lavatories, "
    "urinals, sinks, mop sinks, drinking fountains, water heaters, floor drains, hose bibbs, showers, tubs). "
    "Ignore finish and paint codes such as P-1. Call report_fixtures once with all of them."
)


class _Fixture(BaseModel):
    fixture_type: catalog.FixtureType
    tag: str | None = None
    box: list[float] = Field(min_length=4, max_length=4)
    confidence: float = Field(ge=0, le=1)


class _Report(BaseModel):
    fixtures: list[_Fixture]


@dataclass(frozen=True)
class Tile:
    """A rendered piece of a page: PNG bytes and where its pixel (0, 0) sits on the page, in points."""

    png: bytes
    left_pt: float
    top_pt: float
    points_per_pixel: float


def tiles(pdf_path: Path, page_number: int, *, dpi: int, tile_px: int, overlap_px: int = 64) -> list[Tile]:
    """The page rendered at dpi and cut into overlapping tiles of at most tile_px square."""
    import pypdfium2 as pdfium

    with shared_pdfium.exclusive():  # PDFium is not thread-safe; the image is a copy, cut outside the lock
        document = pdfium.PdfDocument(str(pdf_path))
        try:
            scale: Any = dpi / 72  # pypdfium2 takes any number; its stub says int
            image = document[page_number - 1].render(scale=scale).to_pil().convert("RGB")
        finally:
            document.close()
    per_px = 72 / dpi
    step = tile_px - overlap_px
    out = []
    for top in range(0, max(1, image.height - overlap_px), step):
        for left in range(0, max(1, image.width - overlap_px), step):
            crop = image.crop((left, top, min(left + tile_px, image.width), min(top + tile_px, image.height)))
            buffer = io.BytesIO()
            crop.save(buffer, format="PNG", optimize=True)
            out.append(Tile(buffer.getvalue(), left * per_px, top * per_px, per_px))
    return out


def to_points(tile: Tile, box: list[float]) -> tuple[float, float, float, float]:
    """A box in tile pixels as PDF points on the page (origin top left)."""
    x0, y0, x1, y1 = sorted(box[0::2])[0], sorted(box[1::2])[0], sorted(box[0::2])[1], sorted(box[1::2])[1]
    s = tile.points_per_pixel
    return (tile.left_pt + x0 * s, tile.top_pt + y0 * s, tile.left_pt + x1 * s, tile.top_pt + y1 * s)


class ClaudeDetector:
    """Detects fixtures on a page with Claude's vision, tile by tile.

    `claim(tiles)` asks the business's daily cap for that many tiles before any is sent; False refuses the
    page for good (a VisionError that is not transient: retrying today would be refused again).
    """

    def __init__(
        self,
        client: anthropic_vision.AnthropicVision,
        *,
        dpi: int,
        tile_px: int,
        claim: Callable[[int], bool] | None = None,
    ) -> None:
        self.client, self.dpi, self.tile_px, self.claim = client, dpi, tile_px, claim

    def detect_page(self, pdf_path: Path, page_number: int) -> tuple[list[Hit], list[str]]:
        """(hits, request ids) over every tile of the page; a malformed tool input fails the page."""
        hits: list[Hit] = []
        request_ids: list[str] = []
        page_tiles = tiles(pdf_path, page_number, dpi=self.dpi, tile_px=self.tile_px)
        if self.claim is not None and not self.claim(len(page_tiles)):
            raise VisionError(
                code="daily_cap", detail="the business's daily vision allowance is used up", transient=False
            )
        for tile in page_tiles:
            call = self.client.call_tool(image_png=tile.png, prompt=PROMPT, tool=TOOL)
            if call.request_id:
                request_ids.append(call.request_id)
            try:
                report = _Report.model_validate(call.input)
            except ValidationError as exc:
                raise VisionError(
                    code="malformed_tool_input", detail=str(exc)[:300], transient=True, request_id=call.request_id
                ) from exc
            for found in report.fixtures:
                tag = (found.tag or "").strip().upper() or None
                hits.append(
                    Hit(
                        label=tag or found.fixture_type,
                        fixture_type=found.fixture_type,
                        tag=tag,
                        box=to_points(tile, found.box),
                        confidence=found.confidence,
                        source="vision",
                    )
                )
        return hits, request_ids


def detector(claim: Callable[[int], bool] | None = None) -> ClaudeDetector | None:
    """The vision detector when an Anthropic key is configured; None otherwise (pages report needs_vision)."""
    client = anthropic_vision.vision()
    if client is None:
        return None
    settings = get_settings()
    return ClaudeDetector(client, dpi=settings.bids_render_dpi, tile_px=settings.bids_vision_tile_px, claim=claim)
