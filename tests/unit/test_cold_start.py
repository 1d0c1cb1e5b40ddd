"""Importing the function app and indexing it (what a cold start pays before the first invocation) loads no
heavy library, no SQLAlchemy, no model and no part of the Azure Monitor distro, with the distro switched on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_import import azure_environment  # noqa: E402 - the benchmark's Azure settings, so both agree

# Top-level packages and the modules under them that indexing must not load.
HEAVY = (
    "twilio",
    "anthropic",
    "azure.identity",
    "azure.keyvault",
    "azure.monitor",
    "azure.storage",
    "azure.core",
    "opentelemetry.sdk",
    "jsonschema",
    "bpy",
    "elevenlabs",
    "google.genai",
    "pi_heif",
    "sqlalchemy",
    "psycopg",
    "alembic",
    "fpdf",
    "numpy",
    "PIL",
    "pypdfium2",
    "pdfplumber",
    "httpx",
    "cryptography",
    "argon2",
    "jwt",
    "pydantic_settings",
)
# Our own modules that only requests need: the models (SQLAlchemy mappings), the database and the services.
PROJECT = (
    "shared.config",
    "shared.db",
    "shared.models",
    "shared.audit",
    "shared.storage",
    "shared.idempotency",
    "shared.runtime",
)

PROBE = """
import inspect, json, sys, typing
import function_app
functions = function_app.app.get_functions()
for function in functions:  # what the Python worker's indexing does with each function
    user_function = function.get_user_function()
    inspect.signature(user_function)
    typing.get_type_hints(user_function)
    function.get_raw_bindings()
print(json.dumps({"functions": len(functions), "modules": sorted(sys.modules)}))
"""

WHAT_TO_DO = (
    "indexing (import function_app) loaded {loaded}. A trigger module imports at the top only what its decorators "
    "need (schemas, queue message models, Router); services, models and SDKs go through shared.lazy: "
    "`if TYPE_CHECKING: from blueprints.x import service` / `else: service = lazy.module('blueprints.x.service')`, "
    "and SDKs are imported inside the function that calls them. Find the importer with "
    "`python -X importtime -c 'import function_app' 2>&1 | grep -B30 <module>`."
)


def _indexed_modules(env: dict[str, str]) -> tuple[int, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["functions"], result["modules"]


def _offenders(modules: list[str]) -> list[str]:
    heavy = [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    ours = [m for m in modules if m in PROJECT or (m.startswith("blueprints.") and m.endswith(".models"))]
    tops = sorted({m if m in ours else next(h for h in HEAVY if m == h or m.startswith(h + ".")) for m in heavy + ours})
    return tops


def test_indexing_with_the_distro_on_loads_no_heavy_library_model_or_database_module() -> None:
    count, modules = _indexed_modules(azure_environment())
    assert count >= 150  # every module's functions were indexed
    loaded = _offenders(modules)
    assert loaded == [], WHAT_TO_DO.format(loaded=", ".join(loaded))


def test_indexing_with_telemetry_off_loads_none_either() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS")}
    count, modules = _indexed_modules(env)
    assert count >= 150
    loaded = _offenders(modules)
    assert loaded == [], WHAT_TO_DO.format(loaded=", ".join(loaded))


def test_the_check_finds_a_module_that_imports_eagerly() -> None:
    # What a trigger module importing its service at the top would load: the check must name it.
    assert _offenders(["blueprints.shop.models", "sqlalchemy.orm", "shared.db", "pydantic"]) == [
        "blueprints.shop.models",
        "shared.db",
        "sqlalchemy",
    ]


def test_the_first_requests_load_what_indexing_left_out() -> None:
    # The lazy stand-ins really stand for the modules requests use: loading them all brings SQLAlchemy and models.
    code = (
        "import json, sys, function_app\nfrom shared import lazy\nlazy.load_all()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert {"sqlalchemy.orm", "shared.db", "blueprints.shop.models", "blueprints.identity.models"} <= modules


def test_start_up_defines_every_mapped_class_before_any_handler_runs() -> None:
    # SQLAlchemy configures its whole registry on the first use of any mapper: a models module still being
    # imported by a concurrent first request then breaks the registry for good (found under the Postgres
    # outage fault test). Start-up imports every module with mapped classes, so none is half-defined by then.
    mapped = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for package in ("blueprints", "shared")
        for path in (ROOT / package).rglob("*.py")
        if path.name != "db.py" and "(Base)" in path.read_text().replace(", Base)", "(Base)")
    )
    assert "blueprints.shop.models" in mapped and "shared.models" in mapped
    code = (
        "import json, sys, function_app\nfrom shared import lazy, runtime\nruntime.ensure_started()\n"
        "print(json.dumps({'named': lazy.startup_imports(), 'modules': sorted(sys.modules)}))\n"
    )
    env = {**os.environ, "APP_ENV": "development"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(set(mapped) - set(result["named"])) == [], "modules with mapped classes start-up does not import"
    assert set(mapped) <= set(result["modules"])


def test_start_up_registers_the_hooks_modules_give_each_other() -> None:
    # estimates.access registers a crm visibility rule at import; with estimates loaded on first use, start-up
    # must import it before a crm request, or a shared estimate's customer stays hidden from the peer.
    code = (
        "import json, function_app\nfrom shared import runtime\nfrom blueprints.crm import service\n"
        "before = sorted(service._visibility_hooks)\nruntime.ensure_started()\n"
        "print(json.dumps([before, sorted(service._visibility_hooks)]))\n"
    )
    env = {**os.environ, "APP_ENV": "development"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert "estimates.shared_estimate" not in before  # indexing alone does not register it
    assert "estimates.shared_estimate" in after
