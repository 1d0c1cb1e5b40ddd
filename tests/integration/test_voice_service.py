"""Voice sessions and drafts against the real database (app role, RLS on), with the real `elevenlabs` SDK
against the loopback fake of its signed-URL API when a key is set."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from blueprints.estimates import service as estimates
from blueprints.estimates import voice, voice_drafts
from blueprints.estimates.models import EstimateItem, VoiceDraft, VoiceSession
from blueprints.estimates.schemas import EstimateIn
from blueprints.estimates.voice_schemas import DraftConfirmIn
from shared.audit import Actor
from shared.config import reset_settings_cache
from shared.errors import AppError, Unprocessable
from tests.builders import PaintWorld, create_paint_world
from tests.fakes.elevenlabs import AGENT_ID, API_KEY, FakeElevenLabs

ACTOR = Actor()


@pytest.fixture
def elevenlabs() -> Iterator[FakeElevenLabs]:
    """The fake API, and the app's settings pointing at it with a key (restored afterwards)."""
    fake = FakeElevenLabs().start()
    names = ("ELEVENLABS_API_KEY", "ELEVENLABS_BASE_URL", "ELEVENLABS_AGENT_ID")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(
        {"ELEVENLABS_API_KEY": API_KEY, "ELEVENLABS_BASE_URL": fake.base_url, "ELEVENLABS_AGENT_ID": AGENT_ID}
    )
    reset_settings_cache()
    yield fake
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_settings_cache()
    fake.stop()


def _estimate(session, world: PaintWorld) -> object:
    body = EstimateIn(customer_id=world.customer.id, title="Spoken")
    out, _ = estimates.create_estimate(
        session=session, principal=world.principal("estimator"), actor=ACTOR, estimate_in=body
    )
    return out


def _sessions(session) -> int:
    return session.scalar(select(func.count()).select_from(VoiceSession)) or 0


def test_with_a_key_the_session_answers_elevenlabs_signed_url(db_session, elevenlabs: FakeElevenLabs) -> None:
    world = create_paint_world(db_session)
    estimate = _estimate(db_session, world)
    out = estimates.start_voice_session(
        session=db_session, principal=world.principal("estimator"), actor=ACTOR, estimate_id=estimate.id
    )
    assert out.provider == "elevenlabs" and out.agent_id == AGENT_ID
    assert out.signed_url.startswith("wss://") and "conversation_signature=" in out.signed_url
    (request,) = elevenlabs.requests
    assert request["headers"]["xi-api-key"] == API_KEY and request["query"]["agent_id"] == AGENT_ID
    row = db_session.get(VoiceSession, out.id)
    assert (row.estimate_id, row.user_id, row.provider) == (estimate.id, world.users["estimator"].id, "elevenlabs")
    assert row.expires_at == out.expires_at
    assert 0 < (out.expires_at - row.created_at).total_seconds() <= 900 + 60  # 15 minutes from when it was issued


def test_a_refusing_or_busy_agent_is_a_clear_error_and_records_no_session(
    db_session, elevenlabs: FakeElevenLabs
) -> None:
    world = create_paint_world(db_session)
    estimate = _estimate(db_session, world)
    for _ in range(3):
        elevenlabs.plan(503)
    with pytest.raises(AppError) as busy:
        estimates.start_voice_session(
            session=db_session, principal=world.principal(), actor=ACTOR, estimate_id=estimate.id
        )
    assert (busy.value.status, busy.value.code) == (503, "voice_agent_unavailable")
    elevenlabs.api_key = "xi-rotated"
    with pytest.raises(AppError) as refused:
        estimates.start_voice_session(
            session=db_session, principal=world.principal(), actor=ACTOR, estimate_id=estimate.id
        )
    assert (refused.value.status, refused.value.code) == (502, "voice_agent_refused")
    assert _sessions(db_session) == 0


def test_a_draft_without_measurements_is_not_confirmed_until_they_are_given(db_session) -> None:
    world = create_paint_world(db_session)
    estimate = _estimate(db_session, world)
    started = estimates.start_voice_session(
        session=db_session, principal=world.principal("estimator"), actor=ACTOR, estimate_id=estimate.id
    )
    call = {"session_id": str(started.id), "conversation_id": "conv_int_1", "name": "Laundry room", "quote": "laundry"}
    answer = voice.call_tool(session=db_session, tool="add_room", raw=json.dumps(call).encode())
    principal = world.principal("estimator")
    with pytest.raises(Unprocessable) as missing:
        estimates.confirm_draft(
            session=db_session, principal=principal, actor=ACTOR, estimate_id=estimate.id,
            draft_id=answer.draft_id, corrections=DraftConfirmIn(),
        )  # fmt: skip
    assert missing.value.code == "measurements_missing"
    assert db_session.get(VoiceDraft, answer.draft_id).status == "pending"
    confirmed = estimates.confirm_draft(
        session=db_session, principal=principal, actor=ACTOR, estimate_id=estimate.id, draft_id=answer.draft_id,
        corrections=DraftConfirmIn(length_ft=6, width_ft=8, product_id=world.products["Wall premium"]),
    )  # fmt: skip
    (room,) = confirmed.estimate.rooms
    assert (room.name, room.length_ft, room.width_ft, room.height_ft) == ("Laundry room", 6, 8, 8)
    assert {s.product_id for s in room.surfaces} == {world.products["Wall premium"]}
    assert confirmed.draft.room_id == room.id
    assert db_session.scalar(select(func.count()).select_from(EstimateItem)) == 1


def test_heard_surfaces_get_the_rate_books_paint_named_for_them(db_session) -> None:
    world = create_paint_world(db_session)
    estimate = _estimate(db_session, world)
    started = estimates.start_voice_session(
        session=db_session, principal=world.principal("estimator"), actor=ACTOR, estimate_id=estimate.id
    )
    call = {"session_id": str(started.id), "conversation_id": "conv_int_2", "name": "Den", "quote": "den 10 by 12"}
    answer = voice.call_tool(session=db_session, tool="add_room", raw=json.dumps(call).encode())
    confirmed = estimates.confirm_draft(
        session=db_session, principal=world.principal("estimator"), actor=ACTOR, estimate_id=estimate.id,
        draft_id=answer.draft_id, corrections=DraftConfirmIn(),
    )  # fmt: skip
    (room,) = confirmed.estimate.rooms
    by_kind = {s.kind: s.product_id for s in room.surfaces}
    assert by_kind == {"walls": world.products["Wall eggshell"], "ceiling": world.products["Ceiling flat"]}
    assert confirmed.estimate.options == [] or confirmed.estimate.options[0].totals.total_cents > 0
    assert voice_drafts.heard_rooms(db_session, started.id)[0].status == "confirmed"


def _post_call_body(session_id: object, conversation_id: str, started: float) -> bytes:
    turns = [{"role": "user", "message": "Kitchen ten by twelve", "time_in_call_secs": 2}]
    data = {
        "conversation_id": conversation_id,
        "agent_id": "local-agent",
        "transcript": turns,
        "metadata": {"start_time_unix_secs": int(started), "call_duration_secs": 600},
        "conversation_initiation_client_data": {"dynamic_variables": {"tradeops_session": str(session_id)}},
    }
    return json.dumps({"type": "post_call_transcription", "data": data}).encode()


def test_a_long_call_begun_before_the_session_expired_is_still_taken(db_session) -> None:
    from datetime import UTC, datetime, timedelta

    from shared import clock

    world = create_paint_world(db_session)
    estimate = _estimate(db_session, world)
    issued = datetime.now(UTC).replace(microsecond=0)
    clock.pin(issued)
    try:
        principal = world.principal("estimator")
        early = estimates.start_voice_session(
            session=db_session, principal=principal, actor=ACTOR, estimate_id=estimate.id
        )
        late = estimates.start_voice_session(
            session=db_session, principal=principal, actor=ACTOR, estimate_id=estimate.id
        )
        clock.pin(issued + timedelta(minutes=26))  # the webhook comes after a 10-minute call
        # begun 14 minutes after issue: inside the 15 minutes
        began = (issued + timedelta(minutes=14)).timestamp()
        taken = voice.receive_post_call(session=db_session, body=_post_call_body(early.id, "conv_long", began))
        assert taken.status == "queued"
        # begun 16 minutes after issue: the session had expired
        began = (issued + timedelta(minutes=16)).timestamp()
        with pytest.raises(Unprocessable) as expired:
            voice.receive_post_call(session=db_session, body=_post_call_body(late.id, "conv_late", began))
        assert expired.value.code == "voice_session_expired"
    finally:
        clock.unpin()
