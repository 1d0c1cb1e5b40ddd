"""The businesses the load runs against: the seeded demo plus generated businesses, built over HTTP.

Everything goes through the public API (sign-up, invitations, customers, consents, bookings, inspections,
rate books, estimates and their rooms, bid projects, a ServiceTitan connection and its full pull), so the
load starts from data the app itself wrote; the demo business's plumbing takeoff is the demo seed's
(`devhost.seed`, run by the load runner). The result is a JSON document the Locust users read (LOAD_WORLD):
per business, who signs in with which role, and the ids they work on.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load.rooms import room
from tests.builders import PASSWORD, Account, client_ip, invite, login, register, unique_email, unique_phone

ADVISORS, TECHS, DESKS, CUSTOMERS, SLOTS_PER_TECH = 3, 4, 2, 24, 8
# A painting business: estimators, each with their customers, a sent 40-room estimate (read, PDF link) and
# a few smaller ones for the list.
ESTIMATORS, CUSTOMERS_PER_ESTIMATOR, ROOMS, SMALL_ESTIMATES = 3, 4, 40, 4
BID_ESTIMATORS, BID_PROJECTS = 2, 14
PRICEBOOK_ROLES = ("owner", "admin", "estimator")
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
    estimates: dict[str, dict[str, Any]] = field(default_factory=dict)  # per estimator email: their estimates
    paint_products: list[str] = field(default_factory=list)
    bid_projects: list[str] = field(default_factory=list)
    takeoffs: list[str] = field(default_factory=list)  # analysed bid documents
    materials: list[int] = field(default_factory=list)  # pricebook st_ids


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


def generate_painter(client: httpx.Client) -> Business:
    """A painting business: the published-defaults rate book, and estimators who each have their own customers,
    a sent 40-room estimate with Good/Better/Best options and a few one-room estimates."""
    from blueprints.estimates.demo import published_defaults

    number = next(_businesses)
    owner = register(client, tenant_name=f"Load Painting {number}", name=f"Painter {number}")
    day_from, day_to = today()
    business = Business(
        tenant_id=owner.tenant_id, name=f"Load Painting {number}", day_from=_iso(day_from), day_to=_iso(day_to)
    )
    business.people.append({"email": owner.email or "", "role": "owner", "kind": "owner"})
    body = published_defaults().model_dump(mode="json")
    book = _ok(client.put("/api/v1/estimates/rate-book", headers=owner.headers, json=body))
    business.paint_products = [product["id"] for product in book["products"]]
    for n in range(ESTIMATORS):
        person = invite(client, owner, role="estimator", name=f"Estimator {number}.{n}")
        business.people.append({"email": person["email"], "role": "estimator", "kind": "estimator"})
        business.estimates[person["email"]] = _estimates_of(client, login(client, email=person["email"]), business)
    return business


def _post(client: httpx.Client, account: Account, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return _ok(client.post(path, headers=account.headers, json=body), 201)


def _estimates_of(client: httpx.Client, estimator: Account, business: Business) -> dict[str, Any]:
    """One estimator's customers (an estimator sees their own) and estimates: the sent 40-room one and small
    ones; the customer of the walk-throughs the load adds rooms to (each user starts its own draft)."""
    products = business.paint_products
    customers = []
    for n in range(CUSTOMERS_PER_ESTIMATOR):
        body = {"name": f"Homeowner {n + 1}", "phone": unique_phone(), "email": unique_email("home")}
        customers.append(_post(client, estimator, "/api/v1/crm/customers", body)["id"])
    business.customers += customers
    options = [{"name": "Good"}, {"name": "Better"}, {"name": "Best"}]
    big = {"customer_id": customers[0], "title": "Whole house repaint", "options": options}
    big = _post(client, estimator, "/api/v1/estimates", big)
    for r in range(ROOMS):
        _post(client, estimator, f"/api/v1/estimates/{big['id']}/rooms", room(f"Room {r + 1}", products, r))
    _ok(client.post(f"/api/v1/estimates/{big['id']}/send", headers=estimator.headers, json={"channel": "email"}))
    for n in range(SMALL_ESTIMATES):
        small = {"customer_id": customers[n % len(customers)], "title": f"Touch-up {n + 1}"}
        small = _post(client, estimator, "/api/v1/estimates", small)
        _post(client, estimator, f"/api/v1/estimates/{small['id']}/rooms", room("Hall", products, n))
    return {"forty_rooms": big["id"], "customer": customers[-1]}


def generate_home_services(client: httpx.Client, servicetitan: Any) -> Business:
    """A home-services business connected to (the fake) ServiceTitan, its pricebook pulled in full by its owner."""
    number = next(_businesses)
    owner = register(client, tenant_name=f"Load Home Services {number}", name=f"Dispatcher {number}")
    day_from, day_to = today()
    business = Business(
        tenant_id=owner.tenant_id, name=f"Load Home Services {number}", day_from=_iso(day_from), day_to=_iso(day_to)
    )
    for role in PRICEBOOK_ROLES:
        email = (
            owner.email
            if role == "owner"
            else invite(client, owner, role=role, name=f"{role.title()} {number}")["email"]
        )
        business.people.append({"email": email or "", "role": role, "kind": "pricebook"})
    client_id, secret = next(iter(servicetitan.state.clients.items()))  # the fake's own app registration
    connection = {"st_tenant_id": servicetitan.state.st_tenant_id, "client_id": client_id, "client_secret": secret}
    _ok(client.put("/api/v1/pricebook/connection", headers=owner.headers, json=connection))
    run = _ok(client.post("/api/v1/pricebook/syncs", headers=owner.headers, json={"mode": "full"}), 202)
    deadline = time.monotonic() + 120
    while run["status"] not in ("completed", "failed"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the pricebook pull did not finish: {run}")
        time.sleep(0.5)
        run = _ok(client.get(f"/api/v1/pricebook/syncs/{run['id']}", headers=owner.headers))
    if run["status"] != "completed":
        raise RuntimeError(f"the pricebook pull failed: {run}")
    cursor: str | None = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = _ok(client.get("/api/v1/pricebook/materials", headers=owner.headers, params=params))
        business.materials += [item["st_id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return business


def demo_bids(client: httpx.Client, business: Business) -> None:
    """The demo business's plumbing side: the demo seed's analysed plan set (its takeoff), more projects to bid
    and two estimators who bid them."""
    from blueprints.identity.demo import DEMO_PASSWORD, DEMO_PEOPLE

    owner = login(client, email=DEMO_PEOPLE[0][2], password=DEMO_PASSWORD)
    projects = _ok(client.get("/api/v1/bids/projects", headers=owner.headers, params={"limit": 100}))["items"]
    if not projects:
        raise RuntimeError("the demo seed made no bid project (devhost.seed's bids step)")
    for project in projects:
        for document in _ok(client.get(f"/api/v1/bids/projects/{project['id']}/documents", headers=owner.headers))[
            "items"
        ]:
            if document["status"] in ("analyzed", "reviewed"):
                business.takeoffs.append(document["id"])
    if not business.takeoffs:
        raise RuntimeError(f"the demo seed's plan set was not analysed: {projects}")
    customer = projects[0]["customer_id"]
    for n in range(BID_PROJECTS):
        made = _ok(
            client.post(
                "/api/v1/bids/projects",
                headers=owner.headers,
                json={"customer_id": customer, "name": f"Tenant fit-out {n + 1}", "address": f"{100 + n} Main St"},
            ),
            201,
        )
        business.bid_projects.append(made["id"])
    for n in range(BID_ESTIMATORS):
        person = invite(client, owner, role="estimator", name=f"Plumbing estimator {n + 1}")
        business.people.append({"email": person["email"], "role": "estimator", "kind": "plumber"})


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


def build(base_url: str, *, shops: int, painters: int, path: Path, servicetitan: Any = None) -> dict[str, Any]:
    """Generate the businesses, read the demo business and write the world document the users load."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        demo = demo_business(client)
        demo_bids(client, demo)
        world = {"password": PASSWORD, "businesses": [asdict(demo)]}
        world["businesses"] += [asdict(generate_shop(client)) for _ in range(shops)]
        world["businesses"] += [asdict(generate_painter(client)) for _ in range(painters)]
        if servicetitan is not None:
            world["businesses"].append(asdict(generate_home_services(client, servicetitan)))
    path.write_text(json.dumps(world))
    return world
