"""Access tokens (HS256 JWT, 15 minutes, iss/aud/exp/typ checked) and opaque refresh tokens (stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import jwt

from shared.config import get_settings
from shared.errors import Unauthorized

ALGORITHM = "HS256"  # pinned: a token naming any other algorithm (including "none") is refused
ACCESS_TYPE = "access"


@dataclass(frozen=True)
class AccessClaims:
    """The verified claims of an access token."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID
    session_id: uuid.UUID
    role: str


def issue_access_token(
    *, user_id: uuid.UUID, tenant_id: uuid.UUID, session_id: uuid.UUID, role: str, now: datetime
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    settings = get_settings()
    ttl = settings.access_token_ttl_seconds
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "tid": str(tenant_id),
        "sid": str(session_id),
        "role": role,
        "typ": ACCESS_TYPE,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.jwt_signing_key, algorithm=ALGORITHM), ttl


def verify_access_token(token: str, *, now: datetime) -> AccessClaims:
    """The claims of a valid access token; 401 for anything else (bad signature, algorithm, expiry, audience)."""
    settings = get_settings()
    try:
        claims, expires = _verified(token, settings.jwt_signing_key, settings.jwt_audience, settings.jwt_issuer)
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError):
        raise Unauthorized("The access token is not valid", code="invalid_token") from None
    # Expiry is checked against the app clock (pinnable), with no leeway, on every request.
    if expires <= int(now.timestamp()):
        raise Unauthorized("The access token has expired", code="token_expired")
    return claims


@lru_cache(maxsize=4096)
def _verified(token: str, key: str, audience: str, issuer: str) -> tuple[AccessClaims, int]:
    """A token's claims and expiry once its signature, algorithm, audience, issuer and type check out.

    Cached: the answer depends only on these arguments (the key among them, so a new key verifies afresh), and a
    client sends the same token for its 15 minutes. Expiry is not part of it. Failures are never cached.
    """
    claims = jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "typ"], "verify_exp": False},
    )
    if claims.get("typ") != ACCESS_TYPE:
        raise jwt.InvalidTokenError("not an access token")
    verified = AccessClaims(
        user_id=uuid.UUID(claims["sub"]),
        tenant_id=uuid.UUID(claims["tid"]),
        session_id=uuid.UUID(claims["sid"]),
        role=str(claims.get("role", "")),
    )
    return verified, int(claims["exp"])


def new_refresh_token() -> str:
    """A fresh opaque refresh token (256 random bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a refresh token: its SHA-256 (the token itself is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer ...` header; 401 when it is missing or malformed."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Sign in and send Authorization: Bearer <access token>", code="not_signed_in")
    return token.strip()
