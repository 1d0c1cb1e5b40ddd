"""A loopback Anthropic Messages API that the real `anthropic` SDK talks to (built from the published API
reference: POST /v1/messages, the key as `x-api-key` (or a Bearer token, as SDK 2.x sends it) and
`anthropic-version`, a `request-id` on every answer).

- 200: a Message {id "msg_…", type "message", role "assistant", model, content [{type "tool_use", id "toolu_…",
  name, input}], stop_reason "tool_use", stop_sequence null, usage {input_tokens, output_tokens}}. The tool
  input comes from `responder(request_body)` (tests decide what the "model" sees).
- Errors answer {type "error", error {type, message}, request_id}: 401 authentication_error for a wrong key,
  400 invalid_request_error for a request without model/max_tokens/messages or a tool_choice naming no tool.
- Knobs, consumed in order by the next requests: `plan("rate_limited", retry_after=2)` (429 rate_limit_error
  with `retry-after`), `plan("overloaded", retry_after=1)` (529 overloaded_error), `plan("spend_limit")` (429
  rate_limit_error with error.details.error_code "enforced_spend_limit_reached", no retry-after),
  `plan("malformed")` (a tool_use whose input does not match the tool's schema).
- `requests` records every request body with its headers.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from typing import Any

from devhost.sms import JsonHandler, LoopbackServer

API_KEY = "sk-ant-fake-0123456789"


class _Handler(JsonHandler):
    fake: FakeAnthropic

    def do_POST(self) -> None:
        self.fake._answer(self)


class FakeAnthropic(LoopbackServer):
    """The fake Messages API."""

    handler_class = _Handler
    handler_attribute = "fake"

    def __init__(self, responder: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.responder = responder or (lambda body: {"fixtures": []})
        self.requests: list[dict[str, Any]] = []
        self._plans: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def plan(self, kind: str, **options: Any) -> None:
        """Answer a coming request this way (rate_limited, overloaded, spend_limit, malformed)."""
        with self._lock:
            self._plans.append((kind, options))

    def _next_plan(self) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            return self._plans.pop(0) if self._plans else None

    def _answer(self, handler: _Handler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length)
        request_id = "req_" + secrets.token_hex(12)
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(handler, request_id, 400, "invalid_request_error", "the body is not JSON")
        self.requests.append({"path": handler.path, "headers": dict(handler.headers), "body": body})
        if handler.path.split("?")[0] != "/v1/messages":
            return self._error(handler, request_id, 404, "not_found_error", "no such endpoint")
        bearer = (handler.headers.get("authorization") or "").removeprefix("Bearer ")
        if API_KEY not in (handler.headers.get("x-api-key"), bearer):
            return self._error(handler, request_id, 401, "authentication_error", "invalid x-api-key")
        if not handler.headers.get("anthropic-version"):
            return self._error(
                handler, request_id, 400, "invalid_request_error", "anthropic-version: header is required"
            )
        missing = [k for k in ("model", "max_tokens", "messages") if k not in body]
        if missing:
            return self._error(handler, request_id, 400, "invalid_request_error", f"{missing[0]}: Field required")
        tools = {t.get("name") for t in body.get("tools", [])}
        choice = body.get("tool_choice") or {}
        if choice.get("type") == "tool" and choice.get("name") not in tools:
            return self._error(handler, request_id, 400, "invalid_request_error", "tool_choice names no tool")
        plan = self._next_plan()
        if plan is not None and plan[0] != "malformed":
            return self._planned_error(handler, request_id, *plan)
        name = choice.get("name") or (next(iter(tools)) if tools else "tool")
        tool_input = {"fixtures": "not a list"} if plan is not None else self.responder(body)
        message = {
            "id": "msg_" + secrets.token_hex(12),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [
                {"type": "tool_use", "id": "toolu_" + secrets.token_hex(12), "name": name, "input": tool_input}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 1200, "output_tokens": 80},
        }
        self._send(handler, 200, message, request_id)

    def _planned_error(self, handler: _Handler, request_id: str, kind: str, options: dict[str, Any]) -> None:
        headers = {"retry-after": str(options["retry_after"])} if "retry_after" in options else {}
        if kind == "rate_limited":
            self._error(
                handler,
                request_id,
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
                headers,
            )
        elif kind == "overloaded":
            self._error(handler, request_id, 529, "overloaded_error", "Overloaded", headers)
        elif kind == "spend_limit":
            details = {"error_code": "enforced_spend_limit_reached"}
            self._error(
                handler, request_id, 429, "rate_limit_error", "You have reached your monthly spend limit", {}, details
            )
        else:
            raise ValueError(f"unknown plan {kind}")

    def _error(
        self,
        handler: _Handler,
        request_id: str,
        status: int,
        kind: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        error: dict[str, Any] = {"type": kind, "message": message}
        if details:
            error["details"] = details
        self._send(handler, status, {"type": "error", "error": error, "request_id": request_id}, request_id, headers)

    @staticmethod
    def _send(
        handler: _Handler, status: int, body: dict[str, Any], request_id: str, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("request-id", request_id)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
