"""Claude's vision through the `anthropic` SDK (POST /v1/messages): one image and one tool the model must call.

The caller renders the image itself (so coordinates in it mean something to the caller) and gives the tool's
input schema; `tool_choice` forces the call and the tool's input comes back as a dict. ANTHROPIC_BASE_URL
points the real client at a loopback fake in tests. The SDK's own retries are off: we retry 429 and 529 (and
other 5xx) ourselves, waiting what `retry-after` says, so the wait is ours to honour and log; a spend-limit
error (429 with `enforced_spend_limit_reached`, or a 400 about spend limits) is never retried. Every call's
`request-id` is logged. With no ANTHROPIC_API_KEY there is no client: `vision()` answers None and callers
report the work as needing vision rather than returning nothing.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared import lazy
from shared.providers import backoff, retry_wait

if TYPE_CHECKING:
    from shared.config import get_settings
else:  # loaded on first use: the bids triggers import VisionError at indexing, which needs no settings
    get_settings = lazy.function("shared.config", "get_settings")

log = logging.getLogger(__name__)
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504, 529})
_lock = threading.Lock()
_instance: dict[str, Any] = {}


class VisionError(Exception):
    """The call did not give a usable answer: `transient` says whether trying again later may work."""

    def __init__(self, *, code: str, detail: str, transient: bool, request_id: str | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail[:500]
        self.transient = transient
        self.request_id = request_id


@dataclass(frozen=True)
class ToolCall:
    """The tool input the model sent, the request id of the call that produced it, and how many attempts it took."""

    input: dict[str, Any]
    request_id: str | None
    attempts: int


def _error_body(exc: Any) -> dict[str, Any]:
    body = getattr(exc, "body", None)
    return body if isinstance(body, dict) else {}


def is_spend_limit(status: int, body: dict[str, Any]) -> bool:
    """A spend-limit refusal: waiting will not fix it (until the limit is raised or the month turns)."""
    error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
    details: dict[str, Any] = error["details"] if isinstance(error.get("details"), dict) else {}
    if details.get("error_code") == "enforced_spend_limit_reached":
        return True
    return status == 400 and "spend limit" in str(error.get("message", "")).lower()


class AnthropicVision:
    """A Messages API client that sends one image and forces one tool call."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = 120,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import anthropic

        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)
        self._anthropic = anthropic
        self.model = model
        self.max_attempts = max_attempts
        self.sleep = sleep

    def call_tool(self, *, image_png: bytes, prompt: str, tool: dict[str, Any], max_tokens: int = 4096) -> ToolCall:
        """Send the image with the prompt, force `tool`, and return its input (retrying what may pass)."""
        content = [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(image_png).decode()},
            },
            {"type": "text", "text": prompt},
        ]
        for attempt in range(1, self.max_attempts + 1):
            try:
                raw = self._client.messages.with_raw_response.create(
                    model=self.model,
                    max_tokens=max_tokens,
                    tools=[tool],  # type: ignore[list-item]
                    tool_choice={"type": "tool", "name": tool["name"]},
                    messages=[{"role": "user", "content": content}],  # type: ignore[list-item, typeddict-item]
                )
            except self._anthropic.APIStatusError as exc:
                self._wait_or_raise(exc, attempt)
                continue
            except self._anthropic.APIConnectionError as exc:
                if attempt == self.max_attempts:
                    raise VisionError(code="connection", detail=str(exc), transient=True) from exc
                self.sleep(backoff(attempt))
                continue
            request_id = raw.headers.get("request-id")
            message = raw.parse()
            log.info("anthropic messages call %s: %s", request_id, message.stop_reason)
            return ToolCall(
                input=self._tool_input(message, tool["name"], request_id), request_id=request_id, attempts=attempt
            )
        raise VisionError(code="exhausted", detail="no answer after retries", transient=True)  # pragma: no cover

    def _wait_or_raise(self, exc: Any, attempt: int) -> None:
        status = int(exc.status_code)
        request_id = exc.response.headers.get("request-id") if exc.response is not None else None
        body = _error_body(exc)
        kind = (body.get("error") or {}).get("type", "error") if isinstance(body.get("error"), dict) else "error"
        log.warning("anthropic messages call %s failed: %s %s", request_id, status, kind)
        if is_spend_limit(status, body):
            raise VisionError(code="spend_limit", detail=str(exc), transient=False, request_id=request_id) from exc
        if status not in RETRIED_STATUSES:
            raise VisionError(code=kind, detail=str(exc), transient=False, request_id=request_id) from exc
        if attempt == self.max_attempts:
            raise VisionError(code=kind, detail=str(exc), transient=True, request_id=request_id) from exc
        value = exc.response.headers.get("retry-after") if exc.response is not None else None
        self.sleep(retry_wait(value, attempt, longest=300.0))

    @staticmethod
    def _tool_input(message: Any, name: str, request_id: str | None) -> dict[str, Any]:
        for block in message.content:
            if getattr(block, "type", None) == "tool_use" and block.name == name and isinstance(block.input, dict):
                return dict(block.input)
        raise VisionError(
            code="no_tool_use", detail="the answer has no call of the tool", transient=True, request_id=request_id
        )


def vision() -> AnthropicVision | None:
    """The configured client, or None without ANTHROPIC_API_KEY (the local provider: vision is off)."""
    settings = get_settings()
    if not settings.anthropic_api_key:
        return None
    key = (settings.anthropic_api_key, settings.anthropic_base_url, settings.bids_vision_model)
    with _lock:
        if _instance.get("key") != key:
            _instance.update(
                key=key,
                client=AnthropicVision(
                    api_key=settings.anthropic_api_key,
                    model=settings.bids_vision_model,
                    base_url=settings.anthropic_base_url or None,
                    timeout=settings.anthropic_timeout_seconds,
                    max_attempts=settings.anthropic_max_attempts,
                ),
            )
        return _instance["client"]
