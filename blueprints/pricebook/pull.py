"""Pulling the pricebook: runs, export pages into raw.* and master.*, category paths, the nightly refresh.

The pull orchestration calls these as activities. `pull_page` reads the connection in one short transaction,
calls ServiceTitan outside any transaction, and writes the page in a second one. Each page is bulk-written
(COPY into staging, then one upsert; never row by row) and idempotent: a raw row is rewritten only when its
JSON changed, and only the rows that changed are normalised into master, so a page written twice changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blueprints.identity import service as identity
from blueprints.pricebook import bulk, connection, normalise, schemas
from blueprints.pricebook.models import (
    MASTER_MODELS,
    RAW_MODELS,
    FeedCursor,
    InboundPage,
    MasterCategory,
    ServiceLink,
    StConnection,
    SyncRun,
    table_of,
)
from shared import audit, clock
from shared.auth import Principal, system_principal
from shared.db import session_scope
from shared.errors import Conflict, NotFound

RUNNING = ("pending", "running")
STALE_AFTER = timedelta(hours=6)  # a run this old that never finished (its host lost) no longer blocks the next
RAW_COLUMNS = ("tenant_id", "st_id", "payload", "modified_on", "run_id")
ORDER = normalise.KINDS  # categories first, so items find their categories


def _running(session: Session, tenant_id: uuid.UUID, direction: str) -> SyncRun | None:
    return session.scalars(
        select(SyncRun).where(
            SyncRun.tenant_id == tenant_id, SyncRun.direction == direction, SyncRun.status.in_(RUNNING)
        )
    ).first()


def create_run(
    session: Session, *, tenant_id: uuid.UUID, direction: str, mode: str, kinds: list[str], user_id: uuid.UUID | None
) -> SyncRun:
    """A pending run; 409 naming the running one when the business already has one in this direction."""
    connection.load(session, tenant_id)  # 409 not_connected before anything else
    running = _running(session, tenant_id, direction)
    if running is not None and running.created_at < clock.now() - STALE_AFTER:
        running.status, running.error, running.finished_at = "failed", "stale: never finished", clock.now()
        session.flush()
        running = None
    if running is not None:
        raise Conflict(f"A {direction} is already running", code=f"{direction}_running", running_id=str(running.id))
    run = SyncRun(
        tenant_id=tenant_id,
        direction=direction,
        mode=mode,
        kinds=kinds,
        status="pending",
        progress={kind: schemas.KindProgress().model_dump() for kind in kinds},
        created_by=user_id,
    )
    session.add(run)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # a concurrent start won the partial unique index
        running = _running(session, tenant_id, direction)
        raise Conflict(
            f"A {direction} is already running", code=f"{direction}_running", running_id=str(running and running.id)
        ) from None
    return run


def start_sync(
    *, session: Session, principal: Principal, actor: audit.Actor, sync_in: schemas.SyncIn
) -> tuple[schemas.SyncOut, dict[str, Any]]:
    """Record a pull and answer it with the orchestration's input."""
    kinds = [kind for kind in ORDER if kind in (sync_in.kinds or ORDER)]
    run = create_run(
        session, tenant_id=principal.tenant_id, direction="pull", mode=sync_in.mode, kinds=kinds, user_id=actor.user_id
    )
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="pricebook.pull_started",
        entity="pricebook_sync",
        entity_id=run.id,
        after={"mode": run.mode, "kinds": kinds},
    )
    start = {"tenant_id": str(principal.tenant_id), "run_id": str(run.id), "mode": run.mode, "kinds": kinds}
    return schemas.SyncOut.model_validate(run), start


def get_sync(*, session: Session, principal: Principal, run_id: uuid.UUID) -> schemas.SyncOut:
    """A run of this business; 404 for anyone else's."""
    run = session.get(SyncRun, run_id)
    if run is None or run.tenant_id != principal.tenant_id:
        raise NotFound("No such sync")
    return schemas.SyncOut.model_validate(run)


# --- activities -----------------------------------------------------------------------------------------------


def begin(tenant_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, str | None]:
    """Mark the run running; each kind's starting token (none for a full pull: the feed's start)."""
    with session_scope(tenant_id=tenant_id) as session:
        run = session.get(SyncRun, run_id, with_for_update=True)
        if run is None:
            raise NotFound("No such sync")
        if run.status == "pending":
            run.status = "running"
        if run.mode == "full":
            return dict.fromkeys(run.kinds)
        cursors = dict(
            session.execute(
                select(FeedCursor.kind, FeedCursor.continue_from).where(FeedCursor.tenant_id == tenant_id)
            ).all()
        )
        return {kind: cursors.get(kind) for kind in run.kinds}


def pull_page(tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str, token: str | None) -> dict[str, Any]:
    """Fetch one export page (outside any transaction) and write it; what the orchestrator needs next."""
    with session_scope(tenant_id=tenant_id) as session:
        client = connection.client_for(session, tenant_id)
    page = client.export(kind, token)
    with session_scope(tenant_id=tenant_id) as session:
        written = write_page(session, tenant_id=tenant_id, run_id=run_id, kind=kind, token=token, page=page)
    return {
        "received": len(page.get("data") or []),
        "written": written,
        "continue_from": page.get("continueFrom"),
        "has_more": bool(page.get("hasMore")),
    }


def write_page(
    session: Session, *, tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str, token: str | None, page: dict[str, Any]
) -> int:
    """Upsert a page into raw, normalise the rows that changed into master, move the cursor, log the page."""
    data = [item for item in page.get("data") or [] if item.get("id") is not None]
    changed = write_raw(session, tenant_id=tenant_id, run_id=run_id, kind=kind, items=data)
    write_master(session, tenant_id=tenant_id, kind=kind, items=changed)
    if page.get("continueFrom") is not None:  # without a token, keep the last one (never restart the feed)
        cursor = insert(FeedCursor).values(tenant_id=tenant_id, kind=kind, continue_from=page["continueFrom"])
        session.execute(
            cursor.on_conflict_do_update(
                index_elements=["tenant_id", "kind"],
                set_={"continue_from": cursor.excluded.continue_from, "updated_at": func.now()},
            )
        )
    session.add(
        InboundPage(
            tenant_id=tenant_id,
            run_id=run_id,
            kind=kind,
            from_token=token,
            continue_from=page.get("continueFrom"),
            received=len(data),
            written=len(changed),
        )
    )
    _progress(session, run_id, kind, received=len(data), written=len(changed))
    return len(changed)


def write_raw(
    session: Session, *, tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Bulk upsert (COPY, then one merge) of the JSON as received; the items whose JSON was new or changed."""
    if not items:
        return []
    rows = [(tenant_id, int(i["id"]), Jsonb(i), normalise.st_time(i.get("modifiedOn")), run_id) for i in items]
    changed = bulk.copy_upsert(
        session,
        table_of(RAW_MODELS[kind]),
        RAW_COLUMNS,
        rows,
        keys=("tenant_id", "st_id"),
        update=("payload", "modified_on", "run_id"),
        only_if_changed="payload",
    )
    changed_ids = {st_id for _, st_id in changed}
    return [item for item in items if int(item["id"]) in changed_ids]


def write_master(session: Session, *, tenant_id: uuid.UUID, kind: str, items: list[dict[str, Any]]) -> None:
    """Bulk upsert (COPY, then one merge) of the normalised rows, and a service's links."""
    if not items:
        return
    if kind == "categories":
        table = table_of(MasterCategory)
        rows = [normalise.category_row(item) for item in normalise.flatten_categories(items)]
    else:
        table = table_of(MASTER_MODELS[kind])
        rows = [normalise.item_row(kind, item) for item in items]
    columns = ["tenant_id", *rows[0]]
    update = [c for c in rows[0] if c != "st_id"]
    values = [(tenant_id, *row.values()) for row in rows]
    bulk.copy_upsert(
        session, table, columns, values, keys=("tenant_id", "st_id"), update=update, touch="synced_at", returning=False
    )
    if kind == "services":
        ids = [int(item["id"]) for item in items]
        session.execute(
            delete(ServiceLink).where(ServiceLink.tenant_id == tenant_id, ServiceLink.service_st_id.in_(ids))
        )
        links = [{"tenant_id": tenant_id, **link} for item in items for link in normalise.service_links(item)]
        if links:
            session.execute(insert(table_of(ServiceLink)), links)


def _progress(session: Session, run_id: uuid.UUID, kind: str, **counts: int) -> None:
    run = session.get(SyncRun, run_id, with_for_update=True)
    if run is None:
        return
    progress = dict(run.progress)
    entry = schemas.KindProgress.model_validate(progress.get(kind) or {})
    entry.pages += 1
    entry.received += counts.get("received", 0)
    entry.written += counts.get("written", 0)
    progress[kind] = entry.model_dump()
    run.progress = progress


def finish_kind(tenant_id: uuid.UUID, run_id: uuid.UUID, kind: str) -> None:
    """A kind is caught up: for categories, recompute every path (a moved category moves its subtree)."""
    with session_scope(tenant_id=tenant_id) as session:
        if kind == "categories":
            refresh_category_paths(session, tenant_id)
        run = session.get(SyncRun, run_id, with_for_update=True)
        if run is not None:
            progress = dict(run.progress)
            progress[kind] = {**(progress.get(kind) or {}), "done": True}
            run.progress = progress


def refresh_category_paths(session: Session, tenant_id: uuid.UUID) -> int:
    """Set each category's path from its parents; only the rows whose path changed are written."""
    rows = session.execute(
        select(MasterCategory.st_id, MasterCategory.parent_st_id, MasterCategory.path).where(
            MasterCategory.tenant_id == tenant_id
        )
    ).all()
    paths = normalise.category_paths({r.st_id: r.parent_st_id for r in rows})
    changed = [{"k": r.st_id, "p": paths[r.st_id]} for r in rows if paths[r.st_id] != r.path]
    if changed:
        table = table_of(MasterCategory)
        session.execute(
            update(table)
            .where(table.c.tenant_id == tenant_id, table.c.st_id == bindparam("k"))
            .values(path=bindparam("p")),
            changed,
        )
    return len(changed)


def finish(tenant_id: uuid.UUID, run_id: uuid.UUID, error: str | None = None) -> str:
    """The run's outcome: completed, or failed with the error; the connection remembers the last sync."""
    with session_scope(tenant_id=tenant_id) as session:
        run = session.get(SyncRun, run_id, with_for_update=True)
        if run is None or run.status not in RUNNING:
            return run.status if run else "missing"
        run.status = "failed" if error else "completed"
        run.error = error[:2000] if error else None
        run.finished_at = clock.now()
        row = session.get(StConnection, tenant_id)
        if row is not None:
            row.last_sync_at = run.finished_at
            row.last_error = run.error
        audit.record(
            session,
            tenant_id=tenant_id,
            actor=audit.SYSTEM,
            action=f"pricebook.{run.direction}_{run.status}",
            entity="pricebook_sync",
            entity_id=run.id,
            after={"progress": run.progress, "error": run.error},
        )
        return run.status


def nightly_run(session: Session, tenant_id: uuid.UUID) -> dict[str, Any] | None:
    """Record an incremental pull for a connected business with the module on and none running; its input.

    Takes the job's session bound to the business, as main's shared.jobs.for_each_tenant hands it.
    """
    if session.get(StConnection, tenant_id) is None or _running(session, tenant_id, "pull") is not None:
        return None
    tenant, _ = identity.get_tenant(session=session, principal=system_principal(tenant_id))
    if "pricebook" not in tenant.enabled_modules:  # switched off: connected, but nobody may see the result
        return None
    run = create_run(
        session, tenant_id=tenant_id, direction="pull", mode="incremental", kinds=list(ORDER), user_id=None
    )
    return {"tenant_id": str(tenant_id), "run_id": str(run.id), "mode": "incremental", "kinds": list(ORDER)}


def counts(session: Session, tenant_id: uuid.UUID) -> dict[str, int]:
    """How many items of each kind master holds (the demo and tests compare these with ServiceTitan's)."""
    out = {"categories": session.scalar(select(func.count()).where(MasterCategory.tenant_id == tenant_id)) or 0}
    for kind, model in MASTER_MODELS.items():
        out[kind] = session.scalar(select(func.count()).where(model.tenant_id == tenant_id)) or 0  # type: ignore[attr-defined]
    return out
