"""Conflicts: a field changed here and in ServiceTitan; the estimator keeps ours, takes theirs, or sets a value."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.pricebook import browse, edits, schemas
from blueprints.pricebook.models import Override, SyncConflict
from shared import audit, clock
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.pagination import paginate


def list_conflicts(*, session: Session, principal: Principal, query: schemas.ConflictQuery) -> schemas.ConflictList:
    """Conflicts, newest first."""
    stmt = select(SyncConflict).where(SyncConflict.tenant_id == principal.tenant_id)
    if query.status != "any":
        stmt = stmt.where(SyncConflict.status == query.status)
    rows, cursor = paginate(
        session, stmt, keys=[SyncConflict.created_at, SyncConflict.id], query=query, descending=True
    )
    return schemas.ConflictList(items=[schemas.ConflictOut.model_validate(r) for r in rows], next_cursor=cursor)


def resolve(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    conflict_id: uuid.UUID,
    resolution: schemas.ResolutionIn,
) -> schemas.ConflictOut:
    """Settle a conflict: remote drops our edit of the field; local or a value is pushed next time over theirs."""
    conflict = session.get(SyncConflict, conflict_id, with_for_update=True)
    if conflict is None or conflict.tenant_id != principal.tenant_id:
        raise NotFound("No such conflict")
    if conflict.status != "open":
        raise Conflict("This conflict is already resolved", code="conflict_resolved")
    override = browse.override_of(session, principal.tenant_id, conflict.kind, conflict.st_id, lock=True)
    if override is None:
        override = Override(tenant_id=principal.tenant_id, kind=conflict.kind, st_id=conflict.st_id, fields={}, base={})
        session.add(override)
    fields, base = dict(override.fields), dict(override.base)
    if resolution.take == "remote":
        fields.pop(conflict.field, None)
        base.pop(conflict.field, None)
    else:
        chosen = conflict.local
        if resolution.take == "value":
            chosen = edits.field_values(conflict.kind, {conflict.field: resolution.value})[conflict.field]
        # ServiceTitan's value becomes the synced one: the next push sees a change made here only and sends it.
        fields[conflict.field], base[conflict.field] = chosen, conflict.remote
    override.fields, override.base, override.pending = fields, base, bool(fields)
    override.updated_at = clock.now()
    conflict.status, conflict.resolution = "resolved", resolution.take
    conflict.resolved_by, conflict.resolved_at = actor.user_id, clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="pricebook.conflict_resolved",
        entity=f"pricebook_{conflict.kind}",
        entity_id=str(conflict.st_id),
        after={"field": conflict.field, "take": resolution.take},
    )
    return schemas.ConflictOut.model_validate(conflict)
