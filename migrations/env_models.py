"""Imports the platform's and every module's models, so Base.metadata holds every table."""

from __future__ import annotations

import importlib
import pkgutil

import blueprints
import shared.audit
import shared.idempotency
import shared.models  # (outbox_messages)
import shared.ratelimit  # noqa: F401  (rate-limit hits)

for _module in pkgutil.iter_modules(blueprints.__path__):
    try:
        importlib.import_module(f"blueprints.{_module.name}.models")
    except ModuleNotFoundError as exc:
        if exc.name != f"blueprints.{_module.name}.models":
            raise
