"""The local colour-preview provider (no key, no network): recolour the wall-like regions of a photo toward a
paint colour with Pillow, deterministically, keeping the photo's size and its luminance.

Wall-like is found on a small copy (at most MASK_PX on the long side): low chroma (painted walls are mostly
neutral), neither dark nor blown out, and smooth (few edges), weighted by where the chosen surfaces usually are
in a room photo (ceiling at the top, trim as bands near the floor and the ceiling line, walls everywhere but
the floor). The soft mask is scaled up and the photo's chroma (Cb, Cr) is blended toward the colour's chroma
in YCbCr while Y, the luminance, is kept: shading, furniture and light stay as they were. A photo with no
wall-like region gets the surface bands at half strength, so the answer always differs from the photo.

Pillow is imported inside the functions (cold start).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from shared.providers.gemini_image import EditedImage

if TYPE_CHECKING:
    from PIL import Image as PILImage

MODEL = "local-recolour-1"
MASK_PX = 384
JPEG_QUALITY = 90


def target_chroma(hex_colour: str) -> tuple[int, int, int]:
    """(Y, Cb, Cr) of #rrggbb, full-range JPEG (ITU-R BT.601) as Pillow's YCbCr mode uses."""
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return tuple(max(0, min(255, round(v))) for v in (y, cb, cr))  # type: ignore[return-value]


def _lut(curve: Callable[[int], int]) -> list[int]:
    """A point() table of an 8-bit curve."""
    return [max(0, min(255, int(curve(v)))) for v in range(256)]


def _band(height: int, surfaces: Sequence[str]) -> list[int]:
    """Per row of the small mask: how likely the chosen surfaces are there (0..255)."""
    rows = []
    for row in range(height):
        y = row / max(1, height - 1)
        weight = 0.0
        if "walls" in surfaces:
            weight = max(weight, 1.0 if y < 0.85 else max(0.3, 1.0 - (y - 0.85) * 5))
        if "ceiling" in surfaces:
            weight = max(weight, 1.0 if y < 0.25 else max(0.0, 1.0 - (y - 0.25) * 8))
        if "trim" in surfaces:
            near = min(abs(y - 0.9), abs(y - 0.2))
            weight = max(weight, max(0.0, 1.0 - near * 12))
        rows.append(round(255 * weight))
    return rows


def wall_mask(image: PILImage.Image, surfaces: Sequence[str]) -> PILImage.Image:
    """The soft mask (mode L, the photo's size) of what gets the colour (image in RGB or YCbCr)."""
    from PIL import Image, ImageChops, ImageFilter, ImageStat

    scale = max(image.size) / MASK_PX
    small_size = (max(1, round(image.width / scale)), max(1, round(image.height / scale))) if scale > 1 else image.size
    small = image.resize(small_size, Image.Resampling.BOX)
    small = small if small.mode == "YCbCr" else small.convert("RGB").convert("YCbCr")
    luma, cb, cr = small.split()
    grey = Image.new("L", small.size, 128)
    chroma = ImageChops.lighter(ImageChops.difference(cb, grey), ImageChops.difference(cr, grey))
    neutral = chroma.point(_lut(lambda v: 255 if v < 12 else max(0, 255 - (v - 12) * 24)))
    lit = luma.point(_lut(lambda v: 0 if v < 35 else 255 if 80 <= v <= 242 else 40 if v > 242 else (v - 35) * 5))
    edges = luma.filter(ImageFilter.FIND_EDGES).filter(ImageFilter.MaxFilter(3))
    smooth = edges.point(_lut(lambda v: 255 if v < 8 else max(0, 255 - (v - 8) * 16)))
    rows = _band(small.height, surfaces)
    band = Image.new("L", (1, small.height))
    band.putdata(rows)
    band = band.resize(small.size, Image.Resampling.NEAREST)
    mask = ImageChops.multiply(ImageChops.multiply(neutral, lit), ImageChops.multiply(smooth, band))
    mask = mask.filter(ImageFilter.MaxFilter(3)).filter(ImageFilter.GaussianBlur(1.5))
    if ImageStat.Stat(mask).mean[0] < 10:  # nothing wall-like: the surface bands at half strength
        mask = band.point(_lut(lambda v: v // 2))
    return mask.resize(image.size, Image.Resampling.BILINEAR)


def recolour_image(image: PILImage.Image, *, hex_colour: str, surfaces: Sequence[str]) -> PILImage.Image:
    """The photo in YCbCr with its wall-like regions in the colour's chroma, luminance (Y) kept.

    Works in YCbCr throughout (a JPEG is decoded straight into it and encoded from it) and blends the target
    chroma in place through the mask, so a 12-MP photo needs no RGB copies and no full-size constant planes.
    """
    from PIL import Image

    ycc = image if image.mode == "YCbCr" else image.convert("RGB").convert("YCbCr")
    mask = wall_mask(ycc, surfaces)
    _, cb_target, cr_target = target_chroma(hex_colour)
    luma, cb, cr = ycc.split()
    del ycc
    cb.paste(cb_target, None, mask)
    cr.paste(cr_target, None, mask)
    return Image.merge("YCbCr", (luma, cb, cr))


class LocalRecolour:
    """The provider used without GEMINI_API_KEY: same answer type as the Gemini adapter, no cost units."""

    def recolour(self, *, image: bytes, hex_colour: str, surfaces: Sequence[str]) -> EditedImage:
        """Recolour the photo's bytes (any format Pillow reads; HEIC once pi-heif is registered) into a JPEG."""
        from PIL import Image, ImageOps

        with Image.open(io.BytesIO(image)) as opened:
            if opened.format == "JPEG":
                opened.draft("YCbCr", opened.size)  # decode into YCbCr, no RGB round trip
            ImageOps.exif_transpose(opened, in_place=True)
            done = recolour_image(opened, hex_colour=hex_colour, surfaces=surfaces)
        out = io.BytesIO()
        done.save(out, "JPEG", quality=JPEG_QUALITY)
        return EditedImage(
            data=out.getvalue(), mime_type="image/jpeg", model=MODEL, request_id=None, attempts=1, cost_units=0
        )


def local() -> LocalRecolour:
    """The local recolouring provider."""
    return LocalRecolour()
