"""A business's versioned book (the painters' rate book, the plumbers' price book): every saved change is a new
version, append-only, and what was priced with it records the version it used.

Version 0 is the published defaults (the body model's defaults), used until the business saves a book of its
own. Saving takes the newest version + 1; two saves of the same version race on the table's unique (tenant,
version) and the loser is 409. Each module names its book (`Shelf`): its table, its body model, its words and
its audit row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session

from shared import audit, clock
from shared.auth import Principal
from shared.errors import Conflict, NotFound

# Version 0 is the published defaults, used until the business saves a book of its own.
DEFAULT_VERSION = 0


class BookRow(Protocol):
    """The columns of one saved version (estimate_rate_books, bids_price_books)."""

    id: Mapped[uuid.UUID]
    tenant_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime]
    version: Mapped[int]
    body: Mapped[dict[str, Any]]
    created_by: Mapped[uuid.UUID | None]

    def __init__(self, **columns: Any) -> None: ...


Row = TypeVar("Row", bound=BookRow)
Body = TypeVar("Body", bound=BaseModel)


@dataclass(frozen=True)
class Version(Generic[Body]):
    """One version of a book: its number, its body, and when it was saved (None for the published defaults)."""

    version: int
    body: Body
    created_at: datetime | None = None


@dataclass(frozen=True)
class Shelf(Generic[Row, Body]):
    """Where one module keeps its book and what it calls it."""

    row: type[Row]
    body: type[Body]  # built with no arguments, it is the published defaults
    name: str  # "rate book": in the 404 and the 409 (its code `rate_book_race`)
    action: str  # the audit row of a save
    entity: str
    audited: Callable[[Body], dict[str, Any]]  # what the audit row records of a saved body, beside its version

    def body_of(self, stored: dict[str, Any] | None) -> Body:
        """A stored book's body as the model (the published defaults for none)."""
        return self.body() if stored is None else self.body.model_validate(stored)

    def current_version(self, session: Session, tenant_id: uuid.UUID) -> int:
        """The newest saved version of the tenant's book (0: none saved yet)."""
        stmt = select(func.max(self.row.version)).where(self.row.tenant_id == tenant_id)
        return session.scalar(stmt) or DEFAULT_VERSION

    def _missing(self) -> NotFound:
        return NotFound(f"No such {self.name} version")

    def body_at(self, session: Session, tenant_id: uuid.UUID, version: int) -> Body:
        """The tenant's book as it was at version."""
        if version == DEFAULT_VERSION:
            return self.body()
        stmt = select(self.row.body).where(self.row.tenant_id == tenant_id, self.row.version == version)
        stored = session.scalar(stmt)
        if stored is None:
            raise self._missing()
        return self.body_of(stored)

    def read(self, session: Session, tenant_id: uuid.UUID, version: int | None = None) -> Version[Body]:
        """The current version (or the one asked for) with when it was saved."""
        wanted = self.current_version(session, tenant_id) if version is None else version
        if wanted == DEFAULT_VERSION:
            return Version(version=DEFAULT_VERSION, body=self.body())
        stmt = select(self.row).where(self.row.tenant_id == tenant_id, self.row.version == wanted)
        row = session.scalars(stmt).first()
        if row is None:
            raise self._missing()
        return Version(version=row.version, body=self.body_of(row.body), created_at=row.created_at)

    def save(self, session: Session, principal: Principal, actor: audit.Actor, book: Body) -> Version[Body]:
        """Save the book as a new version (a concurrent save of the same version is 409); audited."""
        version = self.current_version(session, principal.tenant_id) + 1
        row = self.row(
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
            message = f"Someone saved the {self.name} at the same moment; read it again"
            raise Conflict(message, code=f"{self.name.replace(' ', '_')}_race") from None
        audit.record(
            session,
            tenant_id=principal.tenant_id,
            actor=actor,
            action=self.action,
            entity=self.entity,
            entity_id=row.id,
            after={"version": version, **self.audited(book)},
        )
        return Version(version=version, body=book, created_at=row.created_at)
