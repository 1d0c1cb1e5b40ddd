"""Demo leads for the local demo business (`make seed`); safe to run again. Local use only."""

from __future__ import annotations

from blueprints.identity import service as identity
from blueprints.leads import schemas, service
from blueprints.leads.models import LeadSettings
from shared import clock
from shared.db import session_scope

DEMO_SLUG = "demo-plumbing"
DEMO_ORIGINS = ["http://localhost:5173", "http://127.0.0.1:5173"]
DEMO_CONSENT = "I agree to receive texts from Demo about my request. Msg & data rates may apply. Reply STOP to opt out."


def seed_leads() -> str:
    """Lead settings (slug demo-plumbing) and two leads: a website form's and an unknown texter's."""
    tenant_id = identity.DEMO_TENANT_ID
    with session_scope(tenant_id=tenant_id) as session:
        if session.get(LeadSettings, tenant_id) is not None:
            return "demo leads exist"
        defaults = schemas.LeadSettingsIn(slug=DEMO_SLUG, site_origins=DEMO_ORIGINS)  # type: ignore[arg-type]
        session.add(LeadSettings(tenant_id=tenant_id, updated_at=clock.now(), **defaults.model_dump()))
        session.flush()
        service.record_lead(
            session=session,
            tenant_id=tenant_id,
            contact=service.Contact(
                source="form",
                name="Hank Homeowner",
                phone="+15125550177",
                email="hank@example.com",
                address="12 Water St, Austin TX",
                message="Our water heater is leaking from the bottom. Can someone come this week?",
                consent_text=DEMO_CONSENT,
                consent_given=True,
            ),
        )
        service.record_lead(
            session=session,
            tenant_id=tenant_id,
            contact=service.Contact(
                source="sms", name="+15125550178", phone="+15125550178", message="Do you fix burst pipes? Urgent"
            ),
        )
    return f"demo leads: settings (slug {DEMO_SLUG}) and two leads, their answers queued"
