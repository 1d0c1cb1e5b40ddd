"""Read a GLB by hand (no glTF library) to check what the worker produced."""

from __future__ import annotations

import json
import struct
from itertools import product
from typing import Any

GLB_MAGIC = 0x46546C67
JSON_CHUNK = 0x4E4F534A
BIN_CHUNK = 0x004E4942
Matrix = list[list[float]]


def read_glb_json(data: bytes) -> dict[str, Any]:
    """The JSON chunk of a GLB; raises AssertionError when the container is malformed."""
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert magic == GLB_MAGIC and version == 2 and length == len(data), "not a complete GLB 2.0 file"
    chunk_length, chunk_type = struct.unpack_from("<II", data, 12)
    assert chunk_type == JSON_CHUNK
    return json.loads(data[20 : 20 + chunk_length])


def _matmul(a: Matrix, b: Matrix) -> Matrix:
    return [[sum(a[i][k] * b[k][j] for k in range(4)) for j in range(4)] for i in range(4)]


def _local_matrix(node: dict[str, Any]) -> Matrix:
    if "matrix" in node:
        m = node["matrix"]  # column-major
        return [[m[col * 4 + row] for col in range(4)] for row in range(4)]
    tx, ty, tz = node.get("translation", [0.0, 0.0, 0.0])
    qx, qy, qz, qw = node.get("rotation", [0.0, 0.0, 0.0, 1.0])
    sx, sy, sz = node.get("scale", [1.0, 1.0, 1.0])
    rotation = [
        [1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qz * qw), 2 * (qx * qz + qy * qw)],
        [2 * (qx * qy + qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qx * qw)],
        [2 * (qx * qz - qy * qw), 2 * (qy * qz + qx * qw), 1 - 2 * (qx * qx + qy * qy)],
    ]
    scale = (sx, sy, sz)
    rows = [[rotation[r][c] * scale[c] for c in range(3)] + [(tx, ty, tz)[r]] for r in range(3)]
    return [*rows, [0.0, 0.0, 0.0, 1.0]]


def _apply(matrix: Matrix, point: tuple[float, float, float]) -> tuple[float, float, float]:
    x, y, z = point
    return tuple(matrix[r][0] * x + matrix[r][1] * y + matrix[r][2] * z + matrix[r][3] for r in range(3))  # type: ignore[return-value]


def bounding_box(gltf: dict[str, Any]) -> tuple[list[float], list[float]]:
    """World-space bounding box (min, max) of every mesh in the default scene, from POSITION min/max."""
    identity = [[float(r == c) for c in range(4)] for r in range(4)]
    low, high = [float("inf")] * 3, [float("-inf")] * 3
    scene = gltf["scenes"][gltf.get("scene", 0)]
    stack = [(index, identity) for index in scene["nodes"]]
    while stack:
        index, parent = stack.pop()
        node = gltf["nodes"][index]
        world = _matmul(parent, _local_matrix(node))
        stack.extend((child, world) for child in node.get("children", []))
        if "mesh" not in node:
            continue
        for primitive in gltf["meshes"][node["mesh"]]["primitives"]:
            accessor = gltf["accessors"][primitive["attributes"]["POSITION"]]
            corners = product(*zip(accessor["min"], accessor["max"], strict=True))
            for corner in corners:
                for axis, value in enumerate(_apply(world, corner)):
                    low[axis], high[axis] = min(low[axis], value), max(high[axis], value)
    return low, high


def glb_size(data: bytes) -> tuple[float, float, float]:
    """Extent of the GLB's bounding box in metres along glTF x, y, z (width, height, depth)."""
    low, high = bounding_box(read_glb_json(data))
    return (high[0] - low[0], high[1] - low[1], high[2] - low[2])


def material_names(data: bytes) -> set[str]:
    """Names of the materials the GLB uses."""
    return {material.get("name", "") for material in read_glb_json(data).get("materials", [])}
