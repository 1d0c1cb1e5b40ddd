"""The dev host's local voice agent: started when no ElevenLabs key or base URL is set, it points the app at
itself and serves the conversation page a voice session links to."""

from __future__ import annotations

import os

import httpx
import pytest

from devhost.__main__ import Services
from devhost.elevenlabs import DEV_TOOL_SECRET, DEV_WEBHOOK_SECRET, sign, turns_from_text


def test_the_local_agent_is_wired_into_the_apps_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ELEVENLABS_API_KEY", "ELEVENLABS_BASE_URL", "ELEVENLABS_WEBHOOK_SECRET", "ELEVENLABS_TOOL_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:7071")
    services = Services()
    services.start_voice_agent()
    try:
        assert services.voice is not None
        assert os.environ["ELEVENLABS_BASE_URL"] == services.voice.base_url
        assert (os.environ["ELEVENLABS_WEBHOOK_SECRET"], os.environ["ELEVENLABS_TOOL_SECRET"]) == (
            DEV_WEBHOOK_SECRET,
            DEV_TOOL_SECRET,
        )
        assert services.voice.app_url == "http://127.0.0.1:7071"
        page = httpx.get(f"{services.voice.base_url}/local/conversation?tradeops_session=abc&agent_id=<x>")
        assert page.status_code == 200 and 'value="abc"' in page.text and "&lt;x&gt;" in page.text
    finally:
        services.stop()


def test_a_typed_transcript_becomes_turns_and_its_signature_is_elevenlabs_scheme() -> None:
    turns = turns_from_text("agent: Which room?\nKitchen ten by twelve\n\nuser: no ceiling")
    assert [(t["role"], t["message"], t["time_in_call_secs"]) for t in turns] == [
        ("agent", "Which room?", 0),
        ("user", "Kitchen ten by twelve", 6),
        ("user", "no ceiling", 12),
    ]
    # HMAC-SHA256 of "1700000000.{}" with key "k", worked out with openssl
    digest = "c6ef4734033cee2367414a0939385eca0397754aa7a59716da7463a9298b5146"
    assert sign("k", b"{}", timestamp=1700000000) == f"t=1700000000,v0={digest}"
