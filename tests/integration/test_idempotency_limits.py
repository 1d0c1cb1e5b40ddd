"""Shared limits hold across concurrent instances, and stored idempotency records expire after 24 hours."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from blueprints.identity import service as identity
from shared import clock, idempotency, ratelimit
from shared.db import session_scope
from shared.errors import RateLimited
from shared.idempotency import IdempotencyRecord
from tests.builders import create_tenant, create_user
from tests.conftest import Database


def test_a_rate_limit_is_exact_when_many_instances_consume_at_once(database: Database) -> None:
    # given a limit of 5 and 12 concurrent transactions, each on its own connection (as separate instances)
    limit = ratelimit.Limit(f"test-{uuid.uuid4().hex}", 5, 600)

    def consume(_: int) -> bool:
        try:
            with session_scope() as session:
                ratelimit.consume(session, limit=limit, subject="203.0.113.1")
        except RateLimited:
            return False
        return True

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(consume, range(12)))
    # then exactly five got through
    assert results.count(True) == 5


def test_expired_idempotency_records_are_purged_by_housekeeping(database: Database) -> None:
    with session_scope() as session:
        tenant = create_tenant(session, name="Housekeeping")
        user = create_user(session, tenant=tenant)
        tenant_id, user_id = tenant.id, user.id
    now = clock.now()
    with session_scope(tenant_id=tenant_id) as session:
        for key, age in (("old", timedelta(hours=25)), ("fresh", timedelta(hours=1))):
            session.add(
                IdempotencyRecord(
                    tenant_id=tenant_id,
                    user_id=user_id,
                    key=key,
                    request_hash="x" * 64,
                    status="completed",
                    locked_until=now - age,
                    created_at=now - age,
                    expires_at=now - age + idempotency.RETENTION,
                )
            )
    assert identity.housekeeping() >= 1
    with session_scope(tenant_id=tenant_id) as session:
        keys = session.scalars(select(IdempotencyRecord.key).where(IdempotencyRecord.user_id == user_id)).all()
    assert keys == ["fresh"]
