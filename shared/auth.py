"""Who is calling: the principal of a request, and the seam through which identity authenticates it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# The route auth kinds. "function" and "admin" are enforced by the Functions host with its keys.
AUTH_KINDS = ("anonymous", "user", "webhook", "function", "admin")


@dataclass(frozen=True)
class Principal:
    """A signed-in user acting inside one tenant."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    modules: frozenset[str] | None = None  # None: every module is enabled
    session_id: uuid.UUID | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    def has(self, permission: str) -> bool:
        """Whether the role table grants this permission."""
        return permission in self.permissions

    def require(self, permission: str) -> None:
        """Raise 403 unless the role table grants this permission."""
        if permission not in self.permissions:
            raise Forbidden(f"Your role may not {permission}", code="permission_denied")


# The user id of work nobody signed in to do (queues, webhooks, timers, customer pages); no user has it.
SYSTEM_USER_ID = uuid.UUID(int=0)


def system_principal(tenant_id: uuid.UUID, *, permissions: frozenset[str] = frozenset()) -> Principal:
    """The platform acting for a business without a user, with just the permissions the job needs."""
    return Principal(user_id=SYSTEM_USER_ID, tenant_id=tenant_id, role="system", permissions=permissions)


# Opens the request's own transaction (not yet bound to a tenant) and returns its session.
SessionOpener = Callable[[], "Session"]
Authenticator = Callable[[Any, SessionOpener | None], Principal]
_authenticator: Authenticator | None = None


def register_authenticator(authenticator: Authenticator) -> None:
    """Install the function that turns a request's credentials into a Principal (the identity module)."""
    global _authenticator
    _authenticator = authenticator


def authenticate(request: Any, *, open_session: SessionOpener | None = None) -> Principal:
    """The caller's principal, or 401 when nobody can vouch for the credentials.

    With open_session the authenticator checks the sign-in on the request's own transaction (opened only once
    the credentials themselves are valid) and binds it to the caller's tenant; without, on a connection of its own.
    """
    if _authenticator is None:
        raise Unauthorized("Sign-in is not available", code="no_authenticator")
    return _authenticator(request, open_session)


def authorize(principal: Principal, *, permission: str | None, feature: str | None) -> None:
    """403 when the tenant has switched the module off or the role lacks the permission."""
    if feature and principal.modules is not None and feature not in principal.modules:
        raise Forbidden(f"The {feature} module is not enabled for this business", code="module_disabled")
    if permission:
        principal.require(permission)
