"""A loopback Gemini API (`models.generateContent`) that the real `google-genai` SDK talks to, built from Google's
published REST reference (ai.google.dev/api/generate-content) and its error model (google.rpc.Status):

- `POST /v1beta/models/{model}:generateContent` (and `/v1/...`), the key in `x-goog-api-key` (or `?key=`). A
  request body is `{contents: [{role?, parts: [{text} | {inlineData: {mimeType, data (base64)}}]}],
  generationConfig?: {responseModalities?: [TEXT|IMAGE|AUDIO], imageConfig?, ...}, safetySettings?, ...}`; as
  proto3's JSON mapping says, a field may also come by its proto name (`inline_data`, `mime_type`), and
  bytes in standard or URL-safe base64.
- 200 is a GenerateContentResponse: `{candidates: [{content: {role "model", parts: [{text}, {inlineData:
  {mimeType "image/png", data}, thoughtSignature}]}, finishReason "STOP", index 0}], usageMetadata
  {promptTokenCount, candidatesTokenCount, totalTokenCount, promptTokensDetails, candidatesTokensDetails},
  modelVersion, responseId}`. The image is real: the request's first inline image decoded with Pillow and
  inverted (`expected_image(...)` makes the same bytes for a test), PNG out. Without IMAGE in
  `responseModalities` (or without an image in the request) the answer is text only.
- Errors are `{error: {code, message, status, details: [...]}}`: a wrong key is 400 INVALID_ARGUMENT with an
  ErrorInfo `API_KEY_INVALID` (what Google answers), no key 403 PERMISSION_DENIED, a malformed body 400
  INVALID_ARGUMENT, another path 404 NOT_FOUND, a model outside `models` (when set) 404 NOT_FOUND.
- Knobs, consumed in order by the next generateContent requests (`times=` repeats one):
  `plan("text_only", text=...)` (a text part only, finishReason STOP), `plan("prompt_blocked", reason="SAFETY")`
  (no candidates, `promptFeedback.blockReason`), `plan("image_safety", reason="IMAGE_SAFETY")` (a candidate
  with no content, that finishReason and its safetyRatings), `plan("rate_limited", retry_after=2,
  retry_delay="3s")` (429 RESOURCE_EXHAUSTED with a QuotaFailure, a `Retry-After` header and/or a RetryInfo
  detail), `plan("server", code=500 | 503)` (INTERNAL / UNAVAILABLE), `plan("thinking")` (a thought text and
  an interim thought image before the final image, as Gemini 3 Pro Image answers), `plan("no_usage")` (the
  image without usageMetadata).
- `requests` records every request (path, query, headers and body), `answers` every 200 body.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import secrets
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devhost.sms import JsonHandler, LoopbackServer

API_KEY = "fake-gemini-key-0123456789"  # not shaped like a real key (AIza...), so no scanner mistakes it
PATH = re.compile(r"^/(v1beta|v1)/models/([A-Za-z0-9._-]+):generateContent$")
MODALITIES = frozenset({"TEXT", "IMAGE", "AUDIO"})
IMAGE_TOKENS = 1120  # what Gemini 3 Pro Image bills per 1K/2K output image
ANSWER_TEXT = "Here is the room with the walls in the colour you asked for."


def expected_image(data: bytes) -> bytes:
    """What the fake's "model" answers for an input image: the image inverted, as PNG."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as source:
        inverted = ImageOps.invert(source.convert("RGB"))
    out = io.BytesIO()
    inverted.save(out, format="PNG")
    return out.getvalue()


def _grey(data: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as source:
        grey = source.convert("L")
    out = io.BytesIO()
    grey.save(out, format="PNG")
    return out.getvalue()


class _Handler(JsonHandler):
    fake: FakeGemini

    def do_POST(self) -> None:
        self.fake._answer(self)

    def do_GET(self) -> None:
        self.fake._not_found(self)


class FakeGemini(LoopbackServer):
    """The fake Gemini API (generateContent only)."""

    handler_class = _Handler
    handler_attribute = "fake"

    def __init__(self, *, api_key: str = API_KEY, models: set[str] | None = None) -> None:
        self.api_key = api_key
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        self._plans: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def plan(self, kind: str, *, times: int = 1, **options: Any) -> None:
        """Answer the next `times` generateContent requests this way (see the module's docstring)."""
        known = {"text_only", "prompt_blocked", "image_safety", "rate_limited", "server", "thinking", "no_usage"}
        if kind not in known:
            raise ValueError(f"unknown plan {kind}")
        with self._lock:
            self._plans.extend([(kind, options)] * times)

    def _next_plan(self) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            return self._plans.pop(0) if self._plans else None

    # --- the endpoint ---

    def _answer(self, handler: _Handler) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length)
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.requests.append({"path": url.path, "query": query, "headers": dict(handler.headers), "body": body})
        match = PATH.match(url.path)
        if match is None:
            return self._not_found(handler)
        key = handler.headers.get("x-goog-api-key") or query.get("key")
        if not key:
            return self._error(
                handler,
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
            )
        if not secrets.compare_digest(key, self.api_key):
            return self._error(
                handler,
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ],
            )
        model = match.group(2)
        if self.models is not None and model not in self.models:
            return self._error(
                handler,
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version {match.group(1)}, "
                "or is not supported for generateContent. Call ListModels to see the list of available models "
                "and their supported methods.",
            )
        if not isinstance(body, dict):
            return self._error(handler, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        problem, images, prompt_chars = self._read_contents(body)
        if problem:
            return self._error(handler, 400, "INVALID_ARGUMENT", problem)
        config = _field(body, "generationConfig") or {}
        modalities = _field(config, "responseModalities") or ["TEXT"]
        if not isinstance(modalities, list) or not set(modalities) <= MODALITIES:
            return self._error(
                handler,
                400,
                "INVALID_ARGUMENT",
                f"Invalid value at 'generation_config.response_modalities': {modalities!r}",
            )
        plan = self._next_plan()
        if plan is not None and plan[0] in ("rate_limited", "server"):
            return self._planned_error(handler, model, *plan)
        answer = self._generate(model, images, prompt_chars, modalities, plan)
        self.answers.append(answer)
        self._send(handler, 200, answer)

    @staticmethod
    def _read_contents(body: dict[str, Any]) -> tuple[str | None, list[bytes], int]:
        """(a problem to answer 400 with, the decoded inline images, the prompt's characters)."""
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return "* GenerateContentRequest.contents: contents is not specified", [], 0
        images: list[bytes] = []
        chars = 0
        for i, content in enumerate(contents):
            parts = content.get("parts") if isinstance(content, dict) else None
            if not isinstance(parts, list) or not parts:
                return f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.", [], 0
            for j, part in enumerate(parts):
                if not isinstance(part, dict) or not part:
                    return (
                        f"* GenerateContentRequest.contents[{i}].parts[{j}].data: required oneof field 'data' "
                        "must have one initialized field",
                        [],
                        0,
                    )
                if "text" in part:
                    chars += len(str(part["text"]))
                    continue
                blob = _field(part, "inlineData")
                if not isinstance(blob, dict) or not _field(blob, "mimeType") or "data" not in blob:
                    return f"Invalid value at 'contents[{i}].parts[{j}]': an inlineData needs mimeType and data", [], 0
                try:
                    data = _decode_bytes(blob["data"])
                except (binascii.Error, ValueError, TypeError):
                    return (
                        f"Invalid value at 'contents[{i}].parts[{j}].inline_data.data' (TYPE_BYTES), "
                        "Base64 decoding failed",
                        [],
                        0,
                    )
                if str(_field(blob, "mimeType")).startswith("image/"):
                    images.append(data)
        return None, images, chars

    def _generate(
        self,
        model: str,
        images: list[bytes],
        prompt_chars: int,
        modalities: list[str],
        plan: tuple[str, dict[str, Any]] | None,
    ) -> dict[str, Any]:
        kind, options = plan if plan is not None else ("", {})
        answer: dict[str, Any] = {"modelVersion": model, "responseId": secrets.token_urlsafe(16)}
        prompt_tokens = max(1, prompt_chars // 4)
        image_prompt_tokens = 560 * len(images)
        usage: dict[str, Any] = {
            "promptTokenCount": prompt_tokens + image_prompt_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]
            + ([{"modality": "IMAGE", "tokenCount": image_prompt_tokens}] if images else []),
        }
        if kind == "prompt_blocked":
            answer["promptFeedback"] = {
                "blockReason": options.get("reason", "SAFETY"),
                "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}],
            }
            usage["totalTokenCount"] = usage["promptTokenCount"]
            answer["usageMetadata"] = usage
            return answer
        if kind == "image_safety":
            reason = options.get("reason", "IMAGE_SAFETY")
            answer["candidates"] = [
                {
                    "finishReason": reason,
                    "safetyRatings": [{"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "MEDIUM"}],
                    "index": 0,
                }
            ]
            usage["totalTokenCount"] = usage["promptTokenCount"]
            answer["usageMetadata"] = usage
            return answer
        parts: list[dict[str, Any]] = []
        candidate_tokens = 0
        thought_tokens = 0
        text_only = kind == "text_only" or "IMAGE" not in modalities or not images
        if kind == "thinking" and images:
            parts.append({"text": "**Planning the recolour**\nKeep the furniture; change the walls.", "thought": True})
            parts.append({"inlineData": {"mimeType": "image/png", "data": _b64(_grey(images[0]))}, "thought": True})
            thought_tokens = 200 + IMAGE_TOKENS
        if text_only:
            text = options.get("text") or (
                "I can describe the colour, but I cannot edit this image." if images else "Please send an image."
            )
            parts.append({"text": text})
            candidate_tokens = max(1, len(text) // 4)
            details = [{"modality": "TEXT", "tokenCount": candidate_tokens}]
        else:
            if "TEXT" in modalities:
                parts.append({"text": ANSWER_TEXT})
                candidate_tokens += len(ANSWER_TEXT) // 4
            parts.append(
                {
                    "inlineData": {"mimeType": "image/png", "data": _b64(expected_image(images[0]))},
                    "thoughtSignature": _b64(secrets.token_bytes(24)),
                }
            )
            candidate_tokens += IMAGE_TOKENS
            details = [{"modality": "IMAGE", "tokenCount": IMAGE_TOKENS}]
        answer["candidates"] = [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}]
        usage.update(
            candidatesTokenCount=candidate_tokens,
            candidatesTokensDetails=details,
            totalTokenCount=usage["promptTokenCount"] + candidate_tokens + thought_tokens,
        )
        if thought_tokens:
            usage["thoughtsTokenCount"] = thought_tokens
        if kind != "no_usage":
            answer["usageMetadata"] = usage
        return answer

    def _planned_error(self, handler: _Handler, model: str, kind: str, options: dict[str, Any]) -> None:
        if kind == "rate_limited":
            headers = {"Retry-After": str(options["retry_after"])} if "retry_after" in options else {}
            details: list[dict[str, Any]] = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [
                        {
                            "quotaMetric": "generativelanguage.googleapis.com/generate_content_paid_tier_requests",
                            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel",
                            "quotaDimensions": {"model": model, "location": "global"},
                            "quotaValue": "20",
                        }
                    ],
                },
                {
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [
                        {
                            "description": "Learn more about Gemini API quotas",
                            "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                        }
                    ],
                },
            ]
            if "retry_delay" in options:
                details.append(
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": options["retry_delay"]}
                )
            message = "You exceeded your current quota, please check your plan and billing details."
            return self._error(handler, 429, "RESOURCE_EXHAUSTED", message, details, headers)
        code = int(options.get("code", 500))
        if code == 503:
            return self._error(handler, 503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        self._error(
            handler,
            code,
            "INTERNAL",
            "An internal error has occurred. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting",
        )

    def _not_found(self, handler: _Handler) -> None:
        self._error(handler, 404, "NOT_FOUND", "The requested URL was not found on this server.")

    def _error(
        self,
        handler: _Handler,
        code: int,
        status: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        error: dict[str, Any] = {"code": code, "message": message, "status": status}
        if details:
            error["details"] = details
        self._send(handler, code, {"error": error}, headers)

    @staticmethod
    def _send(handler: _Handler, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Vary", "Origin, X-Origin, Referer")
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


def _field(message: dict[str, Any], name: str) -> Any:
    """A field by its JSON name or its proto name: proto3's JSON mapping accepts both (the SDK sends some of each)."""
    if name in message:
        return message[name]
    return message.get(re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name))


def _decode_bytes(value: Any) -> bytes:
    """proto3 JSON `bytes`: standard or URL-safe base64, with or without padding (the SDK sends URL-safe)."""
    text = str(value).translate(str.maketrans("-_", "+/"))
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
