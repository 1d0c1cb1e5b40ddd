"""A loopback ElevenLabs API that the real `elevenlabs` SDK talks to, built from the published API reference:
`GET /v1/convai/conversation/get-signed-url?agent_id=…` with the key in `xi-api-key`.

- 200: `{"signed_url": "wss://…/v1/convai/conversation?agent_id=…&conversation_signature=…"}` (the signature
  is good for 15 minutes there) with a `request-id` header.
- 401 `{"detail": {"status": "invalid_api_key", "message": …}}` for a missing or wrong key; 404
  `{"detail": {"status": "agent_not_found", …}}` for an agent this account has not; 422 FastAPI's
  `{"detail": [{"loc": ["query", "agent_id"], "msg": "field required", "type": "missing"}]}` without agent_id.
- Knobs, consumed in order by the next requests: `plan(429, retry_after="2")` (`too_many_concurrent_requests`
  with `retry-after`), `plan(500)`, `plan(503)`.
- `requests` records every request's path, query and headers.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any
from urllib.parse import parse_qs, urlparse

from devhost.sms import JsonHandler, LoopbackServer

API_KEY = "xi-fake-0123456789abcdef"
AGENT_ID = "agent_0123456789abcdefghijklmn"


class _Handler(JsonHandler):
    fake: FakeElevenLabs

    def do_GET(self) -> None:
        self.fake.answer(self)


class FakeElevenLabs(LoopbackServer):
    """The fake signed-URL endpoint."""

    handler_class = _Handler
    handler_attribute = "fake"

    def __init__(self, *, api_key: str = API_KEY, agents: tuple[str, ...] = (AGENT_ID,)) -> None:
        self.api_key = api_key
        self.agents = set(agents)
        self.requests: list[dict[str, Any]] = []
        self._plans: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()

    def plan(self, status: int, *, retry_after: str | None = None) -> None:
        """Answer the next request with this error status (429 carries retry-after when given)."""
        with self._lock:
            self._plans.append((status, {"retry-after": retry_after} if retry_after else {}))

    def answer(self, handler: _Handler) -> None:
        url = urlparse(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self._lock:
            self.requests.append({"path": url.path, "query": query, "headers": dict(handler.headers.items())})
            planned = self._plans.pop(0) if self._plans else None
        request_id = f"req_{secrets.token_hex(8)}"
        if url.path != "/v1/convai/conversation/get-signed-url":
            self._send(handler, 404, {"detail": {"status": "not_found", "message": "Not Found"}}, request_id)
            return
        if handler.headers.get("xi-api-key") != self.api_key:
            body = {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
            self._send(handler, 401, body, request_id)
            return
        if planned is not None:
            status, headers = planned
            status_name = "too_many_concurrent_requests" if status == 429 else "internal_server_error"
            self._send(
                handler, status, {"detail": {"status": status_name, "message": "Try again"}}, request_id, headers
            )
            return
        agent_id = query.get("agent_id")
        if not agent_id:
            body = {"detail": [{"loc": ["query", "agent_id"], "msg": "field required", "type": "missing"}]}
            self._send(handler, 422, body, request_id)
            return
        if agent_id not in self.agents:
            self._send(
                handler, 404, {"detail": {"status": "agent_not_found", "message": "Agent not found"}}, request_id
            )
            return
        signed = (
            f"wss://api.elevenlabs.io/v1/convai/conversation?agent_id={agent_id}"
            f"&conversation_signature=cvtkn_{secrets.token_hex(16)}"
        )
        self._send(handler, 200, {"signed_url": signed}, request_id)

    @staticmethod
    def _send(
        handler: _Handler, status: int, body: dict[str, Any], request_id: str, headers: dict[str, str] | None = None
    ) -> None:
        import json

        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("request-id", request_id)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
