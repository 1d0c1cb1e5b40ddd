"""The ElevenLabs Agents Platform through the `elevenlabs` SDK: a signed URL for one browser conversation.

`GET /v1/convai/conversation/get-signed-url?agent_id=…` with the `xi-api-key` header answers
`{"signed_url": "wss://…"}`, good for 15 minutes; the PWA opens the conversation with it, so the API key never
reaches the browser. ELEVENLABS_BASE_URL points the SDK at a loopback fake in tests and at the dev host's
stand-in under `make dev`. The SDK's own retries are off: we retry 429 and 5xx ourselves, waiting what
`retry-after` says, and log every call's request id. With no ELEVENLABS_API_KEY there is no client: `agents()`
answers None and the caller uses the local provider (`local_conversation_url`), the dev host's typed-transcript
page, which posts the same signed post-call webhook ElevenLabs would.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from shared.config import get_settings
from shared.providers import backoff, retry_wait

log = logging.getLogger(__name__)
DEFAULT_BASE_URL = "https://api.elevenlabs.io"
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# Where the local provider's conversation page answers, under ELEVENLABS_BASE_URL (devhost/elevenlabs.py).
LOCAL_CONVERSATION_PATH = "/local/conversation"
_lock = threading.Lock()
_instance: dict[str, Any] = {}


class AgentError(Exception):
    """ElevenLabs gave no signed URL: `transient` says whether trying again later may work."""

    def __init__(self, *, code: str, detail: str, transient: bool, request_id: str | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail[:500]
        self.transient = transient
        self.request_id = request_id


@dataclass(frozen=True)
class SignedUrl:
    """The conversation URL for the browser, the request id of the call that made it, and its attempts."""

    url: str
    request_id: str | None
    attempts: int


def base_url() -> str:
    """ELEVENLABS_BASE_URL, or ElevenLabs' own when it is empty."""
    return (get_settings().elevenlabs_base_url or DEFAULT_BASE_URL).rstrip("/")


def _request_id(headers: Any) -> str | None:
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in dict(headers).items()}
    return lowered.get("request-id") or lowered.get("x-request-id")


class ElevenLabsAgents:
    """An ElevenLabs client that asks for signed conversation URLs."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout: float = 10,
        max_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from elevenlabs import ElevenLabs  # heavy SDK: loaded on first use (cold start)
        from elevenlabs.core.api_error import ApiError

        self._client = ElevenLabs(api_key=api_key, base_url=base_url, timeout=timeout)
        self._api_error = ApiError
        self.max_attempts = max_attempts
        self.sleep = sleep

    def signed_url(self, *, agent_id: str) -> SignedUrl:
        """A signed URL for one conversation with the agent (retrying 429 and 5xx)."""
        import httpx

        conversations = self._client.conversational_ai.conversations
        for attempt in range(1, self.max_attempts + 1):
            try:
                raw = conversations.with_raw_response.get_signed_url(
                    agent_id=agent_id, request_options={"max_retries": 0}
                )
            except self._api_error as exc:
                self._wait_or_raise(exc, attempt)
                continue
            except httpx.TransportError as exc:
                if attempt == self.max_attempts:
                    raise AgentError(code="connection", detail=str(exc), transient=True) from exc
                self.sleep(backoff(attempt))
                continue
            request_id = _request_id(raw.headers)
            log.info("elevenlabs signed url %s after %d attempt(s)", request_id, attempt)
            return SignedUrl(url=raw.data.signed_url, request_id=request_id, attempts=attempt)
        raise AgentError(code="exhausted", detail="no answer after retries", transient=True)  # pragma: no cover

    def _wait_or_raise(self, exc: Any, attempt: int) -> None:
        status = int(exc.status_code or 0)
        request_id = _request_id(exc.headers)
        log.warning("elevenlabs signed url %s failed: %s", request_id, status)
        if status not in RETRIED_STATUSES:
            code = "unauthorized" if status == 401 else f"http_{status}"
            raise AgentError(code=code, detail=str(exc.body), transient=False, request_id=request_id) from exc
        if attempt == self.max_attempts:
            raise AgentError(code=f"http_{status}", detail=str(exc.body), transient=True, request_id=request_id)
        lowered = {str(k).lower(): v for k, v in dict(exc.headers or {}).items()}
        self.sleep(retry_wait(lowered.get("retry-after"), attempt, longest=60.0))


def agents() -> ElevenLabsAgents | None:
    """The configured client, or None without ELEVENLABS_API_KEY (then the local provider answers)."""
    settings = get_settings()
    if not settings.elevenlabs_api_key:
        return None
    key = (settings.elevenlabs_api_key, base_url())
    with _lock:
        if _instance.get("key") != key:
            _instance.update(key=key, client=ElevenLabsAgents(api_key=settings.elevenlabs_api_key, base_url=base_url()))
        return _instance["client"]


def local_conversation_url(*, agent_id: str, session_id: str) -> str:
    """The local provider's conversation page for one voice session (a transcript typed there is signed and
    posted to our post-call webhook, as ElevenLabs would)."""
    query = urlencode({"agent_id": agent_id or "local-agent", "tradeops_session": session_id})
    return f"{base_url()}{LOCAL_CONVERSATION_PATH}?{query}"
