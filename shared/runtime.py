"""Start-up in the order the design fixes: secrets, then telemetry, then the database pool."""

from __future__ import annotations

import threading

from shared import db, telemetry
from shared.config import Settings, get_settings
from shared.credentials import azure_credential

_lock = threading.Lock()
_started: Settings | None = None


def ensure_started() -> Settings:
    """Run start-up once per process, on the first invocation (keeps the import, and so cold start, light)."""
    global _started
    if _started is not None:
        return _started
    with _lock:
        if _started is None:
            settings = get_settings()  # secrets from Key Vault first, when KEY_VAULT_URL is set
            telemetry.configure_logging(settings.log_level)
            telemetry.configure_azure_monitor(
                settings.applicationinsights_connection_string,
                credential=azure_credential(settings.azure_client_id)
                if settings.applicationinsights_connection_string
                else None,
            )
            db.get_engine()
            _started = settings
    return _started


def reset() -> None:
    """Forget start-up (tests)."""
    global _started
    with _lock:
        _started = None
