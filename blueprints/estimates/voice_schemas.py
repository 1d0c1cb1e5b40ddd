"""Request and response models of estimates by voice: sessions, the agent's server tools, draft rooms."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field

from blueprints.estimates.schemas import EstimateOut, Feet, SurfaceIn
from shared.pagination import PageQuery
from shared.schema import BaseModel  # built on first use (defer_build), not at import

VOICE_CALLS_QUEUE = "estimate-voice-calls"  # post-call webhooks received, turned into draft rooms
SESSION_VARIABLE = "tradeops_session"  # the conversation's dynamic variable that carries our session id
DraftKind = Literal["walls", "ceiling", "trim"]
DraftState = Literal["pending", "confirmed", "rejected"]
DraftSource = Literal["tool", "data_collection", "transcript"]
Quote = str


class VoiceSessionOut(BaseModel):
    """A voice conversation the PWA may open: the URL, and the dynamic variables to start it with."""

    id: uuid.UUID
    estimate_id: uuid.UUID
    provider: Literal["elevenlabs", "local"]
    agent_id: str
    signed_url: str = Field(description="wss:// URL of the conversation (ElevenLabs), or the local provider's page")
    expires_at: datetime
    dynamic_variables: dict[str, str] = Field(description="Pass as the conversation's dynamic variables")


class DraftSurface(BaseModel):
    """A surface the agent heard and its coats."""

    kind: DraftKind
    coats: int = Field(default=2, ge=1, le=5)


class Provenance(BaseModel):
    """Where a draft came from: the conversation, the turn and the words."""

    conversation_id: str
    source: DraftSource
    quote: str
    turn_index: int | None = None
    time_in_call_secs: int | None = None
    tool_call_id: str | None = None


class DraftOut(BaseModel):
    """A draft room: what the agent heard, waiting for a person to confirm or reject it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    estimate_id: uuid.UUID
    session_id: uuid.UUID
    status: DraftState
    source: DraftSource
    name: str
    length_ft: Decimal | None
    width_ft: Decimal | None
    height_ft: Decimal | None
    doors: int
    windows: int
    surfaces: list[DraftSurface]
    provenance: Provenance
    room_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class DraftPage(BaseModel):
    """A page of an estimate's draft rooms, oldest first."""

    items: list[DraftOut]
    next_cursor: str | None = None


class DraftQuery(PageQuery):
    """Which drafts to list."""

    status: DraftState | None = None


class DraftConfirmIn(BaseModel):
    """Corrections to a draft as it becomes a room; what is left out is taken from the draft. Surfaces, when
    given, replace the draft's; otherwise each heard surface gets `product_id` (or the rate book's paint for it)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    length_ft: Feet | None = None
    width_ft: Feet | None = None
    height_ft: Feet | None = None
    doors: int | None = Field(default=None, ge=0, le=100)
    windows: int | None = Field(default=None, ge=0, le=100)
    option_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    surfaces: list[SurfaceIn] | None = Field(default=None, max_length=20)


class DraftRejectIn(BaseModel):
    """Why a draft is thrown away (optional)."""

    reason: str | None = Field(default=None, max_length=500)


class DraftConfirmed(BaseModel):
    """The confirmed draft and the estimate it is now priced in."""

    draft: DraftOut
    estimate: EstimateOut


# --- the agent's server tools (ElevenLabs calls them during the conversation) ---------------------------------


class ToolContext(BaseModel):
    """What every tool call carries: our session id (the `tradeops_session` dynamic variable), the
    conversation (`system__conversation_id`) and, when the tool sends one, the call's own id."""

    model_config = ConfigDict(extra="ignore")

    session_id: uuid.UUID
    conversation_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    tool_call_id: str | None = Field(default=None, min_length=1, max_length=100)


class AddRoomCall(ToolContext):
    """add_room: a room the estimator described; missing figures are read from the quoted words."""

    name: str = Field(min_length=1, max_length=200)
    length_ft: Feet | None = None
    width_ft: Feet | None = None
    height_ft: Feet | None = None
    doors: int | None = Field(default=None, ge=0, le=100)
    windows: int | None = Field(default=None, ge=0, le=100)
    surfaces: list[DraftSurface] | None = Field(default=None, max_length=3)
    quote: Quote = Field(default="", max_length=2000, description="The estimator's words the room came from")


class SetSurfaceCall(ToolContext):
    """set_surface: paint (or not) one surface of a room drafted in this conversation."""

    room_name: str = Field(min_length=1, max_length=200)
    kind: DraftKind
    coats: int = Field(default=2, ge=1, le=5)
    include: bool = True
    quote: Quote = Field(default="", max_length=2000)


class ListRoomsCall(ToolContext):
    """list_rooms: the rooms drafted so far in this session."""


class RoomHeard(BaseModel):
    """A drafted room as the agent may read it back."""

    draft_id: uuid.UUID
    name: str
    length_ft: Decimal | None
    width_ft: Decimal | None
    height_ft: Decimal | None
    status: DraftState
    surfaces: list[DraftSurface]


class ToolAnswer(BaseModel):
    """What a tool call answers the agent (it reads `message`)."""

    status: Literal["drafted", "replayed", "updated", "listed"]
    message: str
    draft_id: uuid.UUID | None = None
    rooms: list[RoomHeard] = Field(default_factory=list)


class PostCallAck(BaseModel):
    """The post-call webhook's answer: queued once per conversation, duplicate after that, or ignored."""

    status: Literal["queued", "duplicate", "ignored"]
    conversation_id: str | None = None


class VoiceCallTask(BaseModel):
    """Turn one received post-call webhook into draft rooms."""

    tenant_id: uuid.UUID
    call_id: uuid.UUID
