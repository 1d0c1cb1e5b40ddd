"""Secrets from Azure Key Vault, read once at start-up before anything else starts."""

from __future__ import annotations

from collections.abc import Iterable

from shared.credentials import azure_credential


def vault_secret_name(field: str) -> str:
    """Key Vault names allow letters, digits and dashes: JWT_SIGNING_KEY is stored as JWT-SIGNING-KEY."""
    return field.upper().replace("_", "-")


def load_secret_overrides(
    vault_url: str | None, *, fields: Iterable[str], client: object | None = None, client_id: str | None = None
) -> dict[str, str]:
    """Read each of these secret settings from the Key Vault at vault_url as identity client_id; {} without one."""
    if not vault_url:
        return {}
    if client is None:
        from azure.keyvault.secrets import SecretClient  # heavy SDK: loaded on first use (cold start)

        client = SecretClient(vault_url=vault_url, credential=azure_credential(client_id))
    from azure.core.exceptions import ResourceNotFoundError  # heavy SDK: loaded on first use (cold start)

    overrides: dict[str, str] = {}
    for field in fields:
        try:
            secret = client.get_secret(vault_secret_name(field))  # type: ignore[attr-defined]
        except ResourceNotFoundError:
            continue
        if secret.value is not None:
            overrides[field] = secret.value
    return overrides
