"""Proposal PDFs in Blob storage, under the tenant's prefix: tenants/{tenant}/estimates/{estimate}/revision-N.pdf.

A signed copy gets a name issued by shared.uploads (tenants/{tenant}/estimates/{estimate}/{id}.{mac}.pdf, the id
derived from the estimate and revision so a retried acceptance writes the same blob): messaging attaches only
blobs whose names were issued to the business.
"""

from __future__ import annotations

import uuid

from shared import uploads
from shared.config import get_settings
from shared.storage import blob_service


def path_of(tenant_id: uuid.UUID, estimate_id: uuid.UUID, revision: int, *, signed: bool = False) -> str:
    """The blob name of a revision's proposal (or of its signed copy)."""
    if signed:
        copy_id = uuid.uuid5(estimate_id, f"revision-{revision}-signed")
        return uploads.blob_name_for(
            tenant_id=tenant_id, area=f"estimates/{estimate_id}", kind="pdf", upload_id=copy_id
        )
    return f"tenants/{tenant_id}/estimates/{estimate_id}/revision-{revision}.pdf"


def _container() -> str:
    name = get_settings().estimate_documents_container
    uploads.ensure_container(name)
    return name


def put(path: str, data: bytes) -> None:
    """Store a PDF (overwriting: a retried send writes the same revision's document again)."""
    from azure.storage.blob import ContentSettings  # heavy SDK: loaded on first use (cold start)

    client = blob_service().get_blob_client(_container(), path)
    client.upload_blob(data, overwrite=True, content_settings=ContentSettings(content_type="application/pdf"))


def container() -> str:
    """The container the proposals are stored in (messaging names it to attach one)."""
    return get_settings().estimate_documents_container


def get(path: str) -> bytes:
    """A stored PDF's bytes."""
    return blob_service().get_blob_client(_container(), path).download_blob().readall()
