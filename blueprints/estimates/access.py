"""Who sees and changes which estimate, and the loaders that 404 what the caller may not see.

Roles with `estimates.read_all` (owners, admins) see every estimate of the business; others (estimators)
see the estimates they own and those a peer shared with them (`estimate_shares`). A shared estimate's
customer becomes readable to the peer through crm's visibility hook registered here.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from blueprints.crm import service as crm
from blueprints.estimates.models import Estimate, EstimateShare
from shared.auth import Principal
from shared.errors import Forbidden, NotFound

READ_ALL = "estimates.read_all"


def visible(stmt: Select, principal: Principal) -> Select:
    """stmt restricted to the live estimates of the caller's business that the caller may see.

    The list page applies the same rule as the union of the caller's own and shared estimates, each read from
    its index (estimates._page_statement); a change to the rule changes both.
    """
    stmt = stmt.where(Estimate.tenant_id == principal.tenant_id, Estimate.deleted_at.is_(None))
    if principal.has(READ_ALL):
        return stmt
    shared = exists().where(EstimateShare.estimate_id == Estimate.id, EstimateShare.user_id == principal.user_id)
    return stmt.where(or_(Estimate.owner_id == principal.user_id, shared))


def _customer_of_a_shared_estimate(customer_id: Any, principal: Principal) -> ColumnElement[bool]:
    return exists().where(
        and_(
            Estimate.customer_id == customer_id,
            Estimate.tenant_id == principal.tenant_id,
            Estimate.deleted_at.is_(None),
            EstimateShare.estimate_id == Estimate.id,
            EstimateShare.user_id == principal.user_id,
        )
    )


crm.register_visibility("estimates.shared_estimate", _customer_of_a_shared_estimate)


def estimate_or_raise(
    session: Session, principal: Principal, estimate_id: uuid.UUID, *, lock: bool = False
) -> Estimate:
    """A live estimate the caller may see (404 otherwise: another business's, a peer's unshared, deleted)."""
    stmt = visible(select(Estimate).where(Estimate.id == estimate_id), principal)
    estimate = session.scalars(stmt.with_for_update(of=Estimate) if lock else stmt).first()
    if estimate is None:
        raise NotFound("No such estimate")
    return estimate


def share_access(session: Session, estimate_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """view | edit when the estimate is shared with the user, else None."""
    stmt = select(EstimateShare.access).where(
        EstimateShare.estimate_id == estimate_id, EstimateShare.user_id == user_id
    )
    return session.scalar(stmt)


def require_edit(session: Session, principal: Principal, estimate: Estimate) -> None:
    """403 unless the caller owns the estimate, sees every estimate, or had it shared to edit."""
    if principal.has(READ_ALL) or estimate.owner_id == principal.user_id:
        return
    if share_access(session, estimate.id, principal.user_id) != "edit":
        raise Forbidden("This estimate was shared with you to view only", code="view_only")


def require_owner(principal: Principal, estimate: Estimate) -> None:
    """403 unless the caller owns the estimate or sees every estimate (sharing, deleting)."""
    if not principal.has(READ_ALL) and estimate.owner_id != principal.user_id:
        raise Forbidden("Only the estimate's owner or an admin may do this", code="not_owner")
