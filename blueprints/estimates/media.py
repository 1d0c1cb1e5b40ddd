"""Photo and preview blobs in the photos container (ESTIMATE_PHOTOS_CONTAINER), under the tenant's prefix:
tenants/{tenant}/estimates/{estimate}/photos/{photo}/original.{ext}, thumb-320.webp, thumb-1280.webp and
previews/{preview}.{ext}. Names are derived from ids, so a retried step writes the same blob again."""

from __future__ import annotations

import uuid
from datetime import datetime

from shared import uploads
from shared.config import get_settings
from shared.storage import blob_service

READ_URL_TTL_SECONDS = 900
THUMB_SMALL, THUMB_LARGE = 320, 1280
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/heic": "heic"}


def container() -> str:
    """The photos container (created on first use)."""
    name = get_settings().estimate_photos_container
    uploads.ensure_container(name)
    return name


def photo_prefix(tenant_id: uuid.UUID, estimate_id: uuid.UUID, photo_id: uuid.UUID) -> str:
    """Where one photo's blobs live."""
    return f"tenants/{tenant_id}/estimates/{estimate_id}/photos/{photo_id}"


def original_name(tenant_id: uuid.UUID, estimate_id: uuid.UUID, photo_id: uuid.UUID, kind: str) -> str:
    """The committed original (its location removed)."""
    return f"{photo_prefix(tenant_id, estimate_id, photo_id)}/original.{uploads.KINDS[kind]}"


def thumb_name(tenant_id: uuid.UUID, estimate_id: uuid.UUID, photo_id: uuid.UUID, px: int) -> str:
    """A WebP thumbnail of px on its long side."""
    return f"{photo_prefix(tenant_id, estimate_id, photo_id)}/thumb-{px}.webp"


def preview_name(
    tenant_id: uuid.UUID, estimate_id: uuid.UUID, photo_id: uuid.UUID, preview_id: uuid.UUID, mime_type: str
) -> str:
    """A preview's image, beside its source photo."""
    ext = EXTENSIONS.get(mime_type, "bin")
    return f"{photo_prefix(tenant_id, estimate_id, photo_id)}/previews/{preview_id}.{ext}"


def put(name: str, data: bytes, content_type: str) -> None:
    """Store a blob (overwriting: a redelivered task writes the same bytes again)."""
    from azure.storage.blob import ContentSettings  # heavy SDK: loaded on first use (cold start)

    client = blob_service().get_blob_client(container(), name)
    client.upload_blob(data, overwrite=True, content_settings=ContentSettings(content_type=content_type))


def get(name: str) -> bytes:
    """A stored blob's bytes."""
    return blob_service().get_blob_client(container(), name).download_blob().readall()


def read_url(name: str | None) -> tuple[str | None, datetime | None]:
    """A short-lived read-only URL of a blob (None for no blob)."""
    if not name:
        return None, None
    url, expires = uploads.sas_url(container(), name, ttl_seconds=READ_URL_TTL_SECONDS)
    return url, expires
