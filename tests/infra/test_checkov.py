"""checkov's Bicep and Dockerfile checks, offline, over infra/bicep and the render image: no failure,
no parsing error, and every skip carries its reason in the file it skips in.

checkov runs from its own venv (.venv-checkov, made by `make install`): it pins pycep-parser and
packaging older than requirements-dev.txt does, so it cannot share .venv.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tests.infra.bicep import BICEP_DIR, ROOT, bicep_files

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
DOCKERFILE = ROOT / "render_container" / "Dockerfile"
SKIP = re.compile(r"checkov:skip=(?P<id>CKV2?_[A-Z]+_\d+)(?::(?P<reason>.*))?")


@cache
def _scan(*arguments: str) -> dict:
    if not CHECKOV.exists():
        if os.environ.get("CI"):
            pytest.fail("checkov is not installed: make install creates .venv-checkov")
        pytest.skip("checkov is not installed here: run `make install` (it creates .venv-checkov)")
    completed = subprocess.run(
        [str(CHECKOV), *arguments, "--skip-download", "--output", "json", "--no-fail-on-crash"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        # Never the Prisma Cloud platform: no API key reaches checkov, so nothing is uploaded.
        env={name: value for name, value in os.environ.items() if name != "BC_API_KEY"},
    )
    report = json.loads(completed.stdout)
    return report[0] if isinstance(report, list) else report


def _skips_in(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for match in SKIP.finditer(path.read_text()):
        found.setdefault(match["id"], []).append((match["reason"] or "").strip())
    return found


@pytest.mark.parametrize(
    ("framework", "target", "files"),
    [
        ("bicep", ("--directory", str(BICEP_DIR)), tuple(bicep_files())),
        ("dockerfile", ("--file", str(DOCKERFILE)), (DOCKERFILE,)),
    ],
)
def test_checkov_finds_nothing_unexplained(framework: str, target: tuple[str, str], files: tuple[Path, ...]) -> None:
    report = _scan("--framework", framework, *target)
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['file_path']}:{c['resource']} {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == [], f"checkov {framework} failures (fix them, or skip each with its reason): {failed}"
    assert summary["parsing_errors"] == 0, f"checkov could not parse some {framework} files"
    assert summary["passed"] > 0
    skips = {path.name: _skips_in(path) for path in files}
    for check in report["results"].get("skipped_checks", []):
        name = Path(check["file_path"]).name
        reasons = skips.get(name, {}).get(check["check_id"], [])
        assert reasons and all(len(r) > 20 for r in reasons), f"{name}: skip of {check['check_id']} needs a reason"
    fired = {(Path(c["file_path"]).name, c["check_id"]) for c in report["results"].get("skipped_checks", [])}
    stale = sorted(f"{n} {cid}" for n, ids in skips.items() for cid in ids if (n, cid) not in fired)
    assert stale == [], f"skip comments for checks that no longer fire: {stale}"
