"""All bpy work: open a template, read and apply its named options, export GLB, save built templates.

A template is a .blend file whose configurable inputs are named:
- Geometry Nodes modifier inputs (float, int, bool, menu): the option name is the interface socket's name;
  the allowed range is the socket's min/max, a menu's values are its item names.
- Material choices: a placeholder material named after the option (e.g. "finish") used by the meshes, plus
  one variant material per value named "<option>:<value>" (e.g. "finish:walnut"); the chosen variant
  replaces the placeholder everywhere.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import bpy

MATERIAL_SEPARATOR = ":"

ProgressCallback = Callable[[int], None]


class InvalidConfigError(ValueError):
    """The configuration does not fit the template's options."""


@dataclass
class TemplateOption:
    """One configurable input found in an opened template."""

    name: str
    kind: str  # "float" | "int" | "bool" | "menu" | "material"
    minimum: float | None = None
    maximum: float | None = None
    choices: dict[str, Any] = field(default_factory=dict)  # value name -> menu item id or material name
    apply: Callable[[Any], None] = field(default=lambda _: None, repr=False)

    def coerce(self, value: Any) -> Any:
        """Return the value to store for this option; raise InvalidConfigError when it does not fit."""
        if self.kind in ("float", "int"):
            return self._coerce_number(value)
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise InvalidConfigError(f"{self.name}: expected a boolean, got {type(value).__name__}")
            return value
        if not isinstance(value, str):
            raise InvalidConfigError(f"{self.name}: expected one of {sorted(self.choices)}, got {type(value).__name__}")
        if value not in self.choices:
            raise InvalidConfigError(f"{self.name}: {value!r} is not one of {sorted(self.choices)}")
        return self.choices[value]

    def _coerce_number(self, value: Any) -> float | int:
        # bool is an int in Python but never a valid dimension or count in JSON.
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidConfigError(f"{self.name}: expected a number, got {type(value).__name__}")
        if self.kind == "int" and not float(value).is_integer():
            raise InvalidConfigError(f"{self.name}: expected an integer, got {value!r}")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise InvalidConfigError(f"{self.name}: {value!r} is outside {self.minimum:g}..{self.maximum:g}")
        return int(value) if self.kind == "int" else float(value)


def open_template(path: Path) -> None:
    """Replace the whole Blender session with the template file; nothing of the previous job survives."""
    # use_scripts=False: a template is data, never code to run.
    bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False, use_scripts=False)


def reset_session() -> None:
    """Start from an empty factory scene (used when building templates)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)


_SOCKET_KINDS = {
    "NodeSocketFloat": "float",
    "NodeSocketInt": "int",
    "NodeSocketBool": "bool",
    "NodeSocketMenu": "menu",
}


def _modifier_options(modifier: bpy.types.NodesModifier) -> list[TemplateOption]:
    options = []
    for item in modifier.node_group.interface.items_tree:
        if item.item_type != "SOCKET" or item.in_out != "INPUT" or item.socket_type not in _SOCKET_KINDS:
            continue
        kind = _SOCKET_KINDS[item.socket_type]
        option = TemplateOption(name=item.name, kind=kind, apply=_modifier_setter(modifier, item.identifier, kind))
        if kind in ("float", "int"):
            option.minimum, option.maximum = item.min_value, item.max_value
        elif kind == "menu":
            ui = modifier.id_properties_ui(item.identifier).as_dict()
            option.choices = {entry[0]: entry[4] for entry in ui.get("items", [])}
        options.append(option)
    return options


def _modifier_setter(modifier: bpy.types.NodesModifier, identifier: str, kind: str) -> Callable[[Any], None]:
    # The IDProperty must keep the socket's type: storing an int in a float socket is silently ignored.
    cast = {"float": float, "int": int, "bool": bool, "menu": int}[kind]

    def apply(value: Any) -> None:
        modifier[identifier] = cast(value)

    return apply


def _material_options() -> list[TemplateOption]:
    options = []
    for placeholder in bpy.data.materials:
        if MATERIAL_SEPARATOR in placeholder.name:
            continue
        prefix = placeholder.name + MATERIAL_SEPARATOR
        variants = {m.name[len(prefix) :]: m.name for m in bpy.data.materials if m.name.startswith(prefix)}
        if variants:
            options.append(
                TemplateOption(
                    name=placeholder.name, kind="material", choices=variants, apply=_material_setter(placeholder)
                )
            )
    return options


def _material_setter(placeholder: bpy.types.Material) -> Callable[[Any], None]:
    def apply(variant_name: Any) -> None:
        placeholder.user_remap(bpy.data.materials[variant_name])

    return apply


def template_options() -> dict[str, TemplateOption]:
    """Every named option of the opened template, Geometry Nodes inputs first."""
    options: dict[str, TemplateOption] = {}
    for obj in bpy.data.objects:
        for modifier in obj.modifiers:
            if modifier.type == "NODES" and modifier.node_group is not None:
                for option in _modifier_options(modifier):
                    options.setdefault(option.name, option)
    for option in _material_options():
        options.setdefault(option.name, option)
    return options


def apply_config(config: dict[str, Any]) -> None:
    """Validate the whole configuration against the opened template, then set every option."""
    options = template_options()
    problems = [f"{name}: unknown option" for name in config if name not in options]
    problems += [f"{name}: missing" for name in options if name not in config]
    coerced: dict[str, Any] = {}
    for name, value in config.items():
        if name in options:
            try:
                coerced[name] = options[name].coerce(value)
            except InvalidConfigError as exc:
                problems.append(str(exc))
    if problems:
        raise InvalidConfigError("; ".join(sorted(problems)))
    for name, value in coerced.items():
        options[name].apply(value)


def export_glb(path: Path) -> None:
    """Export the scene as one GLB with modifiers applied (the evaluated Geometry Nodes mesh)."""
    result = bpy.ops.export_scene.gltf(
        filepath=str(path),
        export_format="GLB",
        export_apply=True,
        export_yup=True,
        export_cameras=False,
        export_lights=False,
        export_extras=False,
        export_animations=False,
        use_selection=False,
    )
    if "FINISHED" not in result or not path.is_file():
        raise RuntimeError(f"glTF export did not finish: {result}")


def render_template(template: Path, config: dict[str, Any], output: Path, progress: ProgressCallback) -> None:
    """Open a template, apply a configuration and export it as GLB, reporting progress 10/60/90."""
    open_template(template)
    progress(10)
    apply_config(config)
    progress(60)
    export_glb(output)
    progress(90)


def save_template(path: Path) -> None:
    """Save the current session as a compressed template file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(path), compress=True, copy=True)


def peak_rss_kb() -> int | None:
    """Peak resident set size of this process in KiB (VmHWM), None where /proc is unavailable."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def hard_exit(code: int) -> NoReturn:
    """Flush and leave the process without running C++ static destructors.

    bpy 4.5 can hang forever at process exit: a static destructor destroys the condition variable its
    sound "delayed close" thread is still waiting on. Every process that imported bpy ends through here.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
