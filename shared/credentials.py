"""The one Microsoft Entra credential of the process: the app's managed identity in Azure, az login locally."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=4)
def azure_credential(client_id: str | None = None) -> Any:
    """DefaultAzureCredential bound to the user-assigned identity `client_id` (AZURE_CLIENT_ID) when given.

    One instance per identity, so its token cache is shared by Storage, Key Vault and PostgreSQL clients.
    """
    from azure.identity import DefaultAzureCredential

    if client_id:
        return DefaultAzureCredential(managed_identity_client_id=client_id)
    return DefaultAzureCredential()
