"""The painting demo's job photo (`make seed`): a generated room JPEG uploaded by its SAS URL and committed like
the PWA does, so the dev host's thumbnail queue makes its thumbnails and a colour preview can be asked for."""

from __future__ import annotations

import io
import uuid

import httpx
from sqlalchemy.orm import Session

from blueprints.estimates import photos
from blueprints.estimates.photo_schemas import PhotoCommitIn, PhotoPatch, PhotoUploadIn
from shared import audit
from shared.auth import Principal


def room_jpeg(width: int = 1600, height: int = 1200) -> bytes:
    """A living room as a painter frames it: a pale wall, a window, a sofa, the floor."""
    from PIL import Image, ImageDraw  # heavy: loaded on first use (cold start)

    image = Image.new("RGB", (width, height), (226, 221, 211))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, int(height * 0.8), width, height], fill=(126, 88, 56))
    draw.rectangle([int(width * 0.58), int(height * 0.18), int(width * 0.86), int(height * 0.52)], fill=(236, 242, 248))
    draw.rectangle([int(width * 0.1), int(height * 0.56), int(width * 0.46), int(height * 0.84)], fill=(52, 70, 112))
    image = Image.blend(image, Image.effect_noise((width, height), 24).convert("RGB"), 0.06)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def seed_photo(*, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID) -> str:
    """Upload, commit and caption the demo estimate's living-room photo (marked for the proposal)."""
    data = room_jpeg()
    upload_in = PhotoUploadIn(content_type="image/jpeg", bytes=len(data))
    ticket = photos.create_upload(
        session=session, principal=principal, actor=actor, estimate_id=estimate_id, upload_in=upload_in
    )
    put = httpx.put(ticket.upload_url, content=data, headers=ticket.upload_headers, timeout=60)
    put.raise_for_status()
    common = {"session": session, "principal": principal, "actor": actor, "estimate_id": estimate_id}
    photos.commit_photo(**common, photo_id=ticket.photo.id, commit_in=PhotoCommitIn())
    patch = PhotoPatch(caption="Living room, before", in_proposal=True)
    photos.update_photo(**common, photo_id=ticket.photo.id, patch=patch, expected=None)
    return "one living-room photo"
