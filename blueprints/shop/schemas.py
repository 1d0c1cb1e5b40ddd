"""Request and response models of the shop module."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, model_validator

from blueprints.crm.schemas import CustomerOut, VehicleOut
from blueprints.messaging.schemas import MessageOut
from blueprints.shop.transitions import Status
from shared.clock import UtcDateTime
from shared.schema import BaseModel  # built on first use (defer_build), not at import

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Notes = Annotated[str, StringConstraints(max_length=5000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Cents = Annotated[int, Field(ge=0, le=100_000_000_00)]
PositiveCents = Annotated[int, Field(gt=0, le=100_000_000_00)]
ItemStatus = Literal["ok", "attention", "urgent", "not_applicable"]
PaymentMethod = Literal["cash", "card", "check", "transfer", "financing", "other"]
MAX_RANGE_DAYS = 92


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_range(start: datetime | None, end: datetime | None, *, what: str) -> None:
    if start is not None and end is not None:
        if end <= start:
            raise ValueError(f"{what}: the end must be after the start")
        if (end - start).days > MAX_RANGE_DAYS:
            raise ValueError(f"{what}: at most {MAX_RANGE_DAYS} days at once")


class AppointmentIn(_Strict):
    """A new appointment: whose car, which technician, when."""

    customer_id: uuid.UUID
    vehicle_id: uuid.UUID | None = None
    tech_id: uuid.UUID | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    title: Title | None = None
    notes: Notes | None = None
    currency: Currency = "USD"

    @model_validator(mode="after")
    def _ends_after_start(self) -> AppointmentIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class AppointmentPatch(_Strict):
    """Fields to change; status changes go through the move endpoint."""

    vehicle_id: uuid.UUID | None = None
    tech_id: uuid.UUID | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    title: Title | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> AppointmentPatch:
        for name in ("starts_at", "ends_at"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class AppointmentOut(BaseModel):
    """An appointment as the calendar and the drawer show it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    vehicle_id: uuid.UUID | None
    tech_id: uuid.UUID | None
    starts_at: UtcDateTime
    ends_at: UtcDateTime
    status: Status
    position: float
    title: str | None
    notes: str | None
    currency: str
    total_cents: int
    paid_cents: int
    balance_cents: int = 0
    check_in_at: UtcDateTime | None
    check_out_at: UtcDateTime | None
    canceled_by: str | None
    cancel_reason: str | None
    override_reason: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @model_validator(mode="after")
    def _balance(self) -> AppointmentOut:
        self.balance_cents = self.total_cents - self.paid_cents
        return self


class RangeQuery(BaseModel):
    """A time window (`from` inclusive, `to` exclusive, ISO-8601 with zone) and optionally one technician."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_: AwareDatetime | None = Field(None, alias="from")
    to: AwareDatetime | None = None
    tech_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _range(self) -> RangeQuery:
        _check_range(self.from_, self.to, what="from/to")
        return self


class CalendarQuery(RangeQuery):
    """The calendar's window: both ends required."""

    # pyright cannot see that a pydantic field may become required in a subclass; pydantic allows it.
    from_: AwareDatetime = Field(alias="from")  # pyright: ignore[reportIncompatibleVariableOverride]
    to: AwareDatetime  # pyright: ignore[reportIncompatibleVariableOverride, reportGeneralTypeIssues]


class AppointmentList(BaseModel):
    """The appointments in a window, by start time."""

    items: list[AppointmentOut]


class MoveIn(_Strict):
    """Move a card: the target column and the index to drop it at (end of the column when left out)."""

    status: Status
    position: Annotated[int, Field(ge=0, le=100_000)] | None = None
    canceled_by: Literal["customer", "shop"] | None = None
    reason: Reason | None = None
    override: bool = False


class BoardColumn(BaseModel):
    """One status column: how many cards and their money."""

    status: Status
    count: int
    total_cents: int
    paid_cents: int


class BoardCard(BaseModel):
    """A card on the board with what the shop needs at a glance."""

    id: uuid.UUID
    status: Status
    position: float
    title: str | None
    customer_id: uuid.UUID
    customer_name: str | None
    vehicle_id: uuid.UUID | None
    vehicle: str | None
    tech_id: uuid.UUID | None
    tech_name: str | None
    starts_at: UtcDateTime
    ends_at: UtcDateTime
    check_in_at: UtcDateTime | None
    check_out_at: UtcDateTime | None
    currency: str
    total_cents: int
    paid_cents: int
    service_count: int


class Board(BaseModel):
    """The status board: columns in flow order and the cards ordered within each column."""

    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)

    from_: UtcDateTime = Field(serialization_alias="from")
    to: UtcDateTime
    columns: list[BoardColumn]
    cards: list[BoardCard]


class ServiceIn(_Strict):
    """A line item of work."""

    name: Title
    category: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    notes: Notes | None = None
    estimated_hours: Annotated[Decimal, Field(ge=0, le=9999, decimal_places=2)] | None = None
    price_cents: Cents = 0


class ServicePatch(_Strict):
    """Line item fields to change."""

    name: Title | None = None
    category: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    notes: Notes | None = None
    estimated_hours: Annotated[Decimal, Field(ge=0, le=9999, decimal_places=2)] | None = None
    price_cents: Cents | None = None


class ServiceOut(BaseModel):
    """A line item."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    appointment_id: uuid.UUID
    name: str
    category: str | None
    notes: str | None
    estimated_hours: float | None
    price_cents: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class PaymentIn(_Strict):
    """Money received; more than the balance only with allow_overpayment."""

    amount_cents: PositiveCents
    method: PaymentMethod
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    allow_overpayment: bool = False


class VoidIn(_Strict):
    """Why a payment is voided."""

    reason: Reason


class PaymentOut(BaseModel):
    """A payment or the reversing entry of a void."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    appointment_id: uuid.UUID
    kind: Literal["payment", "void"]
    amount_cents: int
    currency: str
    method: str
    note: str | None
    voids_payment_id: uuid.UUID | None
    created_by: uuid.UUID | None
    created_at: UtcDateTime


class PaymentResult(BaseModel):
    """A recorded entry and the appointment's money after it."""

    payment: PaymentOut
    total_cents: int
    paid_cents: int
    balance_cents: int


class TemplateIn(_Strict):
    """A reusable checklist."""

    name: Title
    labels: Annotated[list[Title], Field(min_length=1, max_length=100)]


class TemplateOut(BaseModel):
    """A checklist template."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    labels: list[str]
    created_at: UtcDateTime


class TemplateList(BaseModel):
    """The tenant's templates by name."""

    items: list[TemplateOut]


class ChecklistIn(_Strict):
    """Start an inspection from a template, or from a title and labels of its own."""

    template_id: uuid.UUID | None = None
    title: Title | None = None
    labels: Annotated[list[Title], Field(max_length=100)] | None = None

    @model_validator(mode="after")
    def _source(self) -> ChecklistIn:
        if self.template_id is None and not (self.title and self.labels):
            raise ValueError("give template_id, or title and labels")
        return self


PhotoPath = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]{1,500}$")]


class ItemPatch(_Strict):
    """An item's finding."""

    status: ItemStatus | None = None
    notes: Notes | None = None
    photo_paths: Annotated[list[PhotoPath], Field(max_length=20)] | None = None
    recommended: bool | None = None
    estimate_cents: Cents | None = None


class ItemOut(BaseModel):
    """An inspected point and the customer's answer."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    position: int
    label: str
    status: ItemStatus
    notes: str | None
    photo_paths: list[str]
    recommended: bool
    estimate_cents: int | None
    decision: Literal["approved", "declined"] | None
    decided_at: UtcDateTime | None


class ChecklistOut(BaseModel):
    """An inspection with its items."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    appointment_id: uuid.UUID
    title: str
    created_at: UtcDateTime
    items: list[ItemOut]


class ApprovalLink(BaseModel):
    """The signed customer link and when it stops working."""

    url: str
    expires_at: UtcDateTime


class LinkIn(_Strict):
    """How long the link lives (at most 7 days)."""

    ttl_hours: Annotated[int, Field(ge=1, le=168)] = 72


class HistoryEntry(BaseModel):
    """One audited change of the appointment."""

    model_config = ConfigDict(from_attributes=True)

    action: str
    user_id: uuid.UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: UtcDateTime


class Person(BaseModel):
    """A technician as the drawer names them."""

    id: uuid.UUID
    name: str


class Drawer(BaseModel):
    """Everything about one appointment in one answer."""

    appointment: AppointmentOut
    customer: CustomerOut | None
    vehicle: VehicleOut | None
    tech: Person | None
    services: list[ServiceOut]
    payments: list[PaymentOut]
    inspections: list[ChecklistOut]
    messages: list[MessageOut]
    history: list[HistoryEntry]


class Stats(BaseModel):
    """The dashboard's figures, in the tenant's time zone."""

    as_of: UtcDateTime
    timezone: str
    cars_on_lot: int
    appointments_today: int
    completed_this_week: int
    revenue_today_cents: int
    revenue_week_cents: int
    revenue_month_cents: int
    unpaid_total_cents: int
    average_cycle_minutes: float | None
    version: int


class ExportQuery(BaseModel):
    """The export's window (required, at most 92 days)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_: AwareDatetime = Field(alias="from")
    to: AwareDatetime

    @model_validator(mode="after")
    def _range(self) -> ExportQuery:
        _check_range(self.from_, self.to, what="from/to")
        return self
