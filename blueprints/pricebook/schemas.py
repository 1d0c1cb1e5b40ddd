"""Pricebook request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from shared.pagination import PageQuery
from shared.schema import BaseModel  # built on first use (defer_build), not at import

Kind = Literal["categories", "materials", "services", "equipment"]
ItemKind = Literal["materials", "services", "equipment"]
Environment = Literal["production", "integration"]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ConnectionIn(BaseModel):
    """The business's ServiceTitan account (the secret is stored encrypted and never shown again)."""

    model_config = ConfigDict(extra="forbid")

    st_tenant_id: int = Field(gt=0)
    client_id: Text200
    client_secret: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    environment: Environment = "production"


class ConnectionOut(BaseModel):
    """The connection's status and its last sync (never the secret)."""

    connected: bool
    st_tenant_id: int | None = None
    client_id: str | None = None
    environment: Environment | None = None
    status: str | None = None
    last_sync_at: datetime | None = None
    last_error: str | None = None
    last_run: SyncOut | None = None


class SyncIn(BaseModel):
    """A pull: full (from the start of each feed) or incremental (from where it was left)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["full", "incremental"] = "incremental"
    kinds: list[Kind] | None = Field(None, min_length=1, max_length=4)


class KindProgress(BaseModel):
    """How far a kind got."""

    pages: int = 0
    received: int = 0
    written: int = 0
    done: bool = False


class ServiceLinkOut(BaseModel):
    """A material or equipment a service uses, and how much of it."""

    kind: str
    st_id: int
    quantity: Decimal


# A local item's field values: what NewItemIn accepts, as stored (cents, hours, text, flags).
FieldValue = str | int | Decimal | bool | None


class SyncOut(BaseModel):
    """A pull or push run."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    direction: Literal["pull", "push"]
    mode: str
    kinds: list[str]
    status: str
    progress: dict[str, KindProgress | int] = Field(
        description="A pull: each kind's progress; a push: counts (edits, new, sent, conflicts, failed, locked)"
    )
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


class ItemQuery(PageQuery):
    """Search and filters of a pricebook list."""

    q: str | None = Field(None, max_length=200, description="Search in code, name and description")
    category_id: int | None = Field(None, description="Only this category and its subcategories")
    active: Literal["true", "false", "any"] = "true"


class CategoryOut(BaseModel):
    """A category in the tree."""

    model_config = ConfigDict(from_attributes=True)

    st_id: int
    name: str
    description: str | None = None
    parent_st_id: int | None = None
    path: str
    position: int
    category_type: str | None = None
    active: bool
    image_path: str | None = None


class CategoryList(BaseModel):
    """A page of categories."""

    items: list[CategoryOut]
    next_cursor: str | None = None


class ItemOut(BaseModel):
    """A material, service or equipment with its effective values (ServiceTitan's, or the local edit)."""

    kind: ItemKind
    st_id: int
    code: str
    display_name: str | None = None
    description: str | None = None
    price_cents: int
    member_price_cents: int
    add_on_price_cents: int
    cost_cents: int | None = None
    hours: Decimal
    active: bool
    currency: str = "USD"
    category_ids: list[int]
    image_paths: list[str]
    modified_on: datetime | None = None
    overridden: list[str] = Field(default_factory=list, description="Fields with a local value")
    pending_push: bool = False
    links: list[ServiceLinkOut] | None = None


class ItemList(BaseModel):
    """A page of items."""

    items: list[ItemOut]
    next_cursor: str | None = None


class ItemPatch(BaseModel):
    """Local changes to an item (only the fields sent)."""

    model_config = ConfigDict(extra="forbid")

    code: Text200 | None = None
    display_name: Annotated[str, StringConstraints(max_length=500)] | None = None
    description: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    price_cents: int | None = Field(None, ge=0)
    member_price_cents: int | None = Field(None, ge=0)
    add_on_price_cents: int | None = Field(None, ge=0)
    cost_cents: int | None = Field(None, ge=0)
    hours: Decimal | None = Field(None, ge=0, le=1000, decimal_places=2)
    active: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> ItemPatch:
        if not self.model_fields_set:
            raise ValueError("change at least one field")
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in ("display_name", "description"):
                raise ValueError(f"{name} cannot be null")
        return self


class NewItemIn(BaseModel):
    """An item made here; pushed to ServiceTitan as a new item."""

    model_config = ConfigDict(extra="forbid")

    code: Text200
    display_name: Annotated[str, StringConstraints(max_length=500)] | None = None
    description: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    price_cents: int = Field(ge=0)
    member_price_cents: int = Field(0, ge=0)
    add_on_price_cents: int = Field(0, ge=0)
    cost_cents: int | None = Field(None, ge=0)
    hours: Decimal = Field(Decimal(0), ge=0, le=1000, decimal_places=2)


class NewItemOut(BaseModel):
    """A local item and, once pushed, its id in ServiceTitan."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    fields: dict[str, FieldValue]
    st_id: int | None = None
    pending: bool
    created_at: datetime


class PushIn(BaseModel):
    """A push of every pending local edit and new item (optionally of one kind)."""

    model_config = ConfigDict(extra="forbid")

    kinds: list[ItemKind] | None = Field(None, min_length=1, max_length=3)


class ConflictOut(BaseModel):
    """A field changed on both sides: the last synced value and each side's."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    st_id: int
    field: str
    base: Any = None
    local: Any = None
    remote: Any = None
    status: str
    resolution: str | None = None
    created_at: datetime
    resolved_at: datetime | None = None


class ConflictList(BaseModel):
    """A page of conflicts."""

    items: list[ConflictOut]
    next_cursor: str | None = None


class ConflictQuery(PageQuery):
    """Open conflicts unless told otherwise."""

    status: Literal["open", "resolved", "any"] = "open"


class ResolutionIn(BaseModel):
    """Keep our value, take ServiceTitan's, or set another one (pushed next time)."""

    model_config = ConfigDict(extra="forbid")

    take: Literal["local", "remote", "value"]
    value: Any = None

    @model_validator(mode="after")
    def _value_when_needed(self) -> ResolutionIn:
        if self.take == "value" and "value" not in self.model_fields_set:
            raise ValueError("take=value needs a value")
        return self


ConnectionOut.model_rebuild()


class TechnicianIn(BaseModel):
    """A technician's cost: hourly wage, burden percent, paid and billable hours a month."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    name: Text200
    wage_cents: int = Field(ge=0, le=100_000)
    burden_percent: Decimal = Field(Decimal(0), ge=0, le=200, decimal_places=2)
    paid_hours_per_month: Decimal = Field(Decimal(173), gt=0, le=744, decimal_places=2)
    billable_hours_per_month: Decimal = Field(gt=0, le=744, decimal_places=2)


class MonthlyCostIn(BaseModel):
    """A vehicle or an overhead expense, per month."""

    model_config = ConfigDict(extra="forbid")

    name: Text200
    monthly_cents: int = Field(ge=0, le=10**10)


class TierIn(BaseModel):
    """Material cost from min (inclusive) to max (exclusive; none for the last tier) × multiplier."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    min_cost_cents: int = Field(ge=0)
    max_cost_cents: int | None = Field(None, gt=0)
    multiplier: Decimal = Field(gt=0, le=100, decimal_places=3)


class PricingIn(BaseModel):
    """Every pricing input at once (replaces the previous ones)."""

    model_config = ConfigDict(extra="forbid")

    technicians: list[TechnicianIn] = Field(default_factory=list, max_length=500)
    vehicles: list[MonthlyCostIn] = Field(default_factory=list, max_length=500)
    expense_items: list[MonthlyCostIn] = Field(default_factory=list, max_length=500)
    markup_tiers: list[TierIn] = Field(default_factory=list, max_length=50)
    profit_percent: Decimal = Field(Decimal(20), ge=0, le=500, decimal_places=2)


class RateOut(BaseModel):
    """The hourly billable rate and its terms."""

    labour_cents_per_month: int
    overhead_cents_per_month: int
    billable_hours_per_month: Decimal
    cost_cents_per_billable_hour: int
    profit_percent: Decimal
    rate_cents: int


class PricingOut(PricingIn):
    """The pricing inputs and the rate they give."""

    rate: RateOut


class MaterialTerm(BaseModel):
    """One linked material or equipment in a suggested price."""

    kind: str
    st_id: int
    code: str | None = None
    quantity: Decimal
    cost_cents: int
    multiplier: Decimal
    cents: int


class SuggestedPrice(BaseModel):
    """hours × rate + Σ linked items × their tier multiplier, each term shown."""

    st_id: int
    code: str
    hours: Decimal
    rate: RateOut
    labour_cents: int
    materials: list[MaterialTerm]
    materials_cents: int
    suggested_cents: int
    price_cents: int
    drift_percent: Decimal | None = None
    currency: str = "USD"


class DriftQuery(PageQuery):
    """Services whose ServiceTitan price is more than threshold_percent from the suggestion."""

    threshold_percent: Decimal = Field(Decimal(10), ge=0, le=1000)


class DriftList(BaseModel):
    """A page of drifting services, by id."""

    items: list[SuggestedPrice]
    next_cursor: str | None = None
