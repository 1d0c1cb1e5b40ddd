"""The local demo business and its people (`make seed`); safe to run again. Local use only."""

from __future__ import annotations

from sqlalchemy.orm import Session

from blueprints.identity import passwords, sessions
from blueprints.identity.models import Tenant, User
from blueprints.identity.schemas import MODULES
from blueprints.identity.service import DEMO_TENANT_ID, demo_user_id
from shared.db import session_scope

# A password for the local demo only; the demo tenant exists only where someone runs the seed.
DEMO_PASSWORD = "demo-password-2026"
DEMO_PEOPLE = (
    ("owner", "Jesus Owner", "owner@demo.tradeops.dev", None),
    ("estimator", "Erin Estimator", "estimator@demo.tradeops.dev", None),
    ("tech", "Tom Tech", "tech@demo.tradeops.dev", "+15125550100"),
)


def seed_identity() -> str:
    """Create the demo business, an owner, an estimator and a tech (with a phone for SMS sign-in)."""
    with session_scope(tenant_id=DEMO_TENANT_ID) as session:
        if session.get(Tenant, DEMO_TENANT_ID) is not None:
            return f"demo tenant exists; sign in as {DEMO_PEOPLE[0][2]} / {DEMO_PASSWORD}"
        session.add(
            Tenant(
                id=DEMO_TENANT_ID,
                name="Demo Auto & Paint",
                timezone="America/Chicago",
                locale="en-US",
                brand_colour="#d9480f",
                enabled_modules=list(MODULES),
            )
        )
        session.flush()
        for role, name, email, phone in DEMO_PEOPLE:
            _person(session, role=role, name=name, email=email, phone=phone)
    logins = ", ".join(email for _, _, email, _ in DEMO_PEOPLE)
    return f"demo tenant 'Demo Auto & Paint' created; sign in as {logins} with password {DEMO_PASSWORD}"


def _person(session: Session, *, role: str, name: str, email: str, phone: str | None) -> None:
    user = User(
        id=demo_user_id(role),
        tenant_id=DEMO_TENANT_ID,
        name=name,
        email=email,
        phone=phone,
        role=role,
        password_hash=passwords.hash_password(DEMO_PASSWORD),
    )
    session.add(user)
    session.flush()
    sessions.add_login(session, user=user, kind="email", value=email)
    if phone:
        sessions.add_login(session, user=user, kind="phone", value=phone)
