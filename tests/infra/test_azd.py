"""azure.yaml, the azd hooks and the deployment docs fit together."""

from __future__ import annotations

import subprocess
import sys

import yaml

from tests.infra.bicep import ROOT, key, module, resource


def _azure_yaml() -> dict:
    return yaml.safe_load((ROOT / "azure.yaml").read_text())


def test_azure_yaml_declares_the_function_app_and_the_render_container() -> None:
    config = _azure_yaml()
    assert config["infra"] == {"provider": "bicep", "path": "infra/bicep", "module": "main"}
    api, render = config["services"]["api"], config["services"]["render"]
    assert (api["host"], api["language"], api["project"]) == ("function", "python", ".")
    assert render["host"] == "containerapp"
    assert (ROOT / render["project"] / render["docker"]["path"]).is_file()


def test_each_service_finds_its_resource_by_its_azd_tag() -> None:
    def service_tag(tags: dict) -> str:
        # union(tags, {'azd-service-name': '<service>'})
        (extra,) = [v for k, v in tags["function"]["parameters"].items() if k != "arg_1"]
        return {key(k): v for k, v in extra.items()}["azd-service-name"]

    tagged = {
        service_tag(resource("functionapp", "site").body["tags"]): "function",
        service_tag(resource("renderjob", "job").body["tags"]): "containerapp",
    }
    services = _azure_yaml()["services"]
    assert {name: service["host"] for name, service in services.items()} == tagged
    outputs = module("main")["outputs"]
    assert "AZURE_CONTAINER_REGISTRY_ENDPOINT" in outputs, "azd pushes the render image there"


def test_hooks_exist_are_executable_and_parse() -> None:
    for hook in _azure_yaml()["hooks"].values():
        script = ROOT / hook["posix"]["run"]
        assert script.is_file() and script.stat().st_mode & 0o111, script
        subprocess.run(["sh", "-n", str(script)], check=True)


def test_the_post_provision_hook_reads_only_outputs_the_bicep_has() -> None:
    script = (ROOT / "infra" / "hooks" / "postprovision.sh").read_text()
    outputs = set(module("main")["outputs"])
    for name in ("AZURE_RESOURCE_GROUP", "POSTGRES_SERVER_NAME", "POSTGRES_HOST", "POSTGRES_DATABASE"):
        assert name in script and name in outputs, name
    assert "APP_IDENTITY_PRINCIPAL_ID" in outputs


def test_the_role_script_maps_the_identity_and_creates_the_migration_role() -> None:
    printed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "infra" / "hooks" / "database_roles.py"),
            *("--host", "psql.example.invalid", "--database", "tradeops", "--admin", "ada@example.com"),
            *("--app-principal-id", "11111111-2222-3333-4444-555555555555", "--print"),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "pgaadauth_create_principal_with_oid" in printed and "11111111-2222-3333-4444-555555555555" in printed
    assert "CREATE ROLE tradeops_migrator NOLOGIN" in printed
    from shared.db import APP_ROLE

    assert f"'{APP_ROLE}'" in printed
    settings = str(resource("functionapp", "appSettings").body["properties"]["DATABASE_URL"])
    assert settings.startswith(f"postgresql+psycopg://{APP_ROLE}@"), "the app signs in as the mapped role"


def test_the_docs_say_how_to_deploy() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "## Deploy to Azure" in readme and "infra/bicep/README.md" in readme
    guide = (ROOT / "infra" / "bicep" / "README.md").read_text()
    for needle in ("azd up", "az deployment sub create", "postprovision", "idle", "Rotat"):
        assert needle in guide, needle
    from shared.config import SECRET_FIELDS
    from shared.secrets import vault_secret_name

    for field in SECRET_FIELDS:
        assert vault_secret_name(field) in guide, f"the guide says how to rotate {vault_secret_name(field)}"
