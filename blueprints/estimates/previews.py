"""Colour previews of a photo (AI visualisation): ask for one (202, queued), read it, list a photo's, and mark
one for the proposal.

A preview is one per (photo, colour, surfaces, finish): asking again answers the same preview and costs
nothing. Each new preview counts against the business's daily cap (PREVIEWS_PER_TENANT_DAY, UTC day),
checked under a per-business lock; past it the answer is 429 with Retry-After until midnight UTC. The work
runs in media_pipeline.make_preview from the preview queue.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from blueprints.estimates import media
from blueprints.estimates.access import estimate_or_raise, require_edit
from blueprints.estimates.models import EstimatePhoto, EstimatePreview
from blueprints.estimates.photo_schemas import (
    AI_LABEL,
    PREVIEW_QUEUE,
    Colour,
    PreviewIn,
    PreviewList,
    PreviewOut,
    PreviewPatch,
    PreviewTask,
    preview_note,
)
from blueprints.estimates.photos import photo_or_raise
from shared import audit, clock
from shared.auth import Principal
from shared.config import get_settings
from shared.errors import NotFound, RateLimited, Unprocessable
from shared.etag import check_version, flush_versioned
from shared.storage import enqueue

MAX_PREVIEWS_LISTED = 200


def request_key(preview_in: PreviewIn) -> str:
    """What makes two requests the same preview: the colour (hex, name, brand, code), surfaces and finish."""
    colour = preview_in.colour
    material = {
        "hex": colour.hex.lower(),
        "name": colour.name.strip().casefold(),
        "brand": (colour.brand or "").strip().casefold(),
        "code": (colour.code or "").strip().casefold(),
        "surfaces": sorted(preview_in.surfaces),
        "finish": preview_in.finish or "",
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def preview_out(preview: EstimatePreview) -> PreviewOut:
    """The preview as the API answers it, with a fresh read URL once it is ready."""
    url, expires = media.read_url(preview.blob_name if preview.status == "ready" else None)
    return PreviewOut(
        id=preview.id,
        estimate_id=preview.estimate_id,
        photo_id=preview.photo_id,
        status=preview.status,  # type: ignore[arg-type]
        colour=Colour.model_validate(preview.colour),
        surfaces=preview.surfaces,  # type: ignore[arg-type]
        finish=preview.finish,  # type: ignore[arg-type]
        provider=preview.provider,
        model=preview.model,
        cost_units=preview.cost_units,
        attempts=preview.attempts,
        url=url,
        url_expires_at=expires,
        mime_type=preview.mime_type,
        width=preview.width,
        height=preview.height,
        error_code=preview.error_code,
        error=preview.error,
        in_proposal=preview.in_proposal,
        label=AI_LABEL,
        note=preview_note(preview.model),
        created_at=preview.created_at,
        updated_at=preview.updated_at,
        version=preview.version,
    )


def _next_utc_midnight(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _check_cap(session: Session, tenant_id: uuid.UUID) -> None:
    """429 with Retry-After (seconds to midnight UTC) when today's previews reached PREVIEWS_PER_TENANT_DAY."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"estimate-previews:{tenant_id}"}
    )
    now = clock.now()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    made = session.scalar(
        select(func.count()).where(EstimatePreview.tenant_id == tenant_id, EstimatePreview.created_at >= day)
    )
    cap = get_settings().previews_per_tenant_day
    if (made or 0) >= cap:
        wait = (_next_utc_midnight(now) - now).total_seconds()
        raise RateLimited(
            f"The business made its {cap} colour previews for today; more tomorrow (UTC)",
            code="preview_cap_reached",
            retry_after=int(wait) + 1,
        )


def request_preview(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    estimate_id: uuid.UUID,
    photo_id: uuid.UUID,
    preview_in: PreviewIn,
) -> PreviewOut:
    """Queue a colour preview of a committed photo, or answer the one already asked for with the same colour."""
    estimate = estimate_or_raise(session, principal, estimate_id)
    require_edit(session, principal, estimate)
    photo = photo_or_raise(session, estimate, photo_id)
    if photo.status != "committed":
        raise Unprocessable("Commit the photo before asking for a preview", code="photo_not_committed")
    key = request_key(preview_in)
    same = select(EstimatePreview).where(
        EstimatePreview.tenant_id == photo.tenant_id,
        EstimatePreview.photo_id == photo.id,
        EstimatePreview.request_key == key,
    )
    existing = session.scalars(same).first()
    if existing is not None:
        return preview_out(existing)
    _check_cap(session, photo.tenant_id)
    existing = session.scalars(same).first()  # asked meanwhile by a request that held the lock
    if existing is not None:
        return preview_out(existing)
    preview = EstimatePreview(
        id=uuid.uuid4(),
        tenant_id=photo.tenant_id,
        estimate_id=photo.estimate_id,
        photo_id=photo.id,
        request_key=key,
        colour=preview_in.colour.model_dump(),
        surfaces=list(preview_in.surfaces),
        finish=preview_in.finish,
        status="queued",
        attempts=0,
        cost_units=0,
        in_proposal=False,
        created_by=principal.user_id,
        created_at=clock.now(),
    )
    session.add(preview)
    session.flush()
    enqueue(session, PREVIEW_QUEUE, PreviewTask(tenant_id=preview.tenant_id, preview_id=preview.id, attempt=0))
    audit.record(
        session,
        tenant_id=preview.tenant_id,
        actor=actor,
        action="estimates.preview_requested",
        entity="estimate_preview",
        entity_id=preview.id,
        after={"photo_id": str(photo.id), "colour": preview.colour, "surfaces": preview.surfaces},
    )
    return preview_out(preview)


def _preview_or_raise(
    session: Session,
    principal: Principal,
    estimate_id: uuid.UUID,
    photo_id: uuid.UUID,
    preview_id: uuid.UUID,
    *,
    lock: bool = False,
) -> EstimatePreview:
    estimate = estimate_or_raise(session, principal, estimate_id)
    stmt = (
        select(EstimatePreview)
        .join(EstimatePhoto, EstimatePhoto.id == EstimatePreview.photo_id)
        .where(
            EstimatePreview.id == preview_id,
            EstimatePreview.photo_id == photo_id,
            EstimatePreview.estimate_id == estimate.id,
            EstimatePreview.tenant_id == estimate.tenant_id,
            EstimatePhoto.deleted_at.is_(None),
        )
    )
    preview = session.scalars(stmt.with_for_update(of=EstimatePreview) if lock else stmt).first()
    if preview is None:
        raise NotFound("No such preview")
    return preview


def get_preview(
    *, session: Session, principal: Principal, estimate_id: uuid.UUID, photo_id: uuid.UUID, preview_id: uuid.UUID
) -> tuple[PreviewOut, int]:
    """A preview with its status, read URL, colour, model and cost units, and its version (the ETag)."""
    preview = _preview_or_raise(session, principal, estimate_id, photo_id, preview_id)
    return preview_out(preview), preview.version


def list_previews(
    *, session: Session, principal: Principal, estimate_id: uuid.UUID, photo_id: uuid.UUID
) -> PreviewList:
    """A photo's previews, newest first."""
    estimate = estimate_or_raise(session, principal, estimate_id)
    photo = photo_or_raise(session, estimate, photo_id)
    stmt = (
        select(EstimatePreview)
        .where(EstimatePreview.photo_id == photo.id, EstimatePreview.tenant_id == photo.tenant_id)
        .order_by(EstimatePreview.created_at.desc(), EstimatePreview.id)
        .limit(MAX_PREVIEWS_LISTED)
    )
    return PreviewList(items=[preview_out(p) for p in session.scalars(stmt)])


def update_preview(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    estimate_id: uuid.UUID,
    photo_id: uuid.UUID,
    preview_id: uuid.UUID,
    patch: PreviewPatch,
    expected: frozenset[int] | None,
) -> tuple[PreviewOut, int]:
    """Put a ready preview into the proposal or take it out (If-Match)."""
    estimate = estimate_or_raise(session, principal, estimate_id)
    require_edit(session, principal, estimate)
    preview = _preview_or_raise(session, principal, estimate_id, photo_id, preview_id, lock=True)
    check_version(preview.version, expected)
    if patch.in_proposal and preview.status != "ready":
        raise Unprocessable("Only a ready preview goes into the proposal", code="preview_not_ready")
    preview.in_proposal = patch.in_proposal
    preview.updated_at = clock.now()
    flush_versioned(session)
    audit.record(
        session,
        tenant_id=preview.tenant_id,
        actor=actor,
        action="estimates.preview_changed",
        entity="estimate_preview",
        entity_id=preview.id,
        after={"in_proposal": patch.in_proposal},
    )
    return preview_out(preview), preview.version
