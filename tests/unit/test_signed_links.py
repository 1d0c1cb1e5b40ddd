"""The one signed customer-link helper: purposes are kept apart, ids and expiry are covered, one use is 409."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared import clock, signed_links
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
