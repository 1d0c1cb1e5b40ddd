"""Envelope encryption for secrets we must keep (a vendor's client secret): AES-256-GCM, one data key each.

`seal(plaintext, kek=...)` makes a fresh 256-bit data key, encrypts the secret with it, and wraps the data
key under the key-encryption key (also AES-GCM). The sealed box is one printable string holding the version,
the wrapped key and the ciphertext; the KEK never leaves settings (Key Vault in Azure, a local key in
development). Rotating the KEK means re-wrapping data keys only. `context` binds a box to its owner (a
tenant id): a box copied to another row fails to open.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
_NONCE = 12


class SecretBoxError(Exception):
    """A sealed box that cannot be opened: wrong key, wrong context, or tampered."""


def key_from_setting(value: str) -> bytes:
    """A 32-byte key from a setting: urlsafe base64 of 32 bytes as is, anything else hashed with SHA-256."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        if len(raw) == 32:
            return raw
    except ValueError:
        pass
    return hashlib.sha256(value.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(plaintext: str, *, kek: bytes, context: str = "") -> str:
    """Encrypt plaintext under a fresh data key wrapped by kek; the result is safe to store."""
    data_key = AESGCM.generate_key(bit_length=256)
    key_nonce, data_nonce = os.urandom(_NONCE), os.urandom(_NONCE)
    aad = f"{VERSION}:{context}".encode()
    wrapped = AESGCM(kek).encrypt(key_nonce, data_key, aad)
    ciphertext = AESGCM(data_key).encrypt(data_nonce, plaintext.encode(), aad)
    return ".".join((VERSION, _b64(key_nonce + wrapped), _b64(data_nonce + ciphertext)))


def open_box(box: str, *, kek: bytes, context: str = "") -> str:
    """The plaintext of a sealed box; SecretBoxError when the key, context or box is not the right one."""
    try:
        version, wrapped_part, cipher_part = box.split(".")
        if version != VERSION:
            raise SecretBoxError(f"unknown secret box version {version!r}")
        aad = f"{VERSION}:{context}".encode()
        wrapped, sealed = _unb64(wrapped_part), _unb64(cipher_part)
        data_key = AESGCM(kek).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], aad)
        return AESGCM(data_key).decrypt(sealed[:_NONCE], sealed[_NONCE:], aad).decode()
    except (ValueError, InvalidTag) as exc:
        raise SecretBoxError("the secret box cannot be opened with this key") from exc
