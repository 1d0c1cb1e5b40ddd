"""No secret in app settings, plain parameters or outputs; no key is listed or written anywhere else."""

from __future__ import annotations

import json
import re

from tests.infra.bicep import BICEP_DIR, bicep_files, function_app_settings, parsed, render_job_env, text_of

SECRET_LOOKING = re.compile(r"(key|token|password|secret|connectionstring|sas)$", re.IGNORECASE)
# What a secret looks like once it is in a value.
SECRET_MARKERS = ("listKeys", "list_keys", "AccountKey=", "SharedAccessSignature", "Password=", "primaryKey", "sig=")

# The one place a key is read: ARM hands the Log Analytics shared key to the Container Apps environment
# (there is no identity-based option for appLogsConfiguration); it is in no setting, parameter or output.
ALLOWED_LIST_KEYS = {("renderjob.bicep", "sharedKey: workspace.listKeys().primarySharedKey")}

# Application Insights connection strings name the resource and its endpoint; with local auth disabled
# (DisableLocalAuth) they grant nothing: telemetry needs the identity's Entra token.
NOT_A_SECRET = {"APPLICATIONINSIGHTS_CONNECTION_STRING"}


def _is_secure(parameter: dict) -> bool:
    return any(d.get("type") == "secure" for d in parameter.get("decorators", []))


def test_secret_looking_parameters_are_secure_and_have_no_default_value() -> None:
    for path in bicep_files():
        for name, parameter in parsed(path)["parameters"].items():
            if SECRET_LOOKING.search(name):
                assert _is_secure(parameter), f"{path.name}: parameter {name} must be @secure()"
            if _is_secure(parameter):
                assert parameter.get("default") in (None, ""), f"{path.name}: @secure() {name} has a default value"


def test_no_output_carries_a_secret() -> None:
    for path in bicep_files():
        template = parsed(path)
        secure = {n for n, p in template["parameters"].items() if _is_secure(p)}
        for name, output in (template.get("outputs") or {}).items():
            value = text_of(output)
            assert not SECRET_LOOKING.search(name), f"{path.name}: output {name} sounds like a secret"
            assert not any(m.lower() in value.lower() for m in SECRET_MARKERS), f"{path.name}: output {name}"
            assert "connectionstring" not in value.lower(), f"{path.name}: output {name} is a connection string"
            assert not any(f'"{p}"' in value for p in secure), f"{path.name}: output {name} returns a secure parameter"


def test_app_settings_and_job_variables_hold_no_secret() -> None:
    secure = {n for p in bicep_files() for n, v in parsed(p)["parameters"].items() if _is_secure(v)}
    for source, settings in (("function app", function_app_settings()), ("render job", render_job_env())):
        for name, value in settings.items():
            text = text_of(value)
            assert not any(m.lower() in text.lower() for m in SECRET_MARKERS), f"{source} setting {name}: {text}"
            assert not any(f'"{p}"' in text for p in secure), f"{source} setting {name} holds a secure parameter"
            if name not in NOT_A_SECRET:
                assert "connectionstring" not in text.lower(), f"{source} setting {name} is a connection string"
                assert not SECRET_LOOKING.search(name.replace("_", "")), f"{source} setting {name} sounds secret"


def test_keys_are_listed_only_where_allowed() -> None:
    for path in bicep_files():
        for line in path.read_text().splitlines():
            if "listKeys" in line or "listkeys" in line.lower():
                assert (path.name, line.strip()) in ALLOWED_LIST_KEYS, f"{path.name}: {line.strip()}"


def test_the_parameters_file_holds_references_not_values() -> None:
    parameters = json.loads((BICEP_DIR / "main.parameters.json").read_text())["parameters"]
    main = parsed(BICEP_DIR / "main.bicep")["parameters"]
    for name, entry in parameters.items():
        value = entry["value"]
        if _is_secure(main[name]):
            assert re.fullmatch(r"\$\{[A-Z_]+=?\}", value), f"{name} must come from the azd environment: {value}"


def test_the_storage_account_refuses_shared_keys_and_anonymous_reads() -> None:
    from tests.infra.bicep import resource

    properties = resource("storage", "account").body["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True


def test_postgres_accepts_entra_tokens_only() -> None:
    from tests.infra.bicep import resource

    server = resource("postgres", "server").body["properties"]
    assert server["version"] == "16"
    assert server["authConfig"]["activeDirectoryAuth"] == "Enabled"
    assert server["authConfig"]["passwordAuth"] == "Disabled"
    assert "administratorLoginPassword" not in server
    admin = resource("postgres", "admin").body
    assert admin["name"] == "adminPrincipalId"


def test_key_vault_is_rbac_with_purge_protection_and_monitoring_has_no_local_auth() -> None:
    from tests.infra.bicep import resource

    vault = resource("keyvault", "vault").body["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enablePurgeProtection"] is True
    assert resource("monitoring", "appInsights").body["properties"]["DisableLocalAuth"] is True
    assert resource("registry", "registry").body["properties"]["adminUserEnabled"] is False
