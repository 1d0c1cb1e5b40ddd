"""Azure clients sign in as the app's user-assigned identity (AZURE_CLIENT_ID), with one shared credential."""

from __future__ import annotations

import pytest

from shared import storage
from shared.config import reset_settings_cache
from shared.credentials import azure_credential


def test_one_credential_per_identity() -> None:
    assert azure_credential("client-a") is azure_credential("client-a")
    assert azure_credential("client-a") is not azure_credential("client-b")


def test_storage_by_account_name_uses_the_identity_named_by_azure_client_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    monkeypatch.setenv("AzureWebJobsStorage__accountName", "sttradeops")
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-0000000000aa")
    reset_settings_cache()
    try:
        kwargs = storage._credential_kwargs("queue")
        assert kwargs["account_url"] == "https://sttradeops.queue.core.windows.net"
        assert kwargs["credential"] is azure_credential("00000000-0000-0000-0000-0000000000aa")
        assert "conn_str" not in kwargs
    finally:
        reset_settings_cache()
