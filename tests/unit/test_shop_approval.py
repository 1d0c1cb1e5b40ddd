"""Signed inspection links: the signature covers every claim, links expire, and the page escapes what it shows."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest

from blueprints.shop import approval
from shared import clock
from shared.errors import Forbidden, Gone


@pytest.fixture(autouse=True)
def _pinned_clock():
    clock.pin(clock.now())
    yield
    clock.unpin()


def test_a_signed_link_verifies_to_its_claims() -> None:
    tenant, checklist = uuid.uuid4(), uuid.uuid4()
    token, expires_at = approval.sign(tenant_id=tenant, checklist_id=checklist, ttl=timedelta(days=3))
    claims = approval.verify(token)
    assert (claims.tenant_id, claims.checklist_id, claims.expires_at) == (tenant, checklist, expires_at)


def test_links_never_live_longer_than_seven_days() -> None:
    _, expires_at = approval.sign(tenant_id=uuid.uuid4(), checklist_id=uuid.uuid4(), ttl=timedelta(days=30))
    assert expires_at - clock.now() <= timedelta(days=7)


def test_an_expired_link_is_refused() -> None:
    token, _ = approval.sign(tenant_id=uuid.uuid4(), checklist_id=uuid.uuid4(), ttl=timedelta(hours=1))
    clock.advance(timedelta(hours=1, seconds=1))
    with pytest.raises(Gone):
        approval.verify(token)


@pytest.mark.parametrize("part", [1, 2, 3, 4])
def test_a_tampered_link_is_refused(part: int) -> None:
    token, _ = approval.sign(tenant_id=uuid.uuid4(), checklist_id=uuid.uuid4(), ttl=timedelta(days=1))
    pieces = token.split(".")
    pieces[part] = pieces[part][:-1] + ("0" if pieces[part][-1] != "0" else "1")
    with pytest.raises(Forbidden):
        approval.verify(".".join(pieces))


def test_garbage_is_refused() -> None:
    for token in ("", ".", "v1", "v1.a.b.c.d", "x" * 300, "b\x0c\x14+\u00f8\u00cc.mh\u00f0\U0001f312"):
        with pytest.raises(Forbidden):
            approval.verify(token)


def test_the_page_escapes_everything_it_shows() -> None:
    item = SimpleNamespace(
        id=uuid.uuid4(),
        label="<script>alert(1)</script>",
        status="urgent",
        notes='"><img src=x>',
        estimate_cents=12_345,
        decision=None,
    )
    page = approval.approval_page(
        shop_name="Ed's <b>Shop</b>",
        title="Brakes & <i>more</i>",
        vehicle="<svg/>",
        items=[item],
        currency="USD",
        action="/api/x?a=<b>",
    )
    assert "<script>" not in page and "<img" not in page and "<svg" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "Ed&#x27;s" in page
    assert "<script" not in page.lower()  # no JavaScript at all
    assert 'name="viewport"' in page
