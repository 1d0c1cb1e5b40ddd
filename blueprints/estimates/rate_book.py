"""The business's rate book: every saved change is a new version; estimates record the version they used
(`shared/versioned_book.py`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from blueprints.estimates.models import RateBook
from blueprints.estimates.schemas import RateBookBody, RateBookOut
from shared import audit
from shared.auth import Principal
from shared.versioned_book import DEFAULT_VERSION, Shelf, Version

__all__ = ["DEFAULT_VERSION", "body_of", "book_at", "current_version", "get_rate_book", "save_rate_book"]

SHELF = Shelf(
    row=RateBook,
    body=RateBookBody,
    name="rate book",
    action="rate_book.changed",
    entity="rate_book",
    audited=lambda book: {"products": len(book.products), "labour_rate_cents": book.labour_rate_cents},
)


def body_of(row_body: dict[str, Any] | None) -> RateBookBody:
    """A stored rate book's body as the model (the published defaults for version 0)."""
    return SHELF.body_of(row_body)


def current_version(session: Session, tenant_id: uuid.UUID) -> int:
    """The newest saved version of the tenant's rate book (0: none saved yet)."""
    return SHELF.current_version(session, tenant_id)


def book_at(session: Session, tenant_id: uuid.UUID, version: int) -> RateBookBody:
    """The tenant's rate book as it was at version."""
    return SHELF.body_at(session, tenant_id, version)


def _out(saved: Version[RateBookBody]) -> RateBookOut:
    return RateBookOut(**saved.body.model_dump(), version=saved.version, created_at=saved.created_at)


def get_rate_book(*, session: Session, principal: Principal, version: int | None = None) -> RateBookOut:
    """The current rate book (or the version asked for)."""
    return _out(SHELF.read(session, principal.tenant_id, version))


def save_rate_book(*, session: Session, principal: Principal, actor: audit.Actor, book: RateBookBody) -> RateBookOut:
    """Save the rate book as a new version (a concurrent save of the same version is 409)."""
    return _out(SHELF.save(session, principal, actor, book))
