"""Cursor (keyset) pagination: `?limit=&cursor=` in, `{items, next_cursor}` out."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import Field

from shared import lazy
from shared.errors import BadRequest
from shared.schema import BaseModel  # built on first use (defer_build), not at import

if TYPE_CHECKING:
    import sqlalchemy
    from sqlalchemy import Select
    from sqlalchemy.orm import Session
else:  # loaded on the first page read: schemas import PageQuery at indexing, which needs no SQLAlchemy
    sqlalchemy = lazy.module("sqlalchemy")

MAX_LIMIT = 200
T = TypeVar("T")


class PageQuery(BaseModel):
    """The query parameters every list accepts."""

    limit: int = Field(50, ge=1, le=MAX_LIMIT, description=f"Items per page, at most {MAX_LIMIT}")
    cursor: str | None = Field(default=None, max_length=512, description="next_cursor of the previous page")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    next_cursor: str | None = None


def _tag(value: Any) -> list[Any]:
    if isinstance(value, datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, uuid.UUID):
        return ["uuid", str(value)]
    if isinstance(value, Decimal):
        return ["dec", str(value)]
    return ["v", value]


def _untag(item: list[Any]) -> Any:
    kind, value = item
    if kind == "dt":
        return datetime.fromisoformat(value)
    if kind == "uuid":
        return uuid.UUID(value)
    if kind == "dec":
        return Decimal(value)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor for the position after a row with these sort-key values."""
    raw = json.dumps([_tag(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> tuple[Any, ...]:
    """The sort-key values inside a cursor; 400 for anything that is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = tuple(_untag(item) for item in json.loads(raw))
    except (ValueError, TypeError, KeyError) as exc:
        raise BadRequest("The cursor is not valid", code="invalid_cursor") from exc
    if len(values) != width:
        raise BadRequest("The cursor is not valid", code="invalid_cursor")
    return values


def paginate(
    session: Session, stmt: Select[Any], *, keys: Sequence[Any], query: PageQuery, descending: bool = False
) -> tuple[list[Any], str | None]:
    """Run stmt ordered by keys (unique together) after the cursor; returns the rows and the next cursor."""
    key_tuple = sqlalchemy.tuple_(*keys)
    if query.cursor:
        after = decode_cursor(query.cursor, len(keys))
        stmt = stmt.where(
            key_tuple < sqlalchemy.tuple_(*after) if descending else key_tuple > sqlalchemy.tuple_(*after)
        )
    order = [k.desc() for k in keys] if descending else list(keys)
    rows = list(session.scalars(stmt.order_by(*order).limit(query.limit + 1)).all())
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, k.key) for k in keys])
    return rows, next_cursor
