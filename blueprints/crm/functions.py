"""CRM triggers: customers, sharing and vehicles under /api/v1/crm."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.durable_functions as df

from blueprints.crm import schemas
from shared import lazy
from shared.etag import if_match, with_etag
from shared.http import Response, Router, UserRequest
from shared.pagination import PageQuery

if TYPE_CHECKING:
    from blueprints.crm import service
else:  # loaded on first use (shared/lazy.py): indexing needs only the schemas
    service = lazy.module("blueprints.crm.service")

bp = df.Blueprint()
api = Router(bp, module="crm", feature="crm")


@api.get(
    "v1/crm/customers",
    permission="customers.read",
    query=schemas.CustomerQuery,
    response=schemas.CustomerPage,
    summary="Customers you may see; search by name, phone or email",
)
def list_customers(req: UserRequest[None, schemas.CustomerQuery]) -> schemas.CustomerPage:
    """List customers."""
    return service.list_customers(**req.reads, query=req.query)


@api.post(
    "v1/crm/customers",
    permission="customers.create",
    body=schemas.CustomerIn,
    response=schemas.CustomerOut,
    summary="Add a customer (you own it)",
)
def create_customer(req: UserRequest[schemas.CustomerIn, None]) -> Response:
    """Create a customer."""
    customer, version = service.create_customer(**req.reads, customer_in=req.body)
    return with_etag(customer, version, status=201)


@api.get(
    "v1/crm/customers/{customer_id}", permission="customers.read", response=schemas.CustomerOut, summary="One customer"
)
def get_customer(req: UserRequest) -> Response:
    """Read a customer with its ETag."""
    customer, version = service.get_customer(**req.reads, customer_id=req.uuid_param("customer_id"))
    return with_etag(customer, version)


@api.patch(
    "v1/crm/customers/{customer_id}",
    permission="customers.update",
    body=schemas.CustomerPatch,
    response=schemas.CustomerOut,
    summary="Change a customer (If-Match required)",
)
def update_customer(req: UserRequest[schemas.CustomerPatch, None]) -> Response:
    """Change a customer."""
    customer_id = req.uuid_param("customer_id")
    expected = if_match(req)
    customer, version = service.update_customer(
        **req.writes, customer_id=customer_id, patch=req.body, expected=expected
    )
    return with_etag(customer, version)


@api.delete("v1/crm/customers/{customer_id}", permission="customers.delete", summary="Delete a customer (soft)")
def delete_customer(req: UserRequest) -> None:
    """Soft-delete a customer."""
    service.delete_customer(**req.writes, customer_id=req.uuid_param("customer_id"))


@api.post(
    "v1/crm/customers/{customer_id}/shares",
    permission="customers.share",
    status=200,
    body=schemas.ShareIn,
    response=schemas.Shares,
    summary="Share a customer with a peer",
)
def share_customer(req: UserRequest[schemas.ShareIn, None]) -> schemas.Shares:
    """Share a customer."""
    return service.share_customer(**req.writes, customer_id=req.uuid_param("customer_id"), share_in=req.body)


@api.delete(
    "v1/crm/customers/{customer_id}/shares/{user_id}",
    permission="customers.share",
    summary="Stop sharing a customer with a peer",
)
def unshare_customer(req: UserRequest) -> None:
    """Unshare a customer."""
    service.unshare_customer(**req.writes, customer_id=req.uuid_param("customer_id"), user_id=req.uuid_param("user_id"))


@api.get(
    "v1/crm/customers/{customer_id}/vehicles",
    permission="vehicles.read",
    query=PageQuery,
    response=schemas.VehiclePage,
    summary="A customer's vehicles",
)
def list_vehicles(req: UserRequest[None, PageQuery]) -> schemas.VehiclePage:
    """List a customer's vehicles."""
    return service.list_vehicles(**req.reads, customer_id=req.uuid_param("customer_id"), query=req.query)


@api.post(
    "v1/crm/customers/{customer_id}/vehicles",
    permission="vehicles.write",
    body=schemas.VehicleIn,
    response=schemas.VehicleOut,
    summary="Add a vehicle to a customer",
)
def create_vehicle(req: UserRequest[schemas.VehicleIn, None]) -> Response:
    """Create a vehicle."""
    customer_id = req.uuid_param("customer_id")
    vehicle, version = service.create_vehicle(**req.reads, customer_id=customer_id, vehicle_in=req.body)
    return with_etag(vehicle, version, status=201)


@api.get("v1/crm/vehicles/{vehicle_id}", permission="vehicles.read", response=schemas.VehicleOut, summary="One vehicle")
def get_vehicle(req: UserRequest) -> Response:
    """Read a vehicle with its ETag."""
    vehicle, version = service.get_vehicle(**req.reads, vehicle_id=req.uuid_param("vehicle_id"))
    return with_etag(vehicle, version)


@api.patch(
    "v1/crm/vehicles/{vehicle_id}",
    permission="vehicles.write",
    body=schemas.VehiclePatch,
    response=schemas.VehicleOut,
    summary="Change a vehicle (If-Match required)",
)
def update_vehicle(req: UserRequest[schemas.VehiclePatch, None]) -> Response:
    """Change a vehicle."""
    vehicle_id = req.uuid_param("vehicle_id")
    expected = if_match(req)
    vehicle, version = service.update_vehicle(**req.reads, vehicle_id=vehicle_id, patch=req.body, expected=expected)
    return with_etag(vehicle, version)


@api.delete("v1/crm/vehicles/{vehicle_id}", permission="vehicles.write", summary="Delete a vehicle (soft)")
def delete_vehicle(req: UserRequest) -> None:
    """Soft-delete a vehicle."""
    service.delete_vehicle(**req.writes, vehicle_id=req.uuid_param("vehicle_id"))
