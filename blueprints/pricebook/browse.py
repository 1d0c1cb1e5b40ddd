"""Browsing the pricebook: search, category subtree, active filter, cursor pages; effective values per item."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from blueprints.pricebook import normalise, schemas
from blueprints.pricebook.models import MASTER_MODELS, MasterCategory, MasterItem, Override, ServiceLink
from shared.auth import Principal
from shared.errors import NotFound
from shared.pagination import paginate


def _active(stmt: Select[Any], column: Any, active: str) -> Select[Any]:
    return stmt if active == "any" else stmt.where(column.is_(active == "true"))


def _like(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_categories(*, session: Session, principal: Principal, query: schemas.ItemQuery) -> schemas.CategoryList:
    """Categories in tree order (path), searchable by name, optionally one subtree."""
    stmt = select(MasterCategory).where(MasterCategory.tenant_id == principal.tenant_id)
    stmt = _active(stmt, MasterCategory.active, query.active)
    if query.q:
        stmt = stmt.where(MasterCategory.name.ilike(_like(query.q)))
    if query.category_id is not None:
        stmt = stmt.where(MasterCategory.path.like(f"%/{query.category_id}/%"))
    rows, cursor = paginate(session, stmt, keys=[MasterCategory.st_id], query=query)
    return schemas.CategoryList(items=[schemas.CategoryOut.model_validate(r) for r in rows], next_cursor=cursor)


def subtree_ids(session: Session, tenant_id: uuid.UUID, category_id: int) -> Any:
    """A subquery of the category and every category below it."""
    return (
        select(func.array_agg(MasterCategory.st_id))
        .where(MasterCategory.tenant_id == tenant_id, MasterCategory.path.like(f"%/{category_id}/%"))
        .scalar_subquery()
    )


def list_items(*, session: Session, principal: Principal, kind: str, query: schemas.ItemQuery) -> schemas.ItemList:
    """A page of materials, services or equipment with their effective values."""
    model: Any = MASTER_MODELS[kind]
    stmt = select(model).where(model.tenant_id == principal.tenant_id)
    stmt = _active(stmt, model.active, query.active)
    if query.q:
        pattern = _like(query.q)
        stmt = stmt.where(
            or_(model.code.ilike(pattern), model.display_name.ilike(pattern), model.description.ilike(pattern))
        )
    if query.category_id is not None:
        stmt = stmt.where(model.category_ids.overlap(subtree_ids(session, principal.tenant_id, query.category_id)))
    rows, cursor = paginate(session, stmt, keys=[model.st_id], query=query)
    overrides = _overrides(session, principal.tenant_id, kind, [r.st_id for r in rows])
    items = [effective(kind, row, overrides.get(row.st_id)) for row in rows]
    return schemas.ItemList(items=items, next_cursor=cursor)


def _overrides(session: Session, tenant_id: uuid.UUID, kind: str, ids: list[int]) -> dict[int, Override]:
    if not ids:
        return {}
    found = session.scalars(
        select(Override).where(Override.tenant_id == tenant_id, Override.kind == kind, Override.st_id.in_(ids))
    ).all()
    return {o.st_id: o for o in found}


def master_row(session: Session, tenant_id: uuid.UUID, kind: str, st_id: int) -> MasterItem:
    """The item as ServiceTitan last had it; 404 when this business has no such item."""
    row = session.get(MASTER_MODELS[kind], (tenant_id, st_id))
    if row is None:
        raise NotFound(f"No such {kind} item")
    return row


def override_of(
    session: Session, tenant_id: uuid.UUID, kind: str, st_id: int, *, lock: bool = False
) -> Override | None:
    """The item's local edit, if any."""
    stmt = select(Override).where(Override.tenant_id == tenant_id, Override.kind == kind, Override.st_id == st_id)
    return session.scalars(stmt.with_for_update() if lock else stmt).first()


def effective(kind: str, row: MasterItem, override: Override | None) -> schemas.ItemOut:
    """Master's values with the local edit on top, and which fields it changes."""
    values = {c: getattr(row, c) for c in schemas.ItemOut.model_fields if hasattr(row, c)}
    fields = dict(override.fields) if override else {}
    values.update(fields)
    return schemas.ItemOut(
        **values,
        kind=kind,  # type: ignore[arg-type]
        overridden=sorted(fields),
        pending_push=bool(override and override.pending),
    )


def get_item(*, session: Session, principal: Principal, kind: str, st_id: int) -> tuple[schemas.ItemOut, int]:
    """One item's effective values (a service with its material and equipment links) and its ETag version."""
    row = master_row(session, principal.tenant_id, kind, st_id)
    override = override_of(session, principal.tenant_id, kind, st_id)
    out = effective(kind, row, override)
    if kind == "services":
        links = session.scalars(
            select(ServiceLink).where(ServiceLink.tenant_id == principal.tenant_id, ServiceLink.service_st_id == st_id)
        ).all()
        out.links = [schemas.ServiceLinkOut(kind=k.sku_kind, st_id=k.sku_st_id, quantity=k.quantity) for k in links]
    return out, override.version if override else 0


def editable_of(kind: str, row: MasterItem) -> dict[str, Any]:
    """The master row's editable values, as the merge compares them."""
    return normalise.editable_values(kind, {c: getattr(row, c, None) for c in normalise.EDITABLE[kind]})
