"""The photo queues' work in-process against the real PostgreSQL and a private Azurite.

Thumbnails: upright (EXIF orientation), WebP at 320 and 1280 px, a file that does not decode is `failed` with
the reason and never retried. Previews through the real worker (`media_pipeline.make_preview`) with a small
in-test implementation of the agreed `GeminiImage` interface in place of the adapter (the adapter and its fake
Gemini server are the gemini branch's): a 429 with Retry-After re-queues the preview with that delay and the
next attempt stores the image; a text-only or safety answer is a clear `failed`; transient errors past
PREVIEW_MAX_ATTEMPTS give up; an older task's copy is stale. The prompt pins the colour and keeps the room.
"""

from __future__ import annotations

import base64
import io
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from PIL import Image

from blueprints.estimates import media, media_pipeline, previews
from blueprints.estimates.models import Estimate, EstimatePhoto, EstimatePreview
from blueprints.estimates.photo_schemas import PreviewIn, PreviewTask, ThumbnailTask
from shared import audit, storage, uploads
from shared.config import get_settings, reset_settings_cache
from shared.db import session_scope
from shared.providers import gemini_image
from shared.providers.gemini_image import EditedImage, GeminiImage, ImageError
from tests.builders import create_customer, create_tenant, create_user, principal_of
from tests.conftest import Database
from tests.fakes.gemini import API_KEY as GEMINI_KEY
from tests.fakes.gemini import FakeGemini, expected_image


@pytest.fixture(scope="module")
def private_storage(database: Database) -> Iterator[str]:
    from devhost.services import free_azurite

    azurite = free_azurite().start()
    before = os.environ.get("AzureWebJobsStorage")
    os.environ["AzureWebJobsStorage"] = azurite.connection_string
    storage.reset_clients()
    uploads._containers.clear()  # containers made in another account are not made in this one
    yield azurite.connection_string
    if before is not None:
        os.environ["AzureWebJobsStorage"] = before
    storage.reset_clients()
    uploads._containers.clear()
    reset_settings_cache()
    azurite.stop()


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch, private_storage: str) -> Iterator[None]:
    monkeypatch.setenv("AzureWebJobsStorage", private_storage)
    monkeypatch.setenv("PREVIEW_MAX_ATTEMPTS", "3")
    reset_settings_cache()
    yield
    reset_settings_cache()


@dataclass
class ScriptedGemini(GeminiImage):
    """The GeminiImage interface answering a script: each call pops an ImageError to raise or an image to return."""

    script: list[ImageError | bytes]
    calls: list[dict[str, object]] = field(default_factory=list)

    def edit(self, *, image: bytes, mime_type: str, prompt: str) -> EditedImage:
        self.calls.append({"image": image, "mime_type": mime_type, "prompt": prompt})
        outcome = self.script.pop(0)
        if isinstance(outcome, ImageError):
            raise outcome
        return EditedImage(
            data=outcome, mime_type="image/png", model="gemini-3-pro-image-preview", request_id="resp-1", attempts=1
        )


def _jpeg(size: tuple[int, int], *, orientation: int | None = None) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    Image.new("RGB", size, (220, 214, 200)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@dataclass
class Photo:
    tenant_id: uuid.UUID
    estimate_id: uuid.UUID
    photo_id: uuid.UUID
    principal: object


def _photo(data: bytes, kind: str = "jpeg") -> Photo:
    """A committed photo (its original stored in the photos container), thumbnails pending."""
    with session_scope() as session:
        tenant = create_tenant(session, name=f"Painter {uuid.uuid4().hex[:6]}")
        owner = create_user(session, tenant=tenant)
        customer = create_customer(session, tenant=tenant, owner=owner)
        estimate = Estimate(
            id=uuid.uuid4(), tenant_id=tenant.id, customer_id=customer.id, owner_id=owner.id, title="Den"
        )
        session.add(estimate)
        session.flush()
        photo_id = uuid.uuid4()
        name = media.original_name(tenant.id, estimate.id, photo_id, kind)
        media.put(name, data, f"image/{kind}")
        session.add(
            EstimatePhoto(
                id=photo_id,
                tenant_id=tenant.id,
                estimate_id=estimate.id,
                status="committed",
                upload_blob=f"tenants/{tenant.id}/estimates/{estimate.id}/photos/{photo_id.hex}.0.jpg",
                declared_type=f"image/{kind}",
                declared_bytes=len(data),
                blob_name=name,
                kind=kind,
                size_bytes=len(data),
                thumbnail_status="pending",
            )
        )
        return Photo(tenant.id, estimate.id, photo_id, principal_of(owner))


def _photo_row(photo: Photo) -> EstimatePhoto:
    with session_scope(tenant_id=photo.tenant_id) as session:
        row = session.get(EstimatePhoto, photo.photo_id)
        assert row is not None
        session.expunge(row)
        return row


def test_thumbnails_are_upright_webp_at_320_and_1280_and_a_second_delivery_does_nothing() -> None:
    photo = _photo(_jpeg((4000, 3000), orientation=6))  # taken with the phone on its side
    task = ThumbnailTask(tenant_id=photo.tenant_id, photo_id=photo.photo_id)
    assert media_pipeline.make_thumbnails(task) == "ready"
    row = _photo_row(photo)
    assert (row.thumbnail_status, row.width, row.height) == ("ready", 3000, 4000)
    small = Image.open(io.BytesIO(media.get(row.thumb_small or "")))
    large = Image.open(io.BytesIO(media.get(row.thumb_large or "")))
    assert (small.format, small.size, large.format, large.size) == ("WEBP", (240, 320), "WEBP", (960, 1280))
    assert media_pipeline.make_thumbnails(task) == "done"
    assert _photo_row(photo).version == row.version


def test_a_photo_that_does_not_decode_is_failed_with_its_reason() -> None:
    photo = _photo(b"\xff\xd8\xff\xe0" + b"\x00" * 4000)  # a JPEG by its first bytes only
    task = ThumbnailTask(tenant_id=photo.tenant_id, photo_id=photo.photo_id)
    assert media_pipeline.make_thumbnails(task) == "failed"
    row = _photo_row(photo)
    assert row.thumbnail_status == "failed" and "could not be decoded" in (row.thumbnail_error or "")
    assert media_pipeline.give_up_thumbnails(task) == "done"  # the poison copy changes nothing


def _preview(photo: Photo, hex_colour: str = "#2f3d4c") -> PreviewTask:
    body = PreviewIn.model_validate(
        {
            "colour": {"name": "Naval", "brand": "Sherwin-Williams", "code": "SW 6244", "hex": hex_colour},
            "surfaces": ["walls", "trim"],
            "finish": "satin",
        }
    )
    with session_scope(tenant_id=photo.tenant_id) as session:
        out = previews.request_preview(
            session=session,
            principal=photo.principal,  # type: ignore[arg-type]
            actor=audit.SYSTEM,
            estimate_id=photo.estimate_id,
            photo_id=photo.photo_id,
            preview_in=body,
        )
    return PreviewTask(tenant_id=photo.tenant_id, preview_id=out.id, attempt=0)


def _preview_row(task: PreviewTask) -> EstimatePreview:
    with session_scope(tenant_id=task.tenant_id) as session:
        row = session.get(EstimatePreview, task.preview_id)
        assert row is not None
        session.expunge(row)
        return row


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (47, 61, 76)).save(out, "PNG")
    return out.getvalue()


def test_a_429_requeues_with_its_retry_after_and_the_next_attempt_stores_the_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given Gemini answering 429 (retry after 7 s), then an image
    photo = _photo(_jpeg((4000, 3000)))
    client = ScriptedGemini(
        [
            ImageError(code="rate_limited", detail="429", transient=True, retry_after=7, request_id="r0"),
            _png((1024, 768)),
        ]
    )
    monkeypatch.setattr(gemini_image, "gemini", lambda: client)
    task = _preview(photo)
    # when the task runs: it is queued again with that delay
    assert media_pipeline.make_preview(task) == "retry in 7 s (rate_limited)"
    row = _preview_row(task)
    assert (row.status, row.attempts, row.error_code) == ("queued", 1, "rate_limited")
    assert media_pipeline.make_preview(task) == "stale"  # the first task's copy: a newer one is queued
    # when the re-queued task runs: the image is stored beside the photo
    assert media_pipeline.make_preview(task.model_copy(update={"attempt": 1})) == "ready"
    row = _preview_row(task)
    assert (row.status, row.provider, row.model, row.cost_units, row.request_id) == (
        "ready",
        "gemini",
        "gemini-3-pro-image-preview",
        1,
        "resp-1",
    )
    assert (row.width, row.height, row.mime_type) == (1024, 768, "image/png")
    assert Image.open(io.BytesIO(media.get(row.blob_name or ""))).size == (1024, 768)
    # and what was sent: the photo downsized under the request limit, the prompt pinning colour and room
    sent = client.calls[-1]
    sent_image = Image.open(io.BytesIO(sent["image"]))  # type: ignore[arg-type]
    assert sent["mime_type"] == "image/jpeg" and max(sent_image.size) == media_pipeline.REQUEST_MAX_PX
    prompt = str(sent["prompt"])
    for words in ("Sherwin-Williams Naval (SW 6244)", "#2f3d4c", "the walls", "the trim", "satin finish"):
        assert words in prompt
    assert "geometry" in prompt and "furniture" in prompt and "lighting" in prompt


@pytest.mark.parametrize(
    ("code", "message"),
    [("no_image", "without an image (text only)"), ("safety", "for safety reasons")],
)
def test_a_text_only_or_safety_answer_is_a_clear_failed_status(
    monkeypatch: pytest.MonkeyPatch, code: str, message: str
) -> None:
    photo = _photo(_jpeg((800, 600)))
    client = ScriptedGemini([ImageError(code=code, detail="finishReason: ...", transient=False)])
    monkeypatch.setattr(gemini_image, "gemini", lambda: client)
    task = _preview(photo)
    assert media_pipeline.make_preview(task) == "failed"
    row = _preview_row(task)
    assert (row.status, row.error_code) == ("failed", code) and message in (row.error or "")
    assert media_pipeline.make_preview(task) == "done"
    assert media_pipeline.give_up_preview(task) == "done"


def test_transient_errors_give_up_after_preview_max_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    photo = _photo(_jpeg((800, 600)))
    client = ScriptedGemini([ImageError(code="server", detail="503", transient=True) for _ in range(3)])
    monkeypatch.setattr(gemini_image, "gemini", lambda: client)
    task = _preview(photo)
    outcomes = [media_pipeline.make_preview(task.model_copy(update={"attempt": n})) for n in range(3)]
    assert outcomes == ["retry in 4 s (server)", "retry in 8 s (server)", "failed"]
    row = _preview_row(task)
    assert (row.status, row.attempts, row.error_code) == ("failed", 3, "server")
    assert "Gave up after 3 attempts" in (row.error or "")


def test_the_same_colour_is_the_same_preview_and_the_local_provider_keeps_the_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gemini_image, "gemini", lambda: None)
    photo = _photo(_jpeg((1200, 900)))
    task = _preview(photo)
    assert _preview(photo).preview_id == task.preview_id
    assert _preview(photo, "#aa3300").preview_id != task.preview_id
    assert media_pipeline.make_preview(task) == "ready"
    row = _preview_row(task)
    assert (row.provider, row.cost_units, row.width, row.height) == ("local", 0, 1200, 900)


# --- the Gemini path end to end: the real worker, the real google-genai adapter, the fake Gemini server ---


@pytest.fixture
def fake_gemini(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGemini]:
    server = FakeGemini().start()
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    monkeypatch.setenv("GEMINI_BASE_URL", server.base_url)
    monkeypatch.setenv("GEMINI_MAX_ATTEMPTS", "1")  # a 429 comes straight back to the worker, which re-queues
    reset_settings_cache()
    yield server
    server.stop()
    reset_settings_cache()


def test_through_the_real_adapter_the_models_image_is_stored_as_the_preview(fake_gemini: FakeGemini) -> None:
    photo = _photo(_jpeg((1600, 1200)))
    task = _preview(photo)
    assert media_pipeline.make_preview(task) == "ready"
    row = _preview_row(task)
    assert (row.status, row.provider, row.model) == ("ready", "gemini", get_settings().gemini_image_model)
    assert row.request_id == fake_gemini.answers[-1]["responseId"]
    sent = fake_gemini.requests[-1]
    stored = media.get(row.blob_name or "")
    # the fake's "model" inverts the image it was sent: what we stored is exactly what it answered for our photo
    sent_parts = sent["body"]["contents"][0]["parts"]
    inline = next(
        p.get("inlineData") or p.get("inline_data") for p in sent_parts if "inlineData" in p or "inline_data" in p
    )
    assert stored == expected_image(_b64decode(inline["data"]))
    assert "Naval" in json.dumps(sent["body"]) and Image.open(io.BytesIO(stored)).size == (1600, 1200)


def test_through_the_real_adapter_a_text_only_answer_fails_clearly_and_a_429_requeues(
    fake_gemini: FakeGemini,
) -> None:
    fake_gemini.plan("text_only", text="I can't edit this photo.")
    photo = _photo(_jpeg((800, 600)))
    task = _preview(photo)
    assert media_pipeline.make_preview(task) == "failed"
    assert _preview_row(task).error_code == "no_image"

    fake_gemini.plan("rate_limited", retry_after=9)
    second = _preview(photo, hex_colour="#aa3322")
    assert media_pipeline.make_preview(second) == "retry in 9 s (rate_limited)"
    assert media_pipeline.make_preview(second.model_copy(update={"attempt": 1})) == "ready"


def _b64decode(value: str) -> bytes:
    return base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if "-" in value or "_" in value else None)
