"""Voice estimates through the dev host: a signed post-call webhook of a 10-minute call to its draft rooms.

The script starts its own embedded PostgreSQL, Azurite and a dev host serving function_app (all on loopback),
signs up one painting business and makes an estimate. Each run opens a voice session, posts a signed
`post_call_transcription` webhook of a 10-minute call (100 turns, 50 of them the estimator's, describing 20
rooms with sizes, heights, doors, windows and coats among small talk) and polls the drafts until its 20 rooms
are there: webhook-to-draft-rooms latency, which includes the queue hop (the host's Azurite polling). In the
same run, as the baseline: the same payload through the parser alone (`drafts_from_payload`) in a plain loop,
and the host's floor (GET /api/health). The webhook, the polls and the floor go through the harness's TimingClient
(http.client on one kept-alive connection), not httpx, whose own ~0.2 ms per call would be counted as the host's.

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

RUNS, PARSES, FLOOR = 30, 300, 100
ROOMS = 20
WEBHOOK_SECRET = "bench-elevenlabs-webhook-secret-0123"
ROOM_NAMES = [
    "living room", "kitchen", "dining room", "family room", "primary bedroom", "second bedroom", "third bedroom",
    "guest bedroom", "bathroom", "half bath", "hallway", "foyer", "office", "den", "laundry room", "mudroom",
    "nursery", "playroom", "basement", "stairwell",
]  # fmt: skip
WORDS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "nine", "eight and a half"]


def _ten_minute_turns() -> list[dict[str, Any]]:
    """100 turns over 600 s: the agent asks, the estimator describes one of 20 rooms or chats."""
    turns: list[dict[str, Any]] = []
    rooms = iter(ROOM_NAMES)
    for i in range(50):
        turns.append({"role": "agent", "message": "Okay, got it. What's the next room?", "time_in_call_secs": i * 12})
        room = next(rooms, None) if i % 5 not in (1, 3) else None
        if room is None:
            said = "Hang on, let me grab the tape measure, the homeowner wants to talk about colours later."
        else:
            a, b = WORDS[i % len(WORDS)], WORDS[(i + 3) % len(WORDS)]
            said = (
                f"The {room}, {a} by {b}, eight foot ceilings, walls two coats, ceiling one coat, "
                f"{'one door' if i % 2 else 'two doors'}, {'no windows' if i % 3 == 0 else 'two windows'}."
            )
        turns.append({"role": "user", "message": said, "time_in_call_secs": i * 12 + 6})
    return turns


def _rooms_said(turns: list[dict[str, Any]]) -> int:
    from blueprints.estimates.voice_parser import Turn, parse_turns

    return len(parse_turns([Turn(index=i, role=t["role"], message=t["message"]) for i, t in enumerate(turns)]))


def _payload(session_id: str, turns: list[dict[str, Any]]) -> bytes:
    body = {
        "type": "post_call_transcription",
        "event_timestamp": int(time.time()),
        "data": {
            "agent_id": "local-agent",
            "conversation_id": f"conv_{uuid.uuid4().hex[:20]}",
            "status": "done",
            "transcript": turns,
            "metadata": {"start_time_unix_secs": int(time.time()) - 600, "call_duration_secs": 600},
            "analysis": {"data_collection_results": {}, "call_successful": "success", "transcript_summary": ""},
            "conversation_initiation_client_data": {"dynamic_variables": {"tradeops_session": session_id}},
        },
    }
    return json.dumps(body).encode()


def _signature(body: bytes) -> str:
    t = int(time.time())
    return f"t={t},v0=" + hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def main() -> None:
    """Start the services, measure, print the table and the JSON line."""
    env = {
        "ELEVENLABS_API_KEY": "",
        "ELEVENLABS_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ELEVENLABS_TOOL_SECRET": "bench-elevenlabs-tool-secret-0123",
    }
    with harness.services("bench_voice", env=env) as bench:
        from blueprints.estimates.voice_drafts import drafts_from_payload
        from tests.builders import register, unique_phone

        turns = _ten_minute_turns()
        expected = _rooms_said(turns)
        host = bench.start_host()
        setup = bench.client()
        owner = register(setup, tenant_name="Bench Voice Painting")
        customer = setup.post(
            "/api/v1/crm/customers", headers=owner.headers, json={"name": "Bench", "phone": unique_phone()}
        ).json()
        client = bench.timing_client()  # the webhook and the floor carry no sign-in, as before

        def one_call() -> None:
            estimate = setup.post(
                "/api/v1/estimates", headers=owner.headers, json={"customer_id": customer["id"], "title": "Bench"}
            ).json()
            drafts_url = f"/api/v1/estimates/{estimate['id']}/drafts?limit=100"
            session = setup.post(f"/api/v1/estimates/{estimate['id']}/voice-sessions", headers=owner.headers).json()
            body = _payload(session["id"], turns)
            headers = {"content-type": "application/json", "elevenlabs-signature": _signature(body)}
            started = time.perf_counter()
            answer = client.post("/api/webhooks/elevenlabs/post-call", content=body, headers=headers, expect=None)
            assert answer.status == 200 and answer.json()["status"] == "queued", answer.text
            while len(client.get(drafts_url, headers=owner.headers, expect=None).json()["items"]) < expected:
                assert time.perf_counter() - started < 60, f"no drafts within 60 s:\n{host.log_tail(30)}"
                time.sleep(0.01)
            samples["webhook_to_drafts"].append((time.perf_counter() - started) * 1000)

        payload = json.loads(_payload(str(uuid.uuid4()), turns))
        samples: dict[str, list[float]] = {"webhook_to_drafts": []}
        samples["floor"] = harness.samples(lambda n: client.get("/api/health", expect=None).ms, FLOOR)
        samples["parser_alone"] = harness.stopwatch(lambda: drafts_from_payload(payload), PARSES)
        for _ in range(RUNS):
            one_call()
    figures: dict[str, object] = {
        "benchmark": "voice",
        "runs": RUNS,
        "turns": len(turns),
        "call_seconds": 600,
        "rooms_per_call": expected,
        "payload_bytes": len(_payload(str(uuid.uuid4()), turns)),
    }
    for name in ("webhook_to_drafts", "parser_alone", "floor"):
        figures[f"{name}_p50_ms"] = harness.percentile(samples[name], 0.5)
        figures[f"{name}_p95_ms"] = harness.percentile(samples[name], 0.95)
        print(f"{name:18s} p50 {figures[f'{name}_p50_ms']:8.2f} ms  p95 {figures[f'{name}_p95_ms']:8.2f} ms")
    harness.print_figures(figures)


if __name__ == "__main__":
    main()
