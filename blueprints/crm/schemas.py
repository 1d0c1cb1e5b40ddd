"""Request and response models of the crm module."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from blueprints.crm import vin as vin_rules
from shared.clock import TimeZoneName, UtcDateTime
from shared.pagination import PageQuery
from shared.phone import E164
from shared.schema import BaseModel  # built on first use (defer_build), not at import

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Notes = Annotated[str, StringConstraints(max_length=5000)]
Vin = Annotated[str, AfterValidator(vin_rules.normalise)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Year = Annotated[int, Field(ge=1886, le=2100)]
Mileage = Annotated[int, Field(ge=0, le=10_000_000)]


class CustomerIn(BaseModel):
    """A new customer; the caller becomes its owner."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    phone: E164 | None = None
    email: EmailStr | None = None
    address: Address | None = None
    timezone: TimeZoneName | None = None
    notes: Notes | None = None


class CustomerPatch(BaseModel):
    """Fields to change; null clears an optional one. owner_id hands the customer to someone else."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    phone: E164 | None = None
    email: EmailStr | None = None
    address: Address | None = None
    timezone: TimeZoneName | None = None
    notes: Notes | None = None
    owner_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> CustomerPatch:
        for name in ("name", "owner_id"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class CustomerOut(BaseModel):
    """A customer as the caller may see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    phone: str | None
    email: str | None
    address: str | None
    timezone: str | None
    notes: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CustomerQuery(PageQuery):
    """Search customers: q matches name, email or phone digits; phone and email match exactly."""

    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    phone: E164 | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None


class CustomerPage(BaseModel):
    """One page of customers."""

    items: list[CustomerOut]
    next_cursor: str | None = None


class ShareIn(BaseModel):
    """Share a customer with a peer."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID


class Shares(BaseModel):
    """Who a customer is shared with."""

    customer_id: uuid.UUID
    user_ids: list[uuid.UUID]


class VehicleIn(BaseModel):
    """A customer's vehicle."""

    model_config = ConfigDict(extra="forbid")

    year: Year | None = None
    make: Label | None = None
    model: Label | None = None
    vin: Vin | None = None
    mileage: Mileage | None = None


class VehiclePatch(VehicleIn):
    """Vehicle fields to change; null clears one."""


class VehicleOut(BaseModel):
    """A vehicle."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    year: int | None
    make: str | None
    model: str | None
    vin: str | None
    mileage: int | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class VehiclePage(BaseModel):
    """One page of vehicles."""

    items: list[VehicleOut]
    next_cursor: str | None = None
