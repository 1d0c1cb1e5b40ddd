"""Estimate photos: a write-only SAS upload, the commit that checks the file and removes its location, the
list, changes (caption, room, order, in the proposal; If-Match) and soft delete.

The upload goes straight to the uploads container under a server-chosen, signed name
(tenants/{tenant}/estimates/{estimate}/photos/{photo id}...). The commit checks the blob is there, its size
and its real type by magic bytes, that its header reads, removes the GPS data in place (no re-encoding), and
stores that copy in the photos container, which is what every read URL points to: a second PUT with the same
SAS after the commit changes nothing we serve. The thumbnails are queued through the outbox
(media_pipeline.make_thumbnails). Photos of an estimate follow its visibility: another business's, or a
peer's unshared estimate's, are 404.
"""

from __future__ import annotations

import io
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blueprints.estimates import media
from blueprints.estimates.access import estimate_or_raise, require_edit
from blueprints.estimates.models import Estimate, EstimateItem, EstimatePhoto, EstimatePreview
from blueprints.estimates.photo_schemas import (
    AI_LABEL,
    KIND_OF_TYPE,
    MAX_PHOTO_BYTES,
    MIME_OF_KIND,
    THUMBNAIL_QUEUE,
    PhotoCommitIn,
    PhotoList,
    PhotoOut,
    PhotoPatch,
    PhotoUploadIn,
    PhotoUploadOut,
    ThumbnailTask,
    preview_note,
)
from blueprints.estimates.schemas import ProposalPicture
from shared import audit, clock, exif, uploads
from shared.auth import Principal
from shared.errors import AppError, Forbidden, NotFound, Unprocessable
from shared.etag import check_version, flush_versioned
from shared.storage import enqueue

MAX_PHOTOS_PER_ESTIMATE = 200


def photo_or_raise(session: Session, estimate: Estimate, photo_id: uuid.UUID, *, lock: bool = False) -> EstimatePhoto:
    """A live photo of this estimate (404 otherwise)."""
    stmt = select(EstimatePhoto).where(
        EstimatePhoto.id == photo_id,
        EstimatePhoto.estimate_id == estimate.id,
        EstimatePhoto.tenant_id == estimate.tenant_id,
        EstimatePhoto.deleted_at.is_(None),
    )
    photo = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if photo is None:
        raise NotFound("No such photo")
    return photo


def photo_out(photo: EstimatePhoto) -> PhotoOut:
    """The photo as the API answers it, with fresh read URLs."""
    url, expires = media.read_url(photo.blob_name)
    small, _ = media.read_url(photo.thumb_small)
    large, _ = media.read_url(photo.thumb_large)
    return PhotoOut(
        id=photo.id,
        estimate_id=photo.estimate_id,
        room_id=photo.room_id,
        status=photo.status,  # type: ignore[arg-type]
        kind=photo.kind,
        size_bytes=photo.size_bytes,
        width=photo.width,
        height=photo.height,
        caption=photo.caption,
        position=photo.position,
        in_proposal=photo.in_proposal,
        location_removed=photo.location_removed,
        thumbnail_status=photo.thumbnail_status,  # type: ignore[arg-type]
        thumbnail_error=photo.thumbnail_error,
        url=url,
        thumbnail_url=small,
        large_url=large,
        urls_expire_at=expires,
        created_at=photo.created_at,
        updated_at=photo.updated_at,
        version=photo.version,
    )


def _check_room(session: Session, estimate: Estimate, room_id: uuid.UUID | None) -> None:
    if room_id is None:
        return
    stmt = select(EstimateItem.id).where(EstimateItem.id == room_id, EstimateItem.estimate_id == estimate.id)
    if session.scalar(stmt) is None:
        raise Unprocessable("room_id names no room of this estimate", code="unknown_room")


def create_upload(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID, upload_in: PhotoUploadIn
) -> PhotoUploadOut:
    """A photo awaiting its upload, and the write-only URL (15 minutes) to PUT it to."""
    estimate = estimate_or_raise(session, principal, estimate_id, lock=True)
    require_edit(session, principal, estimate)
    _check_room(session, estimate, upload_in.room_id)
    live = EstimatePhoto.estimate_id == estimate.id, EstimatePhoto.deleted_at.is_(None)
    if (session.scalar(select(func.count()).where(*live)) or 0) >= MAX_PHOTOS_PER_ESTIMATE:
        raise Unprocessable(f"An estimate has at most {MAX_PHOTOS_PER_ESTIMATE} photos", code="too_many_photos")
    position = session.scalar(select(func.coalesce(func.max(EstimatePhoto.position) + 1, 0)).where(*live)) or 0
    photo_id = uuid.uuid4()
    area = f"estimates/{estimate.id}/photos"
    kind = KIND_OF_TYPE[upload_in.content_type]
    ticket = uploads.issue(tenant_id=principal.tenant_id, area=area, kind=kind, upload_id=photo_id)
    photo = EstimatePhoto(
        id=photo_id,
        tenant_id=estimate.tenant_id,
        estimate_id=estimate.id,
        room_id=upload_in.room_id,
        status="awaiting_upload",
        upload_blob=ticket.blob_name,
        declared_type=upload_in.content_type,
        declared_bytes=upload_in.bytes,
        position=position,
        in_proposal=False,
        location_removed=False,
        thumbnail_status="pending",
        created_by=principal.user_id,
    )
    session.add(photo)
    session.flush()
    audit.record(
        session,
        tenant_id=estimate.tenant_id,
        actor=actor,
        action="estimates.photo_upload_issued",
        entity="estimate_photo",
        entity_id=photo.id,
        after={"estimate_id": str(estimate.id), "content_type": upload_in.content_type},
    )
    return PhotoUploadOut(
        photo=photo_out(photo),
        upload_url=ticket.url,
        upload_headers={**ticket.headers, "Content-Type": upload_in.content_type},
        expires_at=ticket.expires_at,
        max_bytes=MAX_PHOTO_BYTES,
    )


def _dimensions(data: bytes, kind: str) -> tuple[int, int]:
    """Width and height from the header (422 when it does not read as an image of its kind)."""
    from PIL import Image  # heavy: loaded on first use (cold start)

    register_heif()
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise Unprocessable(
            f"The {kind} file does not read as an image ({type(error).__name__})", code="upload_unreadable"
        ) from None


def _heif_dimensions(data: bytes) -> tuple[int | None, int | None]:
    """A HEIC/HEIF's size when the decoder reads its header; a coding it cannot read is still stored (its
    thumbnail is then `unsupported`), since the phone's own format must never be refused."""
    try:
        return _dimensions(data, "heic")
    except Unprocessable:
        return None, None


def register_heif() -> None:
    """Let Pillow open HEIC/HEIF (pi-heif: decode only, LGPL libheif/libde265 linked dynamically, no x265)."""
    import pi_heif  # heavy: loaded on first use (cold start)

    pi_heif.register_heif_opener()


def commit_photo(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    estimate_id: uuid.UUID,
    photo_id: uuid.UUID,
    commit_in: PhotoCommitIn,
) -> PhotoOut:
    """Check the uploaded photo, remove its location, store it and queue its thumbnails (a retry answers the same)."""
    estimate = estimate_or_raise(session, principal, estimate_id)
    require_edit(session, principal, estimate)
    photo = photo_or_raise(session, estimate, photo_id, lock=True)
    if commit_in.blob_name is not None:
        uploads.check_name(commit_in.blob_name, tenant_id=principal.tenant_id)
        if commit_in.blob_name != photo.upload_blob:
            raise Forbidden("This upload name was not issued for this photo", code="upload_not_issued")
    if photo.status == "committed":
        return photo_out(photo)
    try:
        blob = uploads.commit(
            tenant_id=principal.tenant_id,
            blob_name=photo.upload_blob,
            kinds=set(MIME_OF_KIND),
            max_bytes=MAX_PHOTO_BYTES,
        )
        data = uploads.read(photo.upload_blob)
        width, height = _dimensions(data, blob.kind) if blob.kind != "heic" else _heif_dimensions(data)
    except AppError as error:
        if error.code != "upload_missing":  # a refused file is removed; the photo waits for another upload
            uploads.delete(photo.upload_blob)
        raise
    clean, removed = exif.strip_location(data, blob.kind)
    name = media.original_name(photo.tenant_id, photo.estimate_id, photo.id, blob.kind)
    media.put(name, clean, MIME_OF_KIND[blob.kind])
    photo.status, photo.blob_name, photo.kind, photo.size_bytes = "committed", name, blob.kind, len(clean)
    photo.width, photo.height, photo.location_removed = width, height, removed
    photo.thumbnail_status, photo.committed_at = "pending", clock.now()
    photo.updated_at = clock.now()
    flush_versioned(session)
    enqueue(session, THUMBNAIL_QUEUE, ThumbnailTask(tenant_id=photo.tenant_id, photo_id=photo.id))
    audit.record(
        session,
        tenant_id=photo.tenant_id,
        actor=actor,
        action="estimates.photo_committed",
        entity="estimate_photo",
        entity_id=photo.id,
        after={"kind": blob.kind, "size_bytes": len(clean), "location_removed": removed},
    )
    return photo_out(photo)


def list_photos(*, session: Session, principal: Principal, estimate_id: uuid.UUID) -> PhotoList:
    """The estimate's live photos in their order (uploads not committed yet included, without URLs)."""
    estimate = estimate_or_raise(session, principal, estimate_id)
    stmt = (
        select(EstimatePhoto)
        .where(
            EstimatePhoto.estimate_id == estimate.id,
            EstimatePhoto.tenant_id == estimate.tenant_id,
            EstimatePhoto.deleted_at.is_(None),
        )
        .order_by(EstimatePhoto.position, EstimatePhoto.created_at, EstimatePhoto.id)
        .limit(MAX_PHOTOS_PER_ESTIMATE)
    )
    return PhotoList(items=[photo_out(p) for p in session.scalars(stmt)])


def get_photo(
    *, session: Session, principal: Principal, estimate_id: uuid.UUID, photo_id: uuid.UUID
) -> tuple[PhotoOut, int]:
    """One photo and its version (the ETag)."""
    estimate = estimate_or_raise(session, principal, estimate_id)
    photo = photo_or_raise(session, estimate, photo_id)
    return photo_out(photo), photo.version


def update_photo(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    estimate_id: uuid.UUID,
    photo_id: uuid.UUID,
    patch: PhotoPatch,
    expected: frozenset[int] | None,
) -> tuple[PhotoOut, int]:
    """Change caption, room, order or in_proposal (412 when the photo changed since it was read)."""
    estimate = estimate_or_raise(session, principal, estimate_id)
    require_edit(session, principal, estimate)
    photo = photo_or_raise(session, estimate, photo_id, lock=True)
    check_version(photo.version, expected)
    changes = patch.model_dump(exclude_unset=True)
    for name in ("position", "in_proposal"):
        if name in changes and changes[name] is None:
            raise Unprocessable(f"{name} may not be null", code="field_required")
    if changes.get("in_proposal") and photo.status != "committed":
        raise Unprocessable("Only a committed photo goes into the proposal", code="photo_not_committed")
    if changes.get("room_id") is not None:
        _check_room(session, estimate, changes["room_id"])
    before = {name: getattr(photo, name) for name in changes}
    for name, value in changes.items():
        setattr(photo, name, value)
    photo.updated_at = clock.now()
    flush_versioned(session)
    audit.record(
        session,
        tenant_id=photo.tenant_id,
        actor=actor,
        action="estimates.photo_changed",
        entity="estimate_photo",
        entity_id=photo.id,
        before={k: str(v) if v is not None else None for k, v in before.items()},
        after={k: str(v) if v is not None else None for k, v in changes.items()},
    )
    return photo_out(photo), photo.version


def delete_photo(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID, photo_id: uuid.UUID
) -> None:
    """Soft-delete a photo (its blobs stay for the revisions that printed it)."""
    estimate = estimate_or_raise(session, principal, estimate_id)
    require_edit(session, principal, estimate)
    photo = photo_or_raise(session, estimate, photo_id, lock=True)
    photo.deleted_at = photo.updated_at = clock.now()
    flush_versioned(session)
    audit.record(
        session,
        tenant_id=photo.tenant_id,
        actor=actor,
        action="estimates.photo_deleted",
        entity="estimate_photo",
        entity_id=photo.id,
        before={"caption": photo.caption, "in_proposal": photo.in_proposal},
    )


# --- the proposal's pictures ------------------------------------------------------------------------------

PICTURE_PX = 1280
SURFACE_NAMES = {"walls": "walls", "ceiling": "ceiling", "trim": "trim"}


def _colour_caption(preview: EstimatePreview, photo: EstimatePhoto) -> str:
    colour = preview.colour
    named = " ".join(str(v) for v in (colour.get("brand"), colour.get("name")) if v)
    code = f" {colour['code']}" if colour.get("code") else ""
    finish = f", {preview.finish} finish" if preview.finish else ""
    where = ", ".join(SURFACE_NAMES[s] for s in preview.surfaces)
    of = f" of {photo.caption}" if photo.caption else ""
    return f"{named}{code} ({colour['hex']}) on the {where}{finish}: a preview{of}."


def proposal_pictures(session: Session, tenant_id: uuid.UUID, estimate_id: uuid.UUID) -> list[ProposalPicture]:
    """The estimate's photos marked for the proposal (with thumbnails), then its ready previews marked for it."""
    live = (
        EstimatePhoto.tenant_id == tenant_id,
        EstimatePhoto.estimate_id == estimate_id,
        EstimatePhoto.deleted_at.is_(None),
    )
    order = (EstimatePhoto.position, EstimatePhoto.created_at, EstimatePhoto.id)
    shown = select(EstimatePhoto).where(
        *live, EstimatePhoto.in_proposal.is_(True), EstimatePhoto.thumb_large.is_not(None)
    )
    pictures = [
        ProposalPicture(kind="photo", blob_name=photo.thumb_large or "", caption=photo.caption)
        for photo in session.scalars(shown.order_by(*order))
    ]
    made = (
        select(EstimatePreview, EstimatePhoto)
        .join(EstimatePhoto, EstimatePhoto.id == EstimatePreview.photo_id)
        .where(*live, EstimatePreview.in_proposal.is_(True), EstimatePreview.status == "ready")
        .order_by(*order, EstimatePreview.created_at)
    )
    for preview, photo in session.execute(made).all():
        pictures.append(
            ProposalPicture(
                kind="preview",
                blob_name=preview.blob_name or "",
                caption=_colour_caption(preview, photo),
                label=AI_LABEL,
                note=preview_note(preview.model),
            )
        )
    return pictures


def load_pictures(pictures: list[ProposalPicture]) -> list[tuple[ProposalPicture, bytes]]:
    """Each picture's image as a JPEG at most PICTURE_PX on its long side, for the PDF (a missing blob is left out)."""
    from azure.core.exceptions import ResourceNotFoundError  # heavy SDK: loaded on first use (cold start)
    from PIL import Image  # heavy: loaded on first use (cold start)

    loaded = []
    for picture in pictures:
        try:
            data = media.get(picture.blob_name)
        except ResourceNotFoundError:
            continue
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (PICTURE_PX, PICTURE_PX))
            image = opened.convert("RGB")
        image.thumbnail((PICTURE_PX, PICTURE_PX), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        loaded.append((picture, out.getvalue()))
    return loaded
