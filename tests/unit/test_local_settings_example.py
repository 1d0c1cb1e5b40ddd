"""local.settings.example.json names every setting the code reads, and holds no real secret."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import AliasChoices

from shared.config import PLACEHOLDER_SECRETS, SECRET_FIELDS, Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]


def _env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return str(alias or field).upper()


def test_every_setting_the_code_reads_is_in_the_example() -> None:
    missing = sorted(_env_name(f) for f in Settings.model_fields if _env_name(f) not in EXAMPLE)
    assert missing == [], f"add these to local.settings.example.json: {missing}"


def test_the_example_names_nothing_the_code_does_not_read() -> None:
    read = {_env_name(f) for f in Settings.model_fields}
    host_settings = {
        "FUNCTIONS_WORKER_RUNTIME",
        "AzureWebJobsFeatureFlags",
        "DEVHOST_FUNCTION_KEY",
        "DEVHOST_MASTER_KEY",
    }
    render_worker = {name for name in EXAMPLE if name.startswith(("RENDER_", "TEMPLATE_CACHE"))}
    unknown = sorted(set(EXAMPLE) - read - host_settings - render_worker)
    assert unknown == [], f"local.settings.example.json names settings nothing reads: {unknown}"


def test_secrets_in_the_example_are_empty_or_placeholders() -> None:
    for field in SECRET_FIELDS:
        value = EXAMPLE.get(_env_name(field), "")
        assert value.strip().lower() in PLACEHOLDER_SECRETS, f"{_env_name(field)} looks like a real secret"
