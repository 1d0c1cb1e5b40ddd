"""Inspections: per-tenant templates, checklists on appointments, findings, and the customer's answers."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from blueprints.crm import service as crm
from blueprints.identity import service as identity
from blueprints.shop import approval
from blueprints.shop.common import appointment_or_raise, bump_stats_version
from blueprints.shop.models import InspectionChecklist, InspectionItem, InspectionTemplate
from blueprints.shop.schemas import (
    ApprovalLink,
    ChecklistIn,
    ChecklistOut,
    ItemOut,
    ItemPatch,
    TemplateIn,
    TemplateList,
    TemplateOut,
)
from shared import audit, clock
from shared.auth import Principal, system_principal
from shared.config import get_settings
from shared.db import set_tenant
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.etag import check_version, flush_versioned

DECISIONS = {"approve": "approved", "decline": "declined"}


def list_templates(*, session: Session, principal: Principal) -> TemplateList:
    """The tenant's checklist templates by name."""
    stmt = select(InspectionTemplate).where(InspectionTemplate.tenant_id == principal.tenant_id)
    return TemplateList(
        items=[TemplateOut.model_validate(t) for t in session.scalars(stmt.order_by(InspectionTemplate.name))]
    )


def create_template(*, session: Session, principal: Principal, template_in: TemplateIn) -> TemplateOut:
    """A new template (names are unique per tenant)."""
    template = InspectionTemplate(id=uuid.uuid4(), tenant_id=principal.tenant_id, **template_in.model_dump())
    try:
        with session.begin_nested():  # a duplicate name must not spoil the caller's transaction
            session.add(template)
            session.flush()
    except IntegrityError:
        raise Conflict("A template with this name exists", code="template_exists") from None
    return TemplateOut.model_validate(template)


def _checklist(session: Session, tenant_id: uuid.UUID, checklist_id: uuid.UUID) -> InspectionChecklist:
    stmt = (
        select(InspectionChecklist)
        .where(InspectionChecklist.id == checklist_id, InspectionChecklist.tenant_id == tenant_id)
        .options(selectinload(InspectionChecklist.items))
        .execution_options(populate_existing=True)
    )
    checklist = session.scalars(stmt).first()
    if checklist is None:
        raise NotFound("No such inspection")
    return checklist


def create_checklist(
    *, session: Session, principal: Principal, appointment_id: uuid.UUID, checklist_in: ChecklistIn, actor: audit.Actor
) -> ChecklistOut:
    """Start an inspection on an appointment from a template or from labels of its own."""
    appointment = appointment_or_raise(session, principal.tenant_id, appointment_id)
    title, labels = checklist_in.title, checklist_in.labels
    if checklist_in.template_id is not None:
        template = session.scalars(
            select(InspectionTemplate).where(
                InspectionTemplate.id == checklist_in.template_id, InspectionTemplate.tenant_id == principal.tenant_id
            )
        ).first()
        if template is None:
            raise Unprocessable("template_id names no template of this business", code="unknown_template")
        title, labels = title or template.name, labels or list(template.labels)
    checklist = InspectionChecklist(
        id=uuid.uuid4(),
        tenant_id=principal.tenant_id,
        appointment_id=appointment.id,
        template_id=checklist_in.template_id,
        title=title,
    )
    session.add(checklist)
    session.flush()
    session.add_all(
        [
            InspectionItem(
                id=uuid.uuid4(),
                tenant_id=principal.tenant_id,
                checklist_id=checklist.id,
                position=i,
                label=label,
                status="ok",
                photo_paths=[],
                recommended=False,
            )
            for i, label in enumerate(labels or [])
        ]
    )
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="inspections.created",
        entity="appointment",
        entity_id=appointment.id,
        after={"checklist_id": str(checklist.id), "title": title},
    )
    return get_checklist(session=session, principal=principal, checklist_id=checklist.id)


def get_checklist(*, session: Session, principal: Principal, checklist_id: uuid.UUID) -> ChecklistOut:
    """An inspection with its items."""
    return ChecklistOut.model_validate(_checklist(session, principal.tenant_id, checklist_id))


def update_item(
    *,
    session: Session,
    principal: Principal,
    checklist_id: uuid.UUID,
    item_id: uuid.UUID,
    patch: ItemPatch,
    expected: frozenset[int] | None,
) -> tuple[ItemOut, int]:
    """Record a finding: status, notes, photos, whether work is recommended and its estimate."""
    item = session.scalars(
        select(InspectionItem)
        .where(
            InspectionItem.id == item_id,
            InspectionItem.checklist_id == checklist_id,
            InspectionItem.tenant_id == principal.tenant_id,
        )
        .with_for_update()
    ).first()
    if item is None:
        raise NotFound("No such inspection item")
    check_version(item.version, expected)
    for name, value in patch.model_dump(exclude_unset=True).items():
        if value is None and name in ("status", "photo_paths", "recommended"):
            continue
        setattr(item, name, value)
    item.updated_at = clock.now()
    flush_versioned(session)
    return ItemOut.model_validate(item), item.version


def approval_link(
    *, session: Session, principal: Principal, checklist_id: uuid.UUID, ttl_hours: int, actor: audit.Actor
) -> ApprovalLink:
    """A signed link for the customer to approve or decline the recommended items (at most 7 days)."""
    checklist = _checklist(session, principal.tenant_id, checklist_id)
    token, expires_at = approval.sign(
        tenant_id=principal.tenant_id, checklist_id=checklist.id, ttl=timedelta(hours=ttl_hours)
    )
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="inspections.link_issued",
        entity="appointment",
        entity_id=checklist.appointment_id,
        after={"checklist_id": str(checklist.id), "expires_at": clock.iso_utc(expires_at)},
    )
    base = get_settings().public_base_url.rstrip("/")
    return ApprovalLink(url=f"{base}/api/v1/shop/inspection-approvals/{token}", expires_at=expires_at)


def _open_link(session: Session, token: str) -> tuple[approval.LinkClaims, InspectionChecklist, Any]:
    claims = approval.verify(token)
    set_tenant(session, claims.tenant_id)
    tenant, _ = identity.get_tenant(session=session, principal=system_principal(claims.tenant_id))
    if "shop" not in tenant.enabled_modules:
        raise Forbidden("The shop module is not enabled for this business", code="module_disabled")
    return claims, _checklist(session, claims.tenant_id, claims.checklist_id), tenant


def _vehicle_label(session: Session, tenant_id: uuid.UUID, vehicle_id: uuid.UUID | None) -> str | None:
    if vehicle_id is None:
        return None
    system = system_principal(tenant_id, permissions=frozenset({"customers.read_all"}))
    try:
        vehicle, _ = crm.get_vehicle(session=session, principal=system, vehicle_id=vehicle_id)
    except NotFound:
        return None
    return " ".join(str(p) for p in (vehicle.year, vehicle.make, vehicle.model) if p) or None


def render_for_customer(*, session: Session, token: str, action: str, saved: bool = False) -> str:
    """The customer's approval page for a valid link."""
    claims, checklist, tenant = _open_link(session, token)
    appointment = appointment_or_raise(session, claims.tenant_id, checklist.appointment_id)
    items = [i for i in checklist.items if i.recommended]
    return approval.approval_page(
        shop_name=tenant.name,
        title=checklist.title,
        items=items,
        action=action,
        vehicle=_vehicle_label(session, claims.tenant_id, appointment.vehicle_id),
        currency=appointment.currency,
        saved=saved,
    )


def record_answers(*, session: Session, token: str, form: dict[str, str]) -> int:
    """Store the customer's approve/decline answers on the recommended items; returns how many changed."""
    claims, checklist, _ = _open_link(session, token)
    changed = 0
    for item in checklist.items:
        answer = DECISIONS.get(form.get(f"item-{item.id}", ""))
        if not item.recommended or answer is None or item.decision == answer:
            continue
        before = item.decision
        item.decision, item.decided_at = answer, clock.now()
        changed += 1
        audit.record(
            session,
            tenant_id=claims.tenant_id,
            actor=audit.Actor(),
            action="inspections.answered",
            entity="appointment",
            entity_id=checklist.appointment_id,
            before={"item_id": str(item.id), "decision": before},
            after={"item_id": str(item.id), "label": item.label, "decision": answer},
        )
    flush_versioned(session)
    if changed:
        bump_stats_version(session, claims.tenant_id)
    return changed
