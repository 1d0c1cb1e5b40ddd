"""Request and response models of the configurator module."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator

from blueprints.configurator.pricing import Price, PriceRule
from shared.clock import UtcDateTime
from shared.pagination import PageQuery
from shared.schema import BaseModel  # built on first use (defer_build), not at import

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=5000)]


def _relative_blob_path(value: str) -> str:
    if any(segment in ("", ".", "..") for segment in value.split("/")):
        raise ValueError("a relative blob path without empty, '.' or '..' segments")
    return value


# A template is addressed by a relative blob path without empty or parent segments.
TemplatePath = Annotated[
    str, StringConstraints(min_length=1, max_length=1024, pattern=r"^[\w.\-/]+$"), AfterValidator(_relative_blob_path)
]
TemplateVersion = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w.\-]*$")]


def _finite_json(value: dict[str, Any]) -> dict[str, Any]:
    try:  # Python's JSON parser accepts NaN and Infinity; JSON, PostgreSQL and the cache hash do not
        json.dumps(value, allow_nan=False)
    except ValueError:
        raise ValueError("NaN and Infinity are not JSON numbers") from None
    return value


ConfigSchema = Annotated[
    dict[str, Any], AfterValidator(_finite_json), Field(description="JSON Schema 2020-12 of the configuration object")
]
ConfigData = Annotated[
    dict[str, Any],
    AfterValidator(_finite_json),
    Field(description="Option values, validated against the product's schema"),
]


class ProductIn(BaseModel):
    """A new configurable product."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description | None = None
    config_schema: ConfigSchema
    template_blob_path: TemplatePath
    template_version: TemplateVersion
    price_rule: PriceRule | None = None


class ProductPatch(BaseModel):
    """Fields of a product to change; a null price_rule removes the price."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: Description | None = None
    config_schema: ConfigSchema | None = None
    template_blob_path: TemplatePath | None = None
    template_version: TemplateVersion | None = None
    price_rule: PriceRule | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> ProductPatch:
        for name in ("name", "config_schema", "template_blob_path", "template_version"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ProductSummary(BaseModel):
    """A product in a list (without its schema)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    template_version: str
    version: int
    updated_at: UtcDateTime


class ProductOut(ProductSummary):
    """A product with its options schema, template and price rule."""

    config_schema: dict[str, Any]
    template_blob_path: str
    price_rule: PriceRule | None
    created_at: UtcDateTime


class ProductPage(BaseModel):
    """One page of products."""

    items: list[ProductSummary]
    next_cursor: str | None = None


class ConfigurationIn(BaseModel):
    """A configuration to save."""

    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID
    name: Name
    config_data: ConfigData


class ConfigurationOut(BaseModel):
    """A saved configuration with its price (when the product has a price rule)."""

    id: uuid.UUID
    product_id: uuid.UUID
    name: str
    config_data: dict[str, Any]
    config_hash: str
    product_version: int
    template_version: str
    share_code: str
    price: Price | None
    created_by: uuid.UUID | None
    created_at: UtcDateTime


class ConfigurationPage(BaseModel):
    """One page of configurations."""

    items: list[ConfigurationOut]
    next_cursor: str | None = None


class ConfigurationQuery(PageQuery):
    """List configurations, optionally of one product."""

    product_id: uuid.UUID | None = None


class SharedConfiguration(BaseModel):
    """The read-only view a share code opens: no ids, no people."""

    name: str
    product_name: str
    product_description: str | None
    config_data: dict[str, Any]
    price: Price | None
    created_at: UtcDateTime


class RenderJobIn(BaseModel):
    """Render a saved configuration to GLB."""

    model_config = ConfigDict(extra="forbid")

    configuration_id: uuid.UUID


class RenderJobOut(BaseModel):
    """A render job: status, progress, and a short-lived read URL for the GLB once it is there."""

    id: uuid.UUID
    configuration_id: uuid.UUID
    product_id: uuid.UUID
    status: str
    progress: int = Field(ge=0, le=100)
    cached: bool
    glb_url: str | None = None
    glb_url_expires_at: UtcDateTime | None = None
    error_code: str | None
    error_message: str | None
    retry_count: int
    max_retries: int
    retry_at: UtcDateTime | None
    render_ms: int | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    started_at: UtcDateTime | None
    completed_at: UtcDateTime | None


def job_out(job: Any, *, glb_url: str | None = None, expires_at: datetime | None = None) -> RenderJobOut:
    """A render job row as the API shows it."""
    fields = {name: getattr(job, name) for name in RenderJobOut.model_fields if hasattr(job, name)}
    return RenderJobOut(**fields | {"glb_url": glb_url, "glb_url_expires_at": expires_at})
