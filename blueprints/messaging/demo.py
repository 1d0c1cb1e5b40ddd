"""Demo messaging data for the local demo business (`make seed`); safe to run again. Local use only."""

from __future__ import annotations

import uuid
from datetime import timedelta

from blueprints.crm import schemas as crm_schemas
from blueprints.crm import service as crm
from blueprints.identity import service as identity
from blueprints.messaging import service
from blueprints.messaging.models import Message, MessageTemplate, MessagingSettings
from shared import clock
from shared.db import session_scope

DEMO_NUMBER = "+15125550199"
REMINDER = "Hi {first_name}, a reminder from {business_name}: your {vehicle} is booked for {time}."


def seed_messaging() -> str:
    """Sender settings, consent for the demo customers, a reminder template and a short thread."""
    tenant_id = identity.DEMO_TENANT_ID
    with session_scope(tenant_id=tenant_id) as session:
        if session.get(MessagingSettings, tenant_id) is not None:
            return "demo messaging exists"
        customers = crm.list_customers(
            session=session, principal=service.system_principal(tenant_id), query=crm_schemas.CustomerQuery(limit=50)
        ).items
        if not customers:
            return "no demo customers yet; run the crm step first"
        session.add(
            MessagingSettings(
                tenant_id=tenant_id,
                sms_from_number=DEMO_NUMBER,
                email_from="service@demo.tradeops.dev",
                sms_footer=service.DEFAULT_FOOTER,
                help_text=service.DEFAULT_HELP,
            )
        )
        now = clock.now()
        session.add(
            MessageTemplate(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                name="Appointment reminder",
                channel="sms",
                purpose="transactional",
                body=REMINDER,
                placeholders=["time", "vehicle"],
                created_at=now,
                updated_at=now,
            )
        )
        for customer in customers:
            for channel, address in (("sms", customer.phone), ("email", customer.email)):
                if address:
                    service.record_consent(
                        session=session,
                        tenant_id=tenant_id,
                        customer_id=customer.id,
                        channel=channel,
                        purpose="transactional",
                        granted=True,  # type: ignore[arg-type]
                        source="demo_seed",
                    )
        first = next((c for c in customers if c.phone), None)
        if first is not None:
            _thread(session, tenant_id, first)
    return f"demo messaging: settings, a template, consent for {len(customers)} customers and a short thread"


def _thread(session: object, tenant_id: uuid.UUID, customer: crm_schemas.CustomerOut) -> None:
    """An outbound text already delivered and the customer's reply (history only: nothing is sent)."""
    now = clock.now()
    common = {"tenant_id": tenant_id, "customer_id": customer.id, "channel": "sms", "attempts": 1, "dispatch_seq": 0}
    session.add_all(
        [  # type: ignore[attr-defined]
            Message(
                id=uuid.uuid4(),
                direction="outbound",
                purpose="transactional",
                status="delivered",
                body=f"Your car is ready for pickup.\n{service.DEFAULT_FOOTER}",
                to_address=customer.phone,
                from_address=DEMO_NUMBER,
                sent_at=now - timedelta(minutes=30),
                delivered_at=now - timedelta(minutes=29),
                counted_at=now - timedelta(minutes=30),
                created_at=now - timedelta(minutes=30),
                updated_at=now - timedelta(minutes=29),
                **common,
            ),
            Message(
                id=uuid.uuid4(),
                direction="inbound",
                status="received",
                body="Thanks! On my way.",
                from_address=customer.phone,
                to_address=DEMO_NUMBER,
                created_at=now - timedelta(minutes=20),
                updated_at=now - timedelta(minutes=20),
                **{**common, "attempts": 0},
            ),
        ]
    )
