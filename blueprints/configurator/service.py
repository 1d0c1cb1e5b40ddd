"""Configurator use cases: products, saved configurations and their share codes. Render jobs: jobs.py.

Every user of a business sees its products and configurations; another business's answer 404.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from blueprints.configurator import pricing, validation
from blueprints.configurator.models import Configuration, Product
from blueprints.configurator.schemas import (
    ConfigurationIn,
    ConfigurationOut,
    ConfigurationPage,
    ConfigurationQuery,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    ProductSummary,
    SharedConfiguration,
)
from shared import audit, clock
from shared.auth import Principal
from shared.db import set_tenant
from shared.errors import Conflict, NotFound, Unprocessable
from shared.etag import check_version, flush_versioned
from shared.pagination import PageQuery, paginate

SHARE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read aloud or typed from paper
SHARE_CODE_LENGTH = 10


def new_share_code() -> str:
    """A short random code (about 50 bits) that opens a read-only view of one configuration."""
    return "".join(secrets.choice(SHARE_ALPHABET) for _ in range(SHARE_CODE_LENGTH))


def _rule_of(product: Product) -> pricing.PriceRule | None:
    return pricing.PriceRule.model_validate(product.price_rule) if product.price_rule else None


def product_or_raise(*, session: Session, tenant_id: uuid.UUID, product_id: uuid.UUID, lock: bool = False) -> Product:
    """The tenant's product, or 404."""
    stmt = select(Product).where(Product.id == product_id, Product.tenant_id == tenant_id)
    product = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if product is None:
        raise NotFound("No such product")
    return product


def _check_product(config_schema: dict[str, Any], rule: pricing.PriceRule | None) -> None:
    validation.check_schema(config_schema)
    if rule is not None and (errors := pricing.rule_errors(rule, config_schema)):
        raise Unprocessable(
            "The price rule names options the schema does not have", code="invalid_price_rule", errors=errors
        )


def _check_name_free(session: Session, *, tenant_id: uuid.UUID, name: str, product_id: uuid.UUID | None) -> None:
    taken = select(Product.id).where(Product.tenant_id == tenant_id, Product.name == name)
    if product_id is not None:
        taken = taken.where(Product.id != product_id)
    if session.scalars(taken).first() is not None:
        raise Conflict("Another product already has this name", code="product_name_taken")


def _flush_product(session: Session) -> None:
    try:
        flush_versioned(session)
    except IntegrityError:
        raise Conflict("Another product already has this name", code="product_name_taken") from None


def list_products(*, session: Session, principal: Principal, query: PageQuery) -> ProductPage:
    """The business's products by name."""
    stmt = select(Product).where(Product.tenant_id == principal.tenant_id)
    rows, cursor = paginate(session, stmt, keys=[Product.name, Product.id], query=query)
    return ProductPage(items=[ProductSummary.model_validate(p) for p in rows], next_cursor=cursor)


def get_product(*, session: Session, principal: Principal, product_id: uuid.UUID) -> ProductOut:
    """One product with its schema."""
    product = product_or_raise(session=session, tenant_id=principal.tenant_id, product_id=product_id)
    return ProductOut.model_validate(product)


def create_product(*, session: Session, principal: Principal, product_in: ProductIn, actor: audit.Actor) -> ProductOut:
    """A new product; its schema must be a valid JSON Schema 2020-12 and its price rule must fit it."""
    _check_product(product_in.config_schema, product_in.price_rule)
    _check_name_free(session, tenant_id=principal.tenant_id, name=product_in.name, product_id=None)
    values = product_in.model_dump(exclude={"price_rule"})
    rule = product_in.price_rule.model_dump(mode="json") if product_in.price_rule else None
    product = Product(
        id=uuid.uuid4(), tenant_id=principal.tenant_id, created_by=principal.user_id, price_rule=rule, **values
    )
    session.add(product)
    _flush_product(session)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="products.created",
        entity="product",
        entity_id=product.id,
        after={"name": product.name, "template_version": product.template_version},
    )
    return ProductOut.model_validate(product)


def update_product(
    *,
    session: Session,
    principal: Principal,
    product_id: uuid.UUID,
    patch: ProductPatch,
    expected: frozenset[int] | None,
    actor: audit.Actor,
) -> ProductOut:
    """Change a product (412 when it changed since the caller read it); the result is checked as on create."""
    product = product_or_raise(session=session, tenant_id=principal.tenant_id, product_id=product_id, lock=True)
    check_version(product.version, expected)
    changes = patch.model_dump(exclude_unset=True, mode="json")
    schema = changes.get("config_schema", product.config_schema)
    rule_data = changes.get("price_rule", product.price_rule)
    _check_product(schema, pricing.PriceRule.model_validate(rule_data) if rule_data else None)
    if "name" in changes:
        _check_name_free(session, tenant_id=principal.tenant_id, name=changes["name"], product_id=product.id)
    before = {"template_version": product.template_version, "version": product.version}
    for name, value in changes.items():
        setattr(product, name, value)
    product.updated_at = clock.now()
    _flush_product(session)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="products.updated",
        entity="product",
        entity_id=product.id,
        before=before,
        after={"changed": sorted(changes), "template_version": product.template_version, "version": product.version},
    )
    return ProductOut.model_validate(product)


def configuration_out(configuration: Configuration, product: Product) -> ConfigurationOut:
    """A configuration with its price under the product's current rule."""
    rule = _rule_of(product)
    return ConfigurationOut(
        id=configuration.id,
        product_id=configuration.product_id,
        name=configuration.name,
        config_data=configuration.config_data,
        config_hash=configuration.config_hash,
        product_version=configuration.product_version,
        template_version=configuration.template_version,
        share_code=configuration.share_code,
        price=pricing.price(rule, configuration.config_data) if rule else None,
        created_by=configuration.created_by,
        created_at=configuration.created_at,
    )


def configuration_or_raise(*, session: Session, tenant_id: uuid.UUID, configuration_id: uuid.UUID) -> Configuration:
    """The tenant's live configuration, or 404."""
    stmt = select(Configuration).where(
        Configuration.id == configuration_id, Configuration.tenant_id == tenant_id, Configuration.deleted_at.is_(None)
    )
    configuration = session.scalars(stmt).first()
    if configuration is None:
        raise NotFound("No such configuration")
    return configuration


def list_configurations(*, session: Session, principal: Principal, query: ConfigurationQuery) -> ConfigurationPage:
    """The business's saved configurations, newest first, optionally of one product."""
    stmt = select(Configuration).where(
        Configuration.tenant_id == principal.tenant_id, Configuration.deleted_at.is_(None)
    )
    if query.product_id:
        stmt = stmt.where(Configuration.product_id == query.product_id)
    rows, cursor = paginate(
        session, stmt, keys=[Configuration.created_at, Configuration.id], query=query, descending=True
    )
    product_ids = {c.product_id for c in rows}
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(product_ids)))} if rows else {}
    return ConfigurationPage(items=[configuration_out(c, products[c.product_id]) for c in rows], next_cursor=cursor)


def get_configuration(*, session: Session, principal: Principal, configuration_id: uuid.UUID) -> ConfigurationOut:
    """One saved configuration with its price."""
    configuration = configuration_or_raise(
        session=session, tenant_id=principal.tenant_id, configuration_id=configuration_id
    )
    product = product_or_raise(session=session, tenant_id=principal.tenant_id, product_id=configuration.product_id)
    return configuration_out(configuration, product)


def create_configuration(
    *, session: Session, principal: Principal, configuration_in: ConfigurationIn
) -> ConfigurationOut:
    """Save a configuration; 422 lists every way config_data breaks the product's schema."""
    try:
        product = product_or_raise(
            session=session, tenant_id=principal.tenant_id, product_id=configuration_in.product_id
        )
    except NotFound:
        missing = {"loc": "body.product_id", "path": "$.product_id", "msg": "No such product", "type": "not_found"}
        raise Unprocessable("No such product", code="unknown_product", errors=[missing]) from None
    data = validation.canonical(configuration_in.config_data)
    validation.check_config(product.config_schema, data)
    configuration = Configuration(
        id=uuid.uuid4(),
        tenant_id=principal.tenant_id,
        product_id=product.id,
        created_by=principal.user_id,
        name=configuration_in.name,
        config_data=data,
        config_hash=validation.config_hash(data),
        product_version=product.version,
        template_version=product.template_version,
        share_code=new_share_code(),
        created_at=clock.now(),
    )
    session.add(configuration)
    session.flush()
    return configuration_out(configuration, product)


def delete_configuration(
    *, session: Session, principal: Principal, configuration_id: uuid.UUID, actor: audit.Actor
) -> None:
    """Soft-delete a configuration: its share code stops working, its render jobs stay readable."""
    configuration = configuration_or_raise(
        session=session, tenant_id=principal.tenant_id, configuration_id=configuration_id
    )
    configuration.deleted_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="configurations.deleted",
        entity="configuration",
        entity_id=configuration.id,
        before={"name": configuration.name},
    )


def get_shared(*, session: Session, share_code: str) -> SharedConfiguration:
    """The read-only view a share code opens, for anyone holding the code (404 otherwise)."""
    if len(share_code) != SHARE_CODE_LENGTH or any(c not in SHARE_ALPHABET for c in share_code):
        raise NotFound("No such shared configuration")
    # The caller has no tenant yet: a SECURITY DEFINER function finds the code's tenant, RLS does the rest.
    tenant_id = session.execute(text("SELECT configurator_shared_tenant(:code)"), {"code": share_code}).scalar()
    if tenant_id is None:
        raise NotFound("No such shared configuration")
    set_tenant(session, tenant_id)
    configuration = session.scalars(
        select(Configuration).where(Configuration.share_code == share_code, Configuration.deleted_at.is_(None))
    ).first()
    if configuration is None:
        raise NotFound("No such shared configuration")
    product = product_or_raise(session=session, tenant_id=tenant_id, product_id=configuration.product_id)
    priced = configuration_out(configuration, product).price
    return SharedConfiguration(
        name=configuration.name,
        product_name=product.name,
        product_description=product.description,
        config_data=configuration.config_data,
        price=priced,
        created_at=configuration.created_at,
    )
