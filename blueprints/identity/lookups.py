"""Row lookups both the service and the password links need (kept apart so neither imports the other)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from blueprints.identity.models import User
from shared.auth import Principal
from shared.errors import NotFound


def locked_user(session: Session, principal: Principal, user_id: uuid.UUID) -> User:
    """A person of the caller's business, locked for a change (404 otherwise)."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.tenant_id != principal.tenant_id:
        raise NotFound("No such user")
    return user
