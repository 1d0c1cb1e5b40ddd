"""Signed customer links to an inspection, and the small HTML page where the customer answers.

A token is a shared.signed_links token for the purpose "inspection" naming the tenant and the checklist;
it lives at most 7 days. The page is server-rendered, escapes everything it shows, and needs no
JavaScript: one radio pair per recommended item and a submit button.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from blueprints.shop.models import InspectionItem
from shared import html, signed_links

PURPOSE = "inspection"


@dataclass(frozen=True)
class LinkClaims:
    """What a verified link names."""

    tenant_id: uuid.UUID
    checklist_id: uuid.UUID
    expires_at: datetime


def sign(*, tenant_id: uuid.UUID, checklist_id: uuid.UUID, ttl: timedelta) -> tuple[str, datetime]:
    """A token for the checklist that expires after ttl (capped at 7 days), and when it expires."""
    return signed_links.sign(purpose=PURPOSE, tenant_id=tenant_id, ids=(checklist_id,), ttl=ttl)


def verify(token: str) -> LinkClaims:
    """The claims of an untampered, unexpired token; 403 when tampered, 410 when expired."""
    claims = signed_links.verify(
        token, purpose=PURPOSE, id_count=1, expired_message="This link has expired; ask the shop for a new one"
    )
    return LinkClaims(tenant_id=claims.tenant_id, checklist_id=claims.ids[0], expires_at=claims.expires_at)


_STYLE = ".urgent{color:#a00}.attention{color:#850}.answer{font-weight:600}.note{color:#444}"


def _page(title: str, body: str) -> str:
    return html.page(title, body, style=_STYLE)


def error_page(message: str) -> str:
    """A plain page for a refused link."""
    return html.notice_page("Link not available", message, style=_STYLE)


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
