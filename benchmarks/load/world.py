"""The businesses the load runs against: the seeded demo plus generated auto shops, built over HTTP.

Everything goes through the public API (sign-up, invitations, customers, consents, bookings,
inspections), so the load starts from data the app itself wrote. The result is a JSON document the
Locust users read (LOAD_WORLD): per business, who signs in with which role, and the ids they work on.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.builders import PASSWORD, client_ip, invite, register, unique_phone

ADVISORS, TECHS, DESKS, CUSTOMERS, SLOTS_PER_TECH = 3, 4, 2, 24, 8
INSPECTION_POINTS = ["Tyres", "Brakes", "Wipers", "Lights", "Battery", "Fluids"]
_businesses = itertools.count(1)


@dataclass
class Business:
    """One business of the load: its people (email, role) and what they work on."""

    tenant_id: str
    name: str
    day_from: str
    day_to: str
    people: list[dict[str, str]] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    appointments: list[str] = field(default_factory=list)
    inspections: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response.json()


def today() -> tuple[datetime, datetime]:
    """The UTC day the load books into and reads the board of."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_shop(client: httpx.Client) -> Business:
    """A new auto shop with advisors, techs, a front desk, consenting customers and today's bookings."""
    number = next(_businesses)
    owner = register(client, tenant_name=f"Load Auto {number}", name=f"Owner {number}")
    day_from, day_to = today()
    business = Business(
        tenant_id=owner.tenant_id, name=f"Load Auto {number}", day_from=_iso(day_from), day_to=_iso(day_to)
    )
    business.people.append({"email": owner.email or "", "role": "owner", "kind": "owner"})
    _ok(
        client.put("/api/v1/messaging/settings", headers=owner.headers, json={"sms_from_number": unique_phone()}),
    )
    techs = []
    for kind, role, count in (("advisor", "advisor", ADVISORS), ("tech", "tech", TECHS), ("desk", "advisor", DESKS)):
        for n in range(count):
            person = invite(client, owner, role=role, name=f"{kind.title()} {number}.{n}")
            business.people.append({"email": person["email"], "role": role, "kind": kind})
            if kind == "tech":
                techs.append(person["id"])
    for n in range(CUSTOMERS):
        customer = _ok(
            client.post(
                "/api/v1/crm/customers",
                headers=owner.headers,
                json={"name": f"Customer {number}.{n}", "phone": unique_phone()},
            ),
            201,
        )
        business.customers.append(customer["id"])
        _ok(
            client.post(
                f"/api/v1/messaging/customers/{customer['id']}/consents",
                headers=owner.headers,
                json={"channel": "sms", "purpose": "transactional", "granted": True, "source": "load"},
            ),
            201,
        )
    _book_today(client, owner.headers, business, techs, day_from)
    return business


def _book_today(
    client: httpx.Client, headers: dict[str, str], business: Business, techs: list[str], day: datetime
) -> None:
    """Each tech's day in one-hour slots, each booking with a six-point inspection."""
    slots = [(tech, slot) for slot in range(SLOTS_PER_TECH) for tech in techs]
    for n, (tech, slot) in enumerate(slots):
        starts = day + timedelta(hours=8 + slot)
        booked = _ok(
            client.post(
                "/api/v1/shop/appointments",
                headers=headers,
                json={
                    "customer_id": business.customers[n % len(business.customers)],
                    "tech_id": tech,
                    "starts_at": _iso(starts),
                    "ends_at": _iso(starts + timedelta(minutes=55)),
                    "title": "Service",
                },
            ),
            201,
        )
        business.appointments.append(booked["id"])
        checklist = _ok(
            client.post(
                f"/api/v1/shop/appointments/{booked['id']}/inspections",
                headers=headers,
                json={"title": "Multi-point", "labels": INSPECTION_POINTS},
            ),
            201,
        )
        business.inspections.append({"id": checklist["id"], "items": [i["id"] for i in checklist["items"]]})


def demo_business(client: httpx.Client) -> Business:
    """The seeded demo business as the manufacturers see it: its owner and estimator, its products."""
    from blueprints.identity.demo import DEMO_PASSWORD, DEMO_PEOPLE

    owner = DEMO_PEOPLE[0][2]
    tokens = _ok(
        client.post("/api/v1/auth/login", headers=client_ip(), json={"email": owner, "password": DEMO_PASSWORD})
    )
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = _ok(client.get("/api/v1/me", headers=headers))
    day_from, day_to = today()
    business = Business(
        tenant_id=me["tenant"]["id"], name=me["tenant"]["name"], day_from=_iso(day_from), day_to=_iso(day_to)
    )
    for role, _, email, _ in DEMO_PEOPLE:
        if role in ("owner", "estimator"):
            business.people.append({"email": email, "role": role, "kind": "manufacturer", "password": DEMO_PASSWORD})
    for summary in _ok(client.get("/api/v1/configurator/products", headers=headers))["items"]:
        product = _ok(client.get(f"/api/v1/configurator/products/{summary['id']}", headers=headers))
        business.products.append({"id": product["id"], "name": product["name"], "schema": product["config_schema"]})
    return business


def build(base_url: str, *, shops: int, path: Path) -> dict[str, Any]:
    """Generate the shops, read the demo business and write the world document the users load."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        world = {"password": PASSWORD, "businesses": [asdict(demo_business(client))]}
        world["businesses"] += [asdict(generate_shop(client)) for _ in range(shops)]
    path.write_text(json.dumps(world))
    return world
