"""Draft rooms from the voice agent: made from a post-call webhook (once per conversation) or a tool call,
listed, and confirmed (they become rooms through the room service, priced by the rate book) or rejected.

From `post_call_transcription` we keep the transcript turns and `analysis.data_collection_results`. Data
collection comes first: the agent's `rooms` item (a JSON list of rooms, or plain words about them); the local
parser reads the estimator's turns when it gave nothing. Every draft keeps its provenance: the conversation,
the turn index, `time_in_call_secs` and the quoted words.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from blueprints.estimates import estimates, rate_book
from blueprints.estimates.access import estimate_or_raise, require_edit
from blueprints.estimates.models import EstimateItem, VoiceCall, VoiceDraft
from blueprints.estimates.schemas import RateBookBody, RoomIn, SurfaceIn
from blueprints.estimates.voice_parser import SpokenRoom, Turn, parse_text, parse_turns, read_room
from blueprints.estimates.voice_schemas import (
    AddRoomCall,
    DraftConfirmed,
    DraftConfirmIn,
    DraftOut,
    DraftPage,
    DraftQuery,
    DraftRejectIn,
    RoomHeard,
    VoiceCallTask,
)
from blueprints.estimates.voice_transitions import DraftEvent, DraftStatus, next_draft_status
from shared import audit, clock
from shared.auth import Principal
from shared.db import session_scope
from shared.errors import NotFound, Unprocessable
from shared.pagination import decode_cursor, encode_cursor

DATA_COLLECTION_ITEM = "rooms"
MAX_DRAFTS_PER_CALL = 60


# --- what was heard, as draft values (pure) -------------------------------------------------------------------


def as_object(value: Any) -> dict[str, Any]:
    """value when it is a JSON object, else an empty one (payload fields are never trusted to be there)."""
    return value if isinstance(value, dict) else {}


def _spoken_values(room: SpokenRoom) -> dict[str, Any]:
    return {
        "name": room.name[:200],
        "length_ft": room.length_ft,
        "width_ft": room.width_ft,
        "height_ft": room.height_ft,
        "doors": room.doors,
        "windows": room.windows,
        "surfaces": [{"kind": s.kind, "coats": s.coats} for s in room.surfaces],
    }


def tool_draft_values(call: AddRoomCall) -> dict[str, Any]:
    """An add_room call as draft columns: what the tool said wins, the quoted words fill in the rest."""
    values = {**_spoken_values(read_room(call.name, call.quote)), "name": call.name}
    for name in ("length_ft", "width_ft", "height_ft", "doors", "windows"):
        given = getattr(call, name)
        if given is not None:
            values[name] = given
        values.setdefault(name, 0 if name in ("doors", "windows") else None)
    if call.surfaces is not None:
        values["surfaces"] = [s.model_dump() for s in call.surfaces]
    values["provenance"] = {
        "conversation_id": call.conversation_id,
        "source": "tool",
        "quote": call.quote or call.name,
        "tool_call_id": call.tool_call_id,
    }
    return values


def transcript_turns(data: dict[str, Any]) -> list[Turn]:
    """The transcript of a post-call payload as turns (index, role, message, time_in_call_secs)."""
    turns = []
    for index, turn in enumerate(data.get("transcript") or []):
        if not isinstance(turn, dict):
            continue
        seconds = turn.get("time_in_call_secs")
        turns.append(
            Turn(
                index=index,
                role=str(turn.get("role") or ""),
                message=str(turn.get("message") or ""),
                time_in_call_secs=int(seconds) if isinstance(seconds, (int, float)) else None,
            )
        )
    return turns


def drafts_from_payload(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Draft values from a post_call_transcription payload: data collection first, else the transcript parser."""
    data = as_object(payload.get("data"))
    conversation_id = str(data.get("conversation_id") or "")
    turns = transcript_turns(data)
    collected = _collected_rooms(data, turns)
    if collected:
        rooms, source = collected, "data_collection"
    else:
        rooms, source = parse_turns(turns), "transcript"
    drafts = []
    for room in rooms[:MAX_DRAFTS_PER_CALL]:
        values = _spoken_values(room)
        values["source"] = source
        values["provenance"] = {
            "conversation_id": conversation_id,
            "source": source,
            "quote": room.quote[:2000],
            "turn_index": room.turn_index,
            "time_in_call_secs": room.time_in_call_secs,
        }
        drafts.append(values)
    return drafts


def _collected_rooms(data: dict[str, Any], turns: list[Turn]) -> list[SpokenRoom]:
    results = as_object(as_object(data.get("analysis")).get("data_collection_results"))
    value = as_object(results.get(DATA_COLLECTION_ITEM)).get("value")
    if not isinstance(value, str) or not value.strip():
        return []
    try:
        listed = json.loads(value)
    except ValueError:
        return parse_text(value)  # the agent summed the rooms up in words: read them as words
    if not isinstance(listed, list):
        return []
    rooms = [room for room in (_collected_room(entry) for entry in listed if isinstance(entry, dict)) if room]
    for room in rooms:
        _locate(room, turns)
    return rooms


def _collected_room(entry: dict[str, Any]) -> SpokenRoom | None:
    name = str(entry.get("name") or "").strip()
    if not name:
        return None
    quote = str(entry.get("quote") or "")
    room = read_room(name[:200], quote)
    room.quote = quote or name
    for field, cast in (("length_ft", _feet), ("width_ft", _feet), ("height_ft", _feet)):
        if entry.get(field) is not None:
            setattr(room, field, cast(entry[field]))
    for field in ("doors", "windows"):
        if isinstance(entry.get(field), int) and 0 <= entry[field] <= 100:
            setattr(room, field, entry[field])
    return room


def _feet(value: Any) -> Decimal | None:
    try:
        feet = Decimal(str(value)).quantize(Decimal("0.001"))
    except ArithmeticError:
        return None
    return feet if 0 <= feet <= 1000 else None


def _locate(room: SpokenRoom, turns: list[Turn]) -> None:
    """The estimator's turn the room was named in (its index and time), for a room from data collection."""
    words = room.name.lower().split()
    for turn in turns:
        if turn.role == "user" and all(word in turn.message.lower() for word in words):
            room.turn_index, room.time_in_call_secs = turn.index, turn.time_in_call_secs
            if room.quote == room.name:
                room.quote = turn.message[:2000]
            return


# --- the queue: a received post-call webhook becomes draft rooms, once -------------------------------------


def process_call(task: VoiceCallTask) -> str:
    """Turn one received post-call webhook into draft rooms (a copy of a processed one changes nothing).

    One transaction: no provider is called, so the claim and the drafts commit together or not at all.
    """
    with session_scope(tenant_id=task.tenant_id) as session:
        call = session.scalars(select(VoiceCall).where(VoiceCall.id == task.call_id).with_for_update()).first()
        if call is None:
            return "unknown call"
        if call.status != "received":
            return f"{call.status} already"
        drafted = {
            name.lower()
            for name in session.scalars(
                select(VoiceDraft.name).where(
                    VoiceDraft.session_id == call.session_id, VoiceDraft.conversation_id == call.conversation_id
                )
            )
        }
        made = 0
        for values in drafts_from_payload(call.payload):
            if values["name"].lower() in drafted:  # a tool call already drafted it during the call
                continue
            drafted.add(values["name"].lower())
            session.add(
                VoiceDraft(
                    id=uuid.uuid4(),
                    tenant_id=call.tenant_id,
                    estimate_id=call.estimate_id,
                    session_id=call.session_id,
                    conversation_id=call.conversation_id,
                    status=DraftStatus.PENDING.value,
                    **values,
                )
            )
            made += 1
        call.status, call.drafts, call.processed_at = "processed", made, clock.now()
        return f"{made} draft rooms"


def give_up_call(task: VoiceCallTask) -> str:
    """A post-call webhook the queue gave up on: marked failed, unless it was processed meanwhile."""
    with session_scope(tenant_id=task.tenant_id) as session:
        call = session.scalars(select(VoiceCall).where(VoiceCall.id == task.call_id).with_for_update()).first()
        if call is None or call.status != "received":
            return "kept"
        call.status = "failed"
        return "failed"


# --- drafts for people: list, confirm, reject -------------------------------------------------------------


def heard_rooms(session: Session, voice_session_id: uuid.UUID) -> list[RoomHeard]:
    """The rooms drafted so far in a voice session, for the agent to read back."""
    drafts = session.scalars(
        select(VoiceDraft).where(VoiceDraft.session_id == voice_session_id).order_by(VoiceDraft.created_at)
    )
    return [
        RoomHeard(
            draft_id=d.id,
            name=d.name,
            length_ft=d.length_ft,
            width_ft=d.width_ft,
            height_ft=d.height_ft,
            status=d.status,  # type: ignore[arg-type]
            surfaces=d.surfaces,  # type: ignore[arg-type]
        )
        for d in drafts
    ]


def list_drafts(*, session: Session, principal: Principal, estimate_id: uuid.UUID, query: DraftQuery) -> DraftPage:
    """An estimate's draft rooms, oldest first (filtered by status)."""
    estimate = estimate_or_raise(session, principal, estimate_id)
    stmt = select(VoiceDraft).where(VoiceDraft.estimate_id == estimate.id)
    if query.status:
        stmt = stmt.where(VoiceDraft.status == query.status)
    keys = tuple_(VoiceDraft.created_at, VoiceDraft.id)
    if query.cursor:
        stmt = stmt.where(keys > tuple_(*decode_cursor(query.cursor, 2)))
    rows = list(session.scalars(stmt.order_by(VoiceDraft.created_at, VoiceDraft.id).limit(query.limit + 1)))
    items = [DraftOut.model_validate(row) for row in rows[: query.limit]]
    cursor = encode_cursor([items[-1].created_at, items[-1].id]) if len(rows) > query.limit else None
    return DraftPage(items=items, next_cursor=cursor)


def _draft_or_raise(session: Session, principal: Principal, estimate_id: uuid.UUID, draft_id: uuid.UUID) -> Any:
    estimate = estimate_or_raise(session, principal, estimate_id, lock=True)
    require_edit(session, principal, estimate)
    draft = session.scalars(
        select(VoiceDraft).where(VoiceDraft.id == draft_id, VoiceDraft.estimate_id == estimate.id).with_for_update()
    ).first()
    if draft is None:
        raise NotFound("No such draft")
    return estimate, draft


def _product_for(book: RateBookBody, kind: str, chosen: uuid.UUID | None) -> uuid.UUID:
    """The paint for a heard surface: the one chosen, else the rate book's paint named for it, else its first."""
    if chosen is not None:
        return book.product(chosen).id
    if not book.products:
        raise Unprocessable("The rate book has no paints; add one or give the surfaces", code="no_products")
    named = [p for p in book.products if kind.rstrip("s") in p.name.lower()]
    return (named or book.products)[0].id


def _room_in(draft: VoiceDraft, fix: DraftConfirmIn, book: RateBookBody) -> RoomIn:
    length = draft.length_ft if fix.length_ft is None else fix.length_ft
    width = draft.width_ft if fix.width_ft is None else fix.width_ft
    if length is None or width is None:
        raise Unprocessable("The draft has no length or width; give them to confirm it", code="measurements_missing")
    surfaces = fix.surfaces
    if surfaces is None:
        surfaces = [
            SurfaceIn(kind=s["kind"], coats=s["coats"], product_id=_product_for(book, s["kind"], fix.product_id))
            for s in draft.surfaces
        ]
    return RoomIn(
        name=fix.name or draft.name,
        length_ft=length,
        width_ft=width,
        height_ft=fix.height_ft if fix.height_ft is not None else draft.height_ft or Decimal(8),
        doors=draft.doors if fix.doors is None else fix.doors,
        windows=draft.windows if fix.windows is None else fix.windows,
        option_id=fix.option_id,
        surfaces=surfaces,
    )


def confirm_draft(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    estimate_id: uuid.UUID,
    draft_id: uuid.UUID,
    corrections: DraftConfirmIn,
) -> DraftConfirmed:
    """Make a draft a room of the estimate (with corrections), priced by the rate book."""
    estimate, draft = _draft_or_raise(session, principal, estimate_id, draft_id)
    status = next_draft_status(draft.status, DraftEvent.CONFIRM)
    book = rate_book.book_at(session, estimate.tenant_id, rate_book.current_version(session, estimate.tenant_id))
    room_in = _room_in(draft, corrections, book)
    before = set(session.scalars(select(EstimateItem.id).where(EstimateItem.estimate_id == estimate.id)))
    out, _ = estimates.add_room(
        session=session, principal=principal, actor=actor, estimate_id=estimate.id, room_in=room_in
    )
    draft.room_id = next((room.id for room in out.rooms if room.id not in before), None)
    draft.status, draft.decided_by, draft.decided_at = status.value, principal.user_id, clock.now()
    draft.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=estimate.tenant_id,
        actor=actor,
        action="estimates.voice_draft_confirmed",
        entity="estimate",
        entity_id=estimate.id,
        after={"draft_id": str(draft.id), "room_id": str(draft.room_id), "name": room_in.name},
    )
    estimate_out, _ = estimates.get_estimate(session=session, principal=principal, estimate_id=estimate.id)
    return DraftConfirmed(draft=DraftOut.model_validate(draft), estimate=estimate_out)


def reject_draft(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    estimate_id: uuid.UUID,
    draft_id: uuid.UUID,
    rejection: DraftRejectIn,
) -> DraftOut:
    """Throw a draft away (it never becomes a room)."""
    estimate, draft = _draft_or_raise(session, principal, estimate_id, draft_id)
    draft.status = next_draft_status(draft.status, DraftEvent.REJECT).value
    draft.decided_by, draft.decided_at, draft.updated_at = principal.user_id, clock.now(), clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=estimate.tenant_id,
        actor=actor,
        action="estimates.voice_draft_rejected",
        entity="estimate",
        entity_id=estimate.id,
        after={"draft_id": str(draft.id), "reason": rejection.reason},
    )
    return DraftOut.model_validate(draft)
