"""Reading infra/bicep: tree-sitter-bicep for syntax, pycep-parser for resources, parameters and outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BICEP_DIR = ROOT / "infra" / "bicep"


def bicep_files() -> list[Path]:
    """Every .bicep file of the deployment."""
    return sorted(BICEP_DIR.rglob("*.bicep"))


@cache
def syntax_errors(path: Path) -> tuple[str, ...]:
    """Where tree-sitter-bicep found ERROR or MISSING nodes, as 'line:column type'."""
    import tree_sitter
    import tree_sitter_bicep

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))
    tree = parser.parse(path.read_bytes())
    found: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            found.append(f"{node.start_point[0] + 1}:{node.start_point[1] + 1} {node.type}")
        stack.extend(node.children)
    return tuple(found)


@cache
def parsed(path: Path) -> dict[str, Any]:
    """pycep's reading of one file: globals, parameters, variables, resources, modules, outputs."""
    from pycep import BicepParser

    return BicepParser().parse(text=path.read_text())


def module(name: str) -> dict[str, Any]:
    """One file by its stem: 'main' or a module under modules/."""
    path = BICEP_DIR / "main.bicep" if name == "main" else BICEP_DIR / "modules" / f"{name}.bicep"
    return parsed(path)


@dataclass(frozen=True)
class Resource:
    """A resource declaration, with its body (the loop body for `[for ...]` declarations)."""

    file: str
    symbol: str
    type: str
    api_version: str
    existing: bool
    body: dict[str, Any]


def resources() -> Iterator[Resource]:
    """Every resource of every file."""
    for path in bicep_files():
        for symbol, declaration in (parsed(path).get("resources") or {}).items():
            body = declaration["config"]
            while isinstance(body, dict) and ("loop_type" in body or "condition" in body):
                body = body["config"]
            yield Resource(
                file=str(path.relative_to(BICEP_DIR)),
                symbol=symbol,
                type=declaration["type"],
                api_version=declaration["api_version"],
                existing=bool(declaration.get("existing")),
                body=body,
            )


def resource(file_stem: str, symbol: str) -> Resource:
    """One resource by file stem and symbolic name."""
    for found in resources():
        if Path(found.file).stem == file_stem and found.symbol == symbol:
            return found
    raise KeyError(f"{file_stem}.bicep has no resource {symbol}")


def key(name: str) -> str:
    """An object key as written, without Bicep's quotes ('AzureWebJobsStorage__credential' -> ...)."""
    return name.strip("'")


def text_of(value: Any) -> str:
    """A parsed expression as searchable text."""
    return json.dumps(value, default=str)


def function_app_settings() -> dict[str, Any]:
    """The app settings the function app gets (Microsoft.Web/sites/config 'appsettings')."""
    found = [r for r in resources() if r.type == "Microsoft.Web/sites/config" and r.body.get("name") == "appsettings"]
    assert len(found) == 1, "one Microsoft.Web/sites/config 'appsettings' resource sets the app settings"
    return {key(name): value for name, value in found[0].body["properties"].items()}


def render_job_env() -> dict[str, Any]:
    """The environment variables of the render job's container."""
    job = resource("renderjob", "job")
    (container,) = job.body["properties"]["template"]["containers"]
    return {item["name"]: item.get("value") for item in container["env"]}


def key_vault_secret_names() -> set[str]:
    """Names of the secrets the deployment writes to Key Vault."""
    return {r.body["name"] for r in resources() if r.type == "Microsoft.KeyVault/vaults/secrets" and not r.existing}
