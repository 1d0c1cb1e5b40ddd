"""The ElevenLabs adapter, driven through the real `elevenlabs` SDK against a loopback fake of its API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.providers.elevenlabs import AgentError, ElevenLabsAgents
from tests.fakes.elevenlabs import AGENT_ID, API_KEY, FakeElevenLabs


@pytest.fixture
def fake() -> Iterator[FakeElevenLabs]:
    server = FakeElevenLabs().start()
    yield server
    server.stop()


def _client(fake: FakeElevenLabs, waits: list[float], *, api_key: str = API_KEY) -> ElevenLabsAgents:
    return ElevenLabsAgents(api_key=api_key, base_url=fake.base_url, max_attempts=3, sleep=waits.append)


def test_a_signed_url_is_asked_for_with_the_key_and_the_agent(fake: FakeElevenLabs) -> None:
    waits: list[float] = []
    signed = _client(fake, waits).signed_url(agent_id=AGENT_ID)
    assert signed.url.startswith("wss://") and f"agent_id={AGENT_ID}" in signed.url
    assert signed.request_id and signed.request_id.startswith("req_")
    (request,) = fake.requests
    assert request["path"] == "/v1/convai/conversation/get-signed-url"
    assert request["query"]["agent_id"] == AGENT_ID
    assert request["headers"]["xi-api-key"] == API_KEY
    assert waits == []


def test_a_429_waits_what_retry_after_says_then_succeeds(fake: FakeElevenLabs) -> None:
    waits: list[float] = []
    fake.plan(429, retry_after="7")
    fake.plan(503)
    signed = _client(fake, waits).signed_url(agent_id=AGENT_ID)
    assert signed.attempts == 3
    assert waits[0] == 7.0  # retry-after honoured
    assert len(fake.requests) == 3  # the SDK's own retries are off: every attempt is ours


def test_a_wrong_key_is_not_retried(fake: FakeElevenLabs) -> None:
    waits: list[float] = []
    with pytest.raises(AgentError) as refused:
        _client(fake, waits, api_key="xi-wrong").signed_url(agent_id=AGENT_ID)
    assert (refused.value.code, refused.value.transient) == ("unauthorized", False)
    assert len(fake.requests) == 1 and waits == []


def test_an_unknown_agent_is_a_permanent_error(fake: FakeElevenLabs) -> None:
    with pytest.raises(AgentError) as refused:
        _client(fake, []).signed_url(agent_id="agent_nobody")
    assert refused.value.transient is False


def test_server_errors_that_persist_are_transient_after_the_last_attempt(fake: FakeElevenLabs) -> None:
    for _ in range(3):
        fake.plan(500)
    waits: list[float] = []
    with pytest.raises(AgentError) as failed:
        _client(fake, waits).signed_url(agent_id=AGENT_ID)
    assert failed.value.transient is True
    assert len(fake.requests) == 3 and len(waits) == 2
