"""Project modules import each other without cycles (a cycle hides behind an import inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("blueprints", "shared", "devhost", "render_container")


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import a module can run, inside functions too (a deferred import only hides a cycle), but not
    the ones under `if TYPE_CHECKING:`, which never run."""
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for child in ast.walk(statement)
    }
    return [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in skipped]


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module -> the project modules it imports at import time."""
    files = {_module_name(root, p): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base for alias in node.names]
            graph[name].update(t for t in targets if t in files and t != name)
        graph[name].update(t for t in _lazy_targets(ast.parse(path.read_text(), str(path))) if t in files and t != name)
    return graph


def _lazy_targets(tree: ast.Module) -> list[str]:
    """Modules named by shared.lazy stand-ins (`lazy.module("pkg.mod")`, `lazy.function("pkg.mod", "f")`): they
    are imported on first use, so they are edges like a deferred import (their TYPE_CHECKING twin is skipped)."""
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and ast.unparse(node.func) in ("lazy.module", "lazy.function")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_project_modules_have_no_import_cycle() -> None:
    graph = import_graph(ROOT, PACKAGES)
    assert len(graph) > 50  # the walk really read the project
    assert cycles(graph) == []


def test_a_planted_cycle_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "alpha.py").write_text("from pkg import beta\n")
    (package / "beta.py").write_text("import sys\n\nif sys:\n    from pkg.gamma import thing\n")
    (package / "gamma.py").write_text("from . import alpha\n\nthing = 1\n")
    (package / "delta.py").write_text("def later():\n    from pkg import epsilon\n")
    (package / "epsilon.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg import delta\n"
    )
    (package / "zeta.py").write_text("def later():\n    from pkg import eta\n")
    (package / "eta.py").write_text("import pkg.zeta\n")
    (package / "theta.py").write_text("from shared import lazy\n\niota = lazy.module('pkg.iota')\n")
    (package / "iota.py").write_text("from shared import lazy\n\nrun = lazy.function('pkg.theta', 'run')\n")
    assert cycles(import_graph(tmp_path, ("pkg",))) == [
        ["pkg.alpha", "pkg.beta", "pkg.gamma"],
        ["pkg.eta", "pkg.zeta"],
        ["pkg.iota", "pkg.theta"],
    ]
