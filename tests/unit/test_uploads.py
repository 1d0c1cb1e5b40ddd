"""The shared upload helper's pure parts: kinds by magic bytes, and names only we can issue."""

from __future__ import annotations

import uuid

import pytest

from shared import uploads
from shared.errors import Forbidden


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3", "pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "heic"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00", "heic"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"),
        (b"GIF89a", None),
        (b"<html>%PDF-", None),
        (b"", None),
    ],
)
def test_kinds_come_from_the_first_bytes(head: bytes, kind: str | None) -> None:
    assert uploads.sniff(head) == kind


def test_an_issued_name_passes_and_any_change_is_refused() -> None:
    tenant = uuid.uuid4()
    name = uploads.blob_name_for(tenant_id=tenant, area="bids/project-1", kind="pdf")
    assert name.startswith(f"tenants/{tenant}/bids/project-1/") and name.endswith(".pdf")
    uploads.check_name(name, tenant_id=tenant)
    for forged in (name.replace(".pdf", ".png"), name.replace("bids/", "jobs/"), name[:-12] + "0" * 8 + name[-4:]):
        with pytest.raises(Forbidden):
            uploads.check_name(forged, tenant_id=tenant)
    with pytest.raises(Forbidden):
        uploads.check_name(name, tenant_id=uuid.uuid4())  # another business's name
