"""Jobs that visit every business in turn (timers, housekeeping), each business isolated from the others."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from shared.db import session_scope
from shared.telemetry import tenant_id_var

log = logging.getLogger("tradeops.jobs")
Result = TypeVar("Result")


@dataclass
class TenantRun:
    """What a job that visited every business did: each one's result, and the ones that failed."""

    results: dict[uuid.UUID, Any] = field(default_factory=dict)
    failed: list[uuid.UUID] = field(default_factory=list)

    def total(self) -> int:
        """The sum of the numeric results (how many things the job did across businesses)."""
        return sum(int(value or 0) for value in self.results.values())


def tenant_ids(session: Session) -> list[uuid.UUID]:
    """Every business's id (a SECURITY DEFINER function: row-level security hides tenants from one another)."""
    return list(session.scalars(text("SELECT tenant_id FROM app_tenant_ids()")).all())


def for_each_tenant(job: Callable[[Session, uuid.UUID], Result], *, name: str) -> TenantRun:
    """Run job once per business in a transaction of its own, bound to that business (the job's trigger
    boundary: it commits when the job returns); one business's failure is logged and never stops the others."""
    run = TenantRun()
    with session_scope() as session:
        ids = tenant_ids(session)
    for tenant_id in ids:
        token = tenant_id_var.set(str(tenant_id))
        try:
            with session_scope(tenant_id=tenant_id) as session:
                run.results[tenant_id] = job(session, tenant_id)
        except Exception:
            log.exception("%s failed for a tenant", name)
            run.failed.append(tenant_id)
        finally:
            tenant_id_var.reset(token)
    return run
