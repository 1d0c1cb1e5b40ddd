"""Request and response models of the estimates module (other modules may import these)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from shared.errors import Unprocessable
from shared.pagination import PageQuery
from shared.schema import BaseModel  # built on first use (defer_build), not at import

SurfaceKind = Literal["walls", "ceiling", "trim", "doors", "windows"]
Prep = Literal["none", "light", "medium", "heavy"]
Status = Literal["draft", "sent", "viewed", "accepted", "declined", "expired"]
Access = Literal["view", "edit"]
Positive = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]
NonNegative = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
Feet = Annotated[Decimal, Field(ge=0, le=1000, max_digits=9, decimal_places=3)]
FOLLOW_UP_QUEUE = "estimate-notices"  # emails to the estimator: follow-up reminders and acceptances


# --- the rate book -----------------------------------------------------------------------------------


class Product(BaseModel):
    """A paint the business uses: coverage in sq ft per gallon (linear ft for trim) and price per gallon."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    name: str = Field(min_length=1, max_length=200)
    brand: str | None = Field(default=None, max_length=100)
    colour_code: str | None = Field(default=None, max_length=64)
    coverage_sqft_per_gallon: Positive
    price_per_gallon_cents: int = Field(ge=0, le=10_000_000)


class ProductionRate(BaseModel):
    """Per hour for area and trim (sq ft or linear ft per hour); hours per item for doors and windows."""

    first_coat: Positive
    additional_coat: Positive


def _default_production() -> dict[SurfaceKind, ProductionRate]:
    rates: dict[SurfaceKind, tuple[str, str]] = {
        "walls": ("200", "250"),
        "ceiling": ("150", "175"),
        "trim": ("60", "80"),
        "doors": ("0.75", "0.5"),
        "windows": ("0.5", "0.35"),
    }
    return {k: ProductionRate(first_coat=Decimal(a), additional_coat=Decimal(b)) for k, (a, b) in rates.items()}


def _default_prep() -> dict[Prep, Decimal]:
    return {"none": Decimal("1.0"), "light": Decimal("1.1"), "medium": Decimal("1.25"), "heavy": Decimal("1.5")}


class RateBookBody(BaseModel):
    """Everything an estimate is priced with; each saved change is a new version."""

    _index: tuple[tuple[int, int], dict[uuid.UUID, Product]] | None = PrivateAttr(default=None)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    labour_rate_cents: int = Field(default=6_500, ge=0, le=1_000_000)
    products: list[Product] = Field(default_factory=list, max_length=500)
    production: dict[SurfaceKind, ProductionRate] = Field(default_factory=_default_production)
    prep: dict[Prep, Annotated[Decimal, Field(ge=1, le=10)]] = Field(default_factory=_default_prep)
    door_deduction_sqft: NonNegative = Decimal(21)
    window_deduction_sqft: NonNegative = Decimal(15)
    labour_markup_percent: Percent = Decimal(0)
    materials_markup_percent: Percent = Decimal(0)
    tax_percent: Percent = Decimal(0)
    tax_applies_to: Literal["materials", "total"] = "materials"
    validity_days: int = Field(default=30, ge=1, le=365)
    deposit_percent: Percent = Decimal(0)
    show_cost_lines: bool = True
    follow_up_unviewed_days: int = Field(default=2, ge=1, le=60)
    follow_up_undecided_days: int = Field(default=5, ge=1, le=60)
    terms: str = Field(
        default="Prices include labour and paint as listed. Work is scheduled after the deposit is received.",
        max_length=5000,
    )

    @model_validator(mode="after")
    def _complete(self) -> RateBookBody:
        missing = {"walls", "ceiling", "trim", "doors", "windows"} - set(self.production)
        if missing:
            raise ValueError(f"production rates are missing for {sorted(missing)}")
        if {"none", "light", "medium", "heavy"} - set(self.prep):
            raise ValueError("prep needs none, light, medium and heavy")
        if len({p.id for p in self.products}) != len(self.products):
            raise ValueError("product ids must be unique")
        return self

    def product(self, product_id: uuid.UUID) -> Product:
        """The product with this id (422 when the rate book has none)."""
        key = (id(self.products), len(self.products))
        private = self.__pydantic_private__ or {}  # read directly: attribute access of private fields is slow
        index = private.get("_index")
        if index is None or index[0] != key:
            index = self._index = (key, {p.id: p for p in self.products})
        found = index[1].get(product_id)
        if found is None:
            found = next((p for p in self.products if p.id == product_id), None)  # the list changed in place
        if found is None:
            raise Unprocessable(f"The rate book has no product {product_id}", code="unknown_product")
        return found


class RateBookOut(RateBookBody):
    """A version of the business's rate book."""

    version: int
    created_at: datetime | None = None


# --- rooms, options, add-ons -------------------------------------------------------------------------


class SurfaceIn(BaseModel):
    """A surface of a room to paint: the product, the coats and the prep level."""

    kind: SurfaceKind
    product_id: uuid.UUID
    coats: int = Field(default=2, ge=1, le=5)
    prep: Prep = "none"
    quantity: NonNegative | None = Field(
        default=None, description="Overrides the measured quantity (e.g. trim in linear ft)"
    )


class RoomIn(BaseModel):
    """A room by its measurements, and what to paint in it."""

    name: str = Field(min_length=1, max_length=200)
    length_ft: Feet
    width_ft: Feet
    height_ft: Feet = Decimal(8)
    doors: int = Field(default=0, ge=0, le=100)
    windows: int = Field(default=0, ge=0, le=100)
    option_id: uuid.UUID | None = Field(default=None, description="Only in this option; every option when empty")
    surfaces: list[SurfaceIn] = Field(default_factory=list, max_length=20)


class RoomPatch(BaseModel):
    """Changes to a room; surfaces, when given, replace the room's surfaces."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    length_ft: Feet | None = None
    width_ft: Feet | None = None
    height_ft: Feet | None = None
    doors: int | None = Field(default=None, ge=0, le=100)
    windows: int | None = Field(default=None, ge=0, le=100)
    option_id: uuid.UUID | None = None
    surfaces: list[SurfaceIn] | None = Field(default=None, max_length=20)


class OptionIn(BaseModel):
    """A named option (Good, Better, Best); product_overrides swaps a product for another tier."""

    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    product_overrides: dict[uuid.UUID, uuid.UUID] = Field(default_factory=dict)


class AddonIn(BaseModel):
    """An optional extra the customer may add, at a fixed price."""

    name: str = Field(min_length=1, max_length=200)
    price_cents: int = Field(ge=0, le=100_000_000)


# --- estimates ---------------------------------------------------------------------------------------


class EstimateIn(BaseModel):
    """A new estimate for a customer; one to four options (one "Standard" when none are given)."""

    customer_id: uuid.UUID
    title: str = Field(min_length=1, max_length=200)
    job_address: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=5000)
    discount_cents: int = Field(default=0, ge=0, le=100_000_000)
    options: list[OptionIn] = Field(default_factory=lambda: [OptionIn(name="Standard")], min_length=1, max_length=4)


class EstimatePatch(BaseModel):
    """Changes to an estimate's header; the owner changes only by someone who sees every estimate."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    job_address: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=5000)
    discount_cents: int | None = Field(default=None, ge=0, le=100_000_000)
    owner_id: uuid.UUID | None = None


class SurfaceOut(BaseModel):
    """A surface with what it comes to in one option."""

    kind: SurfaceKind
    product_id: uuid.UUID
    product_name: str
    coats: int
    prep: Prep
    quantity: Decimal
    unit: Literal["sq ft", "linear ft", "items"]
    hours: Decimal
    gallons: Decimal
    labour_cents: int


class RoomOut(BaseModel):
    """A room as measured."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    length_ft: Decimal
    width_ft: Decimal
    height_ft: Decimal
    doors: int
    windows: int
    option_id: uuid.UUID | None
    position: int
    surfaces: list[SurfaceIn]
    version: int


class PricedRoom(BaseModel):
    """A room of an option with its priced surfaces."""

    room_id: uuid.UUID
    name: str
    wall_area_sqft: Decimal
    surfaces: list[SurfaceOut]


class MaterialOut(BaseModel):
    """A product's gallons (rounded up once per option) and price."""

    product_id: uuid.UUID
    name: str
    gallons: int
    price_per_gallon_cents: int
    cents: int


class TotalsOut(BaseModel):
    """An option's money in cents, and its labour hours."""

    labour_cents: int
    materials_cents: int
    labour_markup_cents: int
    materials_markup_cents: int
    discount_cents: int
    tax_cents: int
    total_cents: int
    deposit_cents: int
    hours: Decimal


class OptionOut(BaseModel):
    """An option with its rooms, materials and totals."""

    id: uuid.UUID
    name: str
    description: str | None
    position: int
    product_overrides: dict[uuid.UUID, uuid.UUID]
    rooms: list[PricedRoom]
    materials: list[MaterialOut]
    totals: TotalsOut


class AddonOut(AddonIn):
    """An add-on of an estimate."""

    id: uuid.UUID


class ShareOut(BaseModel):
    """A peer an estimate is shared with."""

    user_id: uuid.UUID
    access: Access


class RevisionOut(BaseModel):
    """A frozen, sent revision of an estimate."""

    revision: int
    channel: str | None
    sent_at: datetime | None
    link_expires_at: datetime | None
    valid_until: datetime | None
    message_id: uuid.UUID | None
    message_status: str | None = None
    message_reason: str | None = None
    pdf_sha256: str | None


class AcceptanceOut(BaseModel):
    """The customer's answer: the option and add-ons chosen, their name, when, from where, and the signed PDF."""

    revision: int
    option_id: uuid.UUID | None
    addon_ids: list[uuid.UUID]
    signer_name: str | None
    accepted_at: datetime | None
    declined_at: datetime | None
    decline_reason: str | None
    ip: str | None
    user_agent: str | None
    total_cents: int | None
    signed_pdf_sha256: str | None


class EstimateSummary(BaseModel):
    """An estimate in a list."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    status: Status
    revision: int
    currency: str
    created_at: datetime
    updated_at: datetime


class EstimateOut(EstimateSummary):
    """The whole estimate in one answer: rooms, options priced, add-ons, shares, revisions, acceptance."""

    job_address: str | None
    notes: str | None
    discount_cents: int
    rate_book_version: int
    viewed_at: datetime | None
    valid_until: datetime | None
    version: int
    rooms: list[RoomOut]
    options: list[OptionOut]
    addons: list[AddonOut]
    shares: list[ShareOut]
    revisions: list[RevisionOut]
    acceptance: AcceptanceOut | None


class EstimatePage(BaseModel):
    """One page of estimates."""

    items: list[EstimateSummary]
    next_cursor: str | None = None


class EstimateQuery(PageQuery):
    """Filters of the estimate list."""

    status: Status | None = None
    customer_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None


class ShareIn(BaseModel):
    """Share an estimate with a peer of the business."""

    user_id: uuid.UUID
    access: Access = "view"


class SendIn(BaseModel):
    """Send the estimate to its customer: by text or email, the link living ttl_days (at most 7)."""

    channel: Literal["sms", "email"]
    ttl_days: int = Field(default=7, ge=1, le=7)


class SendOut(BaseModel):
    """What sending did: the revision frozen, the link, and the message queued (or why it was refused)."""

    estimate_id: uuid.UUID
    revision: int
    url: str
    link_expires_at: datetime
    valid_until: datetime
    message_id: uuid.UUID | None
    message_status: str
    pdf_sha256: str


class PdfLink(BaseModel):
    """A short-lived read URL of a proposal PDF."""

    url: str
    expires_at: datetime
    sha256: str
    signed: bool


class NoticeTask(BaseModel):
    """An email to the estimator: an acceptance or a follow-up reminder (one per estimate and kind)."""

    tenant_id: uuid.UUID
    notice_id: uuid.UUID


class Party(BaseModel):
    """A name with how to reach them, as printed on the proposal."""

    name: str
    email: str | None = None
    phone: str | None = None


class ProposalPicture(BaseModel):
    """A photo or colour preview printed in the proposal: its blob in the photos container, caption and label."""

    kind: Literal["photo", "preview"]
    blob_name: str
    caption: str | None = None
    label: str | None = None
    note: str | None = None


class Proposal(BaseModel):
    """A sent revision frozen: what the customer's page and the PDF show, and what an acceptance locks."""

    estimate: EstimateOut
    revision: int
    business_name: str
    brand_colour: str | None
    customer: Party
    estimator: Party
    terms: str
    show_cost_lines: bool
    deposit_percent: Decimal
    sent_at: datetime
    valid_until: datetime
    pictures: list[ProposalPicture] = Field(default_factory=list)

    def option(self, option_id: uuid.UUID) -> OptionOut | None:
        """The option with this id."""
        return next((o for o in self.estimate.options if o.id == option_id), None)


class Signed(BaseModel):
    """The customer's acceptance as printed in the signed copy."""

    option_id: uuid.UUID
    addon_ids: list[uuid.UUID]
    name: str
    accepted_at: datetime
    ip: str | None
    user_agent: str | None
    total_cents: int
