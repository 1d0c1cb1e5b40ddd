"""JSON log lines carrying request id, tenant, function and duration, with personal data redacted."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
tenant_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenant_id", default=None)
function_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("function", default=None)

REDACTED = "[redacted]"

# Keys whose values are secret or personal whatever they look like.
_SENSITIVE_KEYS = re.compile(
    r"(pass(word)?|secret|token|authorization|api[_-]?key|code|otp|pin|phone|email|to|from|cookie|signature)$",
    re.IGNORECASE,
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Bearer tokens and JWTs (three base64url parts).
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # key=value / "key": "value" pairs naming a secret or a code.
    (
        re.compile(
            r"(?i)(\"?\b(?:password|passwd|secret|token|refresh_token|access_token|api_key|code|otp)\b\"?"
            r"\s*[:=]\s*\"?)([^\"&\s,}]+)"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), REDACTED),
    # Phone numbers: E.164 or 10+ digits with common separators.
    (re.compile(r"(?<![\w.])\+?\d[\d\s().-]{8,}\d(?![\w.])"), REDACTED),
)


# Record ids stay readable: a UUID's digit groups must not pass for a phone number.
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


def redact(text: str) -> str:
    """Remove phone numbers, emails, tokens and codes from free text (UUIDs are kept as they are)."""
    ids = _UUID.findall(text)
    parts = _UUID.split(text)
    for index, part in enumerate(parts):
        for pattern, replacement in _PATTERNS:
            part = pattern.sub(replacement, part)
        parts[index] = part
    return "".join(part + (ids[index] if index < len(ids) else "") for index, part in enumerate(parts))


def sensitive_key(key: str) -> bool:
    """Whether a field or parameter of this name holds a secret or personal data whatever its value."""
    return bool(_SENSITIVE_KEYS.search(key))


def redact_value(key: str, value: Any) -> Any:
    """Redact a structured log field: sensitive keys entirely, strings by pattern, containers recursively."""
    if sensitive_key(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(key, v) for v in value]
    return value


_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context ids and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, var in (("request_id", request_id_var), ("tenant_id", tenant_id_var), ("function", function_var)):
            value = getattr(record, key, None) or var.get()
            if value:
                entry[key] = value
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key not in entry and not key.startswith("_"):
                entry[key] = redact_value(key, value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


_configured = False


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Send every log record through the JSON formatter (idempotent)."""
    global _configured
    root = logging.getLogger()
    root.setLevel(level.upper())
    if _configured:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.set_name("tradeops-json")
    root.handlers = [h for h in root.handlers if h.get_name() != "tradeops-json"]
    root.addHandler(handler)
    for noisy in ("azure.core.pipeline.policies.http_logging_policy", "azure.identity", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True


# The distro instruments every supported library it finds installed; only these are ours. Off: django,
# fastapi, flask (not used; the dev tools install flask), psycopg2 (we drive psycopg 3), urllib (not used),
# urllib3 (under requests, which is instrumented: its spans would be doubles), httpx2 (not used). Each one
# left off is an entry point and its dependency check the first invocation no longer pays.
INSTRUMENTATIONS_USED = ("azure_sdk", "httpx", "requests")
_INSTRUMENTATIONS_OFF = ("django", "fastapi", "flask", "psycopg2", "urllib", "urllib3", "httpx2")


def configure_azure_monitor(connection_string: str | None, credential: Any = None) -> bool:
    """Switch on the Azure Monitor OpenTelemetry distro when a connection string is set; it signs in with
    credential (the app's managed identity: Application Insights takes Entra-authenticated telemetry only).

    Runs at the first invocation (shared.runtime), never at import: indexing does not wait for it."""
    if not connection_string:
        return False
    from azure.monitor.opentelemetry import (
        configure_azure_monitor as _configure,
    )  # heavy SDK: loaded on first use (cold start)

    _configure(
        connection_string=connection_string,
        credential=credential,
        logger_name="tradeops",
        instrumentation_options={
            **{name: {"enabled": True} for name in INSTRUMENTATIONS_USED},
            **{name: {"enabled": False} for name in _INSTRUMENTATIONS_OFF},
        },
    )
    return True


@contextmanager
def invocation(function: str, request_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Bind the function name and request id to every log line inside, and time the invocation."""
    tokens = [function_var.set(function)]
    if request_id:
        tokens.append(request_id_var.set(request_id))
    tenant_token = tenant_id_var.set(None)
    state: dict[str, Any] = {"started": time.perf_counter()}
    try:
        yield state
    finally:
        state["duration_ms"] = round((time.perf_counter() - state["started"]) * 1000, 2)
        tenant_id_var.reset(tenant_token)
        for token in reversed(tokens):
            token.var.reset(token)
