"""The pricing schema: technicians, vehicles, expense items and markup tiers; suggested prices and drift."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from blueprints.pricebook import browse, rates, schemas
from blueprints.pricebook.models import (
    ExpenseItem,
    MarkupTier,
    MasterEquipment,
    MasterMaterial,
    MasterService,
    PricingSettings,
    ServiceLink,
    Technician,
    Vehicle,
)
from shared import audit, clock
from shared.auth import Principal
from shared.errors import Unprocessable
from shared.pagination import decode_cursor, encode_cursor


def _tiers(items: list[schemas.TierIn]) -> list[rates.Tier]:
    return [rates.Tier(t.min_cost_cents, t.max_cost_cents, t.multiplier) for t in items]


def get_pricing(*, session: Session, principal: Principal) -> schemas.PricingOut:
    """Every pricing input of the business and the hourly rate they give."""
    tenant_id = principal.tenant_id
    techs = session.scalars(select(Technician).where(Technician.tenant_id == tenant_id).order_by(Technician.name)).all()
    vehicles = session.scalars(select(Vehicle).where(Vehicle.tenant_id == tenant_id).order_by(Vehicle.name)).all()
    expenses = session.scalars(select(ExpenseItem).where(ExpenseItem.tenant_id == tenant_id)).all()
    tiers = session.scalars(
        select(MarkupTier).where(MarkupTier.tenant_id == tenant_id).order_by(MarkupTier.min_cost_cents)
    ).all()
    settings = session.get(PricingSettings, tenant_id)
    profit = Decimal(settings.profit_percent) if settings else Decimal(20)
    overhead = sum(v.monthly_cost_cents for v in vehicles) + sum(e.monthly_cents for e in expenses)
    rate = rates.hourly_rate(
        techs=[
            rates.Tech(t.wage_cents, t.burden_percent, t.paid_hours_per_month, t.billable_hours_per_month)
            for t in techs
        ],
        monthly_overhead_cents=overhead,
        profit_percent=profit,
    )
    return schemas.PricingOut(
        technicians=[schemas.TechnicianIn.model_validate(t) for t in techs],
        vehicles=[schemas.MonthlyCostIn(name=v.name, monthly_cents=v.monthly_cost_cents) for v in vehicles],
        expense_items=[schemas.MonthlyCostIn(name=e.name, monthly_cents=e.monthly_cents) for e in expenses],
        markup_tiers=[schemas.TierIn.model_validate(t) for t in tiers],
        profit_percent=profit,
        rate=schemas.RateOut(**rate.__dict__),
    )


def put_pricing(
    *, session: Session, principal: Principal, actor: audit.Actor, pricing_in: schemas.PricingIn
) -> schemas.PricingOut:
    """Replace the pricing inputs (tiers must start at 0, leave no gaps, and end open)."""
    problems = rates.tiers_problems(_tiers(pricing_in.markup_tiers))
    if problems:
        errors = [{"loc": "body.markup_tiers", "msg": p, "type": "tiers"} for p in problems]
        raise Unprocessable("The markup tiers do not cover every cost once", errors=errors)
    tenant_id = principal.tenant_id
    for model in (Technician, Vehicle, ExpenseItem, MarkupTier):
        session.execute(delete(model).where(model.tenant_id == tenant_id))
    session.add_all(Technician(tenant_id=tenant_id, **t.model_dump()) for t in pricing_in.technicians)
    session.add_all(
        Vehicle(tenant_id=tenant_id, name=v.name, monthly_cost_cents=v.monthly_cents) for v in pricing_in.vehicles
    )
    session.add_all(ExpenseItem(tenant_id=tenant_id, **e.model_dump()) for e in pricing_in.expense_items)
    session.add_all(MarkupTier(tenant_id=tenant_id, **t.model_dump()) for t in pricing_in.markup_tiers)
    settings = session.get(PricingSettings, tenant_id) or PricingSettings(tenant_id=tenant_id)
    settings.profit_percent, settings.updated_at = pricing_in.profit_percent, clock.now()
    session.add(settings)
    session.flush()
    audit.record(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action="pricebook.pricing_changed",
        entity="pricebook_pricing",
        entity_id=str(tenant_id),
        after=pricing_in.model_dump(mode="json"),
    )
    return get_pricing(session=session, principal=principal)


def _suggest(
    service: Any, links: list[ServiceLink], costs: dict[tuple[str, int], tuple[str, int]], pricing: schemas.PricingOut
) -> schemas.SuggestedPrice:
    tiers = _tiers(pricing.markup_tiers)
    labour = rates.round_cents(Decimal(service.hours) * pricing.rate.rate_cents)
    terms = []
    for link in links:
        code, cost = costs.get((link.sku_kind, link.sku_st_id), (None, 0))
        cents, multiplier = rates.material_line(cost, Decimal(link.quantity), tiers)
        terms.append(
            schemas.MaterialTerm(
                kind=link.sku_kind,
                st_id=link.sku_st_id,
                code=code,
                quantity=link.quantity,
                cost_cents=cost,
                multiplier=multiplier,
                cents=cents,
            )
        )
    materials = sum(t.cents for t in terms)
    return schemas.SuggestedPrice(
        st_id=service.st_id,
        code=service.code,
        hours=service.hours,
        rate=pricing.rate,
        labour_cents=labour,
        materials=terms,
        materials_cents=materials,
        suggested_cents=labour + materials,
        price_cents=service.price_cents,
        drift_percent=rates.drift_percent(service.price_cents, labour + materials),
    )


def _costs(session: Session, tenant_id: uuid.UUID, links: list[ServiceLink]) -> dict[tuple[str, int], tuple[str, int]]:
    out: dict[tuple[str, int], tuple[str, int]] = {}
    for kind, model in (("material", MasterMaterial), ("equipment", MasterEquipment)):
        ids = {link.sku_st_id for link in links if link.sku_kind == kind}
        if ids:
            rows = session.execute(
                select(model.st_id, model.code, model.cost_cents).where(
                    model.tenant_id == tenant_id, model.st_id.in_(ids)
                )
            ).all()
            out.update({(kind, r.st_id): (r.code, r.cost_cents or 0) for r in rows})
    return out


def suggested_price(*, session: Session, principal: Principal, st_id: int) -> schemas.SuggestedPrice:
    """A service's suggested price: hours × rate + Σ linked materials × their tier multiplier."""
    service = browse.master_row(session, principal.tenant_id, "services", st_id)
    links = list(
        session.scalars(
            select(ServiceLink).where(ServiceLink.tenant_id == principal.tenant_id, ServiceLink.service_st_id == st_id)
        ).all()
    )
    pricing = get_pricing(session=session, principal=principal)
    return _suggest(service, links, _costs(session, principal.tenant_id, links), pricing)


def drift_report(*, session: Session, principal: Principal, query: schemas.DriftQuery) -> schemas.DriftList:
    """Services whose ServiceTitan price is more than threshold_percent from the suggestion, by id."""
    tenant_id = principal.tenant_id
    after = decode_cursor(query.cursor, 1)[0] if query.cursor else -1
    pricing = get_pricing(session=session, principal=principal)
    services = session.scalars(
        select(MasterService)
        .where(MasterService.tenant_id == tenant_id, MasterService.active.is_(True), MasterService.st_id > after)
        .order_by(MasterService.st_id)
    ).all()
    links = list(session.scalars(select(ServiceLink).where(ServiceLink.tenant_id == tenant_id)).all())
    by_service: dict[int, list[ServiceLink]] = {}
    for link in links:
        by_service.setdefault(link.service_st_id, []).append(link)
    costs = _costs(session, tenant_id, links)
    found: list[schemas.SuggestedPrice] = []
    for service in services:
        suggestion = _suggest(service, by_service.get(service.st_id, []), costs, pricing)
        if suggestion.drift_percent is not None and abs(suggestion.drift_percent) > query.threshold_percent:
            found.append(suggestion)
            if len(found) > query.limit:
                break
    next_cursor = encode_cursor([found[query.limit - 1].st_id]) if len(found) > query.limit else None
    return schemas.DriftList(items=found[: query.limit], next_cursor=next_cursor)
