"""The photo queues: thumbnails of a committed photo, and colour previews.

Both call no provider inside a transaction. Each delivery claims its work in one short transaction, does the
image work and the provider call outside any transaction, and records the outcome in a second one.

Thumbnails (320 px and 1280 px WebP, EXIF orientation applied): blob names come from the photo's id, so a
redelivered task writes the same blobs or, once the photo is `ready`, does nothing. A photo Pillow cannot
decode is `failed` with the reason (a HEIC the bundled decoder cannot read is `unsupported`), never retried.

Previews: a task names the preview and its attempt count when queued; a copy of an older task is stale. The
claim sets `running` with a lease; a duplicate meanwhile does nothing (if the worker dies the host delivers the
task again and, the lease over, it is claimed again). The provider is Gemini (`gemini_image.gemini()`) or,
without a key, the local recolouring. A transient ImageError (429, 5xx, connection) re-queues the preview with a
visibility delay (its Retry-After, else exponential backoff) up to PREVIEW_MAX_ATTEMPTS; a text-only or safety
answer is `failed` with a clear message.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from blueprints.estimates import media
from blueprints.estimates.models import EstimatePhoto, EstimatePreview
from blueprints.estimates.photo_schemas import PREVIEW_QUEUE, PreviewTask, ThumbnailTask
from blueprints.estimates.photos import register_heif
from shared import clock, uploads
from shared.config import get_settings
from shared.db import session_scope
from shared.providers import gemini_image, local_recolour
from shared.providers.gemini_image import EditedImage, ImageError
from shared.storage import MAX_VISIBILITY_SECONDS, enqueue

log = logging.getLogger("tradeops.estimates.media")
PREVIEW_LEASE = timedelta(minutes=5)
BACKOFF_BASE_SECONDS, BACKOFF_MAX_SECONDS = 4, 600
REQUEST_MAX_PX = 2048  # the long side of the photo sent to Gemini
REQUEST_MAX_BYTES = 6 * 1024 * 1024  # inline image under Gemini's 20 MB request limit once base64-encoded
FAILURES = {
    "no_image": "The image model answered without an image (text only); try another colour or photo",
    "safety": "The image model declined this photo for safety reasons",
    "refused": "The image model refused the request",
    "unreadable": "The photo could not be decoded for a preview",
}


# --- thumbnails ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thumbnails:
    """The two WebP thumbnails and the photo's upright size."""

    small: bytes
    large: bytes
    width: int
    height: int


def thumbnails(data: bytes) -> Thumbnails:
    """320 px and 1280 px WebP of a photo, upright (JPEG decoded at a reduced DCT scale when it can be)."""
    from PIL import Image, ImageOps  # heavy: loaded on first use (cold start)

    register_heif()
    with Image.open(io.BytesIO(data)) as opened:
        width, height = opened.size
        if opened.getexif().get(0x0112, 1) in (5, 6, 7, 8):
            width, height = height, width
        opened.draft("RGB", (media.THUMB_LARGE, media.THUMB_LARGE))
        upright = ImageOps.exif_transpose(opened)
    has_alpha = upright.mode in ("RGBA", "LA") or "transparency" in upright.info
    large = upright.convert("RGBA" if has_alpha else "RGB")
    large.thumbnail((media.THUMB_LARGE, media.THUMB_LARGE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    small = large.copy()
    small.thumbnail((media.THUMB_SMALL, media.THUMB_SMALL), Image.Resampling.LANCZOS)
    encoded = []
    for image in (small, large):
        out = io.BytesIO()
        image.save(out, "WEBP", quality=80, method=4)
        encoded.append(out.getvalue())
    return Thumbnails(small=encoded[0], large=encoded[1], width=width, height=height)


@dataclass(frozen=True)
class ThumbnailJob:
    """A claimed photo: where its original is and where its thumbnails go."""

    blob_name: str
    kind: str
    upload_blob: str
    small_name: str
    large_name: str


def _claim_thumbnails(task: ThumbnailTask) -> ThumbnailJob | str:
    with session_scope(tenant_id=task.tenant_id) as session:
        photo = session.get(EstimatePhoto, task.photo_id)
        if photo is None or photo.tenant_id != task.tenant_id:
            return "missing"
        if photo.status != "committed" or not photo.blob_name or not photo.kind:
            return "not_committed"
        if photo.thumbnail_status != "pending":
            return "done"
        ids = (photo.tenant_id, photo.estimate_id, photo.id)
        return ThumbnailJob(
            blob_name=photo.blob_name,
            kind=photo.kind,
            upload_blob=photo.upload_blob,
            small_name=media.thumb_name(*ids, media.THUMB_SMALL),
            large_name=media.thumb_name(*ids, media.THUMB_LARGE),
        )


def make_thumbnails(task: ThumbnailTask) -> str:
    """Make one photo's thumbnails (idempotent); the outcome for the log line."""
    from PIL import Image  # heavy: loaded on first use (cold start)

    job = _claim_thumbnails(task)
    if isinstance(job, str):
        return job
    data = media.get(job.blob_name)
    try:
        made = thumbnails(data)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        status = "unsupported" if job.kind == "heic" else "failed"
        reason = f"The photo could not be decoded ({type(error).__name__}: {str(error)[:120]})"
        if status == "unsupported":
            reason = "This HEIC/HEIF photo uses a coding the HEIC decoder cannot read; it is stored, without thumbnails"
        _record_thumbnails(task, status=status, error=reason)
        return status
    media.put(job.small_name, made.small, "image/webp")
    media.put(job.large_name, made.large, "image/webp")
    recorded = _record_thumbnails(task, status="ready", job=job, made=made)
    uploads.delete(job.upload_blob)  # the committed copy is what we keep and serve
    return "ready" if recorded else "done"


def _record_thumbnails(
    task: ThumbnailTask,
    *,
    status: str,
    error: str | None = None,
    job: ThumbnailJob | None = None,
    made: Thumbnails | None = None,
) -> bool:
    with session_scope(tenant_id=task.tenant_id) as session:
        photo = session.get(EstimatePhoto, task.photo_id, with_for_update=True)
        if photo is None or photo.thumbnail_status != "pending":
            return False
        photo.thumbnail_status, photo.thumbnail_error = status, error
        if job is not None and made is not None:
            photo.thumb_small, photo.thumb_large = job.small_name, job.large_name
            photo.width, photo.height = made.width, made.height
        photo.updated_at = clock.now()
        return True


def give_up_thumbnails(task: ThumbnailTask) -> str:
    """The queue gave up on a photo's thumbnails: it says so (a photo already done changes nothing)."""
    done = _record_thumbnails(task, status="failed", error="The thumbnails could not be made after repeated errors")
    return "failed" if done else "done"


# --- colour previews -------------------------------------------------------------------------------------

SURFACE_WORDS = {"walls": "the walls", "ceiling": "the ceiling", "trim": "the trim (baseboards, casings, mouldings)"}


def preview_prompt(colour: dict[str, str | None], surfaces: Sequence[str], finish: str | None) -> str:
    """The instruction sent with the photo: the colour pinned by name, brand, code and hex, the surfaces and the
    finish, and everything else unchanged."""
    named = colour["name"] or "the colour"
    if colour.get("brand"):
        named = f"{colour['brand']} {named}"
    if colour.get("code"):
        named = f"{named} ({colour['code']})"
    painted = " and ".join(SURFACE_WORDS[s] for s in surfaces)
    sheen = f" in a {finish} finish" if finish else ""
    return (
        f"Edit this photo of a room: repaint {painted} in the paint colour {named}, hex {colour['hex']}{sheen}. "
        f"Use exactly that colour ({colour['hex']}) on {painted}, with the shading the room's light gives it. "
        "Keep everything else exactly as it is: the room's geometry and perspective, the furniture, floor, "
        "windows, doors, fixtures and decorations, and the lighting, shadows and time of day. Do not add, remove "
        "or move anything, do not change the framing or crop. Answer with the edited photo only."
    )


@dataclass(frozen=True)
class PreviewJob:
    """A claimed preview: its photo, colour and where its image goes."""

    preview_id: uuid.UUID
    attempts: int
    photo_blob: str
    photo_kind: str
    colour: dict[str, str | None]
    surfaces: list[str]
    finish: str | None
    tenant_id: uuid.UUID
    estimate_id: uuid.UUID
    photo_id: uuid.UUID


def _fail(preview: EstimatePreview, code: str, detail: str) -> str:
    preview.status, preview.error_code, preview.error = "failed", code, detail[:500]
    preview.lease_until = None
    preview.updated_at = clock.now()
    return "failed"


def _claim_preview(session: Session, task: PreviewTask) -> PreviewJob | str:
    preview = session.get(EstimatePreview, task.preview_id, with_for_update=True)
    if preview is None or preview.tenant_id != task.tenant_id:
        return "missing"
    if preview.status in ("ready", "failed"):
        return "done"
    now = clock.now()
    fresh = preview.status == "queued" and task.attempt == preview.attempts
    again = preview.status == "running" and task.attempt == preview.attempts - 1
    if not (fresh or again):
        return "stale"
    if again and preview.lease_until is not None and preview.lease_until > now:
        return "in_flight"
    photo = session.get(EstimatePhoto, preview.photo_id)
    if photo is None or photo.deleted_at is not None or not photo.blob_name or not photo.kind:
        return _fail(preview, "photo_gone", "The photo was deleted before its preview was made")
    if fresh:
        preview.attempts += 1
    preview.status, preview.lease_until, preview.updated_at = "running", now + PREVIEW_LEASE, now
    return PreviewJob(
        preview_id=preview.id,
        attempts=preview.attempts,
        photo_blob=photo.blob_name,
        photo_kind=photo.kind,
        colour=dict(preview.colour),
        surfaces=list(preview.surfaces),
        finish=preview.finish,
        tenant_id=preview.tenant_id,
        estimate_id=preview.estimate_id,
        photo_id=photo.id,
    )


def request_image(data: bytes) -> tuple[bytes, str]:
    """The photo as sent to Gemini: upright, at most REQUEST_MAX_PX on its long side, a JPEG under REQUEST_MAX_BYTES
    (metadata dropped)."""
    from PIL import Image, ImageOps  # heavy: loaded on first use (cold start)

    register_heif()
    with Image.open(io.BytesIO(data)) as opened:
        opened.draft("RGB", (REQUEST_MAX_PX, REQUEST_MAX_PX))
        upright = ImageOps.exif_transpose(opened).convert("RGB")
    upright.thumbnail((REQUEST_MAX_PX, REQUEST_MAX_PX), Image.Resampling.LANCZOS)
    quality = 90
    while True:
        out = io.BytesIO()
        upright.save(out, "JPEG", quality=quality)
        if out.tell() <= REQUEST_MAX_BYTES or quality <= 40:
            return out.getvalue(), "image/jpeg"
        quality -= 15


def _render(job: PreviewJob) -> tuple[EditedImage, str, str, int, int]:
    """The provider's image, stored: (answer, provider, blob name, width, height). Raises ImageError."""
    from PIL import Image  # heavy: loaded on first use (cold start)

    register_heif()
    data = media.get(job.photo_blob)
    client = gemini_image.gemini()
    try:
        if client is not None:
            image, mime_type = request_image(data)
            prompt = preview_prompt(job.colour, job.surfaces, job.finish)
            edited, provider = client.edit(image=image, mime_type=mime_type, prompt=prompt), "gemini"
            log.info("gemini preview %s answered (request id %s)", job.preview_id, edited.request_id)
        else:
            hex_colour = str(job.colour["hex"])
            edited = local_recolour.local().recolour(image=data, hex_colour=hex_colour, surfaces=job.surfaces)
            provider = "local"
        with Image.open(io.BytesIO(edited.data)) as answer:
            width, height = answer.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise ImageError(code="unreadable", detail=f"{type(error).__name__}: {error}", transient=False) from None
    name = media.preview_name(job.tenant_id, job.estimate_id, job.photo_id, job.preview_id, edited.mime_type)
    media.put(name, edited.data, edited.mime_type)
    return edited, provider, name, width, height


def _backoff(attempts: int, retry_after: float | None) -> int:
    delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return int(min(MAX_VISIBILITY_SECONDS, max(delay, retry_after or 0)))


def _record_failure(task: PreviewTask, job: PreviewJob, error: ImageError) -> str:
    with session_scope(tenant_id=task.tenant_id) as session:
        preview = session.get(EstimatePreview, job.preview_id, with_for_update=True)
        if preview is None or preview.status != "running" or preview.attempts != job.attempts:
            return "stale"
        preview.request_id = error.request_id or preview.request_id
        if error.transient and preview.attempts < get_settings().preview_max_attempts:
            delay = _backoff(preview.attempts, error.retry_after)
            preview.status, preview.lease_until, preview.updated_at = "queued", None, clock.now()
            preview.error_code, preview.error = error.code, f"retrying: {error.detail}"[:500]
            retry = PreviewTask(tenant_id=preview.tenant_id, preview_id=preview.id, attempt=preview.attempts)
            enqueue(session, PREVIEW_QUEUE, retry, delay_seconds=delay)
            return f"retry in {delay} s ({error.code})"
        if error.transient:
            return _fail(preview, error.code, f"Gave up after {preview.attempts} attempts: {error.detail}")
        return _fail(preview, error.code, FAILURES.get(error.code, error.detail))


def _record_ready(
    task: PreviewTask, job: PreviewJob, edited: EditedImage, provider: str, name: str, size: tuple[int, int]
) -> str:
    with session_scope(tenant_id=task.tenant_id) as session:
        preview = session.get(EstimatePreview, job.preview_id, with_for_update=True)
        if preview is None or preview.status != "running" or preview.attempts != job.attempts:
            return "stale"
        preview.status, preview.lease_until, preview.error_code, preview.error = "ready", None, None, None
        preview.provider, preview.model, preview.request_id = provider, edited.model, edited.request_id
        preview.cost_units += edited.cost_units
        preview.blob_name, preview.mime_type = name, edited.mime_type
        preview.width, preview.height = size
        preview.updated_at = clock.now()
        return "ready"


def make_preview(task: PreviewTask) -> str:
    """Run one delivery of a preview task; the outcome for the log line."""
    with session_scope(tenant_id=task.tenant_id) as session:
        job = _claim_preview(session, task)
    if isinstance(job, str):
        return job
    try:
        edited, provider, name, width, height = _render(job)
    except ImageError as error:
        return _record_failure(task, job, error)
    except Exception:
        _release(task, job)  # storage or the like failed: the host delivers this task again
        raise
    return _record_ready(task, job, edited, provider, name, (width, height))


def _release(task: PreviewTask, job: PreviewJob) -> None:
    """Undo a claim whose work raised unexpectedly, so the redelivered task claims it afresh."""
    with session_scope(tenant_id=task.tenant_id) as session:
        preview = session.get(EstimatePreview, job.preview_id, with_for_update=True)
        if preview is not None and preview.status == "running" and preview.attempts == job.attempts:
            preview.status, preview.lease_until, preview.attempts = "queued", None, job.attempts - 1
            preview.updated_at = clock.now()


def give_up_preview(task: PreviewTask) -> str:
    """The queue gave up on a preview task: a preview still queued or running is failed (a made one stays)."""
    with session_scope(tenant_id=task.tenant_id) as session:
        preview = session.get(EstimatePreview, task.preview_id, with_for_update=True)
        if preview is None or preview.status not in ("queued", "running"):
            return "done"
        if task.attempt not in (preview.attempts, preview.attempts - 1):
            return "stale"  # an older task's copy: a retry of this preview is queued
        return _fail(preview, "gave_up", "The preview could not be made after repeated errors")
