"""CRM use cases: customers (owned, shared, soft-deleted) and their vehicles.

Who sees which customer: roles with `customers.read_all` see every customer of the business; others
(estimators) see the customers they own or that were shared with them. A customer the caller may not
see answers 404, exactly like one that does not exist or belongs to another business.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, delete, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from blueprints.crm.models import Customer, CustomerShare, Vehicle
from blueprints.crm.schemas import (
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    CustomerQuery,
    ShareIn,
    Shares,
    VehicleIn,
    VehicleOut,
    VehiclePage,
    VehiclePatch,
)
from blueprints.identity import service as identity
from shared import audit, clock
from shared.auth import Principal
from shared.db import affected
from shared.errors import Forbidden, NotFound
from shared.etag import check_version, flush_versioned
from shared.pagination import PageQuery, paginate

# A hook takes the customer id column and the caller, and answers a condition under which the caller sees that
# customer for a reason another module owns (e.g. a peer shared an estimate of it). Registered, never imported.
VisibilityHook = Callable[[Any, Principal], ColumnElement[bool]]
_visibility_hooks: dict[str, VisibilityHook] = {}


def register_visibility(name: str, hook: VisibilityHook) -> None:
    """Let another module make customers visible to a caller who neither owns them nor had them shared."""
    _visibility_hooks[name] = hook


def _visible(stmt: Select, principal: Principal) -> Select:
    stmt = stmt.where(Customer.tenant_id == principal.tenant_id, Customer.deleted_at.is_(None))
    if principal.has("customers.read_all"):
        return stmt
    shared = exists().where(CustomerShare.customer_id == Customer.id, CustomerShare.user_id == principal.user_id)
    others = [hook(Customer.id, principal) for hook in _visibility_hooks.values()]
    return stmt.where(or_(Customer.owner_id == principal.user_id, shared, *others))


def _customer_or_raise(
    session: Session, principal: Principal, customer_id: uuid.UUID, *, lock: bool = False
) -> Customer:
    stmt = _visible(select(Customer).where(Customer.id == customer_id), principal)
    customer = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if customer is None:
        raise NotFound("No such customer")
    return customer


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_customers(*, session: Session, principal: Principal, query: CustomerQuery) -> CustomerPage:
    """The customers the caller may see, by name, optionally searched."""
    stmt = _visible(select(Customer), principal)
    if query.q:
        pattern = f"%{_escape_like(query.q)}%"
        digits = "".join(c for c in query.q if c.isdigit())
        terms = [Customer.name.ilike(pattern), Customer.email.ilike(pattern)]
        if len(digits) >= 3:
            terms.append(Customer.phone.like(f"%{digits}%"))
        stmt = stmt.where(or_(*terms))
    if query.phone:
        stmt = stmt.where(Customer.phone == query.phone)
    if query.email:
        stmt = stmt.where(func.lower(Customer.email) == query.email.lower())
    rows, cursor = paginate(session, stmt, keys=[Customer.name, Customer.id], query=query)
    return CustomerPage(items=[CustomerOut.model_validate(c) for c in rows], next_cursor=cursor)


def get_customer(*, session: Session, principal: Principal, customer_id: uuid.UUID) -> tuple[CustomerOut, int]:
    """One customer the caller may see, and its version."""
    customer = _customer_or_raise(session, principal, customer_id)
    return CustomerOut.model_validate(customer), customer.version


def create_customer(*, session: Session, principal: Principal, customer_in: CustomerIn) -> tuple[CustomerOut, int]:
    """A new customer owned by the caller."""
    values = customer_in.model_dump()
    if values.get("email"):
        values["email"] = values["email"].strip().lower()
    customer = Customer(id=uuid.uuid4(), tenant_id=principal.tenant_id, owner_id=principal.user_id, **values)
    session.add(customer)
    session.flush()
    return CustomerOut.model_validate(customer), customer.version


def update_customer(
    *,
    session: Session,
    principal: Principal,
    customer_id: uuid.UUID,
    patch: CustomerPatch,
    expected: frozenset[int] | None,
    actor: audit.Actor,
) -> tuple[CustomerOut, int]:
    """Change a customer (412 when it changed since the caller read it); handing it over needs read_all."""
    customer = _customer_or_raise(session, principal, customer_id, lock=True)
    check_version(customer.version, expected)
    changes = patch.model_dump(exclude_unset=True)
    if "owner_id" in changes and changes["owner_id"] != customer.owner_id:
        _check_new_owner(session, principal, changes["owner_id"])
    before = CustomerOut.model_validate(customer)
    for name, value in changes.items():
        setattr(customer, name, value.strip().lower() if name == "email" and value else value)
    customer.updated_at = clock.now()
    flush_versioned(session)
    after = CustomerOut.model_validate(customer)
    if before.owner_id != after.owner_id:
        audit.record(
            session,
            tenant_id=principal.tenant_id,
            actor=actor,
            action="customers.owner_changed",
            entity="customer",
            entity_id=customer.id,
            before={"owner_id": str(before.owner_id)},
            after={"owner_id": str(after.owner_id)},
        )
    return after, customer.version


def _check_new_owner(session: Session, principal: Principal, owner_id: uuid.UUID) -> None:
    if not principal.has("customers.read_all"):
        raise Forbidden("Only roles that see every customer may hand one over", code="permission_denied")
    if not identity.user_ids_in_tenant(session=session, principal=principal, user_ids=[owner_id]):
        raise NotFound("No such user")


def delete_customer(*, session: Session, principal: Principal, customer_id: uuid.UUID, actor: audit.Actor) -> None:
    """Soft-delete a customer: it disappears from every list and lookup, the row is kept."""
    customer = _customer_or_raise(session, principal, customer_id, lock=True)
    before = CustomerOut.model_validate(customer)
    customer.deleted_at = clock.now()
    flush_versioned(session)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="customers.deleted",
        entity="customer",
        entity_id=customer.id,
        before=audit.snapshot(before),
    )


def _may_share(principal: Principal, customer: Customer) -> None:
    if not principal.has("customers.read_all") and customer.owner_id != principal.user_id:
        raise Forbidden("Only the customer's owner may share it", code="not_owner")


def share_customer(
    *, session: Session, principal: Principal, customer_id: uuid.UUID, share_in: ShareIn, actor: audit.Actor
) -> Shares:
    """Let a peer see a customer too (sharing twice is harmless)."""
    customer = _customer_or_raise(session, principal, customer_id, lock=True)
    _may_share(principal, customer)
    if not identity.user_ids_in_tenant(session=session, principal=principal, user_ids=[share_in.user_id]):
        raise NotFound("No such user")
    session.execute(
        insert(CustomerShare)
        .values(
            tenant_id=principal.tenant_id,
            customer_id=customer.id,
            user_id=share_in.user_id,
            created_by=principal.user_id,
            created_at=clock.now(),
        )
        .on_conflict_do_nothing()
    )
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="customers.shared",
        entity="customer",
        entity_id=customer.id,
        after={"user_id": str(share_in.user_id)},
    )
    return _shares(session, customer.id)


def unshare_customer(
    *, session: Session, principal: Principal, customer_id: uuid.UUID, user_id: uuid.UUID, actor: audit.Actor
) -> None:
    """Stop sharing a customer with a peer (no error when it was not shared)."""
    customer = _customer_or_raise(session, principal, customer_id, lock=True)
    _may_share(principal, customer)
    removed = affected(
        session, delete(CustomerShare).where(CustomerShare.customer_id == customer.id, CustomerShare.user_id == user_id)
    )
    if removed:
        audit.record(
            session,
            tenant_id=principal.tenant_id,
            actor=actor,
            action="customers.unshared",
            entity="customer",
            entity_id=customer.id,
            before={"user_id": str(user_id)},
        )


def _shares(session: Session, customer_id: uuid.UUID) -> Shares:
    stmt = select(CustomerShare.user_id).where(CustomerShare.customer_id == customer_id).order_by(CustomerShare.user_id)
    return Shares(customer_id=customer_id, user_ids=list(session.scalars(stmt).all()))


def list_vehicles(*, session: Session, principal: Principal, customer_id: uuid.UUID, query: PageQuery) -> VehiclePage:
    """A visible customer's vehicles."""
    customer = _customer_or_raise(session, principal, customer_id)
    stmt = select(Vehicle).where(
        Vehicle.tenant_id == principal.tenant_id, Vehicle.customer_id == customer.id, Vehicle.deleted_at.is_(None)
    )
    rows, cursor = paginate(session, stmt, keys=[Vehicle.created_at, Vehicle.id], query=query)
    return VehiclePage(items=[VehicleOut.model_validate(v) for v in rows], next_cursor=cursor)


def create_vehicle(
    *, session: Session, principal: Principal, customer_id: uuid.UUID, vehicle_in: VehicleIn
) -> tuple[VehicleOut, int]:
    """Add a vehicle to a visible customer."""
    customer = _customer_or_raise(session, principal, customer_id)
    vehicle = Vehicle(
        id=uuid.uuid4(), tenant_id=principal.tenant_id, customer_id=customer.id, **vehicle_in.model_dump()
    )
    session.add(vehicle)
    session.flush()
    return VehicleOut.model_validate(vehicle), vehicle.version


def _vehicle_or_raise(session: Session, principal: Principal, vehicle_id: uuid.UUID, *, lock: bool = False) -> Vehicle:
    stmt = select(Vehicle).where(
        Vehicle.id == vehicle_id, Vehicle.tenant_id == principal.tenant_id, Vehicle.deleted_at.is_(None)
    )
    vehicle = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if vehicle is None:
        raise NotFound("No such vehicle")
    try:
        _customer_or_raise(session, principal, vehicle.customer_id)
    except NotFound:
        raise NotFound("No such vehicle") from None
    return vehicle


def get_vehicle(*, session: Session, principal: Principal, vehicle_id: uuid.UUID) -> tuple[VehicleOut, int]:
    """A vehicle of a visible customer."""
    vehicle = _vehicle_or_raise(session, principal, vehicle_id)
    return VehicleOut.model_validate(vehicle), vehicle.version


def update_vehicle(
    *,
    session: Session,
    principal: Principal,
    vehicle_id: uuid.UUID,
    patch: VehiclePatch,
    expected: frozenset[int] | None,
) -> tuple[VehicleOut, int]:
    """Change a vehicle (412 when it changed since the caller read it)."""
    vehicle = _vehicle_or_raise(session, principal, vehicle_id, lock=True)
    check_version(vehicle.version, expected)
    for name, value in patch.model_dump(exclude_unset=True).items():
        setattr(vehicle, name, value)
    vehicle.updated_at = clock.now()
    flush_versioned(session)
    return VehicleOut.model_validate(vehicle), vehicle.version


def delete_vehicle(*, session: Session, principal: Principal, vehicle_id: uuid.UUID, actor: audit.Actor) -> None:
    """Soft-delete a vehicle."""
    vehicle = _vehicle_or_raise(session, principal, vehicle_id, lock=True)
    vehicle.deleted_at = clock.now()
    flush_versioned(session)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="vehicles.deleted",
        entity="vehicle",
        entity_id=vehicle.id,
        before=audit.snapshot(VehicleOut.model_validate(vehicle)),
    )


def customer_projection() -> Subquery:
    """Customers as a read-only selectable for other modules' joined reads (board, drawer, exports)."""
    return select(
        Customer.id,
        Customer.tenant_id,
        Customer.owner_id,
        Customer.name,
        Customer.phone,
        Customer.email,
        Customer.address,
        Customer.timezone,
        Customer.notes,
        Customer.created_at,
        Customer.updated_at,
        Customer.deleted_at,
    ).subquery("customers")


def vehicle_projection() -> Subquery:
    """Vehicles as a read-only selectable for other modules' joined reads."""
    return select(
        Vehicle.id,
        Vehicle.customer_id,
        Vehicle.year,
        Vehicle.make,
        Vehicle.model,
        Vehicle.vin,
        Vehicle.mileage,
        Vehicle.created_at,
        Vehicle.updated_at,
        Vehicle.deleted_at,
    ).subquery("vehicles")
