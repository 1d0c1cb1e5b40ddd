"""An estimate with every room, option, add-on, share and revision in one SQL statement, priced in Python.

The statement reads the estimate row and carries each collection (and the rate-book version it is priced
with) as one JSON column (shared.db.json_rows): one round trip however many rooms it has. Numerics
travel as text so no measurement passes through a float.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Boolean, Select, String, bindparam, cast, or_, select
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import Session

from blueprints.estimates import pricing
from blueprints.estimates.access import READ_ALL
from blueprints.estimates.models import (
    Estimate,
    EstimateAddon,
    EstimateItem,
    EstimateOption,
    EstimateRevision,
    EstimateShare,
    RateBook,
)
from blueprints.estimates.rate_book import body_of
from blueprints.estimates.schemas import (
    AcceptanceOut,
    AddonOut,
    EstimateOut,
    MaterialOut,
    OptionOut,
    PricedRoom,
    RateBookBody,
    RevisionOut,
    RoomIn,
    RoomOut,
    ShareOut,
    SurfaceOut,
    TotalsOut,
)
from blueprints.messaging import service as messaging
from shared.auth import Principal
from shared.db import json_rows
from shared.errors import NotFound

MESSAGES = 50  # the customer's newest messages searched for the revisions' own
UNITS = {"walls": "sq ft", "ceiling": "sq ft", "trim": "linear ft", "doors": "items", "windows": "items"}


@cache
def estimate_statement() -> Select:
    """The estimate and its collections; parameters tenant_id, estimate_id, user_id, read_all."""
    tenant_id = bindparam("tenant_id", type_=PgUUID(as_uuid=True))
    estimate_id = bindparam("estimate_id", type_=PgUUID(as_uuid=True))
    user_id = bindparam("user_id", type_=PgUUID(as_uuid=True))
    read_all = bindparam("read_all", type_=Boolean)
    e, rooms, options = Estimate.__table__, EstimateItem.__table__, EstimateOption.__table__
    addons, shares, revisions = EstimateAddon.__table__, EstimateShare.__table__, EstimateRevision.__table__

    def of_estimate(table: Any, *columns: Any) -> Select:
        return select(*columns).where(table.c.tenant_id == tenant_id, table.c.estimate_id == estimate_id)

    r = rooms.c
    room_rows = of_estimate(
        rooms,
        r.id,
        r.name,
        cast(r.length_ft, String).label("length_ft"),
        cast(r.width_ft, String).label("width_ft"),
        cast(r.height_ft, String).label("height_ft"),
        r.doors,
        r.windows,
        r.option_id,
        r.position,
        r.surfaces,
        r.version,
        r.created_at,
    )
    o = options.c
    option_rows = of_estimate(options, o.id, o.name, o.description, o.position, o.product_overrides)
    addon_rows = of_estimate(addons, addons.c.id, addons.c.name, addons.c.price_cents, addons.c.position)
    share_rows = of_estimate(shares, shares.c.user_id, shares.c.access)
    v = revisions.c
    revision_rows = of_estimate(
        revisions, v.revision, v.channel, v.sent_at, v.link_expires_at, v.valid_until, v.message_id, v.pdf_sha256
    )
    book = (
        select(RateBook.body)
        .where(RateBook.tenant_id == tenant_id, RateBook.version == e.c.rate_book_version)
        .scalar_subquery()
    )
    customer_id = select(e.c.customer_id).where(e.c.id == estimate_id).scalar_subquery()
    thread = messaging.recent_thread(tenant_id=tenant_id, customer_id=customer_id, limit=MESSAGES)
    shared_with_me = select(shares.c.estimate_id).where(
        shares.c.tenant_id == tenant_id, shares.c.estimate_id == estimate_id, shares.c.user_id == user_id
    )
    return select(
        Estimate,
        json_rows(room_rows, "position", "created_at", "id").label("rooms"),
        json_rows(option_rows, "position", "id").label("options"),
        json_rows(addon_rows, "position", "id").label("addons"),
        json_rows(share_rows, "user_id").label("shares"),
        json_rows(revision_rows, "revision").label("revisions"),
        json_rows(thread, "created_at", "id").label("messages"),
        book.label("book"),
    ).where(
        e.c.tenant_id == tenant_id,
        e.c.id == estimate_id,
        e.c.deleted_at.is_(None),
        or_(read_all, e.c.owner_id == user_id, e.c.id.in_(shared_with_me)),
    )


def read(session: Session, principal: Principal, estimate_id: uuid.UUID) -> EstimateOut:
    """The whole estimate, priced with the rate-book version it records (404 when the caller may not see it)."""
    params = {
        "tenant_id": principal.tenant_id,
        "estimate_id": estimate_id,
        "user_id": principal.user_id,
        "read_all": principal.has(READ_ALL),
    }
    row = session.execute(estimate_statement(), params).first()
    if row is None:
        raise NotFound("No such estimate")
    revisions = _with_message_status(row.revisions, row.messages)
    return assemble(row.Estimate, row.rooms, row.options, row.addons, row.shares, revisions, body_of(row.book))


def _with_message_status(revisions: list[dict[str, Any]], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each revision with what became of its message (queued, sent, blocked and why), so no send is lost."""
    by_id = {str(m["id"]): m for m in messages}
    out = []
    for revision in revisions:
        message = by_id.get(str(revision.get("message_id")))
        reason = message and (message.get("reason") or message.get("error_code"))
        status = message["status"] if message else None
        out.append({**revision, "message_status": status, "message_reason": reason})
    return out


def _room_in(room: RoomOut) -> RoomIn:
    return RoomIn(
        name=room.name,
        length_ft=room.length_ft,
        width_ft=room.width_ft,
        height_ft=room.height_ft,
        doors=room.doors,
        windows=room.windows,
        option_id=room.option_id,
        surfaces=room.surfaces,
    )


def price_options(
    rooms: list[RoomOut], options: list[dict[str, Any]], book: RateBookBody, discount_cents: int
) -> list[OptionOut]:
    """Each option priced: the rooms it includes (every room without an option, plus its own), its tier swaps."""
    inputs = {room.id: _room_in(room) for room in rooms}  # built once, shared by every option
    walls = {room_id: pricing.wall_area(room, book).quantize(Decimal("0.01")) for room_id, room in inputs.items()}
    cache: dict[tuple[uuid.UUID, int, uuid.UUID], pricing.SurfaceLine] = {}
    done: dict[int, SurfaceOut] = {}
    out = []
    for option in options:
        option_id = uuid.UUID(str(option["id"]))
        overrides = {uuid.UUID(k): uuid.UUID(v) for k, v in (option.get("product_overrides") or {}).items()}
        included = [room for room in rooms if room.option_id in (None, option_id)]
        priced = pricing.price_option(
            [(room.id, inputs[room.id]) for room in included],
            book,
            product_overrides=overrides,
            discount_cents=discount_cents,
            cache=cache,
        )
        out.append(_option_out(option, option_id, overrides, included, priced, book, walls, done))
    return out


def _surface_out(line: pricing.SurfaceLine, book: RateBookBody, done: dict[int, SurfaceOut]) -> SurfaceOut:
    """A priced surface as answered; options sharing a line object (same room, surface, product) share its output."""
    cached = done.get(id(line))  # the lines outlive this read's dict: the pricing cache holds them
    if cached is not None:
        return cached
    out = SurfaceOut.model_construct(  # every value is already of its field's type
        kind=line.kind,  # type: ignore[arg-type]
        product_id=line.product_id,
        product_name=book.product(line.product_id).name,
        coats=line.coats,
        prep=line.prep,  # type: ignore[arg-type]
        quantity=line.quantity.quantize(Decimal("0.01")),
        unit=UNITS[line.kind],  # type: ignore[arg-type]
        hours=line.hours.quantize(Decimal("0.0001")),
        gallons=line.gallons_exact.quantize(Decimal("0.0001")),
        labour_cents=line.labour_cents,
    )
    done[id(line)] = out
    return out


def _option_out(
    option: dict[str, Any],
    option_id: uuid.UUID,
    overrides: dict[uuid.UUID, uuid.UUID],
    rooms: list[RoomOut],
    priced: pricing.PricedOption,
    book: RateBookBody,
    walls: dict[uuid.UUID, Decimal],
    done: dict[int, SurfaceOut],
) -> OptionOut:
    by_room: dict[uuid.UUID, list[SurfaceOut]] = {room.id: [] for room in rooms}
    for line in priced.surfaces:
        by_room[line.room_id].append(_surface_out(line, book, done))
    totals = priced.totals
    assert totals is not None
    return OptionOut(
        id=option_id,
        name=option["name"],
        description=option.get("description"),
        position=option.get("position", 0),
        product_overrides=overrides,
        rooms=[
            PricedRoom(
                room_id=room.id,
                name=room.name,
                wall_area_sqft=walls[room.id],
                surfaces=by_room[room.id],
            )
            for room in rooms
        ],
        materials=[MaterialOut(**vars(m)) for m in priced.materials],
        totals=TotalsOut(**{**vars(totals), "hours": totals.hours.quantize(Decimal("0.0001"))}),
    )


def _acceptance(estimate: Estimate) -> AcceptanceOut | None:
    if estimate.decided_revision is None:
        return None
    return AcceptanceOut(
        revision=estimate.decided_revision,
        option_id=estimate.accepted_option_id,
        addon_ids=[uuid.UUID(a) for a in estimate.accepted_addon_ids or []],
        signer_name=estimate.signer_name,
        accepted_at=estimate.accepted_at,
        declined_at=estimate.declined_at,
        decline_reason=estimate.decline_reason,
        ip=estimate.decision_ip,
        user_agent=estimate.decision_user_agent,
        total_cents=estimate.accepted_total_cents,
        signed_pdf_sha256=estimate.signed_pdf_sha256,
    )


def assemble(
    estimate: Estimate,
    rooms: list[dict[str, Any]],
    options: list[dict[str, Any]],
    addons: list[dict[str, Any]],
    shares: list[dict[str, Any]],
    revisions: list[dict[str, Any]],
    book: RateBookBody,
) -> EstimateOut:
    """The response model from the estimate row, its collections and its rate book."""
    room_models = [RoomOut.model_validate(room) for room in rooms]
    return EstimateOut(
        id=estimate.id,
        customer_id=estimate.customer_id,
        owner_id=estimate.owner_id,
        title=estimate.title,
        status=estimate.status,  # type: ignore[arg-type]
        revision=estimate.revision,
        currency=estimate.currency,
        created_at=estimate.created_at,
        updated_at=estimate.updated_at,
        job_address=estimate.job_address,
        notes=estimate.notes,
        discount_cents=estimate.discount_cents,
        rate_book_version=estimate.rate_book_version,
        viewed_at=estimate.viewed_at,
        valid_until=estimate.valid_until,
        version=estimate.version,
        rooms=room_models,
        options=price_options(room_models, options, book, estimate.discount_cents),
        addons=[AddonOut.model_validate(a) for a in addons],
        shares=[ShareOut.model_validate(s) for s in shares],
        revisions=[RevisionOut.model_validate(r) for r in revisions],
        acceptance=_acceptance(estimate),
    )
