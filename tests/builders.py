"""Test data builders: rows through the real database (app role, RLS on) and sign-ups over HTTP.

Database builders bind the session to the record's tenant first, as a request would.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.orm import Session

from blueprints.crm.models import Customer, Vehicle
from blueprints.identity import passwords
from blueprints.identity.models import Tenant, User
from blueprints.identity.permissions import ROLE_PERMISSIONS
from blueprints.identity.schemas import MODULES
from blueprints.identity.sessions import add_login
from shared.auth import Principal
from shared.db import set_tenant

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


def unique_email(prefix: str = "person") -> str:
    """An email no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def unique_phone(area_code: str = "512") -> str:
    """A random valid NANP number (area code 512, Austin, unless told), practically unique within the run."""
    return f"+1{area_code}{uuid.uuid4().int % 8_000_000 + 2_000_000:07d}"


def create_tenant(
    session: Session,
    *,
    name: str = "Acme Auto",
    modules: list[str] | None = None,
    timezone: str = "America/Chicago",
) -> Tenant:
    """A business with every module enabled unless told otherwise; the session is bound to it."""
    tenant = Tenant(
        id=uuid.uuid4(),
        name=name,
        timezone=timezone,
        locale="en-US",
        enabled_modules=list(MODULES if modules is None else modules),
    )
    set_tenant(session, tenant.id)
    session.add(tenant)
    session.flush()
    return tenant


def create_user(
    session: Session,
    *,
    tenant: Tenant,
    role: str = "owner",
    name: str = "Sam",
    email: str | None = None,
    phone: str | None = None,
    password: str | None = PASSWORD,
    disabled: bool = False,
) -> User:
    """A person of the tenant who can sign in by email (and phone when given)."""
    set_tenant(session, tenant.id)
    email = email or unique_email(role)
    user = User(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        name=name,
        email=email,
        phone=phone,
        role=role,
        password_hash=passwords.hash_password(password) if password else None,
        disabled=disabled,
    )
    session.add(user)
    session.flush()
    add_login(session, user=user, kind="email", value=email)
    if phone:
        add_login(session, user=user, kind="phone", value=phone)
    session.flush()
    return user


def principal_of(user: User, *, modules: list[str] | None = None) -> Principal:
    """The principal a request of this user would carry."""
    return Principal(
        user_id=user.id,
        tenant_id=user.tenant_id,
        role=user.role,
        permissions=ROLE_PERMISSIONS[user.role],
        modules=frozenset(MODULES if modules is None else modules),
        session_id=uuid.uuid4(),
    )


def create_customer(
    session: Session,
    *,
    tenant: Tenant,
    owner: User | None = None,
    name: str = "Ada",
    phone: str | None = None,
    email: str | None = None,
    **fields: Any,
) -> Customer:
    """A customer of the tenant, owned by owner (a new owner user when not given)."""
    set_tenant(session, tenant.id)
    owner = owner or create_user(session, tenant=tenant)
    customer = Customer(
        id=uuid.uuid4(), tenant_id=tenant.id, owner_id=owner.id, name=name, phone=phone, email=email, **fields
    )
    session.add(customer)
    session.flush()
    return customer


def create_vehicle(
    session: Session,
    *,
    customer: Customer,
    year: int = 2019,
    make: str = "Honda",
    model: str = "Civic",
    vin: str | None = "1M8GDM9AXKP042788",
    mileage: int = 42_000,
) -> Vehicle:
    """A vehicle of the customer."""
    set_tenant(session, customer.tenant_id)
    vehicle = Vehicle(
        id=uuid.uuid4(),
        tenant_id=customer.tenant_id,
        customer_id=customer.id,
        year=year,
        make=make,
        model=model,
        vin=vin,
        mileage=mileage,
    )
    session.add(vehicle)
    session.flush()
    return vehicle


# --- over HTTP (e2e) ------------------------------------------------------------------------------


@dataclass
class Account:
    """A signed-in person as a client sees them."""

    email: str | None
    access_token: str
    refresh_token: str
    user_id: str = ""
    tenant_id: str = ""
    role: str = "owner"

    @property
    def headers(self) -> dict[str, str]:
        """Authorization for this account."""
        return {"Authorization": f"Bearer {self.access_token}"}


def client_ip() -> dict[str, str]:
    """An address of its own, so per-IP limits of one test do not reach another.

    As a front end forwards it: the caller's own claim first (the same for every test, and ignored), the
    address the front end saw appended last.
    """
    n = next(_numbers)
    return {"X-Forwarded-For": f"203.0.113.250, 198.51.{(n // 250) % 250}.{n % 250 + 1}"}


def register(
    client: httpx.Client,
    *,
    tenant_name: str = "Demo Shop",
    name: str = "Olive Owner",
    email: str | None = None,
    password: str = PASSWORD,
) -> Account:
    """Sign up a new business over HTTP and return its signed-in owner."""
    email = email or unique_email("owner")
    response = client.post(
        "/api/v1/auth/register",
        headers=client_ip(),
        json={
            "tenant_name": tenant_name,
            "name": name,
            "email": email,
            "password": password,
            "timezone": "America/Chicago",
        },
    )
    assert response.status_code == 201, response.text
    return _account(client, email, response.json())


def login(client: httpx.Client, *, email: str, password: str = PASSWORD) -> Account:
    """Sign in over HTTP with email and password."""
    response = client.post("/api/v1/auth/login", headers=client_ip(), json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return _account(client, email, response.json())


def _account(client: httpx.Client, email: str | None, tokens: dict[str, Any]) -> Account:
    account = Account(email=email, access_token=tokens["access_token"], refresh_token=tokens["refresh_token"])
    me = client.get("/api/v1/me", headers=account.headers)
    assert me.status_code == 200, me.text
    account.user_id = me.json()["user"]["id"]
    account.tenant_id = me.json()["tenant"]["id"]
    account.role = me.json()["user"]["role"]
    return account


def invite(
    client: httpx.Client,
    manager: Account,
    *,
    role: str,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    password: str | None = PASSWORD,
) -> dict[str, Any]:
    """Invite someone over HTTP; returns the created user."""
    body: dict[str, Any] = {"name": name or role.title(), "role": role}
    if phone:
        body["phone"] = phone
    if email or not phone:
        body["email"] = email or unique_email(role)
        if password:
            body["password"] = password
    response = client.post("/api/v1/users", headers=manager.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


# --- shop (shop engineer's block) -----------------------------------------------------------------


def create_appointment(
    session: Session,
    *,
    tenant: Tenant,
    customer: Customer | None = None,
    vehicle: Vehicle | None = None,
    tech: User | None = None,
    starts_at: Any = None,
    hours: float = 1.0,
    status: str = "SCHEDULED",
    total_cents: int = 0,
    paid_cents: int = 0,
    **fields: Any,
) -> Any:
    """An appointment row of the tenant (a new customer when not given), starting in an hour unless told."""
    from datetime import timedelta

    from blueprints.shop.models import Appointment
    from shared import clock

    set_tenant(session, tenant.id)
    customer = customer or create_customer(session, tenant=tenant)
    starts_at = starts_at or clock.now().replace(microsecond=0) + timedelta(hours=1)
    appointment = Appointment(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        customer_id=customer.id,
        vehicle_id=vehicle.id if vehicle else None,
        tech_id=tech.id if tech else None,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        status=status,
        position=starts_at.timestamp() / 60,
        total_cents=total_cents,
        paid_cents=paid_cents,
        currency="USD",
        **fields,
    )
    session.add(appointment)
    session.flush()
    return appointment


def add_service(
    session: Session, *, appointment: Any, name: str = "Oil change", price_cents: int = 5000, **fields: Any
) -> Any:
    """A line item on the appointment, with the appointment's total following it."""
    from blueprints.shop.models import AppointmentService

    set_tenant(session, appointment.tenant_id)
    line = AppointmentService(
        id=uuid.uuid4(),
        tenant_id=appointment.tenant_id,
        appointment_id=appointment.id,
        name=name,
        price_cents=price_cents,
        **fields,
    )
    session.add(line)
    appointment.total_cents += price_cents
    session.flush()
    return line


@dataclass
class ShopWorld:
    """A shop tenant with one user per role, a customer with a vehicle, and their principals."""

    tenant: Tenant
    users: dict[str, User]
    customer: Customer
    vehicle: Vehicle

    def principal(self, role: str = "owner") -> Principal:
        """The principal of the tenant's user with this role."""
        return principal_of(self.users[role])


def create_shop_world(
    session: Session,
    *,
    name: str = "Edgar's Auto",
    modules: list[str] | None = None,
    timezone: str = "America/Chicago",
) -> ShopWorld:
    """A shop tenant with every role, a customer (with a phone) and the customer's vehicle."""
    from blueprints.identity.permissions import ROLES

    tenant = create_tenant(session, name=name, modules=modules, timezone=timezone)
    users = {role: create_user(session, tenant=tenant, role=role, name=role.title(), password=None) for role in ROLES}
    customer = create_customer(session, tenant=tenant, owner=users["owner"], name="Ada Lovelace", phone=unique_phone())
    return ShopWorld(tenant=tenant, users=users, customer=customer, vehicle=create_vehicle(session, customer=customer))


# --- end of shop block ----------------------------------------------------------------------------


# --- estimates (painting) ----------------------------------------------------------------------------------


@dataclass
class PaintWorld:
    """A painting business: an owner, an admin, two estimators, a customer of the first, and a rate book."""

    tenant: Tenant
    users: dict[str, User]
    customer: Customer
    products: dict[str, uuid.UUID]

    def principal(self, who: str = "owner") -> Principal:
        """The principal of owner, admin, estimator or peer."""
        return principal_of(self.users[who])


def paint_rate_book(**changes: Any) -> Any:
    """The issue's example rate book: $65/h, walls 350 sq ft/gal $45 at 200/250, ceiling 400 $40 at 150."""
    from decimal import Decimal

    from blueprints.estimates.schemas import Product, ProductionRate, RateBookBody

    products = [
        Product(
            name="Wall eggshell", brand="Demo", coverage_sqft_per_gallon=Decimal(350), price_per_gallon_cents=4_500
        ),
        Product(name="Ceiling flat", brand="Demo", coverage_sqft_per_gallon=Decimal(400), price_per_gallon_cents=4_000),
        Product(name="Wall premium", brand="Demo", coverage_sqft_per_gallon=Decimal(400), price_per_gallon_cents=6_500),
    ]
    book = RateBookBody(products=products, labour_rate_cents=6_500)
    book.production["ceiling"] = ProductionRate(first_coat=Decimal(150), additional_coat=Decimal(175))
    return book.model_copy(update=changes)


def create_paint_world(session: Session, *, name: str = "Pinpoint Painting") -> PaintWorld:
    """A painting business with its people, one customer of the first estimator, and the example rate book saved."""
    from blueprints.estimates import service as estimates
    from shared.audit import Actor

    tenant = create_tenant(session, name=name)
    users = {
        "owner": create_user(session, tenant=tenant, role="owner", name="Olive"),
        "admin": create_user(session, tenant=tenant, role="admin", name="Ada"),
        "estimator": create_user(session, tenant=tenant, role="estimator", name="Ed"),
        "peer": create_user(session, tenant=tenant, role="estimator", name="Pia"),
    }
    customer = create_customer(session, tenant=tenant, owner=users["estimator"], name="Rosa", email=unique_email())
    book = paint_rate_book()
    estimates.save_rate_book(session=session, principal=principal_of(users["owner"]), actor=Actor(), book=book)
    return PaintWorld(tenant=tenant, users=users, customer=customer, products={p.name: p.id for p in book.products})


def example_room(world: PaintWorld, **changes: Any) -> Any:
    """The issue's 12 x 14 x 8 ft room with 1 door and 2 windows: walls 2 coats, ceiling 1 coat."""
    from decimal import Decimal

    from blueprints.estimates.schemas import RoomIn, SurfaceIn

    room = RoomIn(
        name="Living room",
        length_ft=Decimal(12),
        width_ft=Decimal(14),
        height_ft=Decimal(8),
        doors=1,
        windows=2,
        surfaces=[
            SurfaceIn(kind="walls", product_id=world.products["Wall eggshell"], coats=2),
            SurfaceIn(kind="ceiling", product_id=world.products["Ceiling flat"], coats=1),
        ],
    )
    return room.model_copy(update=changes)


# --- pricebook (ServiceTitan) ----------------------------------------------------------------------------------


def create_pricebook_item(
    session: Session, *, tenant_id: uuid.UUID, kind: str = "materials", st_id: int | None = None, **fields: Any
) -> int:
    """A pulled material, service or equipment in master (as if ServiceTitan had sent it); its id there."""
    from blueprints.pricebook.models import MASTER_MODELS, PricebookImage

    set_tenant(session, tenant_id)
    st_id = st_id or 10**9 + uuid.uuid4().int % 10**9
    image = fields.pop("image", None)
    values: dict[str, Any] = {
        "code": f"SKU-{st_id}",
        "display_name": "Ball valve",
        "description": "<p>1/2 in</p>",
        "price_cents": 2_500,
        "member_price_cents": 2_250,
        "add_on_price_cents": 2_400,
        "cost_cents": None if kind == "services" else 1_000,
        "hours": 1,
        "active": True,
        "category_ids": [],
        "image_paths": [f"Images/Test/{st_id}.png"] if image else [],
        **fields,
    }
    session.add(MASTER_MODELS[kind](tenant_id=tenant_id, st_id=st_id, **values))
    if image:
        path = values["image_paths"][0]
        session.add(PricebookImage(tenant_id=tenant_id, path=path, content_type="image/png", data=image, etag='"t"'))
    session.flush()
    return st_id


def create_pricebook_conflict(
    session: Session, *, tenant_id: uuid.UUID, st_id: int, field: str = "price_cents"
) -> uuid.UUID:
    """An open conflict on an item's field."""
    from blueprints.pricebook.models import SyncConflict

    set_tenant(session, tenant_id)
    conflict = SyncConflict(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        kind="materials",
        st_id=st_id,
        field=field,
        base=2_500,
        local=2_600,
        remote=2_700,
        status="open",
    )
    session.add(conflict)
    session.flush()
    return conflict.id


def create_pricebook_run(session: Session, *, tenant_id: uuid.UUID, status: str = "completed") -> uuid.UUID:
    """A finished pull."""
    from blueprints.pricebook.models import SyncRun

    set_tenant(session, tenant_id)
    run = SyncRun(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        direction="pull",
        mode="full",
        kinds=["materials"],
        status=status,
        progress={},
    )
    session.add(run)
    session.flush()
    return run.id
