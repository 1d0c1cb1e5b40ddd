"""Pure lead rules: normalising contact details, the first-answer decision, quiet hours and the figures."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.phone import to_e164

# Quiet hours (the law's 21:00-08:00 where the lead is, plus the business's own) are messaging's rule:
# messaging.service.texts_open_at, the one the outbound pipeline holds texts to.
# Two submissions with the same phone or email within this time are one lead.
MERGE_WINDOW = timedelta(hours=24)


def normal_phone(raw: str | None) -> str | None:
    """The number in E.164, or None when empty; ValueError when it cannot be dialled."""
    if raw is None or not raw.strip():
        return None
    return to_e164(raw)


def normal_email(raw: str | None) -> str | None:
    """The address trimmed and lower-cased (mailbox names are case-insensitive in practice), None when empty."""
    if raw is None or not raw.strip():
        return None
    return raw.strip().lower()


def consent_source(wording: str) -> str:
    """The ledger source naming the checkbox wording: `lead_form:` and its SHA-256 (fits the 64-char column)."""
    digest = hashlib.sha256(wording.strip().encode()).hexdigest()
    return f"lead_form:{digest[:54]}"


def lead_zone(lead_zone_name: str | None, business_zone: str) -> ZoneInfo:
    """The lead's zone when known, else the business's (else UTC)."""
    for name in (lead_zone_name, business_zone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


class Action(StrEnum):
    """What the responder does with a lead's first answer now."""

    SMS = "sms"
    EMAIL = "email"
    SCHEDULE_SMS = "schedule_sms"
    NONE = "none"


@dataclass(frozen=True)
class Decision:
    """The action; for a scheduled text when it may go (UTC); whether the contractor must be told."""

    action: Action
    at: datetime | None = None
    tell_owner: bool = False


def first_answer(*, sms_allowed: bool, email_allowed: bool, texts_open: datetime | None) -> Decision:
    """The first answer's channel and time.

    Outside quiet hours: SMS when consent allows, else email. In quiet hours no text goes: a lead who may be
    emailed gets the email at once (quiet hours hold texts only); one who may only be texted gets the SMS at
    the opening hour. Whenever the answer does not go at once, and when no channel reaches the lead, the
    contractor is told.
    """
    if texts_open is None:
        if sms_allowed:
            return Decision(Action.SMS)
        if email_allowed:
            return Decision(Action.EMAIL)
        return Decision(Action.NONE, tell_owner=True)
    if email_allowed:
        return Decision(Action.EMAIL)
    if sms_allowed:
        return Decision(Action.SCHEDULE_SMS, texts_open, tell_owner=True)
    return Decision(Action.NONE, tell_owner=True)


def week_start(now: datetime, zone: ZoneInfo) -> datetime:
    """Monday 00:00 of the business's current week, in UTC."""
    local = now.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).date()
    return datetime.combine(monday, time(0, 0), tzinfo=zone).astimezone(UTC)
