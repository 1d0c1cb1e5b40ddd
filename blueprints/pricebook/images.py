"""Pricebook images: the process cache, then raw.pricebook_images, then ServiceTitan (following its 302).

An image fetched from ServiceTitan is stored for next time; ServiceTitan is asked only on a miss of both (one
call, inside the request that needs it). Answers carry a strong ETag (the bytes' SHA-256) and a
long private Cache-Control, so the PWA keeps them; If-None-Match answers 304.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from blueprints.pricebook import browse, connection
from blueprints.pricebook.models import MasterCategory, PricebookImage, table_of
from shared.auth import Principal
from shared.errors import BadGateway, NotFound
from shared.providers.servicetitan import ServiceTitanError

CACHE_BYTES = 32 * 1024 * 1024
CACHE_CONTROL = "private, max-age=86400"


@dataclass(frozen=True)
class Image:
    """An image's bytes, type and ETag."""

    data: bytes
    content_type: str
    etag: str


class ImageCache:
    """A small LRU of images by (tenant, path), bounded in bytes, shared by the process's requests."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[uuid.UUID, str], Image] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[uuid.UUID, str]) -> Image | None:
        """The cached image, now the most recently used."""
        with self._lock:
            image = self._items.get(key)
            if image is not None:
                self._items.move_to_end(key)
            return image

    def put(self, key: tuple[uuid.UUID, str], image: Image) -> None:
        """Keep an image, dropping the least recently used ones over the budget."""
        with self._lock:
            if key in self._items:
                self._size -= len(self._items.pop(key).data)
            self._items[key] = image
            self._size += len(image.data)
            while self._size > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped.data)

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._items.clear()
            self._size = 0


CACHE = ImageCache()


def image_path(session: Session, tenant_id: uuid.UUID, kind: str, st_id: int) -> str:
    """The item's (default) image path; 404 when it has none."""
    if kind == "categories":
        category = session.get(MasterCategory, (tenant_id, st_id))
        path = category.image_path if category else None
    else:
        path = next(iter(browse.master_row(session, tenant_id, kind, st_id).image_paths), None)
    if not path:
        raise NotFound("This item has no image")
    return path


def get_image(*, session: Session, principal: Principal, kind: str, st_id: int) -> Image:
    """The item's image from the nearest place that has it."""
    tenant_id = principal.tenant_id
    path = image_path(session, tenant_id, kind, st_id)
    key = (tenant_id, path)
    cached = CACHE.get(key)
    if cached is not None:
        return cached
    stored = session.get(PricebookImage, key)
    if stored is not None:
        image = Image(stored.data, stored.content_type, stored.etag)
        CACHE.put(key, image)
        return image
    try:
        found = connection.client_for(session, tenant_id).image(path)
    except ServiceTitanError as exc:
        raise BadGateway(f"ServiceTitan did not give the image ({exc.status})", code="servicetitan_image") from None
    if found is None:
        raise NotFound("ServiceTitan has no such image")
    data, content_type = found
    image = Image(data, content_type, f'"{hashlib.sha256(data).hexdigest()[:32]}"')
    stmt = insert(table_of(PricebookImage)).values(
        tenant_id=tenant_id, path=path, content_type=content_type, data=data, etag=image.etag
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["tenant_id", "path"]))
    CACHE.put(key, image)
    return image
