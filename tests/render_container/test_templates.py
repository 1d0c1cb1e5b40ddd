"""The sample product templates, their JSON Schemas and the upload used by the app's seed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from jsonschema import Draft202012Validator

from render_container import blender
from render_container.templates.products import PRODUCTS, PRODUCTS_DIR, Product, catalog_files
from render_container.templates.upload import upload_templates


def test_the_committed_schemas_and_index_match_the_option_definitions() -> None:
    # regenerate with: python -m render_container.templates.build --out DIR --write-catalog
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in PRODUCTS_DIR.glob("*.json")}
    assert on_disk == catalog_files()


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.slug)
def test_each_schema_is_strict_json_schema_2020_12_and_accepts_the_defaults(product: Product) -> None:
    schema = json.loads((PRODUCTS_DIR / f"{product.slug}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False and set(schema["required"]) == set(schema["properties"])
    assert not list(validator.iter_errors(product.default_config()))
    assert list(validator.iter_errors(product.default_config() | {"width": 99999}))
    assert list(validator.iter_errors(product.default_config() | {"extra": 1}))


def test_the_index_lists_every_product_with_its_template() -> None:
    index = json.loads((PRODUCTS_DIR / "index.json").read_text(encoding="utf-8"))
    assert [(e["slug"], e["template_file"], e["template_version"]) for e in index["products"]] == [
        (p.slug, p.template_file, p.template_version) for p in PRODUCTS
    ]
    assert all(e["name"] and e["description"] for e in index["products"])


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.slug)
def test_the_template_exposes_exactly_the_schema_options_with_the_same_ranges(
    product: Product, template_build_dir: Path
) -> None:
    # given the built .blend, when bpy reads its named inputs and material variants
    blender.open_template(template_build_dir / product.template_file)
    options = blender.template_options()
    # then they are the schema's properties, with the same bounds and choices
    schema = product.json_schema()["properties"]
    assert set(options) == set(schema)
    for name, prop in schema.items():
        option = options[name]
        if "enum" in prop:
            assert sorted(option.choices) == sorted(prop["enum"])
        else:
            assert (option.minimum, option.maximum) == (prop["minimum"], prop["maximum"])
            assert option.kind == ("int" if prop["type"] == "integer" else "float")


def test_upload_templates_publishes_each_version_once_and_describes_the_products(
    blob_service: BlobServiceClient, products: dict[str, dict[str, Any]], template_build_dir: Path
) -> None:
    container = next(iter(products.values()))["template_container"]
    etags = {}
    for product in PRODUCTS:
        descriptor = products[product.slug]
        assert descriptor["name"] == product.name and descriptor["description"] == product.description
        assert descriptor["config_schema"] == product.json_schema()
        assert descriptor["template_blob_path"] == f"products/{product.slug}/{product.template_version}.blend"
        blob = blob_service.get_blob_client(container, descriptor["template_blob_path"])
        assert blob.download_blob().readall() == (template_build_dir / product.template_file).read_bytes()
        etags[product.slug] = blob.get_blob_properties().etag
    # a second publication (the seed running again) leaves the published versions untouched
    again = upload_templates(blob_service, container=container, build_dir=template_build_dir)
    assert [d["slug"] for d in again] == [p.slug for p in PRODUCTS]
    for product in PRODUCTS:
        blob = blob_service.get_blob_client(container, product.template_blob_path)
        assert blob.get_blob_properties().etag == etags[product.slug]
