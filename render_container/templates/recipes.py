"""One Geometry Nodes recipe per sample product; each keeps the bounding box equal to the configured size."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import bpy

from render_container.templates.geometry import (
    DOOR_GAP,
    DOOR_THICKNESS,
    HARDWARE_PROJECTION,
    GeometryTree,
    Socket,
)
from render_container.templates.products import Option

if TYPE_CHECKING:
    # Only for type checkers: a typing generic built at import time over bpy classes would keep the bpy
    # module alive through interpreter teardown, and bpy 4.5 then hangs at exit (sound thread destructor).
    Recipe = Callable[[GeometryTree, dict[str, Option], bpy.types.Material, bpy.types.Material], Socket]
TOE_KICK_HEIGHT = 0.1
TOE_KICK_RECESS = 0.05


def _dimensions(tree: GeometryTree, options: dict[str, Option]) -> tuple[Socket, Socket, Socket]:
    return tuple(tree.millimetres(options[name]) for name in ("width", "height", "depth"))  # type: ignore[return-value]


def _pair(tree: GeometryTree, part: Socket, x: Socket, y: Socket, z: Socket) -> Socket:
    """The same part at +x and -x."""
    return tree.join(tree.move(part, x, y, z), tree.move(part, tree.math("MULTIPLY", x, -1.0), y, z))


def _door(tree: GeometryTree, style: Socket, width: Socket, height: Socket) -> Socket:
    """A door centred on the origin, its front face at y = -t/2; shaker, slab or raised panel."""
    t, relief = DOOR_THICKNESS, 0.006
    front_y = -(t / 2 - relief / 2)
    frame = tree.math("MINIMUM", 0.06, tree.math("MULTIPLY", width, 0.2))
    back = tree.move(tree.cube(width, t - relief, height), 0.0, relief / 2, 0.0)
    rail = tree.cube(width, relief, frame)
    rail_z = tree.math("SUBTRACT", tree.math("MULTIPLY", height, 0.5), tree.math("MULTIPLY", frame, 0.5))
    rails = tree.join(
        tree.move(rail, 0.0, front_y, rail_z), tree.move(rail, 0.0, front_y, tree.math("MULTIPLY", rail_z, -1.0))
    )
    inner_w = tree.math("SUBTRACT", width, tree.math("MULTIPLY", frame, 2.0))
    inner_h = tree.math("SUBTRACT", height, tree.math("MULTIPLY", frame, 2.0))
    stile_x = tree.math("SUBTRACT", tree.math("MULTIPLY", width, 0.5), tree.math("MULTIPLY", frame, 0.5))
    stiles = _pair(tree, tree.cube(frame, relief, inner_h), stile_x, front_y, 0.0)
    shaker = tree.join(back, rails, stiles)
    slab = tree.cube(width, t, height)
    raised = tree.join(back, tree.move(tree.cube(inner_w, relief, inner_h), 0.0, front_y, 0.0))
    return tree.pick(style, shaker, slab, raised)


def _hardware(tree: GeometryTree, kind: Socket, door_w: Socket, door_h: Socket) -> Socket:
    """Bar pull, knob or nothing, near the top of a door, projecting exactly HARDWARE_PROJECTION."""
    t, p, rod = DOOR_THICKNESS, HARDWARE_PROJECTION, 0.012
    z = tree.math("SUBTRACT", tree.math("MULTIPLY", door_h, 0.5), 0.06)
    length = tree.math("MINIMUM", 0.128, tree.math("MULTIPLY", door_w, 0.6))
    bar_rod = tree.move(tree.cube(length, rod, rod), 0.0, -t / 2 - p + rod / 2, z)
    post_x = tree.math("SUBTRACT", tree.math("MULTIPLY", length, 0.5), 0.005)
    posts = _pair(tree, tree.cube(0.01, p - rod, 0.01), post_x, -t / 2 - (p - rod) / 2, z)
    knob = tree.move(tree.cylinder_y(0.015, p), 0.0, -t / 2 - p / 2, z)
    return tree.pick(kind, tree.join(bar_rod, posts), knob, None)


def base_cabinet(
    tree: GeometryTree, options: dict[str, Option], finish: bpy.types.Material, metal: bpy.types.Material
) -> Socket:
    """Carcass on a recessed toe kick, a row of doors and their hardware across the front."""
    width, height, depth = _dimensions(tree, options)
    doors = tree.number(options["door_count"], "NodeSocketInt")
    style, hardware = tree.menu(options["door_style"]), tree.menu(options["hardware"])
    # The hardware's projection is part of the depth, so the carcass gives way when there is hardware.
    projection = tree.math("MULTIPLY", tree.math("SUBTRACT", 1.0, tree.equals(hardware, 2)), HARDWARE_PROJECTION)
    carcass_d = tree.math("SUBTRACT", tree.math("SUBTRACT", depth, DOOR_THICKNESS), projection)
    half_d = tree.math("MULTIPLY", depth, 0.5)
    body_h = tree.math("SUBTRACT", height, TOE_KICK_HEIGHT)
    body = tree.move(
        tree.cube(width, carcass_d, body_h),
        0.0,
        tree.math("SUBTRACT", half_d, tree.math("MULTIPLY", carcass_d, 0.5)),
        tree.math("ADD", TOE_KICK_HEIGHT, tree.math("MULTIPLY", body_h, 0.5)),
    )
    toe_d = tree.math("SUBTRACT", carcass_d, TOE_KICK_RECESS)
    toe = tree.move(
        tree.cube(width, toe_d, TOE_KICK_HEIGHT),
        0.0,
        tree.math("SUBTRACT", half_d, tree.math("MULTIPLY", toe_d, 0.5)),
        TOE_KICK_HEIGHT / 2,
    )
    gaps = tree.math("MULTIPLY", tree.math("ADD", doors, 1.0), DOOR_GAP)
    door_w = tree.math("DIVIDE", tree.math("SUBTRACT", width, gaps), doors)
    door_h = tree.math("SUBTRACT", body_h, 2 * DOOR_GAP)
    unit = tree.join(
        tree.material(_door(tree, style, door_w, door_h), finish),
        tree.material(_hardware(tree, hardware, door_w, door_h), metal),
    )
    first_x = tree.math(
        "ADD", tree.math("MULTIPLY", width, -0.5), tree.math("ADD", DOOR_GAP, tree.math("MULTIPLY", door_w, 0.5))
    )
    door_y = tree.math("ADD", tree.math("MULTIPLY", half_d, -1.0), tree.math("ADD", projection, DOOR_THICKNESS / 2))
    door_z = tree.math("ADD", TOE_KICK_HEIGHT + DOOR_GAP, tree.math("MULTIPLY", door_h, 0.5))
    row = tree.repeat_along_x(unit, doors, tree.xyz(first_x, door_y, door_z), tree.math("ADD", door_w, DOOR_GAP))
    return tree.join(tree.material(tree.join(body, toe), finish), row)


def range_hood(
    tree: GeometryTree, options: dict[str, Option], finish: bpy.types.Material, metal: bpy.types.Material
) -> Socket:
    """Canopy across the full width and depth; a chimney cover against the wall up to the full height."""
    width, height, depth = _dimensions(tree, options)
    style = tree.menu(options["style"])
    canopy_h = tree.math("MINIMUM", 0.35, tree.math("MULTIPLY", height, 0.4))
    slim_h = 0.08

    def chimney(from_z: Socket) -> Socket:
        chimney_h = tree.math("SUBTRACT", height, from_z)
        return tree.move(
            tree.cube(tree.math("MULTIPLY", width, 0.35), tree.math("MULTIPLY", depth, 0.6), chimney_h),
            0.0,
            tree.math("MULTIPLY", depth, 0.2),  # back face flush with the wall at +D/2
            tree.math("ADD", from_z, tree.math("MULTIPLY", chimney_h, 0.5)),
        )

    lip = tree.move(tree.cube(width, depth, 0.04), 0.0, 0.0, 0.02)
    taper_h = tree.math("SUBTRACT", canopy_h, 0.04)
    taper = tree.taper_top(tree.cube(width, depth, taper_h), scale_x=0.35, depth=depth, keep_depth=0.6)
    taper = tree.move(taper, 0.0, 0.0, tree.math("ADD", 0.04, tree.math("MULTIPLY", taper_h, 0.5)))
    pyramid = tree.join(lip, taper, chimney(canopy_h))
    box = tree.join(
        tree.move(tree.cube(width, depth, canopy_h), 0.0, 0.0, tree.math("MULTIPLY", canopy_h, 0.5)), chimney(canopy_h)
    )
    slim = tree.join(tree.move(tree.cube(width, depth, slim_h), 0.0, 0.0, slim_h / 2), chimney(slim_h))
    return tree.material(tree.pick(style, pyramid, box, slim), finish)


def fireplace_cover(
    tree: GeometryTree, options: dict[str, Option], finish: bpy.types.Material, metal: bpy.types.Material
) -> Socket:
    """Two pilasters and a header around the opening; classic adds a shelf, rustic a beam, modern is flush."""
    width, height, depth = _dimensions(tree, options)
    style = tree.menu(options["style"])
    leg_w = tree.math("MULTIPLY", width, 0.15)
    leg_x = tree.math("SUBTRACT", tree.math("MULTIPLY", width, 0.5), tree.math("MULTIPLY", leg_w, 0.5))
    header_w = tree.math("SUBTRACT", width, tree.math("MULTIPLY", leg_w, 2.0))
    header_h = tree.math("MULTIPLY", height, 0.2)

    def surround(depth_share: float, top_h: float) -> Socket:
        """Legs and header of a share of the depth, flush with the wall, under a top part `top_h` thick."""
        part_d, leg_h = tree.math("MULTIPLY", depth, depth_share), tree.math("SUBTRACT", height, top_h)
        y = tree.math("MULTIPLY", depth, 0.5 - depth_share / 2)
        legs = _pair(tree, tree.cube(leg_w, part_d, leg_h), leg_x, y, tree.math("MULTIPLY", leg_h, 0.5))
        header_z = tree.math("SUBTRACT", leg_h, tree.math("MULTIPLY", header_h, 0.5))
        return tree.join(legs, tree.move(tree.cube(header_w, part_d, header_h), 0.0, y, header_z))

    def top(thickness: float) -> Socket:
        return tree.move(tree.cube(width, depth, thickness), 0.0, 0.0, tree.math("SUBTRACT", height, thickness / 2))

    classic = tree.join(surround(0.8, 0.05), top(0.05))
    modern = surround(1.0, 0.0)
    rustic = tree.join(surround(0.7, 0.15), top(0.15))
    return tree.material(tree.pick(style, classic, modern, rustic), finish)


RECIPES: dict[str, Recipe] = {
    "base-cabinet": base_cabinet,
    "range-hood": range_hood,
    "fireplace-cover": fireplace_cover,
}
