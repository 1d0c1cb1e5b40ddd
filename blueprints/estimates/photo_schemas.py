"""Request and response models of estimate photos and colour previews (issue 14), and their queue tasks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from shared.schema import BaseModel  # built on first use (defer_build), not at import

PhotoType = Literal["image/jpeg", "image/png", "image/heic", "image/heif", "image/webp"]
KIND_OF_TYPE: dict[str, str] = {
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/heic": "heic",
    "image/heif": "heic",
    "image/webp": "webp",
}
MIME_OF_KIND = {"jpeg": "image/jpeg", "png": "image/png", "heic": "image/heic", "webp": "image/webp"}
MAX_PHOTO_BYTES = 25 * 1024 * 1024
PhotoStatus = Literal["awaiting_upload", "committed"]
ThumbnailStatus = Literal["pending", "ready", "failed", "unsupported"]
PreviewSurface = Literal["walls", "ceiling", "trim"]
Finish = Literal["flat", "matte", "eggshell", "satin", "semi-gloss", "gloss"]
PreviewStatus = Literal["queued", "running", "ready", "failed"]
THUMBNAIL_QUEUE = "estimate-photo-thumbnails"  # one task per committed photo: its 320 px and 1280 px WebP
PREVIEW_QUEUE = "estimate-previews"  # one task per colour preview (and per retry after a transient error)
AI_LABEL = "AI visualisation"
SYNTHID_NOTE = (
    "Colour preview made by Google Gemini; the image carries an invisible SynthID watermark that marks it as "
    "AI-generated. Real paint colours and light differ."
)
LOCAL_NOTE = "Colour preview computed from the photo (local recolouring, no AI service). Real paint colours differ."


def preview_note(model: str | None) -> str:
    """The note shown with a preview: Gemini's SynthID watermark, or that it was computed locally."""
    return LOCAL_NOTE if model and model.startswith("local-") else SYNTHID_NOTE


class PhotoUploadIn(BaseModel):
    """A photo about to be uploaded: its type and size as the client sees them (checked again on commit)."""

    model_config = ConfigDict(extra="forbid")

    content_type: PhotoType
    bytes: int = Field(gt=0, le=MAX_PHOTO_BYTES)
    room_id: uuid.UUID | None = None


class PhotoCommitIn(BaseModel):
    """Commit the upload; blob_name, when the client sends it back, must be the name we issued."""

    model_config = ConfigDict(extra="forbid")

    blob_name: str | None = Field(default=None, max_length=300)


class PhotoPatch(BaseModel):
    """Change a photo's caption, room, order or whether it goes into the proposal."""

    model_config = ConfigDict(extra="forbid")

    caption: str | None = Field(default=None, max_length=500)
    room_id: uuid.UUID | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)
    in_proposal: bool | None = None


class PhotoOut(BaseModel):
    """A photo with short-lived read URLs of the original and its thumbnails (None until they exist)."""

    id: uuid.UUID
    estimate_id: uuid.UUID
    room_id: uuid.UUID | None
    status: PhotoStatus
    kind: str | None
    size_bytes: int | None
    width: int | None
    height: int | None
    caption: str | None
    position: int
    in_proposal: bool
    location_removed: bool
    thumbnail_status: ThumbnailStatus
    thumbnail_error: str | None
    url: str | None
    thumbnail_url: str | None
    large_url: str | None
    urls_expire_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class PhotoUploadOut(BaseModel):
    """Where to PUT the photo (a write-only URL for this one name, 15 minutes), then commit."""

    photo: PhotoOut
    upload_url: str
    upload_headers: dict[str, str]
    expires_at: datetime
    max_bytes: int


class PhotoList(BaseModel):
    """An estimate's live photos in their order."""

    items: list[PhotoOut]


class Colour(BaseModel):
    """A paint colour: its name, brand and code as the fan deck says, and its hex value."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    brand: str | None = Field(default=None, max_length=100)
    code: str | None = Field(default=None, max_length=64)
    hex: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")

    @field_validator("hex")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class PreviewIn(BaseModel):
    """Ask for a colour preview of a photo: the colour, the surfaces to paint and the finish."""

    model_config = ConfigDict(extra="forbid")

    colour: Colour
    surfaces: list[PreviewSurface] = Field(min_length=1, max_length=3)
    finish: Finish | None = None

    @field_validator("surfaces")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class PreviewPatch(BaseModel):
    """Put a preview into the proposal or take it out."""

    model_config = ConfigDict(extra="forbid")

    in_proposal: bool


class PreviewOut(BaseModel):
    """A colour preview: its status, the image's read URL once ready, the colour, model and cost units."""

    id: uuid.UUID
    estimate_id: uuid.UUID
    photo_id: uuid.UUID
    status: PreviewStatus
    colour: Colour
    surfaces: list[PreviewSurface]
    finish: Finish | None
    provider: str | None
    model: str | None
    cost_units: int
    attempts: int
    url: str | None
    url_expires_at: datetime | None
    mime_type: str | None
    width: int | None
    height: int | None
    error_code: str | None
    error: str | None
    in_proposal: bool
    label: str
    note: str
    created_at: datetime
    updated_at: datetime
    version: int


class PreviewList(BaseModel):
    """A photo's colour previews, newest first."""

    items: list[PreviewOut]


class ThumbnailTask(BaseModel):
    """Make the thumbnails of one committed photo."""

    tenant_id: uuid.UUID
    photo_id: uuid.UUID


class PreviewTask(BaseModel):
    """Make one colour preview; attempt is the preview's attempt count when this task was queued (stale if not)."""

    tenant_id: uuid.UUID
    preview_id: uuid.UUID
    attempt: int = Field(ge=0)
