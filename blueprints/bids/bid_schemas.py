"""Request and response models of plumbing pricing: the price book, bids, their priced lines and totals, and the
frozen proposal a sent revision keeps. Money is integer cents; rates and percentages are Decimals."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from blueprints.bids.catalog import FixtureType
from shared.pagination import PageQuery
from shared.schema import BaseModel  # built on first use (defer_build), not at import

BidStatus = Literal["draft", "sent", "viewed", "accepted", "declined", "expired"]
Hours = Annotated[Decimal, Field(ge=0, le=1000, max_digits=10, decimal_places=4)]
Factor = Annotated[Decimal, Field(gt=0, le=10, max_digits=8, decimal_places=4)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
Quantity = Annotated[Decimal, Field(ge=0, le=100_000, max_digits=12, decimal_places=3)]
Cents = Annotated[int, Field(ge=0, le=10_000_000_000)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- the price book -------------------------------------------------------------------------------------------


class Assembly(_Strict):
    """What one fixture of a type takes: rough-in and trim/set hours, material, an optional allowance."""

    rough_in_hours: Hours
    trim_hours: Hours
    material_cents: Cents
    allowance_cents: Cents = 0


_ASSEMBLIES: dict[str, tuple[str, str, int]] = {
    "water_closet": ("3.0", "1.5", 32_000),
    "lavatory": ("2.5", "1.5", 22_000),
    "urinal": ("3.0", "1.5", 38_000),
    "sink": ("2.5", "1.5", 26_000),
    "mop_sink": ("3.0", "2.0", 45_000),
    "drinking_fountain": ("3.0", "2.0", 90_000),
    "water_heater": ("2.0", "4.0", 180_000),
    "floor_drain": ("2.0", "0.5", 9_000),
    "hose_bibb": ("1.0", "0.5", 4_500),
    "shower": ("4.0", "2.0", 60_000),
    "bathtub": ("4.0", "2.5", 75_000),
    "other": ("2.0", "1.0", 10_000),
}


def _default_assemblies() -> dict[FixtureType, Assembly]:
    return {
        kind: Assembly(rough_in_hours=Decimal(rough), trim_hours=Decimal(trim), material_cents=material)  # type: ignore[misc]
        for kind, (rough, trim, material) in _ASSEMBLIES.items()
    }


class PipeAllowance(_Strict):
    """Pipe priced as feet per fixture or per sq ft of floor, at a material cost and labour hours per foot."""

    basis: Literal["per_fixture", "per_sqft"] = "per_fixture"
    feet: Annotated[Decimal, Field(ge=0, le=10_000, max_digits=10, decimal_places=4)] = Decimal(25)
    material_cents_per_foot: Cents = 450
    hours_per_foot: Hours = Decimal("0.08")


class PriceBookBody(_Strict):
    """Everything a plumbing bid is priced with; each saved change is a new version."""

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    labour_rate_cents: int = Field(default=9_500, ge=0, le=1_000_000, description="burdened, per hour")
    productivity_factor: Factor = Decimal(1)
    assemblies: dict[FixtureType, Assembly] = Field(default_factory=_default_assemblies)
    pipe: PipeAllowance = Field(default_factory=PipeAllowance)
    permit_fees_cents: Cents = 0
    contingency_percent: Percent = Decimal(5)
    overhead_percent: Percent = Decimal(10)
    margin_percent: Annotated[Decimal, Field(ge=0, le=95, max_digits=7, decimal_places=4)] = Decimal(15)
    bond_percent: Percent = Decimal(0)
    tax_percent: Percent = Decimal(0)
    validity_days: int = Field(default=30, ge=1, le=365)
    payment_terms: str = Field(
        default="30% on acceptance, 40% at rough-in inspection, balance on final inspection.", max_length=2000
    )

    @model_validator(mode="after")
    def _every_type(self) -> PriceBookBody:
        missing = set(_ASSEMBLIES) - set(self.assemblies)
        if missing:
            raise ValueError(f"assemblies are missing for {sorted(missing)}")
        return self


class PriceBookOut(PriceBookBody):
    """A version of the price book (version 0: the published defaults, never saved)."""

    model_config = ConfigDict(extra="ignore")
    version: int
    created_at: datetime | None = None


class PriceBookQuery(_Strict):
    """Which version to read (the current one when empty)."""

    version: int | None = Field(default=None, ge=0)


# --- a bid's content -----------------------------------------------------------------------------------------


class LineSource(BaseModel):
    """Where a line's quantity came from: a reviewed takeoff's version and its fixtures."""

    document_id: uuid.UUID
    takeoff_version: int
    fixture_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20_000)


class LineIn(_Strict):
    """A fixture line: the type and quantity; hours, material and allowance come from the book unless given."""

    fixture_type: FixtureType
    quantity: Quantity
    description: Text = ""
    rough_in_hours: Hours | None = None
    trim_hours: Hours | None = None
    material_cents: Cents | None = None
    allowance_cents: Cents | None = None
    source: LineSource | None = None


class AlternateIn(_Strict):
    """An alternate priced separately (its own lines and a lump cost); the customer accepts it or not."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    name: Label
    description: Text = ""
    lines: list[LineIn] = Field(default_factory=list, max_length=1000)
    extra_cost_cents: Cents = 0


class AllowanceIn(_Strict):
    """A named allowance carried in the price (e.g. owner-selected fixtures up to an amount)."""

    name: Label
    amount_cents: Cents


class UnitPriceIn(_Strict):
    """A price per unit for added work, quoted but not in the total."""

    description: Label
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] = "ea"
    price_cents: Cents


class BidContent(_Strict):
    """Everything a person edits on a bid."""

    title: Label
    scope: Text = ""
    area_sqft: Annotated[Decimal, Field(ge=0, le=10_000_000, max_digits=12, decimal_places=2)] | None = None
    lines: list[LineIn] = Field(default_factory=list, max_length=2000)
    alternates: list[AlternateIn] = Field(default_factory=list, max_length=50)
    allowances: list[AllowanceIn] = Field(default_factory=list, max_length=100)
    unit_prices: list[UnitPriceIn] = Field(default_factory=list, max_length=100)
    inclusions: list[Text] = Field(default_factory=list, max_length=100)
    exclusions: list[Text] = Field(default_factory=list, max_length=100)
    payment_terms: Text | None = None
    validity_days: int | None = Field(default=None, ge=1, le=365)

    @model_validator(mode="after")
    def _unique_alternates(self) -> BidContent:
        if len({a.id for a in self.alternates}) != len(self.alternates):
            raise ValueError("alternate ids must be unique")
        return self


class BidIn(_Strict):
    """A new bid: from a document's reviewed takeoff (document_id), or by hand (project_id and content)."""

    document_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    content: BidContent | None = None

    @model_validator(mode="after")
    def _one_way(self) -> BidIn:
        if self.document_id is None and (self.project_id is None or self.content is None):
            raise ValueError("give document_id (from its reviewed takeoff), or project_id and content")
        return self


# --- priced ---------------------------------------------------------------------------------------------------


class PricedLine(BaseModel):
    """One priced line: quantity, hours, labour, material, other cost (allowances, permits) and direct cost."""

    kind: Literal["fixture", "pipe", "permit", "allowance", "lump"]
    fixture_type: str | None = None
    description: str
    quantity: Decimal
    unit: str
    hours: Decimal
    labour_cents: int
    material_cents: int
    other_cents: int
    direct_cents: int
    source: LineSource | None = None


class BidTotals(BaseModel):
    """Every step from direct cost to the total, in cents, with the rate each step used."""

    direct_cost_cents: int
    contingency_percent: Decimal
    contingency_cents: int
    overhead_percent: Decimal
    overhead_cents: int
    cost_cents: int
    margin_percent: Decimal
    margin_cents: int
    price_cents: int
    bond_percent: Decimal
    bond_cents: int
    tax_percent: Decimal
    tax_cents: int
    total_cents: int
    hours: Decimal


class PricedAlternate(BaseModel):
    """An alternate with its own lines and totals."""

    id: uuid.UUID
    name: str
    description: str
    lines: list[PricedLine]
    totals: BidTotals


class PricedBid(BaseModel):
    """The base bid's lines and totals, and each alternate priced apart."""

    lines: list[PricedLine]
    totals: BidTotals
    alternates: list[PricedAlternate]


class AcceptedAlternate(BaseModel):
    """An alternate the customer accepted, at its total."""

    id: uuid.UUID
    name: str
    total_cents: int


class AcceptedTotals(BaseModel):
    """What the customer accepted, locked: the base total, the chosen alternates' totals, the sum."""

    base_total_cents: int
    alternates: list[AcceptedAlternate]
    total_cents: int


class BidOut(BaseModel):
    """A bid: its content, priced, its status and the customer's answer."""

    id: uuid.UUID
    project_id: uuid.UUID
    document_id: uuid.UUID | None
    number: str
    status: BidStatus
    revision: int
    price_book_version: int
    takeoff_version: int | None
    content: BidContent
    priced: PricedBid
    currency: str
    sent_at: datetime | None
    viewed_at: datetime | None
    valid_until: datetime | None
    sending: bool
    accepted_at: datetime | None
    signer_name: str | None
    accepted_alternate_ids: list[uuid.UUID]
    accepted_totals: AcceptedTotals | None
    declined_at: datetime | None
    decline_reason: str | None
    signed_pdf_sha256: str | None
    message_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class BidSummary(BaseModel):
    """A bid in a list."""

    id: uuid.UUID
    project_id: uuid.UUID
    number: str
    title: str
    status: BidStatus
    revision: int
    total_cents: int
    currency: str
    updated_at: datetime


class BidPage(BaseModel):
    """A page of bids."""

    items: list[BidSummary]
    next_cursor: str | None = None


class BidQuery(PageQuery):
    """Filters of the bid list."""

    model_config = ConfigDict(extra="forbid")
    status: BidStatus | None = None
    project_id: uuid.UUID | None = None


class SendBidIn(_Strict):
    """Send the bid's proposal by email; the link lives ttl_days (at most 7)."""

    ttl_days: int = Field(default=7, ge=1, le=7)


class BidPdfLink(BaseModel):
    """A short-lived link to the newest sent revision's PDF (the signed copy once accepted)."""

    url: str
    expires_at: datetime
    sha256: str
    signed: bool


class Party(BaseModel):
    """A person on a proposal."""

    name: str
    email: str | None = None
    phone: str | None = None


class BidProposal(BaseModel):
    """A sent revision as the customer saw it: frozen when it was sent."""

    bid_id: uuid.UUID
    number: str
    revision: int
    business_name: str
    brand_colour: str | None
    licence_number: str | None
    customer: Party
    estimator: Party
    project_name: str
    address: str
    currency: str
    content: BidContent
    priced: PricedBid
    payment_terms: str
    sent_at: datetime
    valid_until: datetime

    def alternate(self, alternate_id: uuid.UUID) -> PricedAlternate | None:
        """The priced alternate with this id."""
        return next((a for a in self.priced.alternates if a.id == alternate_id), None)
