"""Proposal PDFs in Blob storage, under the tenant's prefix: tenants/{tenant}/estimates/{estimate}/revision-N.pdf."""

from __future__ import annotations

import uuid

from shared import uploads
from shared.config import get_settings
from shared.storage import blob_service


def path_of(tenant_id: uuid.UUID, estimate_id: uuid.UUID, revision: int, *, signed: bool = False) -> str:
    """The blob name of a revision's proposal (or of its signed copy)."""
    suffix = "-signed" if signed else ""
    return f"tenants/{tenant_id}/estimates/{estimate_id}/revision-{revision}{suffix}.pdf"


def _container() -> str:
    name = get_settings().estimate_documents_container
    uploads.ensure_container(name)
    return name


def put(path: str, data: bytes) -> None:
    """Store a PDF (overwriting: a retried send writes the same revision's document again)."""
    from azure.storage.blob import ContentSettings  # heavy SDK: loaded on first use (cold start)

    client = blob_service().get_blob_client(_container(), path)
    client.upload_blob(data, overwrite=True, content_settings=ContentSettings(content_type="application/pdf"))


def get(path: str) -> bytes:
    """A stored PDF's bytes."""
    return blob_service().get_blob_client(_container(), path).download_blob().readall()
