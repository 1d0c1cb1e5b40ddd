"""Request and response models of the messaging module, and the outbound queue message."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, EmailStr, Field, StringConstraints, model_validator

from shared.clock import UtcDateTime
from shared.phone import E164
from shared.schema import BaseModel  # built on first use (defer_build), not at import

MODULE = "messaging"  # the feature flag a business switches messaging on and off with

Channel = Literal["sms", "email"]
Purpose = Literal["transactional", "marketing"]
Status = Literal[
    "queued", "scheduled", "deferred", "sending", "sent", "delivered", "undelivered", "failed", "blocked", "received"
]
Body = Annotated[str, StringConstraints(min_length=1, max_length=1600)]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RelatedType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
TemplateName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Placeholder = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]

# what an attachment may be named and typed: no path, no control characters (they would reach a MIME header)
Filename = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f\x7f]+$")]
ContentType = Annotated[
    str, StringConstraints(max_length=100, pattern=r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
]
ContainerName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
MAX_ATTACHMENTS = 10

OUTBOUND_QUEUE = "outbound-messages"
# Inbound texts from a number no customer of the business has: another module (leads) may take them up.
INBOUND_UNKNOWN_QUEUE = "inbound-from-unknown"


class Attachment(BaseModel):
    """A stored blob an email carries: its name under the tenant's prefix, the filename the recipient sees, its type.

    container None means the uploads container (UPLOADS_CONTAINER); the pipeline downloads the blob at delivery.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    blob_name: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    filename: Filename
    content_type: ContentType
    container: ContainerName | None = None


class AttachmentOut(BaseModel):
    """What a message's thread shows of an attachment."""

    filename: str
    content_type: str


class Related(BaseModel):
    """The record a message is about (an appointment, an estimate, a bid...)."""

    model_config = ConfigDict(extra="forbid")

    type: RelatedType
    id: uuid.UUID


class MessageIn(BaseModel):
    """A message to a customer: a body, or a template and its values."""

    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID
    channel: Channel
    purpose: Purpose = "transactional"
    body: Body | None = None
    subject: Subject | None = None
    template_id: uuid.UUID | None = None
    values: dict[Placeholder, Annotated[str, StringConstraints(max_length=500)]] = Field(default_factory=dict)
    related: Related | None = None

    @model_validator(mode="after")
    def _body_or_template(self) -> MessageIn:
        if (self.body is None) == (self.template_id is None):
            raise ValueError("give either body or template_id")
        return self


class MessageOut(BaseModel):
    """A message on a customer's thread."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID | None
    direction: Literal["outbound", "inbound"]
    channel: Channel
    purpose: Purpose | None
    status: Status
    subject: str | None
    body: str
    related_type: str | None
    related_id: uuid.UUID | None
    reason: str | None
    error_code: str | None
    attempts: int
    scheduled_for: UtcDateTime | None
    sent_at: UtcDateTime | None
    delivered_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    attachments: list[AttachmentOut] = Field(default_factory=list)


class ThreadQuery(BaseModel):
    """Whose thread: a customer's, a record's, or both."""

    customer_id: uuid.UUID | None = None
    related_type: RelatedType | None = None
    related_id: uuid.UUID | None = None
    limit: int = Field(20, ge=1, le=200)
    cursor: str | None = Field(None, max_length=512, description="next_cursor of the previous (newer) page")

    @model_validator(mode="after")
    def _something_to_filter(self) -> ThreadQuery:
        if (self.related_type is None) != (self.related_id is None):
            raise ValueError("related_type and related_id go together")
        if self.customer_id is None and self.related_id is None:
            raise ValueError("give customer_id or related_type and related_id")
        return self


class Thread(BaseModel):
    """The newest `limit` messages of a thread, oldest first; next_cursor fetches the ones before them."""

    items: list[MessageOut]
    next_cursor: str | None = None


class OutboundTask(BaseModel):
    """The outbound-messages queue message: which message, and which dispatch of it."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: uuid.UUID
    message_id: uuid.UUID
    seq: int = Field(ge=0)


class InboundFromUnknown(BaseModel):
    """The inbound-from-unknown queue message: a stored inbound text whose sender is no customer of the business."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: uuid.UUID
    message_id: uuid.UUID
    from_number: Annotated[str, StringConstraints(max_length=32)]
    body: Annotated[str, StringConstraints(max_length=1600)]
    received_at: UtcDateTime


class ConsentIn(BaseModel):
    """Record a customer's consent (or its withdrawal) for a channel and purpose."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    purpose: Purpose
    granted: bool
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ConsentOut(BaseModel):
    """The current consent of a customer for one channel and purpose."""

    model_config = ConfigDict(from_attributes=True)

    customer_id: uuid.UUID
    channel: Channel
    purpose: Purpose
    granted: bool
    source: str
    created_at: UtcDateTime


class Consents(BaseModel):
    """A customer's current consents."""

    items: list[ConsentOut]


class TemplateIn(BaseModel):
    """A template: body with {placeholders}; every placeholder must be a known or declared one."""

    model_config = ConfigDict(extra="forbid")

    name: TemplateName
    channel: Channel
    purpose: Purpose = "transactional"
    subject: Subject | None = None
    body: Body
    placeholders: list[Placeholder] = Field(default_factory=list, max_length=20)


class TemplateOut(BaseModel):
    """A saved template."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    channel: Channel
    purpose: Purpose
    subject: str | None
    body: str
    placeholders: list[str]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class Templates(BaseModel):
    """The tenant's templates by name."""

    items: list[TemplateOut]


class SettingsIn(BaseModel):
    """Messaging settings; limits may only be lowered below the platform's."""

    model_config = ConfigDict(extra="forbid")

    sms_from_number: E164 | None = None
    messaging_service_sid: Annotated[str, StringConstraints(pattern=r"^MG[0-9a-fA-F]{32}$")] | None = None
    email_from: EmailStr | None = None
    sms_footer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)] = (
        "Reply STOP to opt out."
    )
    help_text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)] | None = None
    limit_per_customer_day: Annotated[int, Field(ge=1, le=20)] | None = None
    limit_per_tenant_hour: Annotated[int, Field(ge=1, le=200)] | None = None


class SettingsOut(BaseModel):
    """A tenant's messaging settings."""

    model_config = ConfigDict(from_attributes=True)

    sms_from_number: str | None
    messaging_service_sid: str | None
    email_from: str | None
    sms_footer: str
    help_text: str
    limit_per_customer_day: int | None
    limit_per_tenant_hour: int | None
    updated_at: datetime | None = None


class StatusCallbackQuery(BaseModel):
    """The query our status callback URL carries (Twilio signs it with the rest of the URL)."""

    tenant_id: uuid.UUID
    message_id: uuid.UUID
