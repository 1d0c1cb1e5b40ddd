"""Drift between the code's settings and what the Bicep sets, both ways, named setting by setting.

Data-driven from the Settings models: a setting another change adds to shared/config.py (or to
render_container/settings.py) fails here until the Bicep sets it or NOT_SET_IN_AZURE says why not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from render_container.settings import RenderSettings
from shared.config import SECRET_FIELDS, Settings
from shared.secrets import vault_secret_name
from tests.infra.bicep import ROOT, function_app_settings, key_vault_secret_names, render_job_env

# Settings the code reads that Azure deliberately leaves to their defaults.
NOT_SET_IN_AZURE: dict[str, str] = {
    "AzureWebJobsStorage": "a connection string with an account key, for Azurite only; Azure signs in by identity",
    "DATABASE_MIGRATION_URL": "migrations run from the deployer's machine (infra/hooks/postprovision.sh)",
    "TWILIO_BASE_URL": "the Verify API's base URL for the test fakes; unset means Twilio's own",
    "TWILIO_API_BASE_URL": "the Messages API's base URL for the test fakes; unset means Twilio's own",
    "SMTP_CA_FILE": "a private CA for a test relay; unset means the system's trust store",
    "ANTHROPIC_BASE_URL": "the Messages API's base URL for the test fake; unset means Anthropic's own",
    "GEMINI_BASE_URL": "the Gemini API's base URL for the test fake; unset means Google's own",
    "BIDS_WORK_DIR": "where plan sets are spooled; unset means the instance's temp directory",
}

# App settings the Bicep sets that our code does not read: the Functions host or the Azure SDK reads them.
READ_BY_THE_PLATFORM: dict[str, str] = {
    "AzureWebJobsStorage__credential": "Functions host: identity-based host storage",
    "AzureWebJobsStorage__clientId": "Functions host: which user-assigned identity",
    "AzureWebJobsStorage__blobServiceUri": "Functions host and Durable Functions: blob endpoint",
    "AzureWebJobsStorage__queueServiceUri": "Functions host and queue triggers: queue endpoint",
    "AzureWebJobsStorage__tableServiceUri": "Durable Functions task hub: table endpoint",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Functions host: sends telemetry with the identity (local auth off)",
}

RENDER_NOT_SET_IN_AZURE: dict[str, str] = {
    "AzureWebJobsStorage": "a connection string with an account key, for Azurite only; the job signs in by identity",
    "TEMPLATE_CACHE_DIR": "set by the image (Dockerfile ENV): the directory it creates for its non-root user",
    "RENDER_MIN_SECONDS": "load-testing knob that pads renders; 0 (the default) in production",
}


def env_names(model: type[BaseSettings]) -> dict[str, str]:
    """field -> the environment variable Azure sets (the first alias choice)."""
    names = {}
    for field, info in model.model_fields.items():
        alias = info.validation_alias
        names[field] = str(alias.choices[0]) if isinstance(alias, AliasChoices) else str(alias or field).upper()
    return names


def missing_from_bicep(
    model: type[BaseSettings],
    set_by_bicep: Iterable[str],
    *,
    not_set: Mapping[str, str],
    secret_fields: Iterable[str] = (),
    vault_secrets: Iterable[str] = (),
) -> list[str]:
    """Settings the code reads that the Bicep neither sets nor stores in Key Vault, nor excuses."""
    names = env_names(model)
    secret_fields, vault_secrets, set_by_bicep = set(secret_fields), set(vault_secrets), set(set_by_bicep)
    missing = []
    for field, env in names.items():
        if env in not_set:
            continue
        if field in secret_fields:
            if vault_secret_name(field) not in vault_secrets:
                missing.append(f"{env} (Key Vault secret {vault_secret_name(field)})")
        elif env not in set_by_bicep:
            missing.append(env)
    return sorted(missing)


def unread_by_code(model: type[BaseSettings], set_by_bicep: Iterable[str], *, platform: Mapping[str, str]) -> list[str]:
    """Settings the Bicep sets that neither the code nor the platform reads."""
    read = set(env_names(model).values())
    return sorted(set(set_by_bicep) - read - set(platform))


def test_every_setting_the_app_reads_is_set_by_the_bicep() -> None:
    missing = missing_from_bicep(
        Settings,
        function_app_settings(),
        not_set=NOT_SET_IN_AZURE,
        secret_fields=SECRET_FIELDS,
        vault_secrets=key_vault_secret_names(),
    )
    assert missing == [], f"set these in infra/bicep/modules/functionapp.bicep (or say why not): {missing}"


def test_every_app_setting_the_bicep_sets_is_read() -> None:
    unread = unread_by_code(Settings, function_app_settings(), platform=READ_BY_THE_PLATFORM)
    assert unread == [], f"infra/bicep sets app settings nothing reads: {unread}"


def test_secrets_live_in_key_vault_never_in_app_settings() -> None:
    names = env_names(Settings)
    in_settings = sorted(names[f] for f in SECRET_FIELDS if names[f] in function_app_settings())
    assert in_settings == [], f"secrets must come from Key Vault, not app settings: {in_settings}"
    expected = {vault_secret_name(f) for f in SECRET_FIELDS}
    assert key_vault_secret_names() == expected, "Key Vault secrets and shared/config.py SECRET_FIELDS disagree"


def test_the_render_job_gets_every_setting_the_worker_reads() -> None:
    missing = missing_from_bicep(RenderSettings, render_job_env(), not_set=RENDER_NOT_SET_IN_AZURE)
    assert missing == [], f"set these in infra/bicep/modules/renderjob.bicep (or say why not): {missing}"
    unread = unread_by_code(RenderSettings, render_job_env(), platform={})
    assert unread == [], f"the render job sets variables the worker does not read: {unread}"


def test_the_image_sets_what_the_job_leaves_to_it() -> None:
    dockerfile = (ROOT / "render_container" / "Dockerfile").read_text()
    assert "TEMPLATE_CACHE_DIR=" in dockerfile


def test_excuses_name_settings_that_exist() -> None:
    assert set(NOT_SET_IN_AZURE) <= set(env_names(Settings).values())
    assert set(RENDER_NOT_SET_IN_AZURE) <= set(env_names(RenderSettings).values())
    assert not set(NOT_SET_IN_AZURE) & set(function_app_settings()), "an excused setting is set after all"


# The checks themselves: a setting added on one side only is named.
class _SettingsWithANewOne(Settings):
    shiny_new_limit: int = 3


def test_a_setting_added_to_the_code_only_is_named() -> None:
    missing = missing_from_bicep(
        _SettingsWithANewOne,
        function_app_settings(),
        not_set=NOT_SET_IN_AZURE,
        secret_fields=SECRET_FIELDS,
        vault_secrets=key_vault_secret_names(),
    )
    assert missing == ["SHINY_NEW_LIMIT"]


def test_a_setting_removed_from_the_bicep_is_named() -> None:
    settings = dict(function_app_settings())
    del settings["DB_POOL_SIZE"]
    assert missing_from_bicep(
        Settings,
        settings,
        not_set=NOT_SET_IN_AZURE,
        secret_fields=SECRET_FIELDS,
        vault_secrets=key_vault_secret_names() - {"SMTP-PASSWORD"},
    ) == ["DB_POOL_SIZE", "SMTP_PASSWORD (Key Vault secret SMTP-PASSWORD)"]


def test_a_setting_only_the_bicep_sets_is_named() -> None:
    settings = {**function_app_settings(), "LEFTOVER_FLAG": "1"}
    assert unread_by_code(Settings, settings, platform=READ_BY_THE_PLATFORM) == ["LEFTOVER_FLAG"]
