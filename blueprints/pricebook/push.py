"""Pushing local edits to ServiceTitan with a three-way merge; new items are POSTed and linked.

Each item is pushed by one activity in three steps, never holding a transaction over a ServiceTitan call:
claim (take the item's lock in sync.locks and read the edit), call (GET the current item, merge, PATCH only
the fields changed here alone, each call logged in sync.outbound_queue first), record (master takes
ServiceTitan's answer, the sent fields leave the override, conflicts are written, the lock is released).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from blueprints.pricebook import connection, merge, normalise, pull, schemas
from blueprints.pricebook.models import ItemLock, NewItem, OutboundCall, Override, SyncConflict, SyncRun, table_of
from shared import audit, clock
from shared.auth import Principal
from shared.db import session_scope
from shared.providers.servicetitan import ServiceTitanClient, ServiceTitanError

LOCK_SECONDS = 300


def start_push(
    *, session: Session, principal: Principal, actor: audit.Actor, push_in: schemas.PushIn
) -> tuple[schemas.SyncOut, dict[str, Any]]:
    """Record a push of every pending edit and new item; answer it with the orchestration's input."""
    kinds: list[str] = list(push_in.kinds or normalise.ITEM_KINDS)
    run = pull.create_run(
        session, tenant_id=principal.tenant_id, direction="push", mode="push", kinds=kinds, user_id=actor.user_id
    )
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="pricebook.push_started",
        entity="pricebook_sync",
        entity_id=run.id,
        after={"kinds": kinds},
    )
    return schemas.SyncOut.model_validate(run), {"tenant_id": str(principal.tenant_id), "run_id": str(run.id)}


def plan(tenant_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, list[Any]]:
    """Mark the push running; the pending edits ([kind, st_id]) and new items (ids) it will push."""
    with session_scope(tenant_id=tenant_id) as session:
        run = session.get(SyncRun, run_id, with_for_update=True)
        if run is None:
            return {"edits": [], "new": []}
        run.status = "running" if run.status == "pending" else run.status
        edits = session.execute(
            select(Override.kind, Override.st_id)
            .where(Override.tenant_id == tenant_id, Override.pending.is_(True), Override.kind.in_(run.kinds))
            .order_by(Override.kind, Override.st_id)
        ).all()
        new = session.scalars(
            select(NewItem.id).where(
                NewItem.tenant_id == tenant_id, NewItem.pending.is_(True), NewItem.kind.in_(run.kinds)
            )
        ).all()
        run.progress = {"edits": len(edits), "new": len(new), "sent": 0, "conflicts": 0, "failed": 0, "locked": 0}
        return {"edits": [[k, i] for k, i in edits], "new": [str(n) for n in new]}


def acquire_lock(session: Session, *, tenant_id: uuid.UUID, kind: str, st_id: int, holder: uuid.UUID) -> bool:
    """Take the item's push lock (free, expired, or already ours); False when someone else holds it."""
    now = clock.now()
    stmt = insert(table_of(ItemLock)).values(
        tenant_id=tenant_id, kind=kind, st_id=st_id, holder=holder, expires_at=now + timedelta(seconds=LOCK_SECONDS)
    )
    locks = table_of(ItemLock)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "kind", "st_id"],
        set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
        where=(locks.c.expires_at < now) | (locks.c.holder == holder),
    ).returning(locks.c.holder)
    return session.execute(stmt).first() is not None


def release_lock(session: Session, *, tenant_id: uuid.UUID, kind: str, st_id: int, holder: uuid.UUID) -> None:
    """Give the item's lock back."""
    session.execute(
        delete(ItemLock).where(
            ItemLock.tenant_id == tenant_id, ItemLock.kind == kind, ItemLock.st_id == st_id, ItemLock.holder == holder
        )
    )


@dataclass
class Claim:
    """What the claim step read: the edit and a client for the business's connection."""

    fields: dict[str, Any]
    base: dict[str, Any]
    client: ServiceTitanClient


def _claim(tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str, st_id: int) -> Claim | str:
    with session_scope(tenant_id=tenant_id) as session:
        override = session.scalars(
            select(Override).where(Override.tenant_id == tenant_id, Override.kind == kind, Override.st_id == st_id)
        ).first()
        if override is None or not override.pending or not override.fields:
            return "nothing_pending"
        if not acquire_lock(session, tenant_id=tenant_id, kind=kind, st_id=st_id, holder=run_id):
            return "locked"
        return Claim(dict(override.fields), dict(override.base), connection.client_for(session, tenant_id))


def _log_call(
    tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str, st_id: int | None, method: str, body: Any
) -> uuid.UUID:
    with session_scope(tenant_id=tenant_id) as session:
        call = OutboundCall(
            tenant_id=tenant_id, run_id=run_id, kind=kind, st_id=st_id, method=method, fields=body, status="sending"
        )
        session.add(call)
        session.flush()
        return call.id


def _call_outcome(session: Session, call_id: uuid.UUID, *, status: str, code: int | None, error: str | None) -> None:
    call = session.get(OutboundCall, call_id)
    if call is not None:
        call.status, call.response_status, call.error, call.sent_at = status, code, error, clock.now()


def push_item(tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str, st_id: int) -> dict[str, Any]:
    """Claim, merge against ServiceTitan's current item, PATCH what changed here only, record the outcome."""
    claim = _claim(tenant_id, run_id, kind, st_id)
    if isinstance(claim, str):
        return {"outcome": claim}
    call_id = None
    try:
        remote_item = claim.client.get(kind, st_id)
        remote = normalise.editable_values(kind, normalise.item_row(kind, remote_item))
        result = merge.three_way(base=claim.base, local=claim.fields, remote=remote)
        answer = remote_item
        if result.send:
            body = normalise.to_wire(kind, result.send)
            call_id = _log_call(tenant_id, run_id, kind, st_id, "PATCH", body)
            answer = claim.client.patch(kind, st_id, body)
    except ServiceTitanError as exc:
        with session_scope(tenant_id=tenant_id) as session:
            if call_id is not None:
                _call_outcome(session, call_id, status="failed", code=exc.status, error=str(exc))
            release_lock(session, tenant_id=tenant_id, kind=kind, st_id=st_id, holder=run_id)
            _count(session, run_id, "failed")
        return {"outcome": "failed", "error": str(exc)}
    with session_scope(tenant_id=tenant_id) as session:
        if call_id is not None:
            _call_outcome(session, call_id, status="sent", code=200, error=None)
        _record(
            session,
            tenant_id=tenant_id,
            run_id=run_id,
            kind=kind,
            st_id=st_id,
            result=result,
            answer=answer,
            local=claim.fields,
        )
        release_lock(session, tenant_id=tenant_id, kind=kind, st_id=st_id, holder=run_id)
    outcome = "conflict" if result.conflicts else "sent" if result.send else "in_sync"
    return {"outcome": outcome, "sent": sorted(result.send), "conflicts": sorted(result.conflicts)}


def _record(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    kind: str,
    st_id: int,
    result: merge.MergeResult,
    answer: dict[str, Any],
    local: dict[str, Any],
) -> None:
    changed = pull.write_raw(session, tenant_id=tenant_id, run_id=run_id, kind=kind, items=[answer])
    pull.write_master(session, tenant_id=tenant_id, kind=kind, items=changed)
    override = session.scalars(
        select(Override)
        .where(Override.tenant_id == tenant_id, Override.kind == kind, Override.st_id == st_id)
        .with_for_update()
    ).first()
    if override is None:
        return
    fields, base = dict(override.fields), dict(override.base)
    settled = {name: local[name] for name in (*result.send, *result.already)}
    for name, value in settled.items():
        if fields.get(name) == value:  # an edit made while we pushed stays for the next push
            fields.pop(name, None)
            base.pop(name, None)
    for name, conflict in result.conflicts.items():
        _open_conflict(session, tenant_id=tenant_id, kind=kind, st_id=st_id, name=name, conflict=conflict)
    override.fields, override.base = fields, base
    override.pending = bool(fields) and not any(name in fields for name in result.conflicts)
    override.pushed_at = override.updated_at = clock.now()
    session.flush()
    _count(session, run_id, "conflicts" if result.conflicts else "sent")
    audit.record(
        session,
        tenant_id=tenant_id,
        actor=audit.SYSTEM,
        action="pricebook.pushed",
        entity=f"pricebook_{kind}",
        entity_id=str(st_id),
        after={"sent": result.send, "conflicts": sorted(result.conflicts), "run_id": str(run_id)},
    )


def _open_conflict(
    session: Session, *, tenant_id: uuid.UUID, kind: str, st_id: int, name: str, conflict: merge.FieldConflict
) -> None:
    existing = session.scalars(
        select(SyncConflict).where(
            SyncConflict.tenant_id == tenant_id,
            SyncConflict.kind == kind,
            SyncConflict.st_id == st_id,
            SyncConflict.field == name,
            SyncConflict.status == "open",
        )
    ).first()
    if existing is not None:
        existing.local, existing.remote = conflict.local, conflict.remote
        return
    session.add(
        SyncConflict(
            tenant_id=tenant_id,
            kind=kind,
            st_id=st_id,
            field=name,
            base=conflict.base,
            local=conflict.local,
            remote=conflict.remote,
            status="open",
        )
    )


def _count(session: Session, run_id: uuid.UUID, key: str) -> None:
    run = session.get(SyncRun, run_id, with_for_update=True)
    if run is not None:
        run.progress = {**run.progress, key: int(run.progress.get(key, 0)) + 1}


def push_new(tenant_id: uuid.UUID, run_id: uuid.UUID, new_id: uuid.UUID) -> dict[str, Any]:
    """POST a new local item and link it to its ServiceTitan id (an item already linked is not sent again)."""
    with session_scope(tenant_id=tenant_id) as session:
        item = session.get(NewItem, new_id)
        if item is None or not item.pending or item.st_id is not None:
            return {"outcome": "nothing_pending"}
        kind, body = item.kind, normalise.to_wire(item.kind, item.fields)
        client = connection.client_for(session, tenant_id)
    call_id = _log_call(tenant_id, run_id, kind, None, "POST", body)
    try:
        answer = client.create(kind, {**body, "active": True})
    except ServiceTitanError as exc:
        with session_scope(tenant_id=tenant_id) as session:
            _call_outcome(session, call_id, status="failed", code=exc.status, error=str(exc))
            _count(session, run_id, "failed")
        return {"outcome": "failed", "error": str(exc)}
    with session_scope(tenant_id=tenant_id) as session:
        _call_outcome(session, call_id, status="sent", code=200, error=None)
        item = session.get(NewItem, new_id, with_for_update=True)
        if item is not None:
            item.st_id, item.pending, item.updated_at = int(answer["id"]), False, clock.now()
        changed = pull.write_raw(session, tenant_id=tenant_id, run_id=run_id, kind=kind, items=[answer])
        pull.write_master(session, tenant_id=tenant_id, kind=kind, items=changed)
        _count(session, run_id, "sent")
    return {"outcome": "created", "st_id": int(answer["id"])}
