"""Estimates spoken to the voice agent: sessions we issue, the agent's server tools and its post-call webhook.

What comes back from the agent is tied to an estimate on our side only: the PWA opens the conversation with the
signed URL and our session id as the `tradeops_session` dynamic variable; a tool call or webhook must name a
session we issued, and the first conversation that names it claims it (before it expires, 15 minutes after
issue), so another conversation cannot write into it. The business is found from the session through the
SECURITY DEFINER function `estimates_voice_session_tenant`, once the request has proved where it came from
(the tool secret header, or the webhook's HMAC signature checked in the route's verify hook).

The post-call webhook is stored and queued in the request's transaction (answered at once); the queue turns it
into draft rooms, once per conversation (voice_drafts.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from blueprints.estimates import voice_drafts
from blueprints.estimates.access import estimate_or_raise, require_edit
from blueprints.estimates.models import VoiceCall, VoiceDraft, VoiceSession
from blueprints.estimates.voice_schemas import (
    SESSION_VARIABLE,
    VOICE_CALLS_QUEUE,
    AddRoomCall,
    ListRoomsCall,
    PostCallAck,
    SetSurfaceCall,
    ToolAnswer,
    ToolContext,
    VoiceCallTask,
    VoiceSessionOut,
)
from blueprints.estimates.voice_transitions import DraftEvent, DraftStatus, next_draft_status
from shared import audit, clock, storage
from shared.auth import Principal
from shared.config import get_settings
from shared.db import set_tenant
from shared.errors import (
    BadGateway,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
    validation_errors,
)
from shared.providers import elevenlabs

log = logging.getLogger(__name__)
SESSION_TTL = timedelta(minutes=15)
SIGNATURE_TOLERANCE_SECONDS = 30 * 60  # ElevenLabs' own: older signatures are refused
FUTURE_SKEW_SECONDS = 5 * 60
TOOL_SECRET_HEADER = "x-tradeops-tool-secret"
TOOLS: dict[str, type[ToolContext]] = {
    "add_room": AddRoomCall,
    "set_surface": SetSurfaceCall,
    "list_rooms": ListRoomsCall,
}


# --- sessions -------------------------------------------------------------------------------------------


def start_voice_session(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID
) -> VoiceSessionOut:
    """Record a voice session for an estimate the caller may edit and answer the conversation URL."""
    estimate = estimate_or_raise(session, principal, estimate_id)
    require_edit(session, principal, estimate)
    settings = get_settings()
    voice_session_id = uuid.uuid4()
    client = elevenlabs.agents()
    if client is None:
        provider, agent_id = "local", settings.elevenlabs_agent_id or "local-agent"
        url = elevenlabs.local_conversation_url(agent_id=agent_id, session_id=str(voice_session_id))
    else:
        if not settings.elevenlabs_agent_id:
            raise ServiceUnavailable("No voice agent is configured", code="voice_agent_not_configured")
        provider, agent_id, url = "elevenlabs", settings.elevenlabs_agent_id, _signed_url(client, settings)
    expires_at = clock.now() + SESSION_TTL
    session.add(
        VoiceSession(
            id=voice_session_id,
            tenant_id=principal.tenant_id,
            estimate_id=estimate.id,
            user_id=principal.user_id,
            provider=provider,
            agent_id=agent_id,
            expires_at=expires_at,
        )
    )
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="estimates.voice_session_started",
        entity="estimate",
        entity_id=estimate.id,
        after={"voice_session_id": str(voice_session_id), "provider": provider},
    )
    return VoiceSessionOut(
        id=voice_session_id,
        estimate_id=estimate.id,
        provider=provider,  # type: ignore[arg-type]
        agent_id=agent_id,
        signed_url=url,
        expires_at=expires_at,
        dynamic_variables={SESSION_VARIABLE: str(voice_session_id)},
    )


def _signed_url(client: elevenlabs.ElevenLabsAgents, settings: Any) -> str:
    try:
        return client.signed_url(agent_id=settings.elevenlabs_agent_id).url
    except elevenlabs.AgentError as exc:
        if exc.transient:
            raise ServiceUnavailable(
                "The voice agent is busy; try again shortly",
                code="voice_agent_unavailable",
                headers={"Retry-After": "5"},
            ) from exc
        raise BadGateway("The voice agent refused to start a conversation", code="voice_agent_refused") from exc


def _claimed_session(
    session: Session, context_session_id: uuid.UUID, conversation_id: str, *, started_at: datetime | None = None
) -> VoiceSession:
    """The session we issued, bound to its business and claimed by this conversation (refused otherwise): an
    unclaimed session is claimed by a conversation that began (`started_at`, else now) before it expired."""
    tenant_id = session.scalar(
        text("SELECT estimates_voice_session_tenant(:id)"), {"id": context_session_id}
    )  # crosses tenants on purpose: the caller proved who it is, and the answer is only this session's tenant
    if tenant_id is None:
        raise Unprocessable("The conversation names no voice session we issued", code="unknown_voice_session")
    set_tenant(session, tenant_id)
    voice_session = session.scalars(
        select(VoiceSession).where(VoiceSession.id == context_session_id).with_for_update()
    ).one()
    if voice_session.conversation_id is None:
        if (started_at or clock.now()) > voice_session.expires_at:
            raise Unprocessable("The voice session expired before its conversation began", code="voice_session_expired")
        voice_session.conversation_id, voice_session.claimed_at = conversation_id, clock.now()
        session.flush()
    elif voice_session.conversation_id != conversation_id:
        raise Conflict("The voice session belongs to another conversation", code="voice_session_taken")
    return voice_session


# --- server tools -----------------------------------------------------------------------------------------


def check_tool_secret(header: str | None) -> None:
    """403 unless the request carries the secret header configured on the agent's tools (constant time)."""
    secret = get_settings().elevenlabs_tool_secret
    if not secret or not header or not hmac.compare_digest(header.encode(), secret.encode()):
        raise Forbidden("The tool call does not carry the tool secret", code="invalid_tool_secret")


def _tool_body(tool: str, raw: bytes) -> ToolContext:
    model = TOOLS.get(tool)
    if model is None:
        raise NotFound(f"No tool {tool!r}", code="unknown_tool")
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise Unprocessable("The tool call is not valid", errors=validation_errors(exc, location="body")) from exc


def call_tool(*, session: Session, tool: str, raw: bytes) -> ToolAnswer:
    """Run one server tool for the agent: a draft room (or surface) with its provenance, or the rooms so far."""
    call = _tool_body(tool, raw)
    voice_session = _claimed_session(session, call.session_id, call.conversation_id)
    if isinstance(call, AddRoomCall):
        return _add_room(session, voice_session, call, _tool_call_key(tool, call))
    if isinstance(call, SetSurfaceCall):
        return _set_surface(session, voice_session, call)
    rooms = voice_drafts.heard_rooms(session, voice_session.id)
    names = ", ".join(room.name for room in rooms) or "none yet"
    return ToolAnswer(status="listed", message=f"Rooms so far: {names}.", rooms=rooms)


def _tool_call_key(tool: str, call: BaseModel) -> str:
    """One draft per tool call: the call's id when the tool sends one, else the hash of what it said."""
    body = call.model_dump(mode="json")
    if body.get("tool_call_id"):
        return f"{tool}:{body['conversation_id']}:{body['tool_call_id']}"[:128]
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f"{tool}:{digest}"


def _add_room(session: Session, voice_session: VoiceSession, call: AddRoomCall, key: str) -> ToolAnswer:
    values = voice_drafts.tool_draft_values(call)
    draft_id = session.execute(
        insert(VoiceDraft)
        .values(
            id=uuid.uuid4(),
            tenant_id=voice_session.tenant_id,
            estimate_id=voice_session.estimate_id,
            session_id=voice_session.id,
            conversation_id=call.conversation_id,
            source="tool",
            status=DraftStatus.PENDING.value,
            tool_call_key=key,
            version=1,
            created_at=clock.now(),
            updated_at=clock.now(),
            **values,
        )
        .on_conflict_do_nothing(constraint="uq_estimate_voice_drafts_tool_call")
        .returning(VoiceDraft.id)
    ).scalar()
    if draft_id is None:
        existing = session.scalar(select(VoiceDraft.id).where(VoiceDraft.tool_call_key == key))
        return ToolAnswer(status="replayed", message=f"{call.name} is already noted.", draft_id=existing)
    return ToolAnswer(status="drafted", message=f"Noted {call.name} as a draft room.", draft_id=draft_id)


def _set_surface(session: Session, voice_session: VoiceSession, call: SetSurfaceCall) -> ToolAnswer:
    draft = session.scalars(
        select(VoiceDraft)
        .where(
            VoiceDraft.session_id == voice_session.id,
            VoiceDraft.conversation_id == call.conversation_id,
            func.lower(VoiceDraft.name) == call.room_name.strip().lower(),
        )
        .order_by(VoiceDraft.created_at.desc())
        .with_for_update()
    ).first()
    if draft is None:
        raise NotFound(f"No draft room named {call.room_name!r} in this conversation", code="unknown_draft_room")
    draft.status = next_draft_status(draft.status, DraftEvent.AMEND).value
    surfaces = [s for s in draft.surfaces if s["kind"] != call.kind]
    if call.include:
        surfaces.append({"kind": call.kind, "coats": call.coats})
    draft.surfaces = sorted(surfaces, key=lambda s: ["walls", "ceiling", "trim"].index(s["kind"]))
    if call.quote:
        draft.provenance = {**draft.provenance, "quote": f"{draft.provenance.get('quote', '')} … {call.quote}"}
    draft.updated_at = clock.now()
    session.flush()
    said = f"{call.coats} coat(s) on the {call.kind}" if call.include else f"no {call.kind}"
    return ToolAnswer(status="updated", message=f"{draft.name}: {said}.", draft_id=draft.id)


# --- the post-call webhook ---------------------------------------------------------------------------------


def verify_signature(*, header: str | None, body: bytes, now: float | None = None) -> int:
    """The signed timestamp of a post-call webhook ElevenLabs signed (`t=…,v0=…`, HMAC-SHA256 of "{t}.{body}"
    with the webhook secret); 403 for a missing, forged, tampered or stale one."""
    secret = get_settings().elevenlabs_webhook_secret
    parts = dict(part.strip().split("=", 1) for part in (header or "").split(",") if "=" in part)
    timestamp, signature = parts.get("t", ""), parts.get("v0", "")
    if not secret or not timestamp.isdigit() or not signature:
        raise Forbidden("The webhook is not signed by ElevenLabs", code="invalid_signature")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Forbidden("The webhook is not signed by ElevenLabs", code="invalid_signature")
    age = (time.time() if now is None else now) - int(timestamp)
    if age > SIGNATURE_TOLERANCE_SECONDS or age < -FUTURE_SKEW_SECONDS:
        raise Forbidden("The webhook's signature is too old", code="stale_signature")
    return int(timestamp)


def receive_post_call(*, session: Session, body: bytes) -> PostCallAck:
    """Store a verified post-call webhook once per conversation and queue it (answered at once)."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise BadRequest("The body is not valid JSON", code="malformed_json") from exc
    if not isinstance(payload, dict) or payload.get("type") != "post_call_transcription":
        return PostCallAck(status="ignored")
    data = voice_drafts.as_object(payload.get("data"))
    conversation_id = str(data.get("conversation_id") or "")[:128]
    session_id = _session_variable(data)
    if not conversation_id or session_id is None:
        raise Unprocessable("The conversation names no voice session we issued", code="unknown_voice_session")
    voice_session = _claimed_session(session, session_id, conversation_id, started_at=_call_start(data))
    agent = get_settings().elevenlabs_agent_id
    if voice_session.provider == "elevenlabs" and agent and data.get("agent_id") != agent:
        raise Unprocessable("The webhook is from another agent", code="agent_mismatch")
    call_id = session.execute(
        insert(VoiceCall)
        .values(
            id=uuid.uuid4(),
            tenant_id=voice_session.tenant_id,
            estimate_id=voice_session.estimate_id,
            session_id=voice_session.id,
            conversation_id=conversation_id,
            payload=payload,
            status="received",
            drafts=0,
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(constraint="uq_estimate_voice_calls_conversation")
        .returning(VoiceCall.id)
    ).scalar()
    if call_id is None:
        return PostCallAck(status="duplicate", conversation_id=conversation_id)
    storage.enqueue(session, VOICE_CALLS_QUEUE, VoiceCallTask(tenant_id=voice_session.tenant_id, call_id=call_id))
    return PostCallAck(status="queued", conversation_id=conversation_id)


def _call_start(data: dict[str, Any]) -> datetime | None:
    """When the conversation began, as the signed payload says (metadata.start_time_unix_secs)."""
    seconds = voice_drafts.as_object(data.get("metadata")).get("start_time_unix_secs")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _session_variable(data: dict[str, Any]) -> uuid.UUID | None:
    client_data = voice_drafts.as_object(data.get("conversation_initiation_client_data"))
    value = voice_drafts.as_object(client_data.get("dynamic_variables")).get(SESSION_VARIABLE)
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
