"""The business's rate book: every saved change is a new version; estimates record the version they used."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blueprints.estimates.models import RateBook
from blueprints.estimates.schemas import RateBookBody, RateBookOut
from shared import audit, clock
from shared.auth import Principal
from shared.errors import Conflict, NotFound

# Version 0 is the published defaults, used until the business saves a rate book of its own.
DEFAULT_VERSION = 0


def body_of(row_body: dict[str, Any] | None) -> RateBookBody:
    """A stored rate book's body as the model (the published defaults for version 0)."""
    return RateBookBody() if row_body is None else RateBookBody.model_validate(row_body)


def current_version(session: Session, tenant_id: uuid.UUID) -> int:
    """The newest saved version of the tenant's rate book (0: none saved yet)."""
    stmt = select(func.max(RateBook.version)).where(RateBook.tenant_id == tenant_id)
    return session.scalar(stmt) or DEFAULT_VERSION


def book_at(session: Session, tenant_id: uuid.UUID, version: int) -> RateBookBody:
    """The tenant's rate book as it was at version."""
    if version == DEFAULT_VERSION:
        return RateBookBody()
    body = session.scalar(select(RateBook.body).where(RateBook.tenant_id == tenant_id, RateBook.version == version))
    if body is None:
        raise NotFound("No such rate book version")
    return body_of(body)


def _out(version: int, body: RateBookBody, created_at: Any = None) -> RateBookOut:
    return RateBookOut(**body.model_dump(), version=version, created_at=created_at)


def get_rate_book(*, session: Session, principal: Principal, version: int | None = None) -> RateBookOut:
    """The current rate book (or the version asked for)."""
    wanted = current_version(session, principal.tenant_id) if version is None else version
    if wanted == DEFAULT_VERSION:
        return _out(DEFAULT_VERSION, RateBookBody())
    row = session.scalars(
        select(RateBook).where(RateBook.tenant_id == principal.tenant_id, RateBook.version == wanted)
    ).first()
    if row is None:
        raise NotFound("No such rate book version")
    return _out(row.version, body_of(row.body), row.created_at)


def save_rate_book(*, session: Session, principal: Principal, actor: audit.Actor, book: RateBookBody) -> RateBookOut:
    """Save the rate book as a new version (a concurrent save of the same version is 409)."""
    version = current_version(session, principal.tenant_id) + 1
    row = RateBook(
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
        raise Conflict("Someone saved the rate book at the same moment; read it again", code="rate_book_race") from None
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="rate_book.changed",
        entity="rate_book",
        entity_id=row.id,
        after={"version": version, "products": len(book.products), "labour_rate_cents": book.labour_rate_cents},
    )
    return _out(version, book, row.created_at)
