"""Signed customer links: an HMAC-SHA256 token over a purpose, a tenant, the ids it names and an expiry.

A token is `v1.<tenant hex>.<id hex>...<expiry epoch>.<mac>`; the purpose (e.g. "inspection", "estimate")
is covered by the MAC but not written in the token, so a token made for one purpose never opens another.
Links live at most 7 days. A tampered or malformed token is 403, an expired one 410. A link meant to
work once is checked by its caller with `require_unused` (409 after the first use), because only the
caller's row knows whether it was used.

The key is INSPECTION_LINK_SIGNING_KEY (one secret for every customer link; config refuses an empty or
placeholder key in production).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared import clock
from shared.config import get_settings
from shared.errors import Conflict, Forbidden, Gone

MAX_TTL = timedelta(days=7)
VERSION = "v1"
# Only reachable outside production (config refuses an empty key there): local work and tests.
_DEV_KEY = "dev-only-inspection-link-key"


@dataclass(frozen=True)
class Claims:
    """What a verified link names."""

    purpose: str
    tenant_id: uuid.UUID
    ids: tuple[uuid.UUID, ...]
    expires_at: datetime


def _key() -> bytes:
    return (get_settings().inspection_link_signing_key or _DEV_KEY).encode()


def _mac(purpose: str, payload: str) -> str:
    # The purpose sits before the payload with a separator neither can contain, so it cannot be shifted.
    digest = hmac.new(_key(), f"{purpose}\n{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(*, purpose: str, tenant_id: uuid.UUID, ids: tuple[uuid.UUID, ...], ttl: timedelta) -> tuple[str, datetime]:
    """A token for purpose naming the tenant and ids, expiring after ttl (capped at 7 days), and its expiry."""
    expires_at = (clock.now() + min(ttl, MAX_TTL)).replace(microsecond=0)
    parts = [VERSION, tenant_id.hex, *(i.hex for i in ids), str(int(expires_at.timestamp()))]
    payload = ".".join(parts)
    return f"{payload}.{_mac(purpose, payload)}", expires_at


def url(
    route: str, *, purpose: str, tenant_id: uuid.UUID, ids: tuple[uuid.UUID, ...], ttl: timedelta
) -> tuple[str, datetime]:
    """The absolute link to a `{token}` route (PUBLIC_BASE_URL + /api/ + route) with a token made by `sign`, and
    when it expires."""
    token, expires_at = sign(purpose=purpose, tenant_id=tenant_id, ids=ids, ttl=ttl)
    return f"{get_settings().public_base_url.rstrip('/')}/api/{route.replace('{token}', token)}", expires_at


def _invalid() -> Forbidden:
    return Forbidden("This link is not valid", code="link_invalid")


def verify(token: str, *, purpose: str, id_count: int, expired_message: str = "This link has expired") -> Claims:
    """The claims of an untampered, unexpired token made for purpose; 403 when tampered, 410 when expired."""
    payload, _, mac = token.rpartition(".")
    if not payload or not hmac.compare_digest(_mac(purpose, payload).encode(), mac.encode("utf-8", "replace")):
        raise _invalid()
    parts = payload.split(".")
    if len(parts) != id_count + 3 or parts[0] != VERSION:
        raise _invalid()
    try:
        claims = Claims(
            purpose=purpose,
            tenant_id=uuid.UUID(hex=parts[1]),
            ids=tuple(uuid.UUID(hex=part) for part in parts[2:-1]),
            expires_at=datetime.fromtimestamp(int(parts[-1]), UTC),
        )
    except (ValueError, OverflowError, OSError):
        raise _invalid() from None
    now = clock.now()
    if now >= claims.expires_at or claims.expires_at - now > MAX_TTL + timedelta(minutes=5):
        raise Gone(expired_message, code="link_expired")
    return claims


def require_unused(used_at: datetime | None, *, message: str = "This link was already used") -> None:
    """409 when the caller's record says the one-use link was used already."""
    if used_at is not None:
        raise Conflict(message, code="link_used")
