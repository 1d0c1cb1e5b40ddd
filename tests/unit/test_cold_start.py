"""Importing the function app (what a cold start pays) indexes every function and loads no heavy library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "twilio",
    "azure.identity",
    "azure.keyvault",
    "azure.monitor",
    "azure.storage",
    "azure.core",
    "opentelemetry.sdk",
    "jsonschema",
    "bpy",
    "elevenlabs",
)


def test_import_indexes_without_loading_heavy_libraries() -> None:
    code = (
        "import sys, function_app\n"
        "names = [f.get_function_name() for f in function_app.app.get_functions()]\n"
        f"print(len(names), sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    count, _, heavy = out.stdout.strip().partition(" ")
    assert int(count) >= 5
    assert heavy == "[]", f"loaded at import: {heavy}"
