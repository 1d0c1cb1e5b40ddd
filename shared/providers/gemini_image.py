"""Gemini image editing through the `google-genai` SDK (models.generateContent with an image in, an image out).

One call sends the photo (`Part.from_bytes`) and the prompt with `responseModalities` TEXT and IMAGE (the
default Gemini 3 Pro Image documents for editing; the text lets the model say why it made no image) and takes
the first inline image of `candidates[0].content.parts`, skipping the model's thought parts (Gemini 3 Pro
Image may show interim images while it thinks). The answers that carry no usable image are errors with a
code the preview pipeline records as a failed status: a text-only answer is `no_image` (the text kept,
truncated), a blocked prompt (`promptFeedback.blockReason`) or a candidate stopped for SAFETY, IMAGE_SAFETY,
PROHIBITED_CONTENT and the like is `safety`; neither is worth retrying.

GEMINI_BASE_URL points the real client at a loopback fake in tests (tests/fakes/gemini.py). The SDK's own
retries are off (`HttpRetryOptions(attempts=1)`): we retry 429 and 5xx ourselves, up to GEMINI_MAX_ATTEMPTS,
waiting what `Retry-After` says, else the `google.rpc.RetryInfo` detail of Google's error body, else 2, 4,
8 s; a wait longer than `max_wait` is not slept here but raised at once (`rate_limited`, `retry_after` set)
so the queue can hold the work instead of an instance. After the last attempt a 429 is `rate_limited` and a
5xx `server` (both transient); a connection error or timeout is `connection` (transient); any other 4xx
(a wrong key, a model that does not exist, a malformed request) is `refused`, never retried. Every call's
`responseId` and status are logged. `cost_units` is the call's billed tokens in thousands, rounded up, from
`usageMetadata.totalTokenCount` (1 when the answer has none). Images Gemini makes carry Google's invisible
SynthID watermark.

With no GEMINI_API_KEY there is no client: `gemini()` answers None and callers use the local recolouring
provider. The SDK is imported inside the constructor, never at module top (cold start).
"""

from __future__ import annotations

import importlib
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.config import get_settings
from shared.providers import backoff

log = logging.getLogger(__name__)
# A candidate's finishReason (or a prompt's blockReason) that means a policy stopped the image.
SAFETY_REASONS = frozenset(
    {
        "SAFETY",
        "IMAGE_SAFETY",
        "PROHIBITED_CONTENT",
        "IMAGE_PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
        "JAILBREAK",
    }
)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
_lock = threading.Lock()
_instance: dict[str, Any] = {}


class ImageError(Exception):
    """No usable image came back. `code`: no_image | safety | rate_limited | server | connection | refused.

    `transient` says whether trying again later may work; `retry_after` is the wait the service asked for.
    """

    def __init__(
        self,
        *,
        code: str,
        detail: str,
        transient: bool,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail[:500]
        self.transient = transient
        self.retry_after = retry_after
        self.request_id = request_id


@dataclass(frozen=True)
class EditedImage:
    """The image part of the answer, the model that made it, the call's response id and how many attempts it took."""

    data: bytes
    mime_type: str
    model: str
    request_id: str | None
    attempts: int
    cost_units: int = 1
    model_version: str | None = None
    total_tokens: int | None = None
    text: str | None = None


class GeminiImage:
    """A generateContent client that sends one image with a prompt and returns the image part of the answer."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = 120,
        max_attempts: int = 4,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from google import genai
        from google.genai import errors, types

        self._client = genai.Client(
            enterprise=False,
            api_key=api_key,
            http_options=types.HttpOptions(
                base_url=base_url or None,
                api_version="v1beta",  # where Google documents image output; the SDK's own default is v1
                timeout=int(timeout * 1000),  # milliseconds
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )
        self._types = types
        self._errors = errors
        self._transport_errors = _transport_errors()
        self.model = model
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.sleep = sleep

    def edit(self, *, image: bytes, mime_type: str, prompt: str) -> EditedImage:
        """Send the image and the prompt; the first inline image of the first candidate, or ImageError."""
        types = self._types
        contents: list[Any] = [types.Part.from_bytes(data=image, mime_type=mime_type), prompt]
        config = types.GenerateContentConfig(
            response_modalities=["TEXT", "IMAGE"],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._client.models.generate_content(model=self.model, contents=contents, config=config)
            except self._errors.APIError as exc:
                self._wait_or_raise(exc, attempt)
                continue
            except self._errors.UnknownApiResponseError as exc:  # a 200 whose body is not the JSON we expect
                log.warning("gemini generateContent %s: unreadable answer", self.model)
                if attempt == self.max_attempts:
                    raise ImageError(code="server", detail=str(exc), transient=True) from exc
                self.sleep(backoff(attempt))
                continue
            except self._transport_errors as exc:
                log.warning("gemini generateContent %s: connection failed: %s", self.model, type(exc).__name__)
                if attempt == self.max_attempts:
                    raise ImageError(code="connection", detail=str(exc) or type(exc).__name__, transient=True) from exc
                self.sleep(backoff(attempt))
                continue
            log.info("gemini generateContent %s %s: 200", self.model, response.response_id)
            return self._edited(response, attempt)
        raise ImageError(code="server", detail="no answer after retries", transient=True)  # pragma: no cover

    def _wait_or_raise(self, exc: Any, attempt: int) -> None:
        status = int(exc.code or 0)
        google_status = exc.status or ""
        log.warning("gemini generateContent %s failed: %s %s", self.model, status, google_status)
        detail = f"{status} {google_status}: {exc.message or ''}".strip()
        if status == 429:
            wait = _retry_after(exc)
            if attempt == self.max_attempts or (wait is not None and wait > self.max_wait):
                raise ImageError(code="rate_limited", detail=detail, transient=True, retry_after=wait) from exc
            self.sleep(wait if wait is not None else backoff(attempt))
            return
        if 500 <= status < 600:
            if attempt == self.max_attempts:
                raise ImageError(code="server", detail=detail, transient=True, retry_after=_retry_after(exc)) from exc
            wait = _retry_after(exc)
            self.sleep(min(wait, self.max_wait) if wait is not None else backoff(attempt))
            return
        raise ImageError(code="refused", detail=detail, transient=False) from exc

    def _edited(self, response: Any, attempt: int) -> EditedImage:
        request_id = response.response_id
        feedback = response.prompt_feedback
        block = _name(feedback.block_reason) if feedback is not None else None
        if block and block != "BLOCKED_REASON_UNSPECIFIED":
            message = getattr(feedback, "block_reason_message", None) or ""
            raise ImageError(
                code="safety",
                detail=f"prompt blocked: {block} {message}".strip(),
                transient=False,
                request_id=request_id,
            )
        candidate = response.candidates[0] if response.candidates else None
        finish = _name(candidate.finish_reason) if candidate is not None else None
        if finish in SAFETY_REASONS:
            message = getattr(candidate, "finish_message", None) or ""
            raise ImageError(
                code="safety",
                detail=f"answer stopped: {finish} {message}".strip(),
                transient=False,
                request_id=request_id,
            )
        parts = (candidate.content.parts or []) if candidate is not None and candidate.content is not None else []
        answer = [p for p in parts if not p.thought]
        texts = [p.text for p in answer if p.text]
        for part in answer:
            blob = part.inline_data
            if blob is not None and blob.data and (blob.mime_type or "").startswith("image/"):
                usage = response.usage_metadata
                total = usage.total_token_count if usage is not None else None
                return EditedImage(
                    data=blob.data,
                    mime_type=blob.mime_type or "image/png",
                    model=self.model,
                    request_id=request_id,
                    attempts=attempt,
                    cost_units=max(1, math.ceil(total / 1000)) if total else 1,
                    model_version=response.model_version,
                    total_tokens=total,
                    text=" ".join(texts)[:500] or None,
                )
        said = " ".join(texts).strip()
        detail = f"the answer has text only: {said}" if said else f"the answer has no image (finishReason {finish})"
        raise ImageError(code="no_image", detail=detail, transient=False, request_id=request_id)


def _name(value: Any) -> str | None:
    """An SDK enum's wire name (or the string itself), None when absent."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _retry_after(exc: Any) -> float | None:
    """Seconds the service asked us to wait: the `Retry-After` header, else a RetryInfo detail, else None."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass  # an HTTP date: Google sends seconds; fall through to the body
    body: dict[str, Any] = exc.details if isinstance(getattr(exc, "details", None), dict) else {}
    inner = body.get("error")
    error: dict[str, Any] = inner if isinstance(inner, dict) else body
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The connection and timeout errors of the HTTP library the SDK uses (httpx2 when installed, else httpx)."""
    found: list[type[BaseException]] = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def gemini() -> GeminiImage | None:
    """The configured client, or None without GEMINI_API_KEY (callers use the local recolouring provider)."""
    settings = get_settings()
    if not settings.gemini_api_key:
        return None
    key = (
        settings.gemini_api_key,
        settings.gemini_base_url,
        settings.gemini_image_model,
        settings.gemini_timeout_seconds,
        settings.gemini_max_attempts,
    )
    with _lock:
        if _instance.get("key") != key:
            _instance.update(
                key=key,
                client=GeminiImage(
                    api_key=settings.gemini_api_key,
                    model=settings.gemini_image_model,
                    base_url=settings.gemini_base_url or None,
                    timeout=settings.gemini_timeout_seconds,
                    max_attempts=settings.gemini_max_attempts,
                ),
            )
        return _instance["client"]
