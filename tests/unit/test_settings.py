"""Settings: URL normalisation, placeholder secrets refused outside development, Key Vault names."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError
from pydantic import ValidationError

from shared.config import SECRET_FIELDS, Settings
from shared.secrets import load_secret_overrides, vault_secret_name


def test_database_url_is_driven_by_psycopg_3() -> None:
    settings = Settings(
        environment="development", database_url="postgres://u:p@db:5432/app", database_migration_url=None
    )
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/app"
    assert settings.migration_url == settings.database_url


@pytest.mark.parametrize("placeholder", ["", "changeme", "dev-only-change-me"])
def test_production_refuses_a_placeholder_secret_and_names_it(placeholder: str) -> None:
    with pytest.raises(ValidationError) as error:
        Settings(environment="production", jwt_signing_key=placeholder)
    assert "JWT_SIGNING_KEY" in str(error.value)


def test_twilio_token_is_required_once_twilio_is_configured() -> None:
    with pytest.raises(ValidationError) as error:
        Settings(environment="production", jwt_signing_key="a-real-key-" * 4, twilio_account_sid="AC123")
    assert "TWILIO_AUTH_TOKEN" in str(error.value)


def test_development_starts_with_placeholders() -> None:
    assert Settings(environment="development", jwt_signing_key="dev-only-change-me").environment == "development"


def test_app_settings_names_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsStorage__accountName", "tradeopsprod")
    monkeypatch.setenv("DB_POOL_SIZE", "4")
    settings = Settings(environment="development")
    assert settings.storage_account_name == "tradeopsprod"
    assert settings.db_pool_size == 4


class _Secret:
    def __init__(self, value: str) -> None:
        self.value = value


class _Vault:
    """Stands in for SecretClient's get_secret: the names the code asks for, and what it gets."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.asked: list[str] = []

    def get_secret(self, name: str) -> _Secret:
        self.asked.append(name)
        if name not in self.secrets:
            raise ResourceNotFoundError(f"{name} not found")
        return _Secret(self.secrets[name])


def test_key_vault_secrets_override_and_missing_ones_are_skipped() -> None:
    vault = _Vault({"JWT-SIGNING-KEY": "from-the-vault", "INSPECTION-LINK-SIGNING-KEY": "link-key-from-the-vault"})
    overrides = load_secret_overrides("https://kv.example.invalid", fields=SECRET_FIELDS, client=vault)
    assert overrides == {"jwt_signing_key": "from-the-vault", "inspection_link_signing_key": "link-key-from-the-vault"}
    assert "TWILIO-AUTH-TOKEN" in vault.asked
    settings = Settings(environment="production", **overrides)
    assert settings.jwt_signing_key == "from-the-vault"


def test_production_refuses_to_start_without_every_required_secret() -> None:
    with pytest.raises(ValidationError) as error:
        Settings(environment="production", jwt_signing_key="a-real-key-" * 4)
    assert "INSPECTION_LINK_SIGNING_KEY" in str(error.value)


def test_no_vault_url_means_no_vault_call() -> None:
    assert load_secret_overrides(None, fields=SECRET_FIELDS, client=_Vault({})) == {}
    assert vault_secret_name("smtp_password") == "SMTP-PASSWORD"
