"""The voice agent's local stand-in, for `make dev` without an ElevenLabs key: a typed transcript becomes the
signed post-call webhook ElevenLabs would send, so the same drafts come through the same parser.

With no ELEVENLABS_API_KEY the app answers a voice session with this server's page (ELEVENLABS_BASE_URL points
here): `GET /local/conversation?agent_id=…&tradeops_session=…` shows a form; posting it (a form, or JSON
`{"tradeops_session": …, "transcript": "user: …\\nagent: …"}` or `{"tradeops_session": …, "turns": [{"role",
"message", "time_in_call_secs"}]}`) builds a `post_call_transcription` payload in ElevenLabs' shape (type,
event_timestamp, data with agent_id, conversation_id, status, transcript turns, metadata, analysis and the
conversation's dynamic variables), signs it (`ElevenLabs-Signature: t=…,v0=HMAC-SHA256("{t}.{body}")`) with the
webhook secret and posts it to the app's `/api/webhooks/elevenlabs/post-call`, then answers what the app said.
Lines of a typed transcript may start with "agent:" or "user:" (the estimator, the default).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, urlparse

import httpx

from devhost.sms import JsonHandler, LoopbackServer

DEV_WEBHOOK_SECRET = "dev-elevenlabs-webhook-secret-0123456789"
DEV_TOOL_SECRET = "dev-elevenlabs-tool-secret-0123456789"
SESSION_VARIABLE = "tradeops_session"
POST_CALL_PATH = "/api/webhooks/elevenlabs/post-call"
SECONDS_PER_TURN = 6


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ElevenLabs-Signature header of body."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v0={digest}"


def turns_from_text(transcript: str) -> list[dict[str, Any]]:
    """A typed transcript as transcript turns: one per line, "agent:" or "user:" (default) first."""
    turns = []
    for line in (line.strip() for line in transcript.splitlines()):
        if not line:
            continue
        role, _, rest = line.partition(":")
        if role.strip().lower() in ("agent", "user") and rest:
            role, message = role.strip().lower(), rest.strip()
        else:
            role, message = "user", line
        turns.append({"role": role, "message": message, "time_in_call_secs": len(turns) * SECONDS_PER_TURN})
    return turns


def post_call_payload(
    *, agent_id: str, session_id: str, turns: list[dict[str, Any]], conversation_id: str | None = None
) -> dict[str, Any]:
    """A post_call_transcription webhook body for these turns, in ElevenLabs' published shape."""
    now = int(time.time())
    duration = max((int(t.get("time_in_call_secs") or 0) for t in turns), default=0) + SECONDS_PER_TURN
    transcript = [
        {
            "role": t["role"],
            "message": t["message"],
            "tool_calls": [],
            "tool_results": [],
            "feedback": None,
            "time_in_call_secs": int(t.get("time_in_call_secs") or 0),
            "conversation_turn_metrics": None,
        }
        for t in turns
    ]
    return {
        "type": "post_call_transcription",
        "event_timestamp": now,
        "data": {
            "agent_id": agent_id,
            "conversation_id": conversation_id or f"conv_{secrets.token_hex(10)}",
            "status": "done",
            "user_id": None,
            "transcript": transcript,
            "metadata": {"start_time_unix_secs": now - duration, "call_duration_secs": duration, "cost": 0},
            "analysis": {
                "evaluation_criteria_results": {},
                "data_collection_results": {},
                "call_successful": "success",
                "transcript_summary": "",
            },
            "conversation_initiation_client_data": {
                "conversation_config_override": {},
                "custom_llm_extra_body": {},
                "dynamic_variables": {SESSION_VARIABLE: session_id},
            },
            "has_audio": False,
            "has_user_audio": False,
            "has_response_audio": False,
        },
    }


PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Local voice agent</title></head><body style="font-family:sans-serif;max-width:40rem;margin:1rem auto">
<h1>Local voice agent</h1><p>No ElevenLabs key is set: type what you would say, one line per turn
("agent:" lines are the agent's). It is posted to the app as a signed post-call webhook.</p>
<form method="post" action="/local/conversation"><input type="hidden" name="tradeops_session" value="{session}">
<input type="hidden" name="agent_id" value="{agent}"><textarea name="transcript" rows="12" style="width:100%">
Living room, twelve by fourteen, eight foot ceilings, walls two coats, one door, two windows</textarea>
<p><button type="submit">End call</button></p></form></body></html>"""


class _AgentHandler(JsonHandler):
    standin: AgentStandIn

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path != "/local/conversation":
            self.send_json(404, {"detail": {"status": "not_found", "message": "No such page"}})
            return
        query = dict(parse_qsl(url.query))
        page = PAGE.format(
            session=html.escape(query.get(SESSION_VARIABLE, "")), agent=html.escape(query.get("agent_id", ""))
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def do_POST(self) -> None:
        if urlparse(self.path).path != "/local/conversation":
            self.send_json(404, {"detail": {"status": "not_found", "message": "No such page"}})
            return
        data = self.rfile.read(int(self.headers.get("content-length") or 0))
        if (self.headers.get("content-type") or "").startswith("application/json"):
            form: dict[str, Any] = json.loads(data or b"{}")
        else:
            form = dict(parse_qsl(data.decode("utf-8", "replace")))
        turns = form.get("turns") or turns_from_text(str(form.get("transcript") or ""))
        status, answer, conversation_id = self.standin.end_call(
            session_id=str(form.get(SESSION_VARIABLE) or ""), agent_id=str(form.get("agent_id") or ""), turns=turns
        )
        self.send_json(200, {"conversation_id": conversation_id, "webhook_status": status, "webhook_answer": answer})


class AgentStandIn(LoopbackServer):
    """The local voice agent: serves the conversation page and posts signed post-call webhooks to `app_url`."""

    handler_class = _AgentHandler
    handler_attribute = "standin"

    def __init__(self, *, webhook_secret: str = DEV_WEBHOOK_SECRET, app_url: str = "") -> None:
        self.webhook_secret = webhook_secret
        self.app_url = app_url.rstrip("/")
        self.sent: list[dict[str, Any]] = []

    def end_call(self, *, session_id: str, agent_id: str, turns: list[dict[str, Any]]) -> tuple[int, Any, str]:
        """Post the call's signed webhook to the app: (its status, its answer, the conversation id)."""
        payload = post_call_payload(agent_id=agent_id or "local-agent", session_id=session_id, turns=turns)
        body = json.dumps(payload).encode()
        response = httpx.post(
            self.app_url + POST_CALL_PATH,
            content=body,
            headers={"content-type": "application/json", "elevenlabs-signature": sign(self.webhook_secret, body)},
            timeout=30,
        )
        self.sent.append(payload)
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text
        return response.status_code, answer, payload["data"]["conversation_id"]

    def env(self) -> dict[str, str]:
        """The app's settings that make it use this stand-in."""
        return {"ELEVENLABS_BASE_URL": self.base_url, "ELEVENLABS_WEBHOOK_SECRET": self.webhook_secret}
