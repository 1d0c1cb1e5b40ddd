"""Publish the sample product templates to blob storage for the app's seed."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

from render_container.templates.products import PRODUCTS, Product

DEFAULT_BUILD_DIR = Path(tempfile.gettempdir()) / "tradeops-render-templates-build"


def ensure_built(build_dir: Path = DEFAULT_BUILD_DIR) -> dict[str, Path]:
    """Paths of the built templates, building missing ones in a child process (bpy owns its process)."""
    paths = {p.slug: build_dir / p.template_file for p in PRODUCTS}
    missing = [slug for slug, path in paths.items() if not path.is_file()]
    if missing:
        command = [sys.executable, "-m", "render_container.templates.build", "--out", str(build_dir)]
        for slug in missing:
            command += ["--product", slug]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[2])
    return paths


def product_descriptor(product: Product, container: str) -> dict[str, Any]:
    """What the app's seed needs to create a product row for this template."""
    return {
        "slug": product.slug,
        "name": product.name,
        "description": product.description,
        "config_schema": product.json_schema(),
        "template_container": container,
        "template_blob_path": product.template_blob_path,
        "template_version": product.template_version,
    }


def upload_templates(
    blob_service_client: BlobServiceClient, container: str = "templates", build_dir: Path = DEFAULT_BUILD_DIR
) -> list[dict[str, Any]]:
    """Build (or reuse) the sample templates, upload them as products/<slug>/<version>.blend, describe them."""
    try:
        blob_service_client.create_container(container)
    except ResourceExistsError:
        pass
    paths = ensure_built(build_dir)
    descriptors = []
    for product in PRODUCTS:
        blob = blob_service_client.get_blob_client(container, product.template_blob_path)
        # A published version is immutable (workers cache it by version), so never overwrite one.
        if not blob.exists():
            with paths[product.slug].open("rb") as stream, contextlib.suppress(ResourceExistsError):
                blob.upload_blob(stream, overwrite=False)
        descriptors.append(product_descriptor(product, container))
    return descriptors


def main() -> int:
    """Upload to the storage account named by AzureWebJobsStorage and print the descriptors."""
    from render_container.settings import RenderSettings
    from render_container.storage import connect

    descriptors = upload_templates(connect(RenderSettings()).blobs)
    print(json.dumps(descriptors, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
