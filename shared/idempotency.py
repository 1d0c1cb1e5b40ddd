"""Idempotency-Key for mutating POSTs: the first response is stored and replayed for a retry.

A record is scoped to (tenant, user, key) and kept 24 hours. Like Powertools' idempotency record it
holds a status (in_progress, completed), an expiry, a hash of the request and the response:

- the claim is committed on its own before the handler runs, so a retry arriving while the first
  request is still running finds it in progress (409) instead of running the work twice;
- the response is written in the handler's own transaction, so the stored answer and the change
  it describes commit together; if the handler fails, the claim is released and a retry runs again;
- the same key with another method, path or body is 422.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import azure.functions as func
from sqlalchemy import DateTime, Integer, LargeBinary, String, delete, select, update
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared import clock
from shared.db import Base, affected, session_scope
from shared.errors import BadRequest, Conflict, Unprocessable

RETENTION = timedelta(hours=24)
# How long an in-progress claim blocks retries before it is presumed dead (longer than any HTTP invocation).
LEASE = timedelta(minutes=10)
HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
_NOT_STORED_HEADERS = {"x-request-id", "set-cookie"}


class IdempotencyRecord(Base):
    """The stored outcome of one mutating request, per tenant, user and key."""

    __tablename__ = "idempotency_records"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_mimetype: Mapped[str | None] = mapped_column(String(127))
    locked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)


@dataclass(frozen=True)
class Claim:
    """This request holds the key: its response will be stored under it."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    key: str
    request_hash: str


def request_hash(method: str, path: str, body: bytes) -> str:
    """A digest of what the request asks for: method, path and the body (JSON compared by value)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() if body else b""
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(method.upper().encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def _key_of(request: Any) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise BadRequest("Idempotency-Key must be 1 to 255 printable characters", code="invalid_idempotency_key")
    return key


def claim(request: Any) -> Claim | func.HttpResponse | None:
    """Take the request's key: a Claim to complete, the stored response to replay, or None without a key."""
    key = _key_of(request)
    principal = request.principal
    if key is None or principal is None:
        return None
    path = (request.raw.url or "").split("?", 1)[0].split("://", 1)[-1].partition("/")[2]
    digest = request_hash(request.raw.method, "/" + path, request.raw.get_body() or b"")
    mine = Claim(tenant_id=principal.tenant_id, user_id=principal.user_id, key=key, request_hash=digest)
    with session_scope(tenant_id=principal.tenant_id) as session:
        return _claim_in(session, mine)


def _claim_in(session: Session, mine: Claim) -> Claim | func.HttpResponse:
    now = clock.now()
    fresh = {
        "request_hash": mine.request_hash,
        "status": "in_progress",
        "locked_until": now + LEASE,
        "created_at": now,
        "expires_at": now + RETENTION,
        "response_status": None,
        "response_headers": None,
        "response_body": None,
        "response_mimetype": None,
    }
    pk = {"tenant_id": mine.tenant_id, "user_id": mine.user_id, "key": mine.key}
    inserted = session.execute(
        insert(IdempotencyRecord).values(**pk, **fresh).on_conflict_do_nothing().returning(IdempotencyRecord.key)
    ).first()
    if inserted:
        return mine
    record = session.scalars(select(IdempotencyRecord).filter_by(**pk).with_for_update()).one()
    expired = record.expires_at <= now
    if not expired and record.request_hash != mine.request_hash:
        raise Unprocessable("This Idempotency-Key was used for a different request", code="idempotency_key_reused")
    if expired or (record.status == "in_progress" and record.locked_until <= now):
        session.execute(update(IdempotencyRecord).filter_by(**pk).values(**fresh))
        return mine
    if record.status == "in_progress":
        raise Conflict("A request with this Idempotency-Key is still in progress", code="idempotency_in_progress")
    return _replay(record)


def _replay(record: IdempotencyRecord) -> func.HttpResponse:
    headers = dict(record.response_headers or {})
    headers[REPLAYED_HEADER] = "true"
    return func.HttpResponse(
        record.response_body or b"",
        status_code=record.response_status or 200,
        headers=headers,
        mimetype=record.response_mimetype,
    )


def complete(request: Any, mine: Claim, response: func.HttpResponse) -> None:
    """Store the response under the key, in the handler's transaction when it opened one."""
    headers = {k: v for k, v in response.headers.items() if k.lower() not in _NOT_STORED_HEADERS}
    stmt = (
        update(IdempotencyRecord)
        .filter_by(tenant_id=mine.tenant_id, user_id=mine.user_id, key=mine.key)
        .values(
            status="completed",
            response_status=response.status_code,
            response_headers=headers,
            response_body=response.get_body(),
            response_mimetype=response.mimetype,
        )
    )
    session = getattr(request, "_session", None)
    if session is not None:
        session.execute(stmt)
        return
    with session_scope(tenant_id=mine.tenant_id) as own:
        own.execute(stmt)


def release(mine: Claim) -> None:
    """Give the key back after the handler failed, so a retry runs the request again."""
    with session_scope(tenant_id=mine.tenant_id) as session:
        session.execute(
            delete(IdempotencyRecord).filter_by(
                tenant_id=mine.tenant_id, user_id=mine.user_id, key=mine.key, status="in_progress"
            )
        )


def purge_expired(session: Session) -> int:
    """Delete the session's tenant's records past their 24 h retention; returns how many."""
    return affected(session, delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= clock.now()))
