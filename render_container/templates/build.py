"""Build the sample product templates: `python -m render_container.templates.build --out DIR`."""

from __future__ import annotations

import argparse
import json
import traceback
from pathlib import Path

import bpy

from render_container import blender
from render_container.templates.geometry import GeometryTree, make_materials, options_by_name
from render_container.templates.products import PRODUCTS, Product, write_catalog
from render_container.templates.recipes import RECIPES


def build_template(product: Product, out_dir: Path) -> Path:
    """Build one product's .blend template into out_dir and return its path."""
    blender.reset_session()
    options = options_by_name(product)
    placeholder, metal = make_materials(options["finish"])
    tree = GeometryTree(f"{product.slug} configurator")
    tree.finish(RECIPES[product.slug](tree, options, placeholder, metal))
    mesh = bpy.data.meshes.new(product.slug)
    # Slots hold the placeholder and metal so the exporter finds the materials Geometry Nodes assigns.
    mesh.materials.append(placeholder)
    mesh.materials.append(metal)
    obj = bpy.data.objects.new(product.name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    modifier = obj.modifiers.new("Configurator", "NODES")
    modifier.node_group = tree.tree
    path = out_dir / product.template_file
    blender.save_template(path)
    return path


def build_all(out_dir: Path, slugs: list[str] | None = None) -> dict[str, Path]:
    """Build the templates of the given products (all by default); returns slug -> file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return {p.slug: build_template(p, out_dir) for p in PRODUCTS if slugs is None or p.slug in slugs}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="directory for the .blend files")
    parser.add_argument("--product", action="append", help="slug to build (repeatable; default all)")
    parser.add_argument("--write-catalog", action="store_true", help="also regenerate products/*.json")
    args = parser.parse_args(argv)
    built = build_all(args.out, args.product)
    if args.write_catalog:
        write_catalog()
    # Blender prints to stdout too; the last line is the machine-readable summary.
    print(json.dumps({slug: str(path) for slug, path in built.items()}))
    return 0


if __name__ == "__main__":
    try:
        exit_code = main()
    except SystemExit as exc:
        exit_code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        exit_code = 1
    blender.hard_exit(exit_code)  # a normal exit can hang in bpy 4.5's static destructors
