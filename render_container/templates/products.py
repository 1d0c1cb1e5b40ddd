"""The sample products' options: the single source for their templates, JSON Schemas and catalogue index.

Dimensions are millimetres in every configuration; the GLB is in metres (glTF's unit), so a cabinet
configured 600 x 870 x 580 mm exports with a 0.600 x 0.870 x 0.580 m bounding box.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRODUCTS_DIR = Path(__file__).parent / "products"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Option:
    """One configurable option of a product."""

    name: str
    title: str
    kind: str  # "millimetres" | "integer" | "choice" | "material"
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    # RGBA base colour, metallic, roughness per material choice.
    looks: dict[str, tuple[tuple[float, float, float, float], float, float]] = field(default_factory=dict)

    def json_schema(self) -> dict[str, Any]:
        """The option as a JSON Schema 2020-12 property."""
        schema: dict[str, Any] = {"title": self.title, "default": self.default}
        if self.kind == "millimetres":
            schema |= {"type": "number", "minimum": self.minimum, "maximum": self.maximum, "unit": "mm"}
        elif self.kind == "integer":
            schema |= {"type": "integer", "minimum": int(self.minimum or 0), "maximum": int(self.maximum or 0)}
        else:
            schema |= {"type": "string", "enum": list(self.choices)}
        return schema


@dataclass(frozen=True)
class Product:
    """A sample configurable product and its template identity."""

    slug: str
    name: str
    description: str
    template_version: str
    options: tuple[Option, ...]

    @property
    def template_file(self) -> str:
        """File name of the built template."""
        return f"{self.slug}-{self.template_version}.blend"

    @property
    def template_blob_path(self) -> str:
        """Where the template lives in the templates container; versions are immutable."""
        return f"products/{self.slug}/{self.template_version}.blend"

    def default_config(self) -> dict[str, Any]:
        """A valid configuration made of every option's default."""
        return {option.name: option.default for option in self.options}

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema 2020-12 for this product's configuration."""
        return {
            "$schema": SCHEMA_DIALECT,
            "$id": f"https://tradeops.example/schemas/products/{self.slug}.json",
            "title": self.name,
            "description": self.description,
            "type": "object",
            "properties": {option.name: option.json_schema() for option in self.options},
            "required": [option.name for option in self.options],
            "additionalProperties": False,
        }

    def index_entry(self) -> dict[str, str]:
        """This product's line in products/index.json."""
        return {
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "template_file": self.template_file,
            "template_version": self.template_version,
            "schema_file": f"{self.slug}.json",
        }


def _mm(name: str, title: str, default: float, minimum: float, maximum: float) -> Option:
    return Option(name=name, title=title, kind="millimetres", default=default, minimum=minimum, maximum=maximum)


_WOOD_LOOKS = {
    "white": ((0.90, 0.90, 0.88, 1.0), 0.0, 0.5),
    "walnut": ((0.25, 0.14, 0.08, 1.0), 0.0, 0.45),
    "graphite": ((0.12, 0.12, 0.13, 1.0), 0.0, 0.6),
    "oak": ((0.55, 0.40, 0.24, 1.0), 0.0, 0.5),
    "charcoal": ((0.08, 0.08, 0.08, 1.0), 0.0, 0.7),
    "stainless": ((0.75, 0.75, 0.76, 1.0), 1.0, 0.3),
    "black": ((0.03, 0.03, 0.03, 1.0), 0.6, 0.4),
}


def _finish(choices: tuple[str, ...]) -> Option:
    looks = {choice: _WOOD_LOOKS[choice] for choice in choices}
    return Option(name="finish", title="Finish", kind="material", default=choices[0], choices=choices, looks=looks)


BASE_CABINET = Product(
    slug="base-cabinet",
    name="Base cabinet",
    description="Floor-standing kitchen base cabinet with a toe kick, 1 to 4 doors, door style and hardware.",
    template_version="1.0.0",
    options=(
        _mm("width", "Width", 600, 300, 1200),
        _mm("height", "Height", 870, 700, 1000),
        _mm("depth", "Depth", 580, 300, 700),
        Option(name="door_count", title="Doors", kind="integer", default=2, minimum=1, maximum=4),
        Option(
            name="door_style", title="Door style", kind="choice", default="shaker", choices=("shaker", "slab", "raised")
        ),
        _finish(("white", "walnut", "graphite")),
        Option(name="hardware", title="Hardware", kind="choice", default="bar", choices=("bar", "knob", "none")),
    ),
)

RANGE_HOOD = Product(
    slug="range-hood",
    name="Range hood",
    description="Wall-mounted range hood: a canopy over the cooktop, with or without a chimney cover.",
    template_version="1.0.0",
    options=(
        _mm("width", "Width", 900, 600, 1500),
        _mm("height", "Height", 900, 400, 1500),
        _mm("depth", "Depth", 500, 400, 700),
        Option(name="style", title="Style", kind="choice", default="pyramid", choices=("pyramid", "box", "slim")),
        _finish(("stainless", "black", "white")),
    ),
)

FIREPLACE_COVER = Product(
    slug="fireplace-cover",
    name="Fireplace cover",
    description="Fireplace surround: pilasters and header around the opening, with a mantel shelf or beam.",
    template_version="1.0.0",
    options=(
        _mm("width", "Width", 1500, 900, 2400),
        _mm("height", "Height", 1200, 900, 1600),
        _mm("depth", "Depth", 250, 150, 400),
        Option(name="style", title="Style", kind="choice", default="classic", choices=("classic", "modern", "rustic")),
        _finish(("white", "oak", "charcoal")),
    ),
)

PRODUCTS: tuple[Product, ...] = (BASE_CABINET, RANGE_HOOD, FIREPLACE_COVER)


def product(slug: str) -> Product:
    """The sample product with this slug."""
    return next(p for p in PRODUCTS if p.slug == slug)


def catalog_files() -> dict[str, str]:
    """Text of every file in products/: one schema per product and index.json."""
    files = {f"{p.slug}.json": json.dumps(p.json_schema(), indent=2) + "\n" for p in PRODUCTS}
    files["index.json"] = json.dumps({"products": [p.index_entry() for p in PRODUCTS]}, indent=2) + "\n"
    return files


def write_catalog(directory: Path = PRODUCTS_DIR) -> None:
    """Regenerate the JSON Schemas and index.json from the option definitions above."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in catalog_files().items():
        (directory / name).write_text(text, encoding="utf-8")
