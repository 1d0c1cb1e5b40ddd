"""Start-up in the order the design fixes: secrets, then telemetry, then the database pool (and every model).

It runs once per process, on the first invocation, not at import: the worker's indexing (import function_app)
stays free of the Azure Monitor distro, Key Vault and SQLAlchemy's engine, and a request cannot run before the
telemetry that traces it and the pool it uses exist. STARTUP_SECONDS keeps how long each step took (logged
once, and read by benchmarks/bench_import.py).
"""

from __future__ import annotations

import importlib
import logging
import threading
import time

from sqlalchemy.orm import configure_mappers

from shared import db, lazy, telemetry
from shared.config import Settings, get_settings
from shared.credentials import azure_credential

log = logging.getLogger("tradeops.runtime")
_lock = threading.Lock()
_started: Settings | None = None
STARTUP_SECONDS: dict[str, float] = {}


def ensure_started() -> Settings:
    """Run start-up once per process, on the first invocation (keeps the import, and so cold start, light)."""
    global _started
    if _started is not None:
        return _started
    with _lock:
        if _started is None:
            began = time.perf_counter()
            settings = get_settings()  # secrets from Key Vault first, when KEY_VAULT_URL is set
            secrets_done = time.perf_counter()
            telemetry.configure_logging(settings.log_level)
            telemetry.configure_azure_monitor(
                settings.applicationinsights_connection_string,
                credential=azure_credential(settings.azure_client_id)
                if settings.applicationinsights_connection_string
                else None,
            )
            telemetry_done = time.perf_counter()
            db.get_engine()
            pool_done = time.perf_counter()
            for name in lazy.startup_imports():  # every mapped class, before any handler uses a mapper
                importlib.import_module(name)
            configure_mappers()
            models_done = time.perf_counter()
            STARTUP_SECONDS.update(
                secrets=round(secrets_done - began, 4),
                telemetry=round(telemetry_done - secrets_done, 4),
                pool=round(pool_done - telemetry_done, 4),
                models=round(models_done - pool_done, 4),
            )
            log.info("started in %.3f s", models_done - began, extra={"startup_seconds": dict(STARTUP_SECONDS)})
            _started = settings
    return _started


def reset() -> None:
    """Forget start-up (tests)."""
    global _started
    with _lock:
        _started = None
        STARTUP_SECONDS.clear()
