"""Estimates spoken to the voice agent, over HTTP through the dev host with no ElevenLabs key (issue 14's
acceptance): the voice session answers the local agent's page; a transcript describing three rooms posted there
comes back as a signed post-call webhook and, through the queue, as three draft rooms with their quoted words;
confirming them prices the estimate. Forged, tampered and stale webhooks are 403 and change nothing; the same
webhook twice makes one set of drafts; tool calls are authenticated, tied to our session and idempotent.

Webhook signatures here are computed by hand (hmac of "{t}.{body}"), not by the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg
import pytest

from devhost.elevenlabs import AgentStandIn
from tests.builders import Account, register, unique_phone
from tests.conftest import Database, RunningHost, start_host

WEBHOOK_SECRET = "e2e-elevenlabs-webhook-secret-42"
TOOL_SECRET = "e2e-elevenlabs-tool-secret-42"
BOOK = {
    "labour_rate_cents": 6500,
    "products": [
        {"name": "Wall eggshell", "coverage_sqft_per_gallon": "350", "price_per_gallon_cents": 4500},
        {"name": "Ceiling flat", "coverage_sqft_per_gallon": "400", "price_per_gallon_cents": 4000},
        {"name": "Trim semi-gloss", "coverage_sqft_per_gallon": "300", "price_per_gallon_cents": 5500},
    ],
}
THREE_ROOMS = [
    ("agent", "Hi! Which room shall we start with?"),
    ("user", "Living room, twelve by fourteen, eight foot ceilings, walls two coats, one door, two windows."),
    ("agent", "Got it. Next?"),
    ("user", "The kitchen is ten by twelve, no ceiling."),
    ("agent", "And then?"),
    ("user", "Primary bedroom fourteen by sixteen, nine foot ceilings, trim one coat."),
    ("agent", "Thanks, that's everything."),
]


@dataclass
class Env:
    host: RunningHost
    client: httpx.Client
    agent: AgentStandIn
    owner: Account
    owner_url: str

    def rows(self, sql: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.owner_url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def env(database: Database) -> Iterator[Env]:
    from devhost.services import free_azurite

    azurite = free_azurite().start()
    agent = AgentStandIn(webhook_secret=WEBHOOK_SECRET).start()
    host = start_host(
        "function_app:app",
        env={
            "AzureWebJobsStorage": azurite.connection_string,
            "ELEVENLABS_API_KEY": "",
            "ELEVENLABS_BASE_URL": agent.base_url,
            "ELEVENLABS_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "ELEVENLABS_TOOL_SECRET": TOOL_SECRET,
        },
    )
    agent.app_url = host.base_url
    client = host.client()
    try:
        owner = register(client, tenant_name="Pinpoint Voice Painting")
        assert client.put("/api/v1/estimates/rate-book", headers=owner.headers, json=BOOK).status_code == 200
        yield Env(host, client, agent, owner, database.owner_url)
    finally:
        client.close()
        host.stop()
        agent.stop()
        azurite.stop()


def _estimate(env: Env) -> dict[str, Any]:
    customer = env.client.post(
        "/api/v1/crm/customers", headers=env.owner.headers, json={"name": "Rosa", "phone": unique_phone()}
    )
    assert customer.status_code == 201, customer.text
    body = {"customer_id": customer.json()["id"], "title": "Spoken estimate", "options": [{"name": "Good"}]}
    estimate = env.client.post("/api/v1/estimates", headers=env.owner.headers, json=body)
    assert estimate.status_code == 201, estimate.text
    return estimate.json()


def _voice_session(env: Env, estimate_id: str) -> dict[str, Any]:
    response = env.client.post(f"/api/v1/estimates/{estimate_id}/voice-sessions", headers=env.owner.headers)
    assert response.status_code == 201, response.text
    return response.json()


def _drafts(env: Env, estimate_id: str, *, expect: int, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        response = env.client.get(f"/api/v1/estimates/{estimate_id}/drafts", headers=env.owner.headers)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if len(items) >= expect or time.monotonic() > deadline:
            return items
        time.sleep(0.2)


def _payload(session_id: str, turns: list[tuple[str, str]], conversation_id: str | None = None) -> bytes:
    """A post_call_transcription body as ElevenLabs documents it."""
    body = {
        "type": "post_call_transcription",
        "event_timestamp": int(time.time()),
        "data": {
            "agent_id": "local-agent",
            "conversation_id": conversation_id or f"conv_{uuid.uuid4().hex[:20]}",
            "status": "done",
            "transcript": [
                {"role": role, "message": message, "time_in_call_secs": i * 5}
                for i, (role, message) in enumerate(turns)
            ],
            "metadata": {"start_time_unix_secs": int(time.time()) - 60, "call_duration_secs": 60},
            "analysis": {"data_collection_results": {}, "call_successful": "success", "transcript_summary": ""},
            "conversation_initiation_client_data": {"dynamic_variables": {"tradeops_session": session_id}},
        },
    }
    return json.dumps(body).encode()


def _signature(body: bytes, *, t: int | None = None, secret: str = WEBHOOK_SECRET) -> str:
    t = int(time.time()) if t is None else t
    return f"t={t},v0=" + hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def _post_call(env: Env, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["ElevenLabs-Signature"] = signature
    return env.client.post("/api/webhooks/elevenlabs/post-call", content=body, headers=headers)


def _tool(env: Env, tool: str, body: dict[str, Any], secret: str | None = TOOL_SECRET) -> httpx.Response:
    headers = {"X-Tradeops-Tool-Secret": secret} if secret is not None else {}
    return env.client.post(f"/api/webhooks/elevenlabs/tools/{tool}", json=body, headers=headers)


def test_three_spoken_rooms_become_drafts_with_their_words_and_confirmed_they_price_the_estimate(env: Env) -> None:
    # given an estimate and a voice session, which answers the local agent's page (no key is set)
    estimate = _estimate(env)
    session = _voice_session(env, estimate["id"])
    assert session["provider"] == "local"
    url = urlparse(session["signed_url"])
    assert f"{url.scheme}://{url.netloc}" == env.agent.base_url
    assert parse_qs(url.query)["tradeops_session"] == [session["id"]]
    assert session["dynamic_variables"] == {"tradeops_session": session["id"]}
    page = httpx.get(session["signed_url"])
    assert page.status_code == 200 and session["id"] in page.text
    # when the estimator's transcript is posted on that page (the agent signs and sends the post-call webhook)
    transcript = "\n".join(f"{role}: {message}" for role, message in THREE_ROOMS)
    ended = httpx.post(
        f"{env.agent.base_url}/local/conversation",
        data={"tradeops_session": session["id"], "agent_id": session["agent_id"], "transcript": transcript},
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["webhook_status"] == 200, ended.json()
    assert ended.json()["webhook_answer"]["status"] == "queued"
    # then three draft rooms arrive through the queue, each with the words it came from
    drafts = _drafts(env, estimate["id"], expect=3)
    by_name = {d["name"]: d for d in drafts}
    assert set(by_name) == {"Living room", "Kitchen", "Primary bedroom"}
    living = by_name["Living room"]
    assert (living["length_ft"], living["width_ft"], living["height_ft"]) == ("12.000", "14.000", "8.000")
    assert (living["doors"], living["windows"], living["status"], living["source"]) == (1, 2, "pending", "transcript")
    assert living["provenance"]["quote"].startswith("Living room, twelve by fourteen")
    assert (living["provenance"]["turn_index"], living["provenance"]["time_in_call_secs"]) == (1, 6)
    assert living["provenance"]["conversation_id"] == ended.json()["conversation_id"]
    assert [s["kind"] for s in by_name["Kitchen"]["surfaces"]] == ["walls"]
    assert by_name["Kitchen"]["provenance"]["quote"] == "The kitchen is ten by twelve, no ceiling"
    assert {"kind": "trim", "coats": 1} in by_name["Primary bedroom"]["surfaces"]
    # nothing is priced until a person confirms
    before = env.client.get(f"/api/v1/estimates/{estimate['id']}", headers=env.owner.headers).json()
    assert before["rooms"] == [] and before["options"][0]["totals"]["total_cents"] == 0
    # when each is confirmed (the kitchen with a correction)
    totals = []
    for draft in drafts:
        fix = {"width_ft": "12.5"} if draft["name"] == "Kitchen" else {}
        confirmed = env.client.post(
            f"/api/v1/estimates/{estimate['id']}/drafts/{draft['id']}/confirm", headers=env.owner.headers, json=fix
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["draft"]["status"] == "confirmed"
        assert confirmed.json()["draft"]["room_id"]
        totals.append(confirmed.json()["estimate"]["options"][0]["totals"]["total_cents"])
    # then the estimate has three rooms, priced by the rate book, and each confirmation raised the total
    after = env.client.get(f"/api/v1/estimates/{estimate['id']}", headers=env.owner.headers).json()
    assert sorted(r["name"] for r in after["rooms"]) == ["Kitchen", "Living room", "Primary bedroom"]
    assert next(r for r in after["rooms"] if r["name"] == "Kitchen")["width_ft"] == "12.500"
    assert totals == sorted(totals) and totals[0] > 0 and len(set(totals)) == 3
    # and a decided draft cannot be decided again
    again = env.client.post(
        f"/api/v1/estimates/{estimate['id']}/drafts/{drafts[0]['id']}/reject", headers=env.owner.headers, json={}
    )
    assert again.status_code == 409 and again.json()["code"] == "draft_decided"


def test_forged_tampered_and_stale_webhooks_are_403_and_change_nothing(env: Env) -> None:
    estimate = _estimate(env)
    session = _voice_session(env, estimate["id"])
    body = _payload(session["id"], THREE_ROOMS)
    stale_t = int(time.time()) - 31 * 60
    refused = [
        _post_call(env, body, None),  # unsigned
        _post_call(env, body, _signature(body, secret="not-the-secret")),  # forged
        _post_call(env, body.replace(b"twelve by fourteen", b"forty by forty"), _signature(body)),  # tampered
        _post_call(env, body, _signature(body, t=stale_t)),  # stale (a capture replayed after 30 minutes)
        _post_call(env, body, _signature(body).replace("t=", "t=1", 1)),  # timestamp changed
    ]
    assert [r.status_code for r in refused] == [403] * 5, [r.text for r in refused]
    assert {r.headers["content-type"] for r in refused} == {"application/problem+json"}
    assert env.rows("SELECT count(*) FROM estimate_voice_calls WHERE session_id = %s", session["id"]) == [(0,)]
    assert env.rows("SELECT conversation_id FROM estimate_voice_sessions WHERE id = %s", session["id"]) == [(None,)]
    assert _drafts(env, estimate["id"], expect=1, timeout=2) == []


def test_the_same_webhook_twice_makes_one_set_of_drafts(env: Env) -> None:
    estimate = _estimate(env)
    session = _voice_session(env, estimate["id"])
    body = _payload(session["id"], THREE_ROOMS)
    first = _post_call(env, body, _signature(body))
    second = _post_call(env, body, _signature(body))  # ElevenLabs' retry: signed again, same conversation
    assert (first.status_code, first.json()["status"]) == (200, "queued")
    assert (second.status_code, second.json()["status"]) == (200, "duplicate")
    assert len(_drafts(env, estimate["id"], expect=3)) == 3
    time.sleep(1.5)  # a second copy, had it been queued, would have landed by now
    assert len(_drafts(env, estimate["id"], expect=4, timeout=1)) == 3


def test_webhooks_must_name_a_session_we_issued_and_its_own_conversation(env: Env) -> None:
    estimate = _estimate(env)
    session = _voice_session(env, estimate["id"])
    unknown = _payload(str(uuid.uuid4()), THREE_ROOMS)
    refused = _post_call(env, unknown, _signature(unknown))
    assert (refused.status_code, refused.json()["code"]) == (422, "unknown_voice_session")
    first = _payload(session["id"], THREE_ROOMS[:2], conversation_id="conv_first_one")
    assert _post_call(env, first, _signature(first)).json()["status"] == "queued"
    other = _payload(session["id"], THREE_ROOMS, conversation_id="conv_someone_else")
    taken = _post_call(env, other, _signature(other))
    assert (taken.status_code, taken.json()["code"]) == (409, "voice_session_taken")
    assert len(_drafts(env, estimate["id"], expect=1)) == 1


def test_server_tools_need_the_secret_draft_once_per_call_and_amend_surfaces(env: Env) -> None:
    estimate = _estimate(env)
    session = _voice_session(env, estimate["id"])
    context = {"session_id": session["id"], "conversation_id": "conv_tools_1"}
    call = {**context, "tool_call_id": "call_1", "name": "Den", "quote": "den eleven by thirteen, nine foot ceilings"}
    assert _tool(env, "add_room", call, secret=None).status_code == 403
    assert _tool(env, "add_room", call, secret="wrong").status_code == 403
    made = _tool(env, "add_room", call)
    again = _tool(env, "add_room", call)
    assert (made.status_code, made.json()["status"]) == (200, "drafted"), made.text
    assert (again.json()["status"], again.json()["draft_id"]) == ("replayed", made.json()["draft_id"])
    bad = _tool(env, "add_room", {**context, "name": "", "length_ft": -1})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    amended = _tool(env, "set_surface", {**context, "room_name": "den", "kind": "ceiling", "include": False})
    assert amended.json()["status"] == "updated", amended.text
    listed = _tool(env, "list_rooms", context).json()
    (den,) = listed["rooms"]
    assert (den["name"], den["length_ft"], den["width_ft"], den["height_ft"]) == ("Den", "11.000", "13.000", "9.000")
    assert [s["kind"] for s in den["surfaces"]] == ["walls"]
    stranger = _tool(env, "list_rooms", {**context, "conversation_id": "conv_other"})
    assert (stranger.status_code, stranger.json()["code"]) == (409, "voice_session_taken")
    assert _tool(env, "no_such_tool", context).status_code == 404
    (draft,) = _drafts(env, estimate["id"], expect=1)
    assert draft["provenance"] == {
        "conversation_id": "conv_tools_1",
        "source": "tool",
        "quote": "den eleven by thirteen, nine foot ceilings",
        "turn_index": None,
        "time_in_call_secs": None,
        "tool_call_id": "call_1",
    }
    # the post-call webhook of the same conversation does not draft the den a second time
    body = _payload(session["id"], [("user", "Den, eleven by thirteen. Office ten by ten.")], "conv_tools_1")
    assert _post_call(env, body, _signature(body)).json()["status"] == "queued"
    names = sorted(d["name"] for d in _drafts(env, estimate["id"], expect=2))
    assert names == ["Den", "Office"]
