"""Signed customer links to an inspection, and the small HTML page where the customer answers.

A token is `v1.<tenant>.<checklist>.<expiry>.<HMAC-SHA256>` keyed by INSPECTION_LINK_SIGNING_KEY;
it lives at most 7 days. The page is server-rendered, escapes everything it shows, and needs no
JavaScript: one radio pair per recommended item and a submit button.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from blueprints.shop.models import InspectionItem
from shared import clock, html
from shared.config import get_settings
from shared.errors import Forbidden, Gone

MAX_TTL = timedelta(days=7)
# Only reachable outside production (config refuses an empty key there): local work and tests.
_DEV_KEY = "dev-only-inspection-link-key"


@dataclass(frozen=True)
class LinkClaims:
    """What a verified link names."""

    tenant_id: uuid.UUID
    checklist_id: uuid.UUID
    expires_at: datetime


def _key() -> bytes:
    return (get_settings().inspection_link_signing_key or _DEV_KEY).encode()


def _mac(payload: str) -> str:
    digest = hmac.new(_key(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(*, tenant_id: uuid.UUID, checklist_id: uuid.UUID, ttl: timedelta) -> tuple[str, datetime]:
    """A token for the checklist that expires after ttl (capped at 7 days), and when it expires."""
    expires_at = (clock.now() + min(ttl, MAX_TTL)).replace(microsecond=0)
    payload = f"v1.{tenant_id.hex}.{checklist_id.hex}.{int(expires_at.timestamp())}"
    return f"{payload}.{_mac(payload)}", expires_at


def verify(token: str) -> LinkClaims:
    """The claims of an untampered, unexpired token; 403 when tampered, 410 when expired."""
    payload, _, mac = token.rpartition(".")
    if not payload or not hmac.compare_digest(_mac(payload).encode(), mac.encode("utf-8", "replace")):
        raise Forbidden("This link is not valid", code="link_invalid")
    try:
        version, tenant_hex, checklist_hex, expiry = payload.split(".")
        claims = LinkClaims(
            tenant_id=uuid.UUID(hex=tenant_hex),
            checklist_id=uuid.UUID(hex=checklist_hex),
            expires_at=datetime.fromtimestamp(int(expiry), UTC),
        )
    except ValueError:
        raise Forbidden("This link is not valid", code="link_invalid") from None
    if version != "v1":
        raise Forbidden("This link is not valid", code="link_invalid")
    if clock.now() >= claims.expires_at or claims.expires_at - clock.now() > MAX_TTL + timedelta(minutes=5):
        raise Gone("This link has expired; ask the shop for a new one", code="link_expired")
    return claims


_STYLE = (
    "fieldset{border:1px solid #ccc;border-radius:8px;margin:12px 0;padding:12px}"
    "legend{font-weight:600}.urgent{color:#a00}.attention{color:#850}"
    "input[type=radio]{width:24px;height:24px;vertical-align:middle;margin-right:8px}"
    ".answer{font-weight:600}.note{color:#444}"
)


def _page(title: str, body: str) -> str:
    return html.page(title, body, style=_STYLE)


def error_page(message: str) -> str:
    """A plain page for a refused link."""
    return _page("Link not available", f"<h1>Link not available</h1><p>{escape(message)}</p>")


def _money(cents: int | None, currency: str) -> str:
    return "" if cents is None else f" &middot; {escape(currency)} {cents / 100:,.2f}"


def _item(item: InspectionItem, currency: str) -> str:
    name = f"item-{item.id}"
    status = escape(item.status.replace("_", " "))
    heading = f'{escape(item.label)} <span class="{escape(item.status)}">({status})</span>'
    notes = f'<p class="note">{escape(item.notes)}</p>' if item.notes else ""
    answer = item.decision
    now = f'<p class="answer" id="answer-{item.id}">Your answer: {escape(answer)}</p>' if answer else ""
    checked = {"approved": "", "declined": ""}
    if answer:
        checked[answer] = " checked"
    return (
        f"<fieldset><legend>{heading}{_money(item.estimate_cents, currency)}</legend>{notes}{now}"
        f'<label><input type="radio" name="{name}" value="approve"{checked["approved"]}> Approve</label>'
        f'<label><input type="radio" name="{name}" value="decline"{checked["declined"]}> Decline</label>'
        "</fieldset>"
    )


def approval_page(
    *,
    shop_name: str,
    title: str,
    vehicle: str | None,
    items: list[InspectionItem],
    currency: str,
    action: str,
    saved: bool = False,
) -> str:
    """The customer's page: the recommended items with approve/decline choices, and their answers so far."""
    intro = f"<p>{escape(vehicle)}</p>" if vehicle else ""
    thanks = '<p class="answer" role="status">Thank you, your answers were sent to the shop.</p>' if saved else ""
    if not items:
        body = "<p>There is nothing to approve on this inspection.</p>"
    else:
        fields = "".join(_item(item, currency) for item in items)
        body = (
            f'<form method="post" action="{escape(action)}">{fields}'
            '<button type="submit">Send my answers</button></form>'
        )
    return _page(f"{shop_name}: {title}", f"<h1>{escape(shop_name)}</h1><h2>{escape(title)}</h2>{intro}{thanks}{body}")
