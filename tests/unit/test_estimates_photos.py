"""Pure parts of estimate photos and previews: location removal without re-encoding, the local recolouring,
the prompt, what makes two preview requests the same, and the retry backoff."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageStat

from blueprints.estimates import media_pipeline, previews
from blueprints.estimates.photo_schemas import PreviewIn
from shared import exif
from shared.providers import local_recolour

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description exif:GPSLatitude="30,16.07N" '
    b'exif:GPSLongitude="97,44.05W" tiff:Make="Pinpoint"><exif:GPSAltitude>150/1</exif:GPSAltitude>'
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def _exif(with_gps: bool = True) -> Image.Exif:
    data = Image.Exif()
    data[0x010F] = "Pinpoint camera"
    if with_gps:
        data.get_ifd(0x8825).update({1: "N", 2: (30.0, 16.0, 4.5), 3: "W", 4: (97.0, 44.0, 3.25), 29: "2026:12:01"})
    return data


def _photo(fmt: str, *, with_gps: bool = True, xmp: bytes | None = XMP) -> bytes:
    out = io.BytesIO()
    image = Image.effect_noise((96, 64), 40).convert("RGB")
    extra = {"xmp": xmp} if xmp else {}
    image.save(out, fmt, exif=_exif(with_gps).tobytes(), **extra)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "kind"), [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp")])
def test_the_location_goes_and_pixels_camera_and_length_stay(fmt: str, kind: str) -> None:
    data = _photo(fmt)
    clean, removed = exif.strip_location(data, kind)
    assert removed and len(clean) == len(data) and b"GPS" not in clean
    before, after = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(clean))
    assert after.getexif().get_ifd(0x8825) == {}
    assert after.getexif()[0x010F] == "Pinpoint camera"
    assert ImageChops.difference(before.convert("RGB"), after.convert("RGB")).getbbox() is None


@pytest.mark.parametrize(("fmt", "kind"), [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp")])
def test_a_photo_without_a_location_is_returned_as_it_was(fmt: str, kind: str) -> None:
    data = _photo(fmt, with_gps=False, xmp=None)
    assert exif.strip_location(data, kind) == (data, False)


def test_a_heif_exif_item_loses_its_gps_ifd_in_place() -> None:
    # the Exif item of a HEIF file: a 4-byte offset, then Exif\0\0 and a TIFF block, somewhere in mdat
    tiff = _exif().tobytes()[6:]
    heif = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00\x00\x10\x00mdat" + struct.pack(">I", 6)
    heif += b"Exif\x00\x00" + tiff + b"\x00" * 64
    clean, removed = exif.strip_location(heif, "heic")
    assert removed and len(clean) == len(heif)
    loaded = Image.Exif()
    loaded.load(clean[clean.index(b"Exif\x00\x00") + 6 :])
    assert loaded.get_ifd(0x8825) == {} and loaded[0x010F] == "Pinpoint camera"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["jpeg", "png", "webp", "heic"]))
def test_any_bytes_come_back_the_same_length_without_an_error(data: bytes, kind: str) -> None:
    for prefix in (
        b"",
        b"Exif\x00\x00II*\x00",
        b"Exif\x00\x00MM\x00*",
        b"\x89PNG\r\n\x1a\n",
        b"RIFF\x00\x00\x00\x00WEBP",
    ):
        clean, _ = exif.strip_location(prefix + data, kind)
        assert len(clean) == len(prefix) + len(data)


def _room(size: tuple[int, int] = (800, 600)) -> bytes:
    image = Image.new("RGB", size, (226, 222, 214))
    image.paste((40, 60, 120), (80, 330, 360, 510))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def test_the_local_recolouring_changes_the_wall_keeps_size_and_luminance_and_is_deterministic() -> None:
    photo = _room()
    first = local_recolour.local().recolour(image=photo, hex_colour="#3b6e8f", surfaces=["walls"])
    second = local_recolour.local().recolour(image=photo, hex_colour="#3b6e8f", surfaces=["walls"])
    assert first.data == second.data and first.cost_units == 0 and first.model == "local-recolour-1"
    before, after = Image.open(io.BytesIO(photo)).convert("RGB"), Image.open(io.BytesIO(first.data)).convert("RGB")
    assert after.size == before.size
    wall_before, wall_after = before.getpixel((600, 100)), after.getpixel((600, 100))
    assert isinstance(wall_before, tuple) and isinstance(wall_after, tuple)
    assert wall_after[2] > wall_after[0] + 20 and wall_before[2] < wall_before[0], (wall_before, wall_after)
    luma = ImageStat.Stat(ImageChops.difference(before.convert("L"), after.convert("L"))).mean[0]
    assert luma < 4, luma


def test_a_photo_with_nothing_wall_like_still_comes_back_changed() -> None:
    out = io.BytesIO()
    Image.effect_noise((300, 200), 120).convert("RGB").save(out, "PNG")
    done = local_recolour.local().recolour(image=out.getvalue(), hex_colour="#c0392b", surfaces=["ceiling"])
    before = Image.open(out).convert("RGB")
    after = Image.open(io.BytesIO(done.data)).convert("RGB")
    assert after.size == before.size
    assert max(ImageStat.Stat(ImageChops.difference(before, after)).mean) > 2


@pytest.mark.parametrize(
    ("hex_colour", "expected"),
    [("#ffffff", (255, 128, 128)), ("#000000", (0, 128, 128)), ("#ff0000", (76, 85, 255)), ("#0000ff", (29, 255, 107))],
)
def test_target_chroma_is_full_range_bt601(hex_colour: str, expected: tuple[int, int, int]) -> None:
    assert local_recolour.target_chroma(hex_colour) == expected


def _ask(**changes: object) -> PreviewIn:
    body: dict[str, object] = {
        "colour": {"name": "Naval", "brand": "Sherwin-Williams", "code": "SW 6244", "hex": "#2F3D4C"},
        "surfaces": ["walls", "trim"],
        "finish": "satin",
    }
    body.update(changes)
    return PreviewIn.model_validate(body)


def test_the_same_colour_surfaces_and_finish_are_the_same_request() -> None:
    key = previews.request_key(_ask())
    same_colour = {"name": " naval ", "brand": "SHERWIN-WILLIAMS", "code": "sw 6244", "hex": "#2f3d4c"}
    assert previews.request_key(_ask(surfaces=["trim", "walls", "trim"], colour=same_colour)) == key
    assert previews.request_key(_ask(surfaces=["walls"])) != key
    assert previews.request_key(_ask(finish="gloss")) != key
    assert previews.request_key(_ask(colour={"name": "Naval", "hex": "#2f3d4d"})) != key


def test_the_prompt_pins_the_colour_and_keeps_the_room() -> None:
    prompt = media_pipeline.preview_prompt(
        {"name": "Naval", "brand": "Sherwin-Williams", "code": "SW 6244", "hex": "#2f3d4c"}, ["ceiling"], "flat"
    )
    assert "Sherwin-Williams Naval (SW 6244)" in prompt and prompt.count("#2f3d4c") == 2
    assert "the ceiling" in prompt and "flat finish" in prompt and "the walls" not in prompt
    for kept in ("geometry", "furniture", "lighting", "Do not add, remove or move anything"):
        assert kept in prompt


@pytest.mark.parametrize(
    ("attempts", "retry_after", "delay"), [(1, None, 4), (2, None, 8), (3, 30, 30), (9, None, 600)]
)
def test_backoff_doubles_and_honours_retry_after(attempts: int, retry_after: float | None, delay: int) -> None:
    assert media_pipeline._backoff(attempts, retry_after) == delay


def test_the_photo_sent_to_gemini_is_downsized_under_the_request_limit() -> None:
    image, mime_type = media_pipeline.request_image(_room((5000, 2500)))
    sent = Image.open(io.BytesIO(image))
    assert mime_type == "image/jpeg" and sent.size == (2048, 1024)
    assert len(image) <= media_pipeline.REQUEST_MAX_BYTES


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, "JPEG")
    return out.getvalue()


def test_photos_and_labelled_previews_print_in_the_proposal_and_the_page_says_so() -> None:
    from blueprints.estimates import documents, proposal
    from blueprints.estimates.photo_schemas import AI_LABEL, SYNTHID_NOTE
    from blueprints.estimates.schemas import ProposalPicture
    from tests.unit.test_estimates_documents import _proposal, _text

    photo = ProposalPicture(kind="photo", blob_name="p", caption="North <wall>")
    preview = ProposalPicture(
        kind="preview", blob_name="v", caption="Naval (#2f3d4c) on the walls", label=AI_LABEL, note=SYNTHID_NOTE
    )
    sent = _proposal().model_copy(update={"pictures": [photo, preview]})
    pdf = documents.render(sent, pictures=[(photo, _jpeg((200, 200, 190))), (preview, _jpeg((47, 61, 76)))])
    text = _text(pdf)
    assert pdf.count(b"/Subtype /Image") == 2
    assert "AI visualisation" in text and "SynthID" in text and "North <wall>" in text
    without = documents.render(_proposal())
    assert b"/Subtype /Image" not in without and "AI visualisation" not in _text(without)
    note = proposal._pictures_note(sent)
    assert "1 photo and 1 colour preview" in note and "AI visualisation" in note and "SynthID" in note
    assert proposal._pictures_note(_proposal()) == ""
