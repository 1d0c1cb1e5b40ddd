"""Local edits: an override holds only the changed fields (and each one's synced value); new items wait to be POSTed."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from blueprints.pricebook import browse, normalise, schemas
from blueprints.pricebook.models import NewItem, Override
from shared import audit, clock
from shared.auth import Principal
from shared.errors import Unprocessable, validation_errors
from shared.etag import check_version, flush_versioned


def field_values(kind: str, patch: schemas.ItemPatch | dict[str, Any]) -> dict[str, Any]:
    """The sent fields as JSON values in the merge's spelling; 422 for a field the kind cannot change."""
    if isinstance(patch, dict):
        try:
            patch = schemas.ItemPatch.model_validate(patch)
        except ValidationError as exc:
            raise Unprocessable("The value is not valid", errors=validation_errors(exc, location="body")) from exc
    values = patch.model_dump(mode="json", exclude_unset=True)
    refused = sorted(set(values) - set(normalise.EDITABLE[kind]))
    if refused:
        raise Unprocessable(f"{kind} cannot change {', '.join(refused)} in ServiceTitan", code="field_not_editable")
    if "hours" in values:
        values["hours"] = normalise.hours(values["hours"])
    return values


def apply_fields(override: Override, changes: dict[str, Any], synced: dict[str, Any]) -> None:
    """Put changes on the override; a field set back to its synced value is no longer an edit."""
    fields, base = dict(override.fields), dict(override.base)
    for name, value in changes.items():
        base.setdefault(name, synced.get(name))
        fields[name] = value
        if value == base[name]:
            fields.pop(name)
            base.pop(name)
    override.fields, override.base = fields, base
    override.pending = bool(fields)


def update_item(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    kind: str,
    st_id: int,
    patch: schemas.ItemPatch,
    expected: frozenset[int] | None,
) -> tuple[schemas.ItemOut, int]:
    """Record a local edit of an item (If-Match on the override's version; 0 before any edit)."""
    row = browse.master_row(session, principal.tenant_id, kind, st_id)
    override = browse.override_of(session, principal.tenant_id, kind, st_id, lock=True)
    check_version(override.version if override else 0, expected)
    changes = field_values(kind, patch)
    before = dict(override.fields) if override else {}
    if override is None:
        override = Override(tenant_id=principal.tenant_id, kind=kind, st_id=st_id, fields={}, base={})
        session.add(override)
    apply_fields(override, changes, browse.editable_of(kind, row))
    override.edited_by, override.edited_at, override.updated_at = actor.user_id, clock.now(), clock.now()
    flush_versioned(session)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="pricebook.edited",
        entity=f"pricebook_{kind}",
        entity_id=str(st_id),
        before=before,
        after=dict(override.fields),
    )
    return browse.get_item(session=session, principal=principal, kind=kind, st_id=st_id)


def create_item(
    *, session: Session, principal: Principal, actor: audit.Actor, kind: str, item_in: schemas.NewItemIn
) -> schemas.NewItemOut:
    """A new local item, pending its first push."""
    values = item_in.model_dump(mode="json", exclude_none=True)
    if kind == "services" and "cost_cents" in values:
        raise Unprocessable("A service has no cost in ServiceTitan", code="field_not_editable")
    values["hours"] = normalise.hours(values.get("hours"))
    item = NewItem(tenant_id=principal.tenant_id, kind=kind, fields=values, pending=True, created_by=actor.user_id)
    session.add(item)
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="pricebook.item_created",
        entity=f"pricebook_{kind}",
        entity_id=item.id,
        after=values,
    )
    return schemas.NewItemOut.model_validate(item)
