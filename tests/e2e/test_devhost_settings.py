"""`python -m devhost` and its settings: refused ones stop it at start; a missing file is copied from the example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.services import ROOT
from tests.conftest import Database, start_host


def test_the_host_fails_at_start_naming_a_refused_setting(database: Database) -> None:
    # given production settings whose signing key is a placeholder
    refused = {"APP_ENV": "production", "JWT_SIGNING_KEY": "dev-only-change-me"}
    # when the host starts, then it exits non-zero with the settings error and never says it is ready
    with pytest.raises(RuntimeError) as failed:
        start_host("function_app:app", env=refused)
    assert "dev host exited with 2" in str(failed.value)
    assert "JWT_SIGNING_KEY is unset or a placeholder" in str(failed.value)
    assert "Functions host ready" not in str(failed.value)


def test_a_missing_local_settings_file_is_copied_from_the_example(database: Database, tmp_path: Path) -> None:
    # given no local.settings.json, and none of the environment the tests run with (APP_ENV, the signing key)
    settings = tmp_path / "local.settings.json"
    host = start_host("function_app:app", settings=settings, unset=("APP_ENV", "JWT_SIGNING_KEY"))
    try:
        # then the example's local values were copied and apply: the app starts and answers
        assert json.loads(settings.read_text()) == json.loads((ROOT / "local.settings.example.json").read_text())
        assert host.client().get("/api/health").status_code == 200
        ready = host.client().get("/api/ready")
        assert ready.status_code == 200, ready.text
    finally:
        host.stop()
