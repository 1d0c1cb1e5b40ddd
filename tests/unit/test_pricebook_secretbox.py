"""Envelope encryption: a box opens only with its key and its context, and never shows the secret."""

from __future__ import annotations

import pytest

from shared import secretbox

KEK = secretbox.key_from_setting("a local key")


def test_a_box_opens_with_its_key_and_context() -> None:
    box = secretbox.seal("client-secret-123", kek=KEK, context="tenant-a")
    assert "client-secret-123" not in box
    assert secretbox.open_box(box, kek=KEK, context="tenant-a") == "client-secret-123"


def test_each_seal_uses_a_fresh_data_key() -> None:
    assert secretbox.seal("same", kek=KEK) != secretbox.seal("same", kek=KEK)


@pytest.mark.parametrize(
    ("kek", "context"), [(secretbox.key_from_setting("another key"), "tenant-a"), (KEK, "tenant-b")]
)
def test_another_key_or_another_owner_cannot_open_it(kek: bytes, context: str) -> None:
    box = secretbox.seal("client-secret-123", kek=KEK, context="tenant-a")
    with pytest.raises(secretbox.SecretBoxError):
        secretbox.open_box(box, kek=kek, context=context)


def test_a_tampered_box_is_refused() -> None:
    version, wrapped, sealed = secretbox.seal("s", kek=KEK).split(".")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(secretbox.SecretBoxError):
        secretbox.open_box(".".join((version, wrapped, flipped)), kek=KEK)
