"""What the code needs exists in the Bicep: its queues (and -poison queues), containers, the Flex
Consumption shape of the function app and the render job's event trigger."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from render_container.settings import RenderSettings
from shared.config import Settings
from tests.infra.bicep import ROOT, function_app_settings, module, resource

CODE_DIRS = ("blueprints", "shared", "render_container")
# Settings forbidden on Flex Consumption (the runtime and package live in functionAppConfig).
FLEX_FORBIDDEN = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "WEBSITES_ENABLE_APP_SERVICE_STORAGE",
    "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
    "SCALE_CONTROLLER_LOGGING_ENABLED",
    "AzureWebJobsStorage",
}


def _string_constants(path: Path) -> dict[str, str]:
    tree = ast.parse(path.read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


@cache
def code_queues() -> frozenset[str]:
    """Queue names the code declares (module constants named *QUEUE) and the app's queue triggers."""
    names = set()
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for name, value in _string_constants(path).items():
                if name == "QUEUE" or name.endswith("_QUEUE"):
                    names.add(value)
    from tests.app_index import queue_trigger_names

    names |= queue_trigger_names()
    return frozenset(name.removesuffix("-poison") for name in names)


def _main_list(name: str) -> list[str]:
    variables = module("main")["variables"]
    resolved = []
    for item in variables[name]["value"]:
        resolved.append(variables[item]["value"] if item in variables else item)
    return resolved


def test_every_queue_the_code_uses_is_created_with_its_poison_queue() -> None:
    created = set(_main_list("queues"))
    assert code_queues(), "found no queue in the code"
    missing = sorted(code_queues() - created)
    assert missing == [], f"add these queues to infra/bicep/main.bicep `queues`: {missing}"
    poison = resource("storage", "poisonQueues").body["name"]
    assert poison == "${queue}-poison", "every queue gets its -poison queue"


def test_every_container_the_code_names_is_created() -> None:
    created = set(_main_list("containers"))
    defaults = {
        Settings.model_fields["render_template_container"].default,
        Settings.model_fields["render_output_container"].default,
        Settings.model_fields["render_control_container"].default,
        RenderSettings.model_fields["control_container"].default,
    }
    assert defaults <= created, f"missing containers: {sorted(defaults - created)}"
    assert {"app-package", "photos", "documents"} <= created
    for container in ("renders", "templates", "render-control"):
        assert container in created


def test_cors_origins_are_a_parameter() -> None:
    assert "corsAllowedOrigins" in module("main")["parameters"]
    assert "corsAllowedOrigins" in str(resource("storage", "blobService").body["properties"]["cors"])


def test_the_function_app_is_flex_consumption_python_311() -> None:
    plan = resource("functionapp", "plan").body
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    site = resource("functionapp", "site").body
    assert site["identity"]["type"] == "UserAssigned"
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"]["type"] == "UserAssignedIdentity"
    scale = config["scaleAndConcurrency"]
    assert {"instanceMemoryMB", "maximumInstanceCount"} <= set(scale)
    assert [group["name"] for group in scale["alwaysReady"]] == ["durable"]
    assert site["properties"]["httpsOnly"] is True


def test_host_storage_is_identity_based_and_flex_forbidden_settings_are_absent() -> None:
    settings = function_app_settings()
    forbidden = sorted(FLEX_FORBIDDEN & set(settings))
    assert forbidden == [], f"Flex Consumption refuses or ignores: {forbidden}"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    for suffix in ("clientId", "blobServiceUri", "queueServiceUri", "tableServiceUri"):
        assert f"AzureWebJobsStorage__{suffix}" in settings
    assert settings["DATABASE_AUTH"] == "entra"
    assert "ClientId=" in settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"].endswith("Authorization=AAD")


def test_the_render_job_is_event_driven_on_render_jobs_with_its_identity() -> None:
    job = resource("renderjob", "job").body
    assert job["identity"]["type"] == "UserAssigned"
    configuration = job["properties"]["configuration"]
    assert configuration["triggerType"] == "Event"
    assert configuration["replicaRetryLimit"] >= 1
    trigger = configuration["eventTriggerConfig"]
    assert trigger["parallelism"] == 1
    (rule,) = trigger["scale"]["rules"]
    assert rule["type"] == "azure-queue"
    assert rule["identity"] == "identityId", "the scaler reads the queue with the job's identity"
    assert "auth" not in rule, "no connection string secret for the scaler"
    main_job = module("main")["modules"]["renderJob"]["config"]["params"]
    assert main_job["jobsQueue"] == "renderJobsQueue"
    assert module("main")["variables"]["renderJobsQueue"]["value"] == "render-jobs"
    (registry,) = configuration["registries"]
    assert registry["identity"] == "identityId", "the image is pulled with the job's identity"


def test_timeouts_outlast_a_render() -> None:
    parameters = module("main")["parameters"]
    render = parameters["renderMaxSeconds"]["default"]
    visibility = parameters["renderVisibilitySeconds"]["default"]
    replica = parameters["renderReplicaTimeoutSeconds"]["default"]
    assert replica > visibility > render, (replica, visibility, render)
    job_params = module("main")["modules"]["renderJob"]["config"]["params"]
    assert job_params["visibilitySeconds"] == "renderVisibilitySeconds"
    assert job_params["replicaTimeoutSeconds"] == "renderReplicaTimeoutSeconds"
