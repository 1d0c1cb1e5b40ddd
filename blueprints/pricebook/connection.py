"""The business's ServiceTitan connection: saved after a test call, the client secret envelope-encrypted."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from blueprints.pricebook import schemas
from blueprints.pricebook.models import StConnection, SyncRun
from shared import audit, clock, secretbox
from shared.auth import Principal
from shared.config import get_settings
from shared.errors import Conflict, ServiceUnavailable, Unprocessable
from shared.providers.servicetitan import Connection, ServiceTitanClient, ServiceTitanError


def key_encryption_key() -> bytes:
    """The KEK that wraps each secret's data key: PRICEBOOK_KEY_ENCRYPTION_KEY (Key Vault), else a local key."""
    settings = get_settings()
    if settings.pricebook_key_encryption_key:
        return secretbox.key_from_setting(settings.pricebook_key_encryption_key)
    if settings.environment == "production":
        # shared.config refuses to start with an app key but no KEK; without either the integration is off.
        raise ServiceUnavailable("The ServiceTitan integration is not configured here", code="pricebook_not_configured")
    return secretbox.key_from_setting("tradeops-local-pricebook-kek")  # development and tests only


def _context(tenant_id: uuid.UUID) -> str:
    return f"pricebook-connection:{tenant_id}"


def test_call(connection: Connection) -> None:
    """Ask for a token and read one category; refusals become a 422 with a clear message (never our 401)."""
    try:
        ServiceTitanClient(connection).check()
    except ServiceTitanError as exc:
        if exc.auth_refused or exc.status in (400, 404):
            raise Unprocessable(
                f"ServiceTitan refused these credentials ({exc.status} {exc.title}); check the tenant id, client id "
                "and secret, and that our app is connected in ServiceTitan",
                code="servicetitan_refused",
            ) from None
        # Not our 5xx either: the credentials could not be checked, so they are not saved; the user may retry.
        raise Unprocessable(
            f"ServiceTitan could not be reached to test these credentials ({exc.status} {exc.title}); try again",
            code="servicetitan_unreachable",
        ) from None


def put_connection(
    *, session: Session, principal: Principal, actor: audit.Actor, connection_in: schemas.ConnectionIn
) -> schemas.ConnectionOut:
    """Test and save the business's ServiceTitan credentials."""
    candidate = Connection(
        st_tenant_id=connection_in.st_tenant_id,
        client_id=connection_in.client_id,
        client_secret=connection_in.client_secret,
        environment=connection_in.environment,
    )
    test_call(candidate)
    box = secretbox.seal(connection_in.client_secret, kek=key_encryption_key(), context=_context(principal.tenant_id))
    row = session.get(StConnection, principal.tenant_id, with_for_update=True)
    if row is None:
        row = StConnection(tenant_id=principal.tenant_id, status="connected", secret_box=box)
        session.add(row)
    row.st_tenant_id, row.client_id = connection_in.st_tenant_id, connection_in.client_id
    row.environment, row.secret_box, row.status, row.last_error = connection_in.environment, box, "connected", None
    row.updated_at = clock.now()
    session.flush()
    fingerprint = hashlib.sha256(connection_in.client_secret.encode()).hexdigest()[:8]
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="pricebook.connected",
        entity="pricebook_connection",
        entity_id=str(principal.tenant_id),
        after={"st_tenant_id": row.st_tenant_id, "environment": row.environment, "secret_sha256_8": fingerprint},
    )
    return get_connection(session=session, principal=principal)


def get_connection(*, session: Session, principal: Principal) -> schemas.ConnectionOut:
    """The connection's status and the last run."""
    row = session.get(StConnection, principal.tenant_id)
    last = session.scalars(
        select(SyncRun).where(SyncRun.tenant_id == principal.tenant_id).order_by(SyncRun.created_at.desc()).limit(1)
    ).first()
    last_run = schemas.SyncOut.model_validate(last) if last else None
    if row is None:
        return schemas.ConnectionOut(connected=False, last_run=last_run)
    return schemas.ConnectionOut(
        connected=True,
        st_tenant_id=row.st_tenant_id,
        client_id=row.client_id,
        environment=row.environment,  # type: ignore[arg-type]
        status=row.status,
        last_sync_at=row.last_sync_at,
        last_error=row.last_error,
        last_run=last_run,
    )


def delete_connection(*, session: Session, principal: Principal, actor: audit.Actor) -> None:
    """Disconnect: the credentials are deleted; the pulled pricebook stays."""
    session.execute(delete(StConnection).where(StConnection.tenant_id == principal.tenant_id))
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="pricebook.disconnected",
        entity="pricebook_connection",
        entity_id=str(principal.tenant_id),
    )


def load(session: Session, tenant_id: uuid.UUID) -> Connection:
    """The business's connection with its secret opened; 409 when it has none."""
    row = session.get(StConnection, tenant_id)
    if row is None:
        raise Conflict("Connect ServiceTitan first (PUT /api/v1/pricebook/connection)", code="not_connected")
    secret = secretbox.open_box(row.secret_box, kek=key_encryption_key(), context=_context(tenant_id))
    return Connection(
        st_tenant_id=row.st_tenant_id, client_id=row.client_id, client_secret=secret, environment=row.environment
    )


def client_for(session: Session, tenant_id: uuid.UUID) -> ServiceTitanClient:
    """A ServiceTitan client for the business's connection."""
    return ServiceTitanClient(load(session, tenant_id))
