"""The leads demo step saves the demo business's lead settings and two leads once, however often it runs."""

from __future__ import annotations

from sqlalchemy import select

from blueprints.crm.demo import seed_crm
from blueprints.identity.demo import seed_identity
from blueprints.identity.service import DEMO_TENANT_ID
from blueprints.leads.demo import DEMO_SLUG, seed_leads
from blueprints.leads.models import Lead, LeadSettings
from blueprints.messaging.demo import seed_messaging
from devhost.seed import STEPS
from shared.db import session_scope
from tests.conftest import Database


def test_the_leads_seed_is_idempotent(database: Database) -> None:
    seed_identity()
    seed_crm()  # the steps run in their order; the demo tenant other seed tests of this database share
    seed_messaging()
    first, again = seed_leads(), seed_leads()
    assert first.startswith("demo leads:") or first == "demo leads exist"
    assert again == "demo leads exist"
    with session_scope(tenant_id=DEMO_TENANT_ID) as session:
        assert session.scalar(select(LeadSettings.slug)) == DEMO_SLUG
        sources = sorted(session.scalars(select(Lead.source)).all())
        assert sources == ["form", "sms"]
    names = [name for name, _ in STEPS]
    assert names.index("leads") > names.index("messaging") > names.index("crm")
