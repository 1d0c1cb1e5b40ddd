"""Request and response models of the identity module."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, EmailStr, Field, StringConstraints, model_validator

from blueprints.identity.permissions import ROLES
from shared.clock import TimeZoneName, UtcDateTime
from shared.pagination import PageQuery
from shared.phone import E164
from shared.schema import BaseModel  # built on first use (defer_build), not at import

MODULES: tuple[str, ...] = ("crm", "messaging", "shop", "estimates", "bids", "pricebook", "configurator", "leads")
DEFAULT_MODULES: list[str] = ["crm"]

PASSWORD_LINK_QUEUE = "password-links"  # invitation and reset emails, sent by a queue trigger


class LinkTask(BaseModel):
    """What the password-links queue carries: which link to email (never the link itself)."""

    link_id: uuid.UUID


Role = Literal["owner", "admin", "estimator", "advisor", "tech", "accountant"]
Module = Literal["crm", "messaging", "shop", "estimates", "bids", "pricebook", "configurator", "leads"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]
Locale = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]
OtpCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,10}$")]

assert set(ROLES) == set(Role.__args__)  # the role list and the permission table agree


class RegisterIn(BaseModel):
    """A new business and its owner."""

    model_config = ConfigDict(extra="forbid")

    tenant_name: Name
    name: Name
    email: EmailStr
    password: Password
    timezone: TimeZoneName
    locale: Locale = "en-US"


class LoginIn(BaseModel):
    """Email and password sign-in."""

    email: EmailStr
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class PasswordChange(BaseModel):
    """The password in use and the one to use from now on."""

    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


class OtpStartIn(BaseModel):
    """Ask for a code by SMS."""

    phone: E164


class OtpVerifyIn(BaseModel):
    """Sign in with the texted code."""

    phone: E164
    code: OtpCode


class RefreshIn(BaseModel):
    """The refresh token, when the client does not rely on the cookie."""

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class TokenPair(BaseModel):
    """What a sign-in or refresh answers."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str


class OtpStarted(BaseModel):
    """The same answer whether or not the number belongs to anyone."""

    status: Literal["pending"] = "pending"
    detail: str = "If this number belongs to an account, a code is on its way."


class QuietHours(BaseModel):
    """The local hours in which no customer is texted (start may be after end: overnight)."""

    start: time
    end: time


class TenantOut(BaseModel):
    """A business and its settings."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    timezone: str
    locale: str
    brand_colour: str | None
    quiet_hours: QuietHours | None
    enabled_modules: list[str]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class TenantPatch(BaseModel):
    """Settings to change; a field left out keeps its value, null clears the optional ones."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    timezone: TimeZoneName | None = None
    locale: Locale | None = None
    brand_colour: Colour | None = None
    quiet_hours: QuietHours | None = None
    enabled_modules: list[Module] | None = Field(None, max_length=len(MODULES))

    @model_validator(mode="after")
    def _required_stay_set(self) -> TenantPatch:
        for name in ("name", "timezone", "locale", "enabled_modules"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class UserOut(BaseModel):
    """A person of the business."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    role: str
    disabled: bool
    password_set: bool = Field(description="false while an emailed invitation waits for its first password")
    last_sign_in_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class UserInvite(BaseModel):
    """Invite someone by email or phone with a role.

    By email without a password, they get an emailed link to choose one; with a password, they may sign
    in with it at once (and no email is sent).
    """

    model_config = ConfigDict(extra="forbid")

    name: Name
    email: EmailStr | None = None
    phone: E164 | None = None
    role: Role
    password: Password | None = None

    @model_validator(mode="after")
    def _reachable(self) -> UserInvite:
        if not self.email and not self.phone:
            raise ValueError("give an email or a phone number to invite someone")
        if self.password and not self.email:
            raise ValueError("a password signs in with an email; give the email too")
        return self


class InvitationOut(BaseModel):
    """An emailed invitation: until when its link works, and whether the email went out."""

    expires_at: UtcDateTime
    email_status: Literal["queued", "sent", "failed"]


class ResetIn(BaseModel):
    """The email of the account whose password was forgotten."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr


class ResetRequested(BaseModel):
    """The same answer whether or not the email has an account (nobody learns which emails do)."""

    status: Literal["sent_if_known"] = "sent_if_known"


class PasswordLinkAccept(BaseModel):
    """A password link's token and the password chosen with it."""

    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Password


class PasswordLinkForm(BaseModel):
    """The password link page's form; checked by the page itself so mistakes come back on the page."""

    password: Annotated[str, StringConstraints(max_length=1024)] = ""
    password_confirm: Annotated[str, StringConstraints(max_length=1024)] = ""


class UserPatch(BaseModel):
    """Change a person's role, name or whether they may sign in."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    role: Role | None = None
    disabled: bool | None = None


class UserPage(BaseModel):
    """One page of users."""

    items: list[UserOut]
    next_cursor: str | None = None


class Me(BaseModel):
    """The signed-in user, their business and what their role allows."""

    user: UserOut
    tenant: TenantOut
    permissions: list[str]


class AuditQuery(PageQuery):
    """Filter the audit log by entity kind or record."""

    entity: Annotated[str, StringConstraints(max_length=64)] | None = None
    entity_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class AuditOut(BaseModel):
    """One audited action."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID | None
    action: str
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str | None
    user_agent: str | None
    request_id: str | None
    created_at: UtcDateTime


class AuditPage(BaseModel):
    """One page of the audit log."""

    items: list[AuditOut]
    next_cursor: str | None = None
