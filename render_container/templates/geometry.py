"""Geometry Nodes recipes for the sample products, built with bpy.

Layout, in Blender's Z-up metres: the product spans x in [-W/2, W/2], y in [-D/2, D/2] (front at -D/2)
and z in [0, H], so its bounding box is exactly the configured width x depth x height whatever the
style. The glTF exporter turns this into Y-up: GLB x = width, y = height, z = depth.
"""

from __future__ import annotations

import math
from typing import Any

import bpy

from render_container.templates.products import Option, Product

Socket = Any  # bpy.types.NodeSocket, or a plain number for an unlinked input
DOOR_THICKNESS = 0.019
HARDWARE_PROJECTION = 0.030
DOOR_GAP = 0.003


class GeometryTree:
    """A small builder over a Geometry Nodes tree: every method adds nodes and returns an output socket."""

    def __init__(self, name: str) -> None:
        self.tree = bpy.data.node_groups.new(name, "GeometryNodeTree")
        self.tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
        self.group_in = self.tree.nodes.new("NodeGroupInput")
        self.group_out = self.tree.nodes.new("NodeGroupOutput")
        self._menu_defaults: list[tuple[Any, str]] = []

    def _feed(self, node_input: bpy.types.NodeSocket, value: Socket) -> None:
        if isinstance(value, bpy.types.NodeSocket):
            self.tree.links.new(value, node_input)
        else:
            node_input.default_value = value

    def number(self, option: Option, socket_type: str) -> Socket:
        """Add a numeric input named after the option, with its default and range."""
        item = self.tree.interface.new_socket(option.name, in_out="INPUT", socket_type=socket_type)
        item.min_value, item.max_value, item.default_value = option.minimum, option.maximum, option.default
        item.description = option.title
        return self.group_in.outputs[option.name]

    def millimetres(self, option: Option) -> Socket:
        """Add a millimetre input and return it converted to metres."""
        return self.math("MULTIPLY", self.number(option, "NodeSocketFloat"), 0.001)

    def menu(self, option: Option) -> Socket:
        """Add a menu input whose items are the option's choices; returns the chosen index (0-based)."""
        item = self.tree.interface.new_socket(option.name, in_out="INPUT", socket_type="NodeSocketMenu")
        item.description = option.title
        switch = self.tree.nodes.new("GeometryNodeMenuSwitch")
        switch.data_type = "INT"
        switch.enum_items.clear()
        for index, choice in enumerate(option.choices):
            switch.enum_items.new(choice)
            switch.inputs[choice].default_value = index
        self.tree.links.new(self.group_in.outputs[option.name], switch.inputs["Menu"])
        self._menu_defaults.append((item, option.default))
        return switch.outputs[0]

    def math(self, operation: str, a: Socket, b: Socket = 0.0) -> Socket:
        """Scalar math node (ADD, SUBTRACT, MULTIPLY, DIVIDE, MINIMUM, MAXIMUM, COMPARE...)."""
        node = self.tree.nodes.new("ShaderNodeMath")
        node.operation = operation
        self._feed(node.inputs[0], a)
        self._feed(node.inputs[1], b)
        return node.outputs[0]

    def equals(self, a: Socket, value: float) -> Socket:
        """1.0 when a == value else 0.0."""
        node = self.tree.nodes.new("ShaderNodeMath")
        node.operation = "COMPARE"
        self._feed(node.inputs[0], a)
        node.inputs[1].default_value = value
        node.inputs[2].default_value = 0.25  # indices are whole numbers
        return node.outputs[0]

    def xyz(self, x: Socket, y: Socket, z: Socket) -> Socket:
        """Combine three scalars into a vector."""
        node = self.tree.nodes.new("ShaderNodeCombineXYZ")
        for index, value in enumerate((x, y, z)):
            self._feed(node.inputs[index], value)
        return node.outputs[0]

    def cube(self, x: Socket, y: Socket, z: Socket) -> Socket:
        """Box of the given size centred on the origin."""
        node = self.tree.nodes.new("GeometryNodeMeshCube")
        self._feed(node.inputs["Size"], self.xyz(x, y, z))
        return node.outputs["Mesh"]

    def cylinder_y(self, radius: Socket, length: Socket) -> Socket:
        """Cylinder along the Y axis centred on the origin."""
        node = self.tree.nodes.new("GeometryNodeMeshCylinder")
        node.inputs["Vertices"].default_value = 24
        self._feed(node.inputs["Radius"], radius)
        self._feed(node.inputs["Depth"], length)
        return self.transform(node.outputs["Mesh"], rotation=(math.pi / 2, 0.0, 0.0))

    def transform(self, geometry: Socket, translation: Socket = None, rotation: tuple | None = None) -> Socket:
        """Move (and optionally rotate) a geometry."""
        node = self.tree.nodes.new("GeometryNodeTransform")
        self._feed(node.inputs["Geometry"], geometry)
        if translation is not None:
            self._feed(node.inputs["Translation"], translation)
        if rotation is not None:
            node.inputs["Rotation"].default_value = rotation
        return node.outputs["Geometry"]

    def move(self, geometry: Socket, x: Socket, y: Socket, z: Socket) -> Socket:
        """Translate a geometry by (x, y, z)."""
        return self.transform(geometry, translation=self.xyz(x, y, z))

    def join(self, *geometries: Socket) -> Socket:
        """Join several geometries into one."""
        node = self.tree.nodes.new("GeometryNodeJoinGeometry")
        for geometry in reversed(geometries):  # the multi-input socket stacks new links on top
            self.tree.links.new(geometry, node.inputs["Geometry"])
        return node.outputs["Geometry"]

    def pick(self, index: Socket, *geometries: Socket | None) -> Socket:
        """Geometry chosen by a menu index; None stands for nothing."""
        node = self.tree.nodes.new("GeometryNodeIndexSwitch")
        node.data_type = "GEOMETRY"
        while len(node.index_switch_items) < len(geometries):
            node.index_switch_items.new()
        self._feed(node.inputs["Index"], index)
        for position, geometry in enumerate(geometries):
            if geometry is not None:
                self.tree.links.new(geometry, node.inputs[position + 1])
        return node.outputs[0]

    def material(self, geometry: Socket, material: bpy.types.Material) -> Socket:
        """Assign one material to every face."""
        node = self.tree.nodes.new("GeometryNodeSetMaterial")
        self._feed(node.inputs["Geometry"], geometry)
        node.inputs["Material"].default_value = material
        return node.outputs["Geometry"]

    def repeat_along_x(self, instance: Socket, count: Socket, start: Socket, step: Socket) -> Socket:
        """`count` copies of a geometry, the first at `start`, each next one `step` further along X."""
        line = self.tree.nodes.new("GeometryNodeMeshLine")
        line.mode = "OFFSET"
        self._feed(line.inputs["Count"], count)
        self._feed(line.inputs["Start Location"], start)
        self._feed(line.inputs["Offset"], self.xyz(step, 0.0, 0.0))
        on_points = self.tree.nodes.new("GeometryNodeInstanceOnPoints")
        self.tree.links.new(line.outputs["Mesh"], on_points.inputs["Points"])
        self.tree.links.new(instance, on_points.inputs["Instance"])
        realize = self.tree.nodes.new("GeometryNodeRealizeInstances")
        self.tree.links.new(on_points.outputs["Instances"], realize.inputs["Geometry"])
        return realize.outputs["Geometry"]

    def taper_top(self, geometry: Socket, scale_x: float, depth: Socket, keep_depth: float) -> Socket:
        """Shrink the upper vertices of a box centred on the origin: narrower and pulled to the back (+Y)."""
        position = self.tree.nodes.new("GeometryNodeInputPosition").outputs[0]
        split = self.tree.nodes.new("ShaderNodeSeparateXYZ")
        self.tree.links.new(position, split.inputs[0])
        x, y, z = split.outputs
        upper = self.math("GREATER_THAN", z, 0.0)
        new_x = self.math("MULTIPLY", x, self.math("SUBTRACT", 1.0, self.math("MULTIPLY", upper, 1.0 - scale_x)))
        half = self.math("MULTIPLY", depth, 0.5)
        back_aligned = self.math("SUBTRACT", half, self.math("MULTIPLY", self.math("SUBTRACT", half, y), keep_depth))
        new_y = self.math("ADD", y, self.math("MULTIPLY", upper, self.math("SUBTRACT", back_aligned, y)))
        node = self.tree.nodes.new("GeometryNodeSetPosition")
        self._feed(node.inputs["Geometry"], geometry)
        self._feed(node.inputs["Position"], self.xyz(new_x, new_y, z))
        return node.outputs["Geometry"]

    def finish(self, geometry: Socket) -> None:
        """Wire the final geometry to the output and set menu defaults (needs the links to exist)."""
        self.tree.links.new(geometry, self.group_out.inputs[0])
        for item, default in self._menu_defaults:
            item.default_value = default


def _material(name: str, look: tuple[tuple[float, float, float, float], float, float]) -> bpy.types.Material:
    material = bpy.data.materials.new(name)
    material.use_fake_user = True  # variants are unused until chosen; keep them in the saved file
    material.use_nodes = True
    colour, metallic, roughness = look
    bsdf = material.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = colour
    bsdf.inputs["Metallic"].default_value = metallic
    bsdf.inputs["Roughness"].default_value = roughness
    material.diffuse_color = colour
    return material


def make_materials(finish: Option) -> tuple[bpy.types.Material, bpy.types.Material]:
    """Create the finish placeholder, its variants ("finish:<choice>") and the fixed hardware metal."""
    for choice in finish.choices:
        _material(f"{finish.name}:{choice}", finish.looks[choice])
    placeholder = _material(finish.name, finish.looks[finish.default])
    metal = _material("metal", ((0.6, 0.6, 0.62, 1.0), 1.0, 0.25))
    return placeholder, metal


def options_by_name(product: Product) -> dict[str, Option]:
    """The product's options keyed by name."""
    return {option.name: option for option in product.options}
