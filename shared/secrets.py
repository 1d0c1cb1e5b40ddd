"""Secrets from Azure Key Vault, read once at start-up before anything else starts."""

from __future__ import annotations

from shared.config import SECRET_FIELDS, BootstrapSettings


def vault_secret_name(field: str) -> str:
    """Key Vault names allow letters, digits and dashes: JWT_SIGNING_KEY is stored as JWT-SIGNING-KEY."""
    return field.upper().replace("_", "-")


def load_secret_overrides(vault_url: str | None = None, client: object | None = None) -> dict[str, str]:
    """Read every secret setting from Key Vault when KEY_VAULT_URL is set; {} otherwise."""
    bootstrap = BootstrapSettings()
    vault_url = vault_url or bootstrap.key_vault_url
    if not vault_url:
        return {}
    if client is None:
        from azure.keyvault.secrets import SecretClient

        from shared.credentials import azure_credential

        client = SecretClient(vault_url=vault_url, credential=azure_credential(bootstrap.azure_client_id))
    from azure.core.exceptions import ResourceNotFoundError

    overrides: dict[str, str] = {}
    for field in SECRET_FIELDS:
        try:
            secret = client.get_secret(vault_secret_name(field))  # type: ignore[attr-defined]
        except ResourceNotFoundError:
            continue
        if secret.value is not None:
            overrides[field] = secret.value
    return overrides
