"""Every .bicep file parses without error and its resources, parameters and outputs can be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.bicep import BICEP_DIR, bicep_files, module, parsed, syntax_errors

FILES = bicep_files()


def test_the_deployment_has_a_main_and_its_modules() -> None:
    names = {str(path.relative_to(BICEP_DIR)) for path in FILES}
    assert "main.bicep" in names
    assert len(names) >= 8, names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(BICEP_DIR)))
def test_tree_sitter_finds_no_error_node(path: Path) -> None:
    assert syntax_errors(path) == (), f"{path.name}: syntax errors at {syntax_errors(path)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(BICEP_DIR)))
def test_pycep_reads_resources_parameters_and_outputs(path: Path) -> None:
    template = parsed(path)
    assert template.get("resources"), f"{path.name} declares no resource"
    assert template.get("parameters"), f"{path.name} declares no parameter"
    if path.name == "main.bicep":
        assert template.get("outputs")


def test_main_follows_azd_conventions() -> None:
    main = module("main")
    assert main["globals"]["scope"]["value"] == "subscription"
    assert {"environmentName", "location", "principalId"} <= set(main["parameters"])
    import json

    parameters = json.loads((BICEP_DIR / "main.parameters.json").read_text())["parameters"]
    assert parameters["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert parameters["location"]["value"] == "${AZURE_LOCATION}"
    assert parameters["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    required = {name for name, p in main["parameters"].items() if p.get("default") is None}
    assert required <= set(parameters), f"main.parameters.json misses {sorted(required - set(parameters))}"
    assert set(parameters) <= set(main["parameters"]), "main.parameters.json sets parameters main.bicep lacks"


def test_every_module_is_ours_and_exists() -> None:
    for path in FILES:
        for name, declaration in (parsed(path).get("modules") or {}).items():
            assert declaration["type"] == "local", (
                f"{path.name}: module {name} is not a local file (no registry modules)"
            )
            target = path.parent / declaration["detail"]["path"]
            assert target.is_file(), f"{path.name}: module {name} points at missing {target}"
    for path in FILES:
        assert "br/public:" not in path.read_text() and "br:" not in path.read_text(), path.name
