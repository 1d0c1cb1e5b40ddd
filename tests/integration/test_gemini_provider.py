"""The Gemini image adapter against a loopback fake of generateContent, driven by the real `google-genai` SDK:
the image answer taken (thoughts skipped), text-only and safety answers refused without a retry, 429 waits
honoured (Retry-After, then RetryInfo, then backoff) through an injected sleep, 5xx retried, a wrong key or
an unknown model refused, connection errors transient, and the request carrying the image, the prompt and
the model."""

from __future__ import annotations

import base64
import io
import logging
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from shared.config import reset_settings_cache
from shared.providers import gemini_image
from shared.providers.gemini_image import EditedImage, GeminiImage, ImageError
from tests.fakes.gemini import API_KEY, FakeGemini, expected_image

MODEL = "gemini-test-image"
PROMPT = "Repaint only the walls in Sherwin-Williams Sea Salt (#CDD2CA); keep furniture, light and geometry."


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    server = FakeGemini().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def photo() -> bytes:
    image = Image.new("RGB", (64, 48), (180, 120, 60))
    for x in range(64):
        image.putpixel((x, 10), (10, 200, 30))  # some structure, so an inverted copy differs everywhere it should
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _client(fake: FakeGemini, sleeps: list[float], max_wait: float = 60.0) -> GeminiImage:
    return GeminiImage(
        api_key=API_KEY, model=MODEL, base_url=fake.base_url, max_attempts=3, max_wait=max_wait, sleep=sleeps.append
    )


def _edit(client: GeminiImage, photo: bytes) -> EditedImage:
    return client.edit(image=photo, mime_type="image/jpeg", prompt=PROMPT)


def test_the_image_part_of_the_answer_comes_back(
    fake: FakeGemini, photo: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shared.providers.gemini_image")
    edited = _edit(_client(fake, []), photo)
    answer = fake.answers[0]
    assert edited.data == expected_image(photo) and edited.data != photo
    assert edited.mime_type == "image/png" and Image.open(io.BytesIO(edited.data)).size == (64, 48)
    assert edited.model == MODEL and edited.model_version == MODEL and edited.attempts == 1
    assert edited.request_id == answer["responseId"]
    total = answer["usageMetadata"]["totalTokenCount"]
    assert edited.total_tokens == total and edited.cost_units == math.ceil(total / 1000) >= 1
    assert edited.text and "colour" in edited.text
    assert any(answer["responseId"] in r.getMessage() and "200" in r.getMessage() for r in caplog.records)


def test_the_request_carries_the_image_the_prompt_and_the_model(fake: FakeGemini, photo: bytes) -> None:
    _edit(_client(fake, []), photo)
    request = fake.requests[0]
    assert request["path"] == f"/v1beta/models/{MODEL}:generateContent"
    assert request["headers"]["x-goog-api-key"] == API_KEY and "key" not in request["query"]
    parts = request["body"]["contents"][0]["parts"]
    blobs = [p.get("inlineData") or p.get("inline_data") for p in parts if "inlineData" in p or "inline_data" in p]
    assert len(blobs) == 1
    data = blobs[0]["data"].translate(str.maketrans("-_", "+/"))
    assert base64.b64decode(data + "=" * (-len(data) % 4)) == photo
    assert (blobs[0].get("mimeType") or blobs[0].get("mime_type")) == "image/jpeg"
    assert [p["text"] for p in parts if "text" in p] == [PROMPT]
    config = request["body"]["generationConfig"]
    assert set(config["responseModalities"]) == {"TEXT", "IMAGE"}


def test_thought_images_are_skipped_for_the_final_one(fake: FakeGemini, photo: bytes) -> None:
    fake.plan("thinking")
    edited = _edit(_client(fake, []), photo)
    parts = fake.answers[0]["candidates"][0]["content"]["parts"]
    assert parts[1]["thought"] is True and "inlineData" in parts[1]  # the interim image came first
    assert edited.data == expected_image(photo)


def test_an_answer_without_usage_costs_one_unit(fake: FakeGemini, photo: bytes) -> None:
    fake.plan("no_usage")
    edited = _edit(_client(fake, []), photo)
    assert edited.cost_units == 1 and edited.total_tokens is None


def test_a_text_only_answer_is_no_image_with_its_text_and_is_not_retried(fake: FakeGemini, photo: bytes) -> None:
    sleeps: list[float] = []
    fake.plan("text_only", text="I can't recolour this photo: " + "it is too dark to see the walls. " * 40)
    with pytest.raises(ImageError) as failed:
        _edit(_client(fake, sleeps), photo)
    error = failed.value
    assert error.code == "no_image" and not error.transient
    assert "too dark to see the walls" in error.detail and len(error.detail) <= 500
    assert error.request_id == fake.answers[0]["responseId"]
    assert len(fake.requests) == 1 and sleeps == []


@pytest.mark.parametrize("reason", ["SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST"])
def test_a_blocked_prompt_is_a_safety_failure(fake: FakeGemini, photo: bytes, reason: str) -> None:
    fake.plan("prompt_blocked", reason=reason)
    with pytest.raises(ImageError) as failed:
        _edit(_client(fake, []), photo)
    assert failed.value.code == "safety" and not failed.value.transient and reason in failed.value.detail
    assert len(fake.requests) == 1


@pytest.mark.parametrize("reason", ["IMAGE_SAFETY", "SAFETY", "IMAGE_PROHIBITED_CONTENT", "PROHIBITED_CONTENT"])
def test_a_candidate_stopped_for_safety_is_a_safety_failure(fake: FakeGemini, photo: bytes, reason: str) -> None:
    fake.plan("image_safety", reason=reason)
    with pytest.raises(ImageError) as failed:
        _edit(_client(fake, []), photo)
    assert failed.value.code == "safety" and not failed.value.transient and reason in failed.value.detail
    assert failed.value.request_id == fake.answers[0]["responseId"] and len(fake.requests) == 1


def test_429_waits_what_retry_after_says_then_succeeds(fake: FakeGemini, photo: bytes) -> None:
    sleeps: list[float] = []
    fake.plan("rate_limited", retry_after=2)
    fake.plan("rate_limited", retry_after=5, retry_delay="9s")  # the header wins over the body
    edited = _edit(_client(fake, sleeps), photo)
    assert edited.attempts == 3 and edited.data == expected_image(photo)
    assert sleeps == [2.0, 5.0] and len(fake.requests) == 3


def test_429_waits_what_the_retry_info_detail_says(fake: FakeGemini, photo: bytes) -> None:
    sleeps: list[float] = []
    fake.plan("rate_limited", retry_delay="3.5s")
    edited = _edit(_client(fake, sleeps), photo)
    assert edited.attempts == 2 and sleeps == [3.5]


def test_429_without_a_wait_backs_off(fake: FakeGemini, photo: bytes) -> None:
    sleeps: list[float] = []
    fake.plan("rate_limited", times=2)
    assert _edit(_client(fake, sleeps), photo).attempts == 3
    assert sleeps == [2.0, 4.0]


def test_429_after_the_last_attempt_is_rate_limited_with_the_wait(fake: FakeGemini, photo: bytes) -> None:
    sleeps: list[float] = []
    fake.plan("rate_limited", times=3, retry_delay="7s")
    with pytest.raises(ImageError) as failed:
        _edit(_client(fake, sleeps), photo)
    error = failed.value
    assert error.code == "rate_limited" and error.transient and error.retry_after == 7.0
    assert "RESOURCE_EXHAUSTED" in error.detail
    assert len(fake.requests) == 3 and sleeps == [7.0, 7.0]


def test_a_wait_longer_than_max_wait_is_handed_back_not_slept(fake: FakeGemini, photo: bytes) -> None:
    sleeps: list[float] = []
    fake.plan("rate_limited", retry_delay="3600s")
    with pytest.raises(ImageError) as failed:
        _edit(_client(fake, sleeps, max_wait=60.0), photo)
    assert failed.value.code == "rate_limited" and failed.value.retry_after == 3600.0
    assert len(fake.requests) == 1 and sleeps == []


def test_500_and_503_are_retried(fake: FakeGemini, photo: bytes) -> None:
    sleeps: list[float] = []
    fake.plan("server", code=500)
    fake.plan("server", code=503)
    edited = _edit(_client(fake, sleeps), photo)
    assert edited.attempts == 3 and sleeps == [2.0, 4.0] and edited.data == expected_image(photo)


def test_5xx_after_the_last_attempt_is_a_transient_server_failure(fake: FakeGemini, photo: bytes) -> None:
    sleeps: list[float] = []
    fake.plan("server", code=503, times=3)
    with pytest.raises(ImageError) as failed:
        _edit(_client(fake, sleeps), photo)
    assert failed.value.code == "server" and failed.value.transient and "UNAVAILABLE" in failed.value.detail
    assert len(fake.requests) == 3 and sleeps == [2.0, 4.0]


def test_a_wrong_key_is_refused_and_not_retried(fake: FakeGemini, photo: bytes) -> None:
    sleeps: list[float] = []
    client = GeminiImage(api_key="fake-gemini-key-wrong", model=MODEL, base_url=fake.base_url, sleep=sleeps.append)
    with pytest.raises(ImageError) as refused:
        _edit(client, photo)
    assert refused.value.code == "refused" and not refused.value.transient
    assert "API key not valid" in refused.value.detail and len(fake.requests) == 1 and sleeps == []


def test_an_unknown_model_is_refused(photo: bytes) -> None:
    server = FakeGemini(models={"gemini-3-pro-image"}).start()
    try:
        with pytest.raises(ImageError) as refused:
            _edit(_client(server, []), photo)
    finally:
        server.stop()
    assert refused.value.code == "refused" and "NOT_FOUND" in refused.value.detail


def test_a_connection_failure_is_retried_then_transient(fake: FakeGemini, photo: bytes) -> None:
    url = fake.base_url
    fake.stop()  # nothing listens there now
    sleeps: list[float] = []
    client = GeminiImage(api_key=API_KEY, model=MODEL, base_url=url, max_attempts=2, sleep=sleeps.append)
    with pytest.raises(ImageError) as failed:
        _edit(client, photo)
    assert failed.value.code == "connection" and failed.value.transient and sleeps == [2.0]


def test_gemini_is_none_without_a_key_and_one_cached_client_per_settings(
    monkeypatch: pytest.MonkeyPatch, fake: FakeGemini
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    reset_settings_cache()
    try:
        assert gemini_image.gemini() is None
        monkeypatch.setenv("GEMINI_API_KEY", API_KEY)
        monkeypatch.setenv("GEMINI_BASE_URL", fake.base_url)
        monkeypatch.setenv("GEMINI_MAX_ATTEMPTS", "2")
        reset_settings_cache()
        first = gemini_image.gemini()
        assert first is not None and first is gemini_image.gemini()
        assert first.model == "gemini-3-pro-image-preview" and first.max_attempts == 2
        monkeypatch.setenv("GEMINI_IMAGE_MODEL", MODEL)
        reset_settings_cache()
        second = gemini_image.gemini()
        assert second is not None and second is not first and second.model == MODEL
    finally:
        monkeypatch.delenv("GEMINI_API_KEY", raising=False)
        reset_settings_cache()


def test_importing_the_adapter_loads_no_sdk() -> None:
    """The preview pipeline imports this module from the function app's graph: the SDK waits for a client."""
    code = (
        "import sys, shared.providers.gemini_image\n"
        "print(sorted(m for m in ('google.genai', 'google.auth', 'httpx2', 'PIL') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
