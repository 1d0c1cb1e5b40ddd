"""Request and response models of the leads module, and its queue message."""

from __future__ import annotations

import re
import uuid
from string import Formatter
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from blueprints.messaging import schemas as messaging_schemas
from shared.clock import TimeZoneName, UtcDateTime
from shared.pagination import PageQuery
from shared.phone import E164
from shared.schema import BaseModel  # built on first use (defer_build), not at import

RESPONDER_QUEUE = "lead-responses"

Source = Literal["form", "sms"]
LeadStatus = Literal["new", "contacted", "qualified", "lost"]
AnswerState = Literal["pending", "queued", "scheduled", "sent", "failed", "unreachable", "skipped"]
TaskKind = Literal["answer", "confirm", "follow_up", "notify_owner"]
Slug = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
]
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(?::\d{1,5})?$")
_NOT_STORABLE = re.compile("[\x00\ud800-\udfff]")


def _origin(value: object) -> str:
    if not isinstance(value, str) or not _ORIGIN.match(value.strip().lower().rstrip("/")):
        raise ValueError("an origin is scheme://host[:port], e.g. https://www.example.com")
    return value.strip().lower().rstrip("/")


def _checkbox(value: object) -> bool:
    """A ticked checkbox as forms send it ("on", "true", "1", "yes") or JSON's true; anything else is unticked."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in {"on", "true", "1", "yes"}


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


Origin = Annotated[str, BeforeValidator(_origin)]
Checkbox = Annotated[bool, BeforeValidator(_checkbox)]
OptionalText = Annotated[Any, BeforeValidator(_blank_is_none)]


MODULE = "leads"  # the feature flag a business switches leads on and off with


class IntakeIn(BaseModel):
    """A website form's lead: contact details, what they need, the consent checkbox shown and whether ticked.

    `website` is the honeypot: a hidden field people never fill in; a post that fills it is dropped.
    """

    model_config = ConfigDict(extra="ignore")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    phone: Annotated[E164 | None, BeforeValidator(_blank_is_none)] = None
    email: Annotated[EmailStr | None, BeforeValidator(_blank_is_none)] = None
    address: Annotated[
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None, BeforeValidator(_blank_is_none)
    ] = None
    message: Annotated[
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] | None,
        BeforeValidator(_blank_is_none),
    ] = None
    timezone: Annotated[TimeZoneName | None, BeforeValidator(_blank_is_none)] = Field(
        None, description="the visitor's IANA zone, if the site sends it (Intl.DateTimeFormat)"
    )
    consent_text: Annotated[
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None,
        BeforeValidator(_blank_is_none),
    ] = Field(None, description="the wording of the consent checkbox as shown")
    consent: Checkbox = Field(False, description="whether the consent checkbox was ticked")
    website: str | None = Field(None, max_length=2000, description="honeypot: leave empty")

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: object) -> object:
        if isinstance(value, str) and _NOT_STORABLE.search(value):
            raise ValueError("String should not contain NUL characters or unpaired surrogates")
        return value

    def reachable(self) -> bool:
        """Whether the lead left a way to answer."""
        return self.phone is not None or self.email is not None


class IntakeAccepted(BaseModel):
    """The form's answer: received (the first answer follows by text or email)."""

    status: Literal["accepted"] = "accepted"


class LeadOut(BaseModel):
    """A lead as staff see it in the list."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    source: Source
    status: LeadStatus
    name: str
    phone: str | None
    email: str | None
    address: str | None
    message: str | None
    timezone: str | None
    consent_given: bool
    consent_text: str | None
    submissions: int
    answer_state: AnswerState
    answer_channel: messaging_schemas.Channel | None
    answer_message_id: uuid.UUID | None
    answer_scheduled_for: UtcDateTime | None
    first_response_at: UtcDateTime | None = Field(
        description="when the provider accepted the first answer (Twilio's 201 / the SMTP relay's 250)"
    )
    seconds_to_first_response: float | None = None
    owner_notified_at: UtcDateTime | None
    follow_ups_sent: int
    contacted_at: UtcDateTime | None
    replied_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class LeadDetail(LeadOut):
    """A lead with its first answer as messaging holds it."""

    answer: messaging_schemas.MessageOut | None


class LeadPage(BaseModel):
    """One page of leads, newest first."""

    items: list[LeadOut]
    next_cursor: str | None = None


class LeadQuery(PageQuery):
    """Filter the list: status, source, answered or not, created since."""

    status: LeadStatus | None = None
    source: Source | None = None
    answered: bool | None = None
    since: UtcDateTime | None = None


class LeadPatch(BaseModel):
    """Move a lead on: new -> contacted -> qualified | lost (new -> lost too)."""

    model_config = ConfigDict(extra="forbid")

    status: LeadStatus


class SourceStats(BaseModel):
    """Time to first answer for one source this week (seconds; nearest-rank percentiles)."""

    source: Source
    leads: int
    answered: int
    median_seconds: float | None
    p95_seconds: float | None


class LeadStats(BaseModel):
    """Time to first answer by source, Monday 00:00 in the business's zone until now."""

    since: UtcDateTime
    by_source: list[SourceStats]


_Template = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class LeadSettingsIn(BaseModel):
    """The intake slug, site origins, the first answer's texts and the follow-up days.

    Templates may use {first_name}, {customer_name} and {business_name}.
    """

    model_config = ConfigDict(extra="forbid")

    slug: Slug
    site_origins: list[Origin] = Field(default_factory=list, max_length=20)
    sms_template: _Template = (
        "Hi {first_name}, thanks for contacting {business_name}! We got your request and will call you shortly."
    )
    email_subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = (
        "{business_name} received your request"
    )
    email_template: _Template = (
        "Hi {first_name},\n\nThanks for contacting {business_name}. We received your request and will be in"
        " touch shortly.\n"
    )
    follow_up_days: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=lambda: [1, 3], max_length=5)
    follow_up_template: _Template = (
        "Hi {first_name}, {business_name} here: are you still looking for help? Reply to this message."
    )

    @field_validator("sms_template", "email_subject", "email_template", "follow_up_template")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            fields = {field for _, field, _, _ in Formatter().parse(value) if field is not None}
        except ValueError as exc:
            raise ValueError(f"unbalanced braces: {exc}") from None
        unknown = sorted(fields - {"first_name", "customer_name", "business_name"})
        if unknown:
            raise ValueError(f"unknown placeholders: {', '.join(unknown)}")
        return value


class LeadSettingsOut(BaseModel):
    """A business's lead settings (before the owner saves any: the defaults, no slug, so no intake yet)."""

    model_config = ConfigDict(from_attributes=True)

    slug: str | None
    site_origins: list[str]
    sms_template: str
    email_subject: str
    email_template: str
    follow_up_days: list[int]
    follow_up_template: str
    updated_at: UtcDateTime | None


class LeadTask(BaseModel):
    """The lead-responses queue message: which lead, and what to do for it (n: the follow-up or poll number)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: uuid.UUID
    lead_id: uuid.UUID
    kind: TaskKind
    n: int = Field(default=0, ge=0, le=1000)
