"""The one signed customer-link helper: purposes are kept apart, ids and expiry are covered, one use is 409."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared import clock, signed_links
from shared.config import get_settings
from shared.errors import Conflict, Forbidden, Gone


@pytest.fixture(autouse=True)
def _pinned_clock():
    clock.pin(clock.now())
    yield
    clock.unpin()


def test_a_token_names_its_tenant_and_ids_for_its_purpose_only() -> None:
    tenant, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    token, expires_at = signed_links.sign(purpose="estimate", tenant_id=tenant, ids=(first, second), ttl=timedelta(1))
    claims = signed_links.verify(token, purpose="estimate", id_count=2)
    assert (claims.tenant_id, claims.ids, claims.expires_at) == (tenant, (first, second), expires_at)
    with pytest.raises(Forbidden):
        signed_links.verify(token, purpose="inspection", id_count=2)
    with pytest.raises(Forbidden):
        signed_links.verify(token, purpose="estimate", id_count=1)


def test_expiry_is_capped_at_seven_days_and_enforced() -> None:
    token, expires_at = signed_links.sign(purpose="p", tenant_id=uuid.uuid4(), ids=(), ttl=timedelta(days=30))
    assert expires_at - clock.now() <= timedelta(days=7)
    clock.advance(timedelta(days=7, seconds=1))
    with pytest.raises(Gone):
        signed_links.verify(token, purpose="p", id_count=0)


def test_a_one_use_link_is_refused_after_its_use() -> None:
    signed_links.require_unused(None)
    with pytest.raises(Conflict):
        signed_links.require_unused(clock.now())


def test_a_link_is_the_public_address_of_its_route_with_a_token_that_verifies() -> None:
    tenant, first = uuid.uuid4(), uuid.uuid4()
    link, expires_at = signed_links.url(
        "v1/bid-documents/{token}", purpose="bid-document", tenant_id=tenant, ids=(first,), ttl=timedelta(days=30)
    )
    prefix = f"{get_settings().public_base_url.rstrip('/')}/api/v1/bid-documents/"
    assert link.startswith(prefix) and "{" not in link
    assert expires_at == (clock.now() + signed_links.MAX_TTL).replace(microsecond=0)  # capped at 7 days
    claims = signed_links.verify(link.removeprefix(prefix), purpose="bid-document", id_count=1)
    assert (claims.tenant_id, claims.ids, claims.expires_at) == (tenant, (first,), expires_at)
