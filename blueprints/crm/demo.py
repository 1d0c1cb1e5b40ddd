"""Demo customers and vehicles for the local demo business (`make seed`); safe to run again."""

from __future__ import annotations

from sqlalchemy import func, select

from blueprints.crm import service
from blueprints.crm.models import Customer
from blueprints.crm.schemas import CustomerIn, VehicleIn
from blueprints.identity import service as identity
from shared.db import session_scope

DEMO_CUSTOMERS = (
    (
        "owner",
        CustomerIn(
            name="Ada Lovelace", phone="(512) 555-0134", email="ada@example.com", address="12 Congress Ave, Austin TX"
        ),
        [VehicleIn(year=2019, make="Honda", model="Civic", vin="1HGCM82633A004352", mileage=48_200)],
    ),
    (
        "owner",
        CustomerIn(name="Grace Hopper", phone="512-555-0188", notes="Fleet of two vans"),
        [
            VehicleIn(year=2021, make="Ford", model="Transit", mileage=61_000),
            VehicleIn(year=2017, make="Ford", model="Transit", mileage=122_500),
        ],
    ),
    (
        "estimator",
        CustomerIn(name="Linus Painter", email="linus@example.com", notes="Repaint, two-tone"),
        [VehicleIn(year=1989, make="Porsche", model="911", mileage=150_300)],
    ),
)


def seed_crm() -> str:
    """Add a few customers and vehicles to the demo business unless it has some already."""
    with session_scope(tenant_id=identity.DEMO_TENANT_ID) as session:
        existing = session.scalar(select(func.count()).select_from(Customer))
        if existing:
            return f"demo customers exist ({existing})"
        made = 0
        for role, customer_in, vehicles in DEMO_CUSTOMERS:
            principal = identity.principal_for_user(session=session, user_id=identity.demo_user_id(role))
            if principal is None:
                return "no demo tenant yet; run the identity step first"
            customer, _ = service.create_customer(session=session, principal=principal, customer_in=customer_in)
            for vehicle_in in vehicles:
                service.create_vehicle(
                    session=session, principal=principal, customer_id=customer.id, vehicle_in=vehicle_in
                )
            made += 1
    return f"{made} demo customers with vehicles"
