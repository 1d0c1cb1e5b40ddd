"""Access tokens: only HS256 with our key, our issuer and audience, type access, and not expired."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from blueprints.identity import tokens
from shared.config import get_settings
from shared.errors import Unauthorized

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
IDS = {"user_id": uuid.uuid4(), "tenant_id": uuid.uuid4(), "session_id": uuid.uuid4()}


def _claims(**overrides: object) -> dict[str, object]:
    settings = get_settings()
    claims: dict[str, object] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(IDS["user_id"]),
        "tid": str(IDS["tenant_id"]),
        "sid": str(IDS["session_id"]),
        "role": "owner",
        "typ": "access",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=15)).timestamp()),
    }
    claims.update(overrides)
    return claims


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_token_we_issued_verifies_and_lasts_15_minutes() -> None:
    token, ttl = tokens.issue_access_token(role="tech", now=NOW, **IDS)
    claims = tokens.verify_access_token(token, now=NOW + timedelta(minutes=14, seconds=59))
    assert ttl == 900
    assert (claims.user_id, claims.tenant_id, claims.session_id, claims.role) == (
        IDS["user_id"],
        IDS["tenant_id"],
        IDS["session_id"],
        "tech",
    )


def test_alg_none_is_refused() -> None:
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    with pytest.raises(Unauthorized) as caught:
        tokens.verify_access_token(unsigned, now=NOW)
    assert caught.value.code == "invalid_token"


def test_a_token_signed_with_another_key_is_refused() -> None:
    forged = jwt.encode(_claims(), "another-key-another-key-another-key!!", algorithm="HS256")
    with pytest.raises(Unauthorized, match="not valid"):
        tokens.verify_access_token(forged, now=NOW)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the forger's HS512 with our key
def test_another_hmac_algorithm_with_our_key_is_refused() -> None:
    other = jwt.encode(_claims(), get_settings().jwt_signing_key, algorithm="HS512")
    with pytest.raises(Unauthorized, match="not valid"):
        tokens.verify_access_token(other, now=NOW)


def test_an_expired_token_is_refused() -> None:
    token, _ = tokens.issue_access_token(role="owner", now=NOW, **IDS)
    with pytest.raises(Unauthorized) as caught:
        tokens.verify_access_token(token, now=NOW + timedelta(minutes=15))
    assert caught.value.code == "token_expired"


@pytest.mark.parametrize(
    "overrides",
    [{"iss": "someone-else"}, {"aud": "another-api"}, {"typ": "refresh"}, {"sub": "not-a-uuid"}],
    ids=["issuer", "audience", "type", "subject"],
)
def test_wrong_issuer_audience_type_or_subject_is_refused(overrides: dict[str, object]) -> None:
    token = jwt.encode(_claims(**overrides), get_settings().jwt_signing_key, algorithm="HS256")
    with pytest.raises(Unauthorized):
        tokens.verify_access_token(token, now=NOW)


def test_missing_expiry_is_refused() -> None:
    claims = _claims()
    del claims["exp"]
    token = jwt.encode(claims, get_settings().jwt_signing_key, algorithm="HS256")
    with pytest.raises(Unauthorized):
        tokens.verify_access_token(token, now=NOW)


def test_refresh_tokens_are_random_and_stored_only_as_hashes() -> None:
    first, second = tokens.new_refresh_token(), tokens.new_refresh_token()
    assert first != second and len(first) >= 43
    assert tokens.hash_token(first) != first and len(tokens.hash_token(first)) == 64


def test_a_verified_token_still_expires_and_a_new_signing_key_refuses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.config import reset_settings_cache

    # given a token verified once (its verification is cached for the next requests)
    token, _ = tokens.issue_access_token(role="owner", now=NOW, **IDS)
    assert tokens.verify_access_token(token, now=NOW).user_id == IDS["user_id"]
    # then the same token is refused once expired
    with pytest.raises(Unauthorized) as caught:
        tokens.verify_access_token(token, now=NOW + timedelta(minutes=15))
    assert caught.value.code == "token_expired"
    # and under another signing key it is not valid at all
    monkeypatch.setenv("JWT_SIGNING_KEY", "a-rotated-signing-key-0123456789abcdef0123456789")
    reset_settings_cache()
    try:
        with pytest.raises(Unauthorized) as refused:
            tokens.verify_access_token(token, now=NOW)
        assert refused.value.code == "invalid_token"
    finally:
        monkeypatch.undo()
        reset_settings_cache()
