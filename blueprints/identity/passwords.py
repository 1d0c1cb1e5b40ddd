"""Password hashing with argon2id (argon2-cffi defaults), and login identifiers hashed for global lookup."""

from __future__ import annotations

import hashlib
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified when no account matches, so an unknown email costs as much time as a wrong password.
    return _hasher.hash("tradeops-no-such-account")


def hash_password(password: str) -> str:
    """The argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether password matches the hash (a missing hash still takes the time of a check)."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def login_hash(kind: str, value: str) -> str:
    """The lookup key of a sign-in identifier: SHA-256 of its kind and normalised value."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()
