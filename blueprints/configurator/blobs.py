"""Blob storage of the configurator: cached GLBs, read URLs for them and the render worker's cancel markers.

The blob SDK is imported inside the functions so importing the function app stays light.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from render_container.contract import cancel_blob_name
from shared import clock
from shared.storage import blob_service

_lock = threading.Lock()
_containers: set[str] = set()
_delegation: dict[str, Any] = {}


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
    if name in _containers:
        return
    from azure.core.exceptions import ResourceExistsError  # heavy SDK: loaded on first use (cold start)

    try:
        blob_service().create_container(name)
    except ResourceExistsError:
        pass
    with _lock:
        _containers.add(name)


def write_cancel_marker(container: str, job_id: uuid.UUID) -> None:
    """Tell the render worker to drop this job: it checks the marker before it starts and before it uploads."""
    ensure_container(container)
    blob_service().get_blob_client(container, cancel_blob_name(job_id)).upload_blob(
        clock.iso_utc(clock.now()).encode(), overwrite=True
    )


def _user_delegation_key(service: Any, now: datetime) -> Any:
    with _lock:
        key = _delegation.get("key")
        if key is None or _delegation["expires"] - now < timedelta(minutes=20):
            expires = now + timedelta(hours=1)
            key = service.get_user_delegation_key(now - timedelta(minutes=5), expires)
            _delegation.update(key=key, expires=expires)
    return key


def read_url(container: str, path: str, *, ttl_seconds: int) -> tuple[str, datetime]:
    """A read-only SAS URL for one blob and when it expires (account key when known, else user delegation)."""
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas  # heavy SDK: loaded on first use (cold start)

    service = blob_service()
    now = clock.now()
    expires = now + timedelta(seconds=ttl_seconds)
    account_key = getattr(service.credential, "account_key", None)
    signing: dict[str, Any] = (
        {"account_key": account_key} if account_key else {"user_delegation_key": _user_delegation_key(service, now)}
    )
    sas = generate_blob_sas(
        account_name=str(service.account_name),
        container_name=container,
        blob_name=path,
        permission=BlobSasPermissions(read=True),
        start=now - timedelta(minutes=5),
        expiry=expires,
        **signing,
    )
    return f"{service.get_blob_client(container, path).url}?{sas}", expires
