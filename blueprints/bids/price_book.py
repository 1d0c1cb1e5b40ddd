"""The business's plumbing price book: every saved change is a new version; a bid records the version it used
(`shared/versioned_book.py`)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from blueprints.bids.bid_schemas import PriceBookBody, PriceBookOut
from blueprints.bids.models import BidPriceBook
from shared import audit
from shared.auth import Principal
from shared.versioned_book import DEFAULT_VERSION, Shelf, Version

__all__ = ["DEFAULT_VERSION", "book_at", "current_version", "get_price_book", "save_price_book"]

SHELF = Shelf(
    row=BidPriceBook,
    body=PriceBookBody,
    name="price book",
    action="bids.price_book_changed",
    entity="bid_price_book",
    audited=lambda book: {"labour_rate_cents": book.labour_rate_cents, "margin_percent": str(book.margin_percent)},
)


def current_version(session: Session, tenant_id: uuid.UUID) -> int:
    """The newest saved version of the tenant's price book (0: none saved yet)."""
    return SHELF.current_version(session, tenant_id)


def book_at(session: Session, tenant_id: uuid.UUID, version: int) -> PriceBookBody:
    """The tenant's price book as it was at version."""
    return SHELF.body_at(session, tenant_id, version)


def _out(saved: Version[PriceBookBody]) -> PriceBookOut:
    return PriceBookOut(**saved.body.model_dump(), version=saved.version, created_at=saved.created_at)


def get_price_book(*, session: Session, principal: Principal, version: int | None = None) -> PriceBookOut:
    """The current price book (or the version asked for)."""
    return _out(SHELF.read(session, principal.tenant_id, version))


def save_price_book(*, session: Session, principal: Principal, actor: audit.Actor, book: PriceBookBody) -> PriceBookOut:
    """Save the price book as a new version (a concurrent save of the same version is 409)."""
    return _out(SHELF.save(session, principal, actor, book))
