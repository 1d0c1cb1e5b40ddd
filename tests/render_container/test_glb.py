"""The hand-written GLB reader used by the render tests, on a document with node transforms."""

from __future__ import annotations

import json
import math
import struct

import pytest

from tests.render_container.glb import bounding_box, glb_size


def _glb(document: dict) -> bytes:
    text = json.dumps(document).encode()
    text += b" " * (-len(text) % 4)
    return struct.pack("<III", 0x46546C67, 2, 12 + 8 + len(text)) + struct.pack("<II", len(text), 0x4E4F534A) + text


def _document(nodes: list[dict]) -> dict:
    unit_cube = {"min": [-0.5, -0.5, -0.5], "max": [0.5, 0.5, 0.5], "type": "VEC3", "count": 8, "componentType": 5126}
    return {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": nodes,
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "accessors": [unit_cube],
    }


def test_translation_rotation_scale_and_children_are_applied() -> None:
    quarter_turn_about_z = [0.0, 0.0, math.sin(math.pi / 4), math.cos(math.pi / 4)]
    nodes = [
        {"children": [1], "translation": [10.0, 0.0, 0.0]},
        {"mesh": 0, "rotation": quarter_turn_about_z, "scale": [2.0, 1.0, 1.0]},
    ]
    low, high = bounding_box(_document(nodes))
    # the 2 x 1 x 1 box turned a quarter about Z is 1 wide and 2 high, then moved 10 along X
    assert low == pytest.approx([9.5, -1.0, -0.5]) and high == pytest.approx([10.5, 1.0, 0.5])


def test_a_column_major_matrix_is_applied() -> None:
    matrix = [3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 5, 0, 1]  # scale x by 3, move y by 5
    assert glb_size(_glb(_document([{"mesh": 0, "matrix": matrix}]))) == pytest.approx((3.0, 1.0, 1.0))
