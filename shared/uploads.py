"""The one upload helper: a short-lived write-only SAS URL for one server-chosen blob name, and the one commit
step that checks the blob is there, within its size limit and of an allowed type by its magic bytes.

Blob names are `tenants/{tenant}/{area}/{upload id}.{mac}.{ext}`: the MAC (HMAC-SHA256 under a key derived
from JWT_SIGNING_KEY) proves we issued the name to that tenant, so a commit refuses names a caller made up or
another tenant's. SAS tokens are signed with the account key only against Azurite (a connection string);
with a managed identity they are user delegation SAS. The blob SDK is imported inside the functions so
importing the function app stays light.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import clock
from shared.config import get_settings
from shared.errors import Forbidden, PayloadTooLarge, Unprocessable
from shared.storage import blob_service

MAX_WRITE_TTL_SECONDS = 15 * 60
HEAD_BYTES = 32
_NAME = re.compile(
    r"^tenants/(?P<tenant>[0-9a-f-]{36})/(?P<area>[a-z0-9/_-]{1,80})/"
    r"(?P<id>[0-9a-f]{32})\.(?P<mac>[0-9a-f]{16})\.(?P<ext>[a-z0-9]{2,5})$"
)
_lock = threading.Lock()
_delegation: dict[str, Any] = {}
_containers: set[str] = set()

# kind -> extension; detected from the first bytes, never from the name or the declared type
KINDS: dict[str, str] = {"pdf": "pdf", "jpeg": "jpg", "png": "png", "heic": "heic", "webp": "webp"}


def sniff(head: bytes) -> str | None:
    """The file kind its magic bytes say (pdf, jpeg, png, heic, webp), or None."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heif"):
        return "heic"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    return None


@dataclass(frozen=True)
class UploadTicket:
    """Where the client PUTs the file, until when, and the headers Blob storage needs on that PUT."""

    blob_name: str
    url: str
    expires_at: datetime
    headers: dict[str, str]


@dataclass(frozen=True)
class CommittedBlob:
    """A blob checked by commit(): its name, size and kind by magic bytes."""

    blob_name: str
    size_bytes: int
    kind: str


def _mac(tenant_id: uuid.UUID, area: str, upload_id: str, ext: str) -> str:
    key = hmac.new(get_settings().jwt_signing_key.encode(), b"tradeops-uploads", hashlib.sha256).digest()
    message = f"{tenant_id}|{area}|{upload_id}|{ext}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def blob_name_for(*, tenant_id: uuid.UUID, area: str, kind: str, upload_id: uuid.UUID | None = None) -> str:
    """A server-chosen, signed blob name under tenants/{tenant}/{area}/."""
    ext = KINDS[kind]
    ident = (upload_id or uuid.uuid4()).hex
    return f"tenants/{tenant_id}/{area}/{ident}.{_mac(tenant_id, area, ident, ext)}.{ext}"


def check_name(blob_name: str, *, tenant_id: uuid.UUID) -> None:
    """403 unless we issued this name to this tenant."""
    match = _NAME.match(blob_name)
    if not match or match["tenant"] != str(tenant_id):
        raise Forbidden("This upload name was not issued to you", code="upload_not_issued")
    expected = _mac(tenant_id, match["area"], match["id"], match["ext"])
    if not hmac.compare_digest(expected, match["mac"]):
        raise Forbidden("This upload name was not issued to you", code="upload_not_issued")


def ensure_container(name: str) -> None:
    """Create a container once per process if it is not there yet."""
    if name in _containers:
        return
    from azure.core.exceptions import ResourceExistsError

    try:
        blob_service().create_container(name)
    except ResourceExistsError:
        pass
    with _lock:
        _containers.add(name)


def _user_delegation_key(service: Any, now: datetime) -> Any:
    with _lock:
        key = _delegation.get("key")
        if key is None or _delegation["expires"] - now < timedelta(minutes=20):
            expires = now + timedelta(hours=1)
            key = service.get_user_delegation_key(now - timedelta(minutes=5), expires)
            _delegation.update(key=key, expires=expires)
    return key


def sas_url(container: str, blob_name: str, *, ttl_seconds: int, write: bool = False) -> tuple[str, datetime]:
    """A SAS URL for one blob, read-only or write-only (create + write), and when it expires."""
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    service = blob_service()
    now = clock.now()
    expires = now + timedelta(seconds=ttl_seconds)
    account_key = getattr(service.credential, "account_key", None)
    signing: dict[str, Any] = (
        {"account_key": account_key} if account_key else {"user_delegation_key": _user_delegation_key(service, now)}
    )
    permission = BlobSasPermissions(create=True, write=True) if write else BlobSasPermissions(read=True)
    sas = generate_blob_sas(
        account_name=str(service.account_name),
        container_name=container,
        blob_name=blob_name,
        permission=permission,
        start=now - timedelta(minutes=5),
        expiry=expires,
        **signing,
    )
    return f"{service.get_blob_client(container, blob_name).url}?{sas}", expires


def issue(
    *, tenant_id: uuid.UUID, area: str, kind: str, ttl_seconds: int | None = None, upload_id: uuid.UUID | None = None
) -> UploadTicket:
    """A write-only SAS URL (at most 15 minutes) for one new blob name of this tenant (upload_id: the record's id)."""
    container = get_settings().uploads_container
    ensure_container(container)
    name = blob_name_for(tenant_id=tenant_id, area=area, kind=kind, upload_id=upload_id)
    ttl = min(ttl_seconds or MAX_WRITE_TTL_SECONDS, MAX_WRITE_TTL_SECONDS)
    url, expires = sas_url(container, name, ttl_seconds=ttl, write=True)
    return UploadTicket(blob_name=name, url=url, expires_at=expires, headers={"x-ms-blob-type": "BlockBlob"})


def commit(*, tenant_id: uuid.UUID, blob_name: str, kinds: set[str], max_bytes: int) -> CommittedBlob:
    """Check an uploaded blob: issued to this tenant (403), there (422), not too big (413), of an allowed kind (422)."""
    from azure.core.exceptions import ResourceNotFoundError

    check_name(blob_name, tenant_id=tenant_id)
    client = blob_service().get_blob_client(get_settings().uploads_container, blob_name)
    try:
        size = int(client.get_blob_properties().size)
    except ResourceNotFoundError:
        raise Unprocessable("Nothing was uploaded under this name yet", code="upload_missing") from None
    if size > max_bytes:
        raise PayloadTooLarge(f"The file is {size} bytes; the limit is {max_bytes}", code="upload_too_large")
    head = client.download_blob(offset=0, length=HEAD_BYTES).readall() if size else b""
    kind = sniff(head)
    if kind not in kinds:
        allowed = ", ".join(sorted(kinds))
        raise Unprocessable(f"The file is not one of: {allowed} (checked by its content)", code="upload_wrong_type")
    return CommittedBlob(blob_name=blob_name, size_bytes=size, kind=kind)


def read(blob_name: str) -> bytes:
    """An uploaded blob's bytes (callers check its size with commit() first)."""
    return blob_service().get_blob_client(get_settings().uploads_container, blob_name).download_blob().readall()


def download_to(blob_name: str, path: Any, *, chunk_bytes: int = 4 * 1024 * 1024) -> int:
    """Stream a blob into a local file in ranges of chunk_bytes, never holding more than one range in memory."""
    client = blob_service().get_blob_client(get_settings().uploads_container, blob_name)
    size = int(client.get_blob_properties().size)
    with open(path, "wb") as out:
        for offset in range(0, size, chunk_bytes):
            out.write(client.download_blob(offset=offset, length=min(chunk_bytes, size - offset)).readall())
    return size


def delete(blob_name: str) -> None:
    """Remove an uploaded blob if it is there (a refused upload leaves nothing behind)."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        blob_service().get_blob_client(get_settings().uploads_container, blob_name).delete_blob()
    except ResourceNotFoundError:
        pass


def allow_browser_uploads() -> list[str]:
    """Let the PWA's origins (UPLOAD_CORS_ORIGINS) PUT straight to Blob: the account's CORS rule (dev host start)."""
    from azure.storage.blob import CorsRule

    origins = [o.strip() for o in get_settings().upload_cors_origins.split(",") if o.strip()]
    if origins:
        rule = CorsRule(
            allowed_origins=origins,
            allowed_methods=["PUT", "GET", "HEAD", "OPTIONS"],
            allowed_headers=["*"],
            exposed_headers=["*"],
            max_age_in_seconds=3600,
        )
        blob_service().set_service_properties(cors=[rule])
    return origins
