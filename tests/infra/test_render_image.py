"""The render worker's Dockerfile, read (no Docker engine here): Python 3.11 slim, the bpy wheel, the
worker and its templates, a non-root user, one queue drain per job execution."""

from __future__ import annotations

import json
import re

from tests.infra.bicep import ROOT

IMAGE_DIR = ROOT / "render_container"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", (IMAGE_DIR / "Dockerfile").read_text())
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            found.append((instruction.upper(), " ".join(arguments.split())))
    return found


def _all(name: str) -> list[str]:
    return [arguments for instruction, arguments in instructions() if instruction == name]


def test_the_base_is_python_311_slim() -> None:
    (base,) = _all("FROM")
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", base), base


def test_the_bpy_wheel_and_the_worker_requirements_are_installed() -> None:
    requirements = (IMAGE_DIR / "requirements.txt").read_text()
    assert re.search(r"^bpy==4\.\d+\.\d+$", requirements, re.MULTILINE), "bpy pinned as a wheel"
    assert any("requirements.txt" in c for c in _all("COPY"))
    assert any("pip install" in r and "-r /app/render_container/requirements.txt" in r for r in _all("RUN"))


def test_the_worker_and_its_templates_are_in_the_image() -> None:
    assert ". /app/render_container" in _all("COPY")
    ignored = (IMAGE_DIR / ".dockerignore").read_text().split()
    assert not any(pattern.strip("/") in {"templates", "*.py", "*"} for pattern in ignored), ignored
    assert (IMAGE_DIR / "templates" / "products.py").is_file()


def test_it_runs_as_a_non_root_user_that_owns_its_cache() -> None:
    users = _all("USER")
    assert users and users[-1] not in {"root", "0"}, "the last USER is not root"
    names = [name for name, _ in instructions()]
    last_user = len(names) - 1 - names[::-1].index("USER")
    assert last_user > max(i for i, name in enumerate(names) if name in {"RUN", "COPY"}), "USER comes after the build"
    (env,) = [e for e in _all("ENV") if "TEMPLATE_CACHE_DIR=" in e]
    cache_dir = env.split("TEMPLATE_CACHE_DIR=")[1].split()[0]
    assert any(f"chown {users[-1]} {cache_dir}" in r for r in _all("RUN")), "the cache is the user's"


def test_each_execution_drains_the_queue_once() -> None:
    (entrypoint,) = _all("ENTRYPOINT")
    (command,) = _all("CMD")
    assert json.loads(entrypoint) == ["python", "-m", "render_container"]
    assert json.loads(command) == ["--once"]  # exec form: SIGTERM reaches the worker, no shell in between
