"""Blob storage of the configurator: cached GLBs, read URLs for them and the render worker's cancel markers.

The blob SDK is imported inside the functions so importing the function app stays light.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from render_container.contract import cancel_blob_name
from shared import clock, uploads
from shared.storage import blob_service


def glb_path(*, tenant_id: uuid.UUID, product_id: uuid.UUID, template_version: str, config_hash: str) -> str:
    """Where a configuration's GLB lives: per tenant, product, template version and configuration hash."""
    return f"tenants/{tenant_id}/products/{product_id}/{template_version}/{config_hash}.glb"


def exists(container: str, path: str) -> bool:
    """Whether the blob is there (a missing container counts as missing)."""
    return bool(blob_service().get_blob_client(container, path).exists())


def delete(container: str, path: str) -> None:
    """Remove a blob if it is there."""
    from azure.core.exceptions import ResourceNotFoundError  # heavy SDK: loaded on first use (cold start)

    try:
        blob_service().get_blob_client(container, path).delete_blob()
    except ResourceNotFoundError:
        pass


def ensure_container(name: str) -> None:
    """Create a container once per process if it is not there yet."""
    uploads.ensure_container(name)


def write_cancel_marker(container: str, job_id: uuid.UUID) -> None:
    """Tell the render worker to drop this job: it checks the marker before it starts and before it uploads."""
    ensure_container(container)
    blob_service().get_blob_client(container, cancel_blob_name(job_id)).upload_blob(
        clock.iso_utc(clock.now()).encode(), overwrite=True
    )


def read_url(container: str, path: str, *, ttl_seconds: int) -> tuple[str, datetime]:
    """A read-only SAS URL for one blob and when it expires (account key when known, else user delegation)."""
    return uploads.sas_url(container, path, ttl_seconds=ttl_seconds)
