"""CRM triggers: customers, sharing and vehicles under /api/v1/crm."""

from __future__ import annotations

import azure.durable_functions as df

from blueprints.crm import schemas, service
from shared import audit
from shared.etag import if_match, with_etag
from shared.http import Request, Response, Router
from shared.pagination import PageQuery

bp = df.Blueprint()
api = Router(bp, module="crm", feature="crm")


@api.get(
    "v1/crm/customers",
    permission="customers.read",
    query=schemas.CustomerQuery,
    response=schemas.CustomerPage,
    summary="Customers you may see; search by name, phone or email",
)
def list_customers(req: Request) -> schemas.CustomerPage:
    """List customers."""
    assert req.principal is not None
    return service.list_customers(session=req.session, principal=req.principal, query=req.query)


@api.post(
    "v1/crm/customers",
    permission="customers.create",
    body=schemas.CustomerIn,
    response=schemas.CustomerOut,
    summary="Add a customer (you own it)",
)
def create_customer(req: Request) -> Response:
    """Create a customer."""
    assert req.principal is not None
    customer, version = service.create_customer(session=req.session, principal=req.principal, customer_in=req.body)
    return with_etag(customer, version, status=201)


@api.get(
    "v1/crm/customers/{customer_id}", permission="customers.read", response=schemas.CustomerOut, summary="One customer"
)
def get_customer(req: Request) -> Response:
    """Read a customer with its ETag."""
    assert req.principal is not None
    customer, version = service.get_customer(
        session=req.session, principal=req.principal, customer_id=req.uuid_param("customer_id")
    )
    return with_etag(customer, version)


@api.patch(
    "v1/crm/customers/{customer_id}",
    permission="customers.update",
    body=schemas.CustomerPatch,
    response=schemas.CustomerOut,
    summary="Change a customer (If-Match required)",
)
def update_customer(req: Request) -> Response:
    """Change a customer."""
    assert req.principal is not None
    customer_id = req.uuid_param("customer_id")
    expected = if_match(req)
    customer, version = service.update_customer(
        session=req.session,
        principal=req.principal,
        customer_id=customer_id,
        patch=req.body,
        expected=expected,
        actor=audit.actor_of(req),
    )
    return with_etag(customer, version)


@api.delete("v1/crm/customers/{customer_id}", permission="customers.delete", summary="Delete a customer (soft)")
def delete_customer(req: Request) -> None:
    """Soft-delete a customer."""
    assert req.principal is not None
    service.delete_customer(
        session=req.session,
        principal=req.principal,
        customer_id=req.uuid_param("customer_id"),
        actor=audit.actor_of(req),
    )


@api.post(
    "v1/crm/customers/{customer_id}/shares",
    permission="customers.share",
    status=200,
    body=schemas.ShareIn,
    response=schemas.Shares,
    summary="Share a customer with a peer",
)
def share_customer(req: Request) -> schemas.Shares:
    """Share a customer."""
    assert req.principal is not None
    return service.share_customer(
        session=req.session,
        principal=req.principal,
        customer_id=req.uuid_param("customer_id"),
        share_in=req.body,
        actor=audit.actor_of(req),
    )


@api.delete(
    "v1/crm/customers/{customer_id}/shares/{user_id}",
    permission="customers.share",
    summary="Stop sharing a customer with a peer",
)
def unshare_customer(req: Request) -> None:
    """Unshare a customer."""
    assert req.principal is not None
    service.unshare_customer(
        session=req.session,
        principal=req.principal,
        customer_id=req.uuid_param("customer_id"),
        user_id=req.uuid_param("user_id"),
        actor=audit.actor_of(req),
    )


@api.get(
    "v1/crm/customers/{customer_id}/vehicles",
    permission="vehicles.read",
    query=PageQuery,
    response=schemas.VehiclePage,
    summary="A customer's vehicles",
)
def list_vehicles(req: Request) -> schemas.VehiclePage:
    """List a customer's vehicles."""
    assert req.principal is not None
    return service.list_vehicles(
        session=req.session, principal=req.principal, customer_id=req.uuid_param("customer_id"), query=req.query
    )


@api.post(
    "v1/crm/customers/{customer_id}/vehicles",
    permission="vehicles.write",
    body=schemas.VehicleIn,
    response=schemas.VehicleOut,
    summary="Add a vehicle to a customer",
)
def create_vehicle(req: Request) -> Response:
    """Create a vehicle."""
    assert req.principal is not None
    customer_id = req.uuid_param("customer_id")
    vehicle, version = service.create_vehicle(
        session=req.session, principal=req.principal, customer_id=customer_id, vehicle_in=req.body
    )
    return with_etag(vehicle, version, status=201)


@api.get("v1/crm/vehicles/{vehicle_id}", permission="vehicles.read", response=schemas.VehicleOut, summary="One vehicle")
def get_vehicle(req: Request) -> Response:
    """Read a vehicle with its ETag."""
    assert req.principal is not None
    vehicle, version = service.get_vehicle(
        session=req.session, principal=req.principal, vehicle_id=req.uuid_param("vehicle_id")
    )
    return with_etag(vehicle, version)


@api.patch(
    "v1/crm/vehicles/{vehicle_id}",
    permission="vehicles.write",
    body=schemas.VehiclePatch,
    response=schemas.VehicleOut,
    summary="Change a vehicle (If-Match required)",
)
def update_vehicle(req: Request) -> Response:
    """Change a vehicle."""
    assert req.principal is not None
    vehicle_id = req.uuid_param("vehicle_id")
    expected = if_match(req)
    vehicle, version = service.update_vehicle(
        session=req.session, principal=req.principal, vehicle_id=vehicle_id, patch=req.body, expected=expected
    )
    return with_etag(vehicle, version)


@api.delete("v1/crm/vehicles/{vehicle_id}", permission="vehicles.write", summary="Delete a vehicle (soft)")
def delete_vehicle(req: Request) -> None:
    """Soft-delete a vehicle."""
    assert req.principal is not None
    service.delete_vehicle(
        session=req.session, principal=req.principal, vehicle_id=req.uuid_param("vehicle_id"), actor=audit.actor_of(req)
    )
