"""Estimate use cases: create, list, read, change, delete; rooms, options, add-ons; sharing with peers.

A change to an estimate that was sent makes a new revision and returns it to draft (transitions.py);
an accepted estimate never changes. Drafts are priced with the newest rate-book version at each change;
a sent revision keeps the version it was priced with in its frozen snapshot.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Integer, Select, bindparam, delete, func, select, true, tuple_, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from blueprints.crm import service as crm
from blueprints.estimates import rate_book, reading
from blueprints.estimates.access import (
    READ_ALL,
    estimate_or_raise,
    require_edit,
    require_owner,
)
from blueprints.estimates.models import Estimate, EstimateAddon, EstimateItem, EstimateOption, EstimateShare
from blueprints.estimates.schemas import (
    AddonIn,
    EstimateIn,
    EstimateOut,
    EstimatePage,
    EstimatePatch,
    EstimateQuery,
    EstimateSummary,
    OptionIn,
    RateBookBody,
    RoomIn,
    RoomPatch,
    ShareIn,
    SurfaceIn,
)
from blueprints.estimates.transitions import Event, Status, new_revision, next_status
from blueprints.identity import service as identity
from shared import audit, clock
from shared.auth import Principal
from shared.db import DriverQuery, affected
from shared.errors import Conflict, NotFound, Unprocessable
from shared.etag import check_version, flush_versioned
from shared.pagination import decode_cursor, encode_cursor

MAX_OPTIONS = 4


def get_estimate(*, session: Session, principal: Principal, estimate_id: uuid.UUID) -> tuple[EstimateOut, int]:
    """The whole estimate, priced, and its version (the ETag)."""
    out = reading.read(session, principal, estimate_id)
    return out, out.version


def list_estimates(*, session: Session, principal: Principal, query: EstimateQuery) -> EstimatePage:
    """The estimates the caller may see, newest change first, filtered by status, customer and owner.

    A page selects the summary's columns only (no ORM rows): the keyset is (updated_at, id), descending. The
    statement is built and compiled once per combination of filters (_page_statement); each request only binds its
    values and hands it to the driver (DriverQuery).
    """
    filters = {"status": query.status, "customer_id": query.customer_id, "owner_id": query.owner_id}
    params: dict[str, Any] = {"tenant_id": principal.tenant_id, "user_id": principal.user_id, "limit": query.limit + 1}
    params.update((name, value) for name, value in filters.items() if value is not None)
    if query.cursor:
        params["after_updated_at"], params["after_id"] = decode_cursor(query.cursor, 2)
    stmt = _page_statement(
        principal.has(READ_ALL),
        query.status is not None,
        query.customer_id is not None,
        query.owner_id is not None,
        bool(query.cursor),  # an empty ?cursor= is the first page, as above
    )
    rows = stmt.rows(session, params)
    items = _SUMMARIES.validate_python(rows[: query.limit])
    cursor = encode_cursor([items[-1].updated_at, items[-1].id]) if len(rows) > query.limit else None
    return EstimatePage(items=items, next_cursor=cursor)


_SUMMARIES = TypeAdapter(list[EstimateSummary])


@cache
def _page_statement(read_all: bool, by_status: bool, by_customer: bool, by_owner: bool, after: bool) -> DriverQuery:
    """The list page's statement for one combination of filters, with every value a bound parameter.

    Who sees everything reads the business's newest changes (ix_estimates_tenant_updated). An estimator's page is
    the newest of two short lists, each read from its own index: their own estimates (ix_estimates_tenant_owner
    _updated) and those shared with them (ix_estimate_shares_tenant_user), instead of walking the business's
    newest changes and skipping everyone else's (an OR with EXISTS can use neither index).
    """
    uuid_type = Estimate.id.type
    tenant_id, user_id = bindparam("tenant_id", type_=uuid_type), bindparam("user_id", type_=uuid_type)
    limit = bindparam("limit", type_=Integer)
    order = (Estimate.updated_at.desc(), Estimate.id.desc())

    def filtered(stmt: Select) -> Select:
        stmt = stmt.where(Estimate.tenant_id == tenant_id, Estimate.deleted_at.is_(None))
        if by_status:
            stmt = stmt.where(Estimate.status == bindparam("status", type_=Estimate.status.type))
        if by_customer:
            stmt = stmt.where(Estimate.customer_id == bindparam("customer_id", type_=uuid_type))
        if by_owner:
            stmt = stmt.where(Estimate.owner_id == bindparam("owner_id", type_=uuid_type))
        if after:
            last = (
                bindparam("after_updated_at", type_=Estimate.updated_at.type),
                bindparam("after_id", type_=uuid_type),
            )
            stmt = stmt.where(tuple_(Estimate.updated_at, Estimate.id) < tuple_(*last))
        return stmt

    columns = [getattr(Estimate, name) for name in EstimateSummary.model_fields]
    if read_all:
        return DriverQuery(filtered(select(*columns)).order_by(*order).limit(limit))
    own = filtered(select(*columns).where(Estimate.owner_id == user_id)).order_by(*order).limit(limit)
    shares = EstimateShare.__table__.c
    # The caller's shares first, then each estimate by its key. The OFFSET 0 and LIMIT 1 fences keep that order
    # (PostgreSQL does not flatten a subquery with either): psycopg prepares a statement from its 5th run, and the
    # generic plan PostgreSQL may then reuse walked every other estimate of the business looking for shares
    # (21 ms in bench_estimates); fenced, even the generic plan looks up the shares' estimates by key.
    shared_ids = (
        select(shares.estimate_id)
        .where(shares.tenant_id == tenant_id, shares.user_id == user_id)
        .offset(0)
        .subquery("shared_ids")
    )
    one = filtered(select(*columns).where(Estimate.id == shared_ids.c.estimate_id, Estimate.owner_id != user_id))
    shared_row = one.limit(1).lateral("shared_row")  # one estimate per share; the LIMIT keeps it a lookup by key
    shared = (
        select(*shared_row.c)
        .select_from(shared_ids.join(shared_row, true()))
        .order_by(shared_row.c.updated_at.desc(), shared_row.c.id.desc())
        .limit(limit)
    )
    both = union_all(own, shared).subquery("visible")
    return DriverQuery(select(*both.c).order_by(both.c.updated_at.desc(), both.c.id.desc()).limit(limit))


def _check_products(book: RateBookBody, product_ids: list[uuid.UUID]) -> None:
    for product_id in product_ids:
        book.product(product_id)


def _option_rows(tenant_id: uuid.UUID, estimate_id: uuid.UUID, options: list[OptionIn], start: int) -> list[Any]:
    return [
        EstimateOption(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            estimate_id=estimate_id,
            name=option.name,
            description=option.description,
            position=start + i,
            product_overrides={str(k): str(v) for k, v in option.product_overrides.items()},
        )
        for i, option in enumerate(options)
    ]


def create_estimate(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_in: EstimateIn
) -> tuple[EstimateOut, int]:
    """A new draft estimate owned by the caller, for a customer the caller may see."""
    crm.get_customer(session=session, principal=principal, customer_id=estimate_in.customer_id)
    version = rate_book.current_version(session, principal.tenant_id)
    book = rate_book.book_at(session, principal.tenant_id, version)
    for option in estimate_in.options:
        _check_products(book, [*option.product_overrides, *option.product_overrides.values()])
    estimate = Estimate(
        id=uuid.uuid4(),
        tenant_id=principal.tenant_id,
        customer_id=estimate_in.customer_id,
        owner_id=principal.user_id,
        title=estimate_in.title,
        job_address=estimate_in.job_address,
        notes=estimate_in.notes,
        discount_cents=estimate_in.discount_cents,
        status=Status.DRAFT.value,
        revision=1,
        rate_book_version=version,
        currency=book.currency,
    )
    session.add(estimate)
    session.flush()
    session.add_all(_option_rows(principal.tenant_id, estimate.id, estimate_in.options, 0))
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="estimates.created",
        entity="estimate",
        entity_id=estimate.id,
        after={"customer_id": str(estimate.customer_id), "title": estimate.title},
    )
    return get_estimate(session=session, principal=principal, estimate_id=estimate.id)


def _changing(session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID) -> Estimate:
    """Lock an estimate the caller may edit and record that it changes: a new revision if it was sent."""
    estimate = estimate_or_raise(session, principal, estimate_id, lock=True)
    require_edit(session, principal, estimate)
    _touch(session, estimate, actor)
    return estimate


def _touch(session: Session, estimate: Estimate, actor: audit.Actor) -> None:
    before = estimate.status
    next_status(before, Event.REVISE)  # 409 when accepted
    if new_revision(before):
        estimate.revision += 1
        estimate.status = Status.DRAFT.value
        estimate.sent_at = estimate.viewed_at = estimate.valid_until = None
        estimate.decided_revision = estimate.declined_at = estimate.decline_reason = None
        audit.record(
            session,
            tenant_id=estimate.tenant_id,
            actor=actor,
            action="estimates.revised",
            entity="estimate",
            entity_id=estimate.id,
            before={"status": before, "revision": estimate.revision - 1},
            after={"status": estimate.status, "revision": estimate.revision},
        )
    _reprice_with_newest_book(session, estimate)
    estimate.updated_at = clock.now()


def _products_in_use(session: Session, estimate: Estimate) -> set[uuid.UUID]:
    surfaces = session.scalars(select(EstimateItem.surfaces).where(EstimateItem.estimate_id == estimate.id))
    used = {uuid.UUID(s["product_id"]) for room in surfaces for s in room}
    for overrides in session.scalars(
        select(EstimateOption.product_overrides).where(EstimateOption.estimate_id == estimate.id)
    ):
        used |= {uuid.UUID(k) for k in overrides} | {uuid.UUID(v) for v in overrides.values()}
    return used


def _reprice_with_newest_book(session: Session, estimate: Estimate) -> None:
    """Move a changed draft to the newest rate-book version, unless that version dropped a product it uses
    (it then stays priced with its own version, so reading it never fails)."""
    newest = rate_book.current_version(session, estimate.tenant_id)
    if newest == estimate.rate_book_version:
        return
    products = {p.id for p in rate_book.book_at(session, estimate.tenant_id, newest).products}
    if _products_in_use(session, estimate) <= products:
        estimate.rate_book_version = newest


def _book(session: Session, estimate: Estimate) -> RateBookBody:
    return rate_book.book_at(session, estimate.tenant_id, estimate.rate_book_version)


def update_estimate(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    estimate_id: uuid.UUID,
    patch: EstimatePatch,
    expected: frozenset[int] | None,
) -> tuple[EstimateOut, int]:
    """Change an estimate's header (412 when stale); handing it to another owner needs read_all."""
    estimate = estimate_or_raise(session, principal, estimate_id, lock=True)
    check_version(estimate.version, expected)
    require_edit(session, principal, estimate)
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("owner_id") not in (None, estimate.owner_id):
        _check_new_owner(session, principal, changes["owner_id"])
    for name in ("title", "owner_id"):
        if name in changes and changes[name] is None:
            raise Unprocessable(f"{name} may not be null", code="field_required")
    _touch(session, estimate, actor)
    for name, value in changes.items():
        setattr(estimate, name, value)
    flush_versioned(session)
    return get_estimate(session=session, principal=principal, estimate_id=estimate.id)


def _check_new_owner(session: Session, principal: Principal, owner_id: uuid.UUID) -> None:
    principal.require(READ_ALL)
    if not identity.user_ids_in_tenant(session=session, principal=principal, user_ids=[owner_id]):
        raise NotFound("No such user")


def delete_estimate(*, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID) -> None:
    """Soft-delete an estimate (its owner or an admin)."""
    estimate = estimate_or_raise(session, principal, estimate_id, lock=True)
    require_owner(principal, estimate)
    estimate.deleted_at = clock.now()
    flush_versioned(session)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="estimates.deleted",
        entity="estimate",
        entity_id=estimate.id,
        before={"title": estimate.title, "status": estimate.status},
    )


# --- rooms -------------------------------------------------------------------------------------------


def _check_option(session: Session, estimate: Estimate, option_id: uuid.UUID | None) -> None:
    if option_id is None:
        return
    stmt = select(EstimateOption.id).where(EstimateOption.id == option_id, EstimateOption.estimate_id == estimate.id)
    if session.scalar(stmt) is None:
        raise Unprocessable("option_id names no option of this estimate", code="unknown_option")


def _surfaces(book: RateBookBody, surfaces: list[SurfaceIn]) -> list[dict[str, Any]]:
    _check_products(book, [s.product_id for s in surfaces])
    return [s.model_dump(mode="json") for s in surfaces]


def add_room(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID, room_in: RoomIn
) -> tuple[EstimateOut, int]:
    """Add a measured room; the estimate comes back priced."""
    estimate = _changing(session, principal, actor, estimate_id)
    _check_option(session, estimate, room_in.option_id)
    position = session.scalar(
        select(func.coalesce(func.max(EstimateItem.position) + 1, 0)).where(EstimateItem.estimate_id == estimate.id)
    )
    values = room_in.model_dump(exclude={"surfaces"})
    session.add(
        EstimateItem(
            id=uuid.uuid4(),
            tenant_id=estimate.tenant_id,
            estimate_id=estimate.id,
            position=position or 0,
            surfaces=_surfaces(_book(session, estimate), room_in.surfaces),
            **values,
        )
    )
    flush_versioned(session)
    return get_estimate(session=session, principal=principal, estimate_id=estimate.id)


def _room(session: Session, estimate: Estimate, room_id: uuid.UUID) -> EstimateItem:
    stmt = select(EstimateItem).where(EstimateItem.id == room_id, EstimateItem.estimate_id == estimate.id)
    room = session.scalars(stmt.with_for_update()).first()
    if room is None:
        raise NotFound("No such room")
    return room


def update_room(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    estimate_id: uuid.UUID,
    room_id: uuid.UUID,
    patch: RoomPatch,
    expected: frozenset[int] | None,
) -> tuple[EstimateOut, int]:
    """Change a room's measurements or surfaces (412 when the room changed since it was read)."""
    estimate = _changing(session, principal, actor, estimate_id)
    room = _room(session, estimate, room_id)
    check_version(room.version, expected)
    changes = patch.model_dump(exclude_unset=True, exclude={"surfaces"})
    if "option_id" in changes:
        _check_option(session, estimate, changes["option_id"])
    for name, value in changes.items():
        if value is None and name != "option_id":
            raise Unprocessable(f"{name} may not be null", code="field_required")
        setattr(room, name, value)
    if patch.surfaces is not None:
        room.surfaces = _surfaces(_book(session, estimate), patch.surfaces)
    room.updated_at = clock.now()
    flush_versioned(session)
    return get_estimate(session=session, principal=principal, estimate_id=estimate.id)


def delete_room(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID, room_id: uuid.UUID
) -> None:
    """Remove a room."""
    estimate = _changing(session, principal, actor, estimate_id)
    session.delete(_room(session, estimate, room_id))
    flush_versioned(session)


# --- options and add-ons -----------------------------------------------------------------------------


def add_option(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID, option_in: OptionIn
) -> tuple[EstimateOut, int]:
    """Add an option (at most four)."""
    estimate = _changing(session, principal, actor, estimate_id)
    count = session.scalar(select(func.count()).where(EstimateOption.estimate_id == estimate.id)) or 0
    if count >= MAX_OPTIONS:
        raise Conflict(f"An estimate has at most {MAX_OPTIONS} options", code="too_many_options")
    _check_products(_book(session, estimate), [*option_in.product_overrides, *option_in.product_overrides.values()])
    session.add_all(_option_rows(estimate.tenant_id, estimate.id, [option_in], count))
    flush_versioned(session)
    return get_estimate(session=session, principal=principal, estimate_id=estimate.id)


def delete_option(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID, option_id: uuid.UUID
) -> None:
    """Remove an option and the rooms only it had (an estimate keeps at least one option)."""
    estimate = _changing(session, principal, actor, estimate_id)
    ids = list(session.scalars(select(EstimateOption.id).where(EstimateOption.estimate_id == estimate.id)))
    if option_id not in ids:
        raise NotFound("No such option")
    if len(ids) == 1:
        raise Conflict("An estimate keeps at least one option", code="last_option")
    session.execute(
        delete(EstimateItem).where(EstimateItem.estimate_id == estimate.id, EstimateItem.option_id == option_id)
    )
    session.execute(delete(EstimateOption).where(EstimateOption.id == option_id))
    flush_versioned(session)


def add_addon(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID, addon_in: AddonIn
) -> tuple[EstimateOut, int]:
    """Add an optional extra at a fixed price."""
    estimate = _changing(session, principal, actor, estimate_id)
    count = session.scalar(select(func.count()).where(EstimateAddon.estimate_id == estimate.id)) or 0
    session.add(
        EstimateAddon(
            id=uuid.uuid4(),
            tenant_id=estimate.tenant_id,
            estimate_id=estimate.id,
            position=count,
            **addon_in.model_dump(),
        )
    )
    flush_versioned(session)
    return get_estimate(session=session, principal=principal, estimate_id=estimate.id)


def delete_addon(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID, addon_id: uuid.UUID
) -> None:
    """Remove an add-on."""
    estimate = _changing(session, principal, actor, estimate_id)
    removed = affected(
        session, delete(EstimateAddon).where(EstimateAddon.id == addon_id, EstimateAddon.estimate_id == estimate.id)
    )
    if not removed:
        raise NotFound("No such add-on")
    flush_versioned(session)


# --- sharing -----------------------------------------------------------------------------------------


def share_estimate(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID, share_in: ShareIn
) -> tuple[EstimateOut, int]:
    """Share an estimate with a peer to view or edit (its owner or an admin); its customer becomes visible too."""
    estimate = estimate_or_raise(session, principal, estimate_id, lock=True)
    require_owner(principal, estimate)
    if not identity.user_ids_in_tenant(session=session, principal=principal, user_ids=[share_in.user_id]):
        raise NotFound("No such user")
    stmt = insert(EstimateShare).values(
        tenant_id=estimate.tenant_id,
        estimate_id=estimate.id,
        user_id=share_in.user_id,
        access=share_in.access,
        created_by=principal.user_id,
        created_at=clock.now(),
    )
    session.execute(stmt.on_conflict_do_update(constraint="pk_estimate_shares", set_={"access": share_in.access}))
    audit.record(
        session,
        tenant_id=estimate.tenant_id,
        actor=actor,
        action="estimates.shared",
        entity="estimate",
        entity_id=estimate.id,
        after={"user_id": str(share_in.user_id), "access": share_in.access},
    )
    return get_estimate(session=session, principal=principal, estimate_id=estimate.id)


def unshare_estimate(
    *, session: Session, principal: Principal, actor: audit.Actor, estimate_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Stop sharing an estimate with a peer (no error when it was not shared)."""
    estimate = estimate_or_raise(session, principal, estimate_id, lock=True)
    require_owner(principal, estimate)
    removed = affected(
        session,
        delete(EstimateShare).where(EstimateShare.estimate_id == estimate.id, EstimateShare.user_id == user_id),
    )
    if removed:
        audit.record(
            session,
            tenant_id=estimate.tenant_id,
            actor=actor,
            action="estimates.unshared",
            entity="estimate",
            entity_id=estimate.id,
            before={"user_id": str(user_id)},
        )
