"""Messaging never moves a caller's transaction from one business to another."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from blueprints.messaging import service as messaging
from blueprints.messaging.models import Message
from shared.db import set_tenant
from tests.builders import create_customer, create_tenant


def test_a_send_for_another_business_on_a_bound_transaction_is_refused_and_queues_nothing(db_session) -> None:
    # given a customer of one business, and a transaction working for another business
    ours = create_tenant(db_session, name="Ours")
    customer = create_customer(db_session, tenant=ours, phone="+15125550100")
    theirs = create_tenant(db_session, name="Theirs")
    set_tenant(db_session, theirs.id)
    # when messaging is asked to text our customer on that transaction
    with pytest.raises(RuntimeError, match="another business"):
        messaging.send(
            session=db_session,
            tenant_id=ours.id,
            customer_id=customer.id,
            channel="sms",
            body="Your car is ready",
            purpose="transactional",
        )
    # then nothing was written for either business
    set_tenant(db_session, ours.id)
    assert db_session.scalars(select(Message).where(Message.customer_id == customer.id)).all() == []


def test_an_unbound_transaction_is_bound_to_the_business_it_sends_for(db_session) -> None:
    ours = create_tenant(db_session, name="Ours")
    customer = create_customer(db_session, tenant=ours, phone="+15125550101")
    set_tenant(db_session, None)
    message = messaging.send(
        session=db_session,
        tenant_id=ours.id,
        customer_id=customer.id,
        channel="sms",
        body="Your car is ready",
        purpose="transactional",
    )
    assert message.status == "queued"
    assert db_session.info["tenant_id"] == str(ours.id)
