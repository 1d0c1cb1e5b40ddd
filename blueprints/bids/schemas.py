"""Request and response models of the bids module. Boxes are PDF points, origin top left: [x0, top, x1, bottom]."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from blueprints.bids.catalog import Code, FixtureType
from shared.pagination import PageQuery
from shared.schema import BaseModel  # built on first use (defer_build), not at import

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Filename = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{1,4}-\d{1,3}[A-Za-z]?$")
]
DocumentStatus = Literal["awaiting_upload", "queued", "analyzing", "analyzed", "failed", "cancelled"]
FixtureState = Literal["auto_accepted", "pending", "hidden", "confirmed", "rejected"]
Source = Literal["schedule", "text", "vision", "person"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Box(_Strict):
    """A box on a page in PDF points, origin at the top left."""

    x0: float = Field(ge=0)
    top: float = Field(ge=0)
    x1: float = Field(ge=0)
    bottom: float = Field(ge=0)

    @model_validator(mode="after")
    def _positive(self) -> Box:
        if self.x1 <= self.x0 or self.bottom <= self.top:
            raise ValueError("a box needs x1 > x0 and bottom > top")
        return self


class ProjectIn(_Strict):
    """A job to bid."""

    customer_id: uuid.UUID
    name: Name
    address: Address


class ProjectOut(_Out):
    """A project."""

    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    address: str
    created_at: datetime


class ProjectPage(BaseModel):
    """A page of projects."""

    items: list[ProjectOut]
    next_cursor: str | None = None


class DocumentIn(_Strict):
    """A plan set about to be uploaded."""

    filename: Filename


class CommitIn(_Strict):
    """Start the analysis of an uploaded document; vision_all runs the vision detector on every page."""

    vision_all: bool = False


class Progress(BaseModel):
    """How far the analysis is: pages done of total and the stage."""

    stage: str
    pages_done: int = 0
    pages_total: int = 0
    failed_pages: list[int] = Field(default_factory=list)
    needs_vision_pages: list[int] = Field(default_factory=list)


class DocumentOut(_Out):
    """A plan document and its analysis."""

    id: uuid.UUID
    project_id: uuid.UUID
    filename: str
    status: DocumentStatus
    size_bytes: int | None
    page_count: int | None
    vision_all: bool
    error: str | None
    takeoff_version: int
    reviewed_at: datetime | None
    analyzed_at: datetime | None
    created_at: datetime
    progress: Progress | None = None


class UploadOut(BaseModel):
    """Where to PUT the file (a write-only URL for this one name, 15 minutes), then commit."""

    document: DocumentOut
    upload_url: str
    upload_headers: dict[str, str]
    expires_at: datetime
    max_bytes: int


class ScheduleRowOut(_Out):
    """A row of the fixture schedule."""

    tag: str
    fixture_type: str
    description: str
    manufacturer: str
    model: str
    cw: str
    hw: str
    waste: str
    vent: str
    quantity: int | None
    page_number: int


class FixtureOut(_Out):
    """A fixture of the takeoff."""

    id: uuid.UUID
    page_number: int
    sheet_number: str | None
    fixture_type: str
    tag: str | None
    schedule_tag: str | None
    label: str
    box: Box
    sources: list[str]
    confidence: float
    state: FixtureState
    edited: bool
    version: int


class FixtureQuery(PageQuery):
    """Filters of the fixture list."""

    model_config = ConfigDict(extra="forbid")
    fixture_type: FixtureType | None = None
    sheet: str | None = Field(None, max_length=20)
    page: int | None = Field(None, ge=1)
    state: FixtureState | None = None
    source: Source | None = None
    include_hidden: bool = False


class FixturePage(BaseModel):
    """A page of fixtures."""

    items: list[FixtureOut]
    next_cursor: str | None = None


class FixturePatch(_Strict):
    """A person's decision on a fixture: confirm, reject, or change its type, tag or box."""

    state: Literal["confirmed", "rejected"] | None = None
    fixture_type: FixtureType | None = None
    tag: Tag | None = None
    box: Box | None = None


class FixtureIn(_Strict):
    """A fixture the detectors missed, added by a person."""

    page_number: int = Field(ge=1)
    fixture_type: FixtureType
    tag: Tag | None = None
    box: Box


class BulkConfirmIn(_Strict):
    """Confirm these fixtures at once."""

    fixture_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class BulkConfirmOut(BaseModel):
    """How many fixtures were confirmed."""

    confirmed: int


class CheckItem(BaseModel):
    """Something a person should look at before the takeoff is priced."""

    kind: Literal[
        "tag_without_schedule_row", "schedule_row_not_found", "low_confidence", "count_disagrees_with_schedule"
    ]
    tag: str | None = None
    fixture_type: str | None = None
    fixture_id: uuid.UUID | None = None
    pages: list[int] = Field(default_factory=list)
    schedule_quantity: int | None = None
    counted: int | None = None


class TypeCount(BaseModel):
    """Counted fixtures of one type, by sheet."""

    fixture_type: str
    count: int
    by_sheet: dict[str, int]
    schedule_tags: list[str]


class PageSummary(BaseModel):
    """One page of the document: how it was read and what sheet it is."""

    page: int
    kind: str | None = None
    status: str
    sheet: str | None = None
    discipline: str | None = None


class TakeoffTotals(BaseModel):
    """A takeoff's totals as frozen at review: counts by type, fixture units under the code."""

    counts: list[TypeCount]
    total_fixtures: int
    dfu: Decimal
    wsfu: Decimal
    code: Code


class TakeoffOut(BaseModel):
    """The takeoff: counts by type and sheet, the schedule, fixture units under the business's code, to check."""

    document_id: uuid.UUID
    status: DocumentStatus
    version: int
    reviewed: bool
    code: Code
    counts: list[TypeCount]
    total_fixtures: int
    drainage_fixture_units: Decimal
    water_supply_fixture_units: Decimal
    schedule: list[ScheduleRowOut]
    to_check: list[CheckItem]
    pages: list[PageSummary]


class ReviewOut(BaseModel):
    """The takeoff as reviewed and frozen: its totals and every counted fixture as they were."""

    document_id: uuid.UUID
    version: int
    reviewed_at: datetime
    totals: TakeoffTotals
    fixtures: list[FixtureOut]


class ReviewPage(BaseModel):
    """The frozen versions of a takeoff, newest first."""

    items: list[ReviewOut]


class SettingsOut(_Out):
    """The business's takeoff settings, and the licence number its proposals show."""

    code: Code
    auto_accept: Decimal
    hide_below: Decimal
    licence_number: str | None = None


class SettingsIn(_Strict):
    """New takeoff settings."""

    code: Code
    auto_accept: Decimal = Field(ge=0, le=1)
    hide_below: Decimal = Field(ge=0, le=1)
    licence_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> SettingsIn:
        if self.hide_below > self.auto_accept:
            raise ValueError("hide_below must not be above auto_accept")
        return self
