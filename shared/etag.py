"""ETags from a record's version and the If-Match precondition for PATCH.

Every PATCH requires If-Match (428 without it): a client that did not read the record first must
not overwrite someone else's change. `If-Match: *` explicitly accepts any current version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared import lazy
from shared.errors import PreconditionFailed, PreconditionRequired
from shared.http import Response

if TYPE_CHECKING:
    from sqlalchemy.orm import exc as orm_exc
else:  # loaded on first use: trigger modules import this at indexing, which needs no SQLAlchemy
    orm_exc = lazy.module("sqlalchemy.orm.exc")


def etag(version: int) -> str:
    """The strong ETag of a record at this version."""
    return f'"{version}"'


def with_etag(body: Any, version: int, *, status: int = 200) -> Any:
    """A handler's answer carrying the record's ETag."""
    return Response(body, status=status, headers={"ETag": etag(version)})


def if_match(request: Any) -> frozenset[int] | None:
    """The versions the client's If-Match accepts; None for `*`; 428 when the header is missing."""
    header = (request.headers.get("if-match") or "").strip()
    if not header:
        raise PreconditionRequired("Send If-Match with the ETag of the version you read", code="if_match_required")
    if header == "*":
        return None
    versions = set()
    for tag in header.split(","):
        value = tag.strip().removeprefix("W/").strip('"')
        if not value.isdigit():
            raise PreconditionFailed("If-Match does not name a version of this resource", code="stale_etag")
        versions.add(int(value))
    return frozenset(versions)


def check_version(current: int, expected: frozenset[int] | None) -> None:
    """412 when the record changed since the client read it."""
    if expected is not None and current not in expected:
        raise PreconditionFailed("The resource changed since you read it; fetch it again and retry", code="stale_etag")


def flush_versioned(session: Any) -> None:
    """Flush a versioned update; 412 when another request changed the row between our read and write."""
    try:
        session.flush()
    except orm_exc.StaleDataError:
        raise PreconditionFailed(
            "The resource changed while you edited it; fetch it again and retry", code="stale_etag"
        ) from None
