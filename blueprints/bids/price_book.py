"""The business's plumbing price book: every saved change is a new version; a bid records the version it used."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blueprints.bids.bid_schemas import PriceBookBody, PriceBookOut
from blueprints.bids.models import BidPriceBook
from shared import audit, clock
from shared.auth import Principal
from shared.errors import Conflict, NotFound

# Version 0 is the published defaults, used until the business saves a price book of its own.
DEFAULT_VERSION = 0


def current_version(session: Session, tenant_id: uuid.UUID) -> int:
    """The newest saved version of the tenant's price book (0: none saved yet)."""
    stmt = select(func.max(BidPriceBook.version)).where(BidPriceBook.tenant_id == tenant_id)
    return session.scalar(stmt) or DEFAULT_VERSION


def book_at(session: Session, tenant_id: uuid.UUID, version: int) -> PriceBookBody:
    """The tenant's price book as it was at version."""
    if version == DEFAULT_VERSION:
        return PriceBookBody()
    stmt = select(BidPriceBook.body).where(BidPriceBook.tenant_id == tenant_id, BidPriceBook.version == version)
    body = session.scalar(stmt)
    if body is None:
        raise NotFound("No such price book version")
    return PriceBookBody.model_validate(body)


def _out(version: int, body: PriceBookBody, created_at: datetime | None = None) -> PriceBookOut:
    return PriceBookOut(**body.model_dump(), version=version, created_at=created_at)


def get_price_book(*, session: Session, principal: Principal, version: int | None = None) -> PriceBookOut:
    """The current price book (or the version asked for)."""
    wanted = current_version(session, principal.tenant_id) if version is None else version
    if wanted == DEFAULT_VERSION:
        return _out(DEFAULT_VERSION, PriceBookBody())
    row = session.scalars(
        select(BidPriceBook).where(BidPriceBook.tenant_id == principal.tenant_id, BidPriceBook.version == wanted)
    ).first()
    if row is None:
        raise NotFound("No such price book version")
    return _out(row.version, PriceBookBody.model_validate(row.body), row.created_at)


def save_price_book(*, session: Session, principal: Principal, actor: audit.Actor, book: PriceBookBody) -> PriceBookOut:
    """Save the price book as a new version (a concurrent save of the same version is 409)."""
    version = current_version(session, principal.tenant_id) + 1
    row = BidPriceBook(
        id=uuid.uuid4(),
        tenant_id=principal.tenant_id,
        version=version,
        body=book.model_dump(mode="json"),
        created_by=principal.user_id,
        created_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "Someone saved the price book at the same moment; read it again", code="price_book_race"
        ) from None
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.price_book_changed",
        entity="bid_price_book",
        entity_id=row.id,
        after={
            "version": version,
            "labour_rate_cents": book.labour_rate_cents,
            "margin_percent": str(book.margin_percent),
        },
    )
    return _out(version, book, row.created_at)
