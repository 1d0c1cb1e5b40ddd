"""Local disk cache of .blend templates, keyed by container, blob path and version."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient


class TemplateMissingError(LookupError):
    """The template blob named by a render request does not exist."""


class TemplateCache:
    """Downloads each template version once; versions are immutable, so a cached file never goes stale."""

    def __init__(self, blobs: BlobServiceClient, directory: Path) -> None:
        self._blobs = blobs
        self._directory = directory

    def path_for(self, container: str, blob_path: str, version: str) -> Path:
        """Where a template version is (or will be) cached."""
        key = hashlib.sha256(f"{container}\n{blob_path}\n{version}".encode()).hexdigest()[:32]
        return self._directory / f"{key}.blend"

    def fetch(self, container: str, blob_path: str, version: str) -> Path:
        """Local path of the template, downloading it on first use."""
        target = self.path_for(container, blob_path, version)
        if target.is_file():
            return target
        self._directory.mkdir(parents=True, exist_ok=True)
        # Download beside the target and rename: another worker sharing the directory never sees half a file.
        handle, partial = tempfile.mkstemp(dir=self._directory, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as stream:
                blob = self._blobs.get_blob_client(container, blob_path)
                blob.download_blob().readinto(stream)
            os.replace(partial, target)
        except ResourceNotFoundError as exc:
            raise TemplateMissingError(f"template {container}/{blob_path} ({version}) not found") from exc
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        return target
