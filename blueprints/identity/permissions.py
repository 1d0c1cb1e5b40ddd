"""The one table of who may do what: roles to named permissions. Later modules add their rows here.

Visibility rules that depend on the record (an estimator sees the customers they own or that were
shared with them) are expressed by permissions too: `customers.read_all` lifts the restriction.
"""

from __future__ import annotations

ROLES: tuple[str, ...] = ("owner", "admin", "estimator", "advisor", "tech", "accountant")
EVERYONE = frozenset(ROLES)
MANAGERS = frozenset({"owner", "admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    # identity
    "tenant.read": EVERYONE,
    "tenant.manage": MANAGERS,
    "users.read": MANAGERS,
    "users.manage": MANAGERS,
    "users.grant_owner": frozenset({"owner"}),
    "audit.read": MANAGERS,
    # crm: customers and their vehicles
    "customers.read": EVERYONE,
    "customers.read_all": frozenset({"owner", "admin", "advisor", "tech", "accountant"}),
    "customers.create": frozenset({"owner", "admin", "advisor", "estimator"}),
    "customers.update": frozenset({"owner", "admin", "advisor", "estimator"}),
    "customers.delete": frozenset({"owner", "admin", "advisor"}),
    "customers.share": frozenset({"owner", "admin", "advisor", "estimator"}),
    "vehicles.read": EVERYONE,
    "vehicles.write": frozenset({"owner", "admin", "advisor", "estimator"}),
    # messaging: customer SMS and email, templates, the consent ledger, sender settings
    "messages.read": EVERYONE,
    "messages.send": frozenset({"owner", "admin", "advisor", "estimator"}),
    "templates.manage": frozenset({"owner", "admin", "advisor"}),
    "consent.manage": frozenset({"owner", "admin", "advisor", "estimator"}),
    "messaging.settings": MANAGERS,
    # configurator: products (options, template, price rule), saved configurations, GLB render jobs
    "products.read": EVERYONE,
    "products.manage": MANAGERS,
    "configurations.read": EVERYONE,
    "configurations.write": frozenset({"owner", "admin", "advisor", "estimator"}),
    "render_jobs.create": frozenset({"owner", "admin", "advisor", "estimator"}),
    "render_jobs.read": EVERYONE,
    "render_jobs.cancel": frozenset({"owner", "admin", "advisor", "estimator"}),
    # shop: appointments, board, line items, payments, inspections, stats, exports (moves: shop/transitions.py)
    "appointments.read": frozenset({"owner", "admin", "advisor", "tech", "accountant"}),
    "appointments.write": frozenset({"owner", "admin", "advisor"}),
    "appointments.delete": frozenset({"owner", "admin", "advisor"}),
    "board.read": frozenset({"owner", "admin", "advisor", "tech", "accountant"}),
    "board.move": frozenset({"owner", "admin", "advisor", "tech"}),
    "appointment_services.write": frozenset({"owner", "admin", "advisor", "tech"}),
    "payments.read": frozenset({"owner", "admin", "advisor", "accountant"}),
    "payments.record": frozenset({"owner", "admin", "advisor", "accountant"}),
    "payments.void": frozenset({"owner", "admin", "advisor", "accountant"}),
    "inspections.read": frozenset({"owner", "admin", "advisor", "tech", "accountant"}),
    "inspections.write": frozenset({"owner", "admin", "advisor", "tech"}),
    "inspections.send": frozenset({"owner", "admin", "advisor"}),
    "inspection_templates.manage": frozenset({"owner", "admin", "advisor"}),
    "stats.read": frozenset({"owner", "admin", "advisor", "accountant"}),
    "exports.run": frozenset({"owner", "admin", "accountant"}),
    # estimates: painting estimates (estimators see their own and shared ones; read_all sees every one)
    "estimates.read": frozenset({"owner", "admin", "estimator"}),
    "estimates.read_all": MANAGERS,
    "estimates.write": frozenset({"owner", "admin", "estimator"}),
    "estimates.send": frozenset({"owner", "admin", "estimator"}),
    "estimates.share": frozenset({"owner", "admin", "estimator"}),
    "estimates.preview": frozenset({"owner", "admin", "estimator"}),  # AI colour previews (cost units, daily cap)
    "rate_book.read": frozenset({"owner", "admin", "estimator"}),
    "rate_book.manage": MANAGERS,
    # bids: projects, plan documents and their analysis, the fixture review, the business's takeoff settings
    "bids.read": frozenset({"owner", "admin", "estimator", "advisor", "accountant"}),
    "bids.write": frozenset({"owner", "admin", "estimator", "advisor"}),
    "bids.review": frozenset({"owner", "admin", "estimator"}),
    "bids.settings": MANAGERS,
    # bids pricing: estimators and managers send proposals (the price book is bids.settings)
    "bids.send": frozenset({"owner", "admin", "estimator"}),
    # pricebook: ServiceTitan connection, pulls, local edits and pushes, conflicts, the pricing inputs
    "pricebook.read": EVERYONE,
    "pricebook.connect": MANAGERS,
    "pricebook.sync": MANAGERS,
    "pricebook.edit": frozenset({"owner", "admin", "estimator"}),
    "pricebook.push": frozenset({"owner", "admin", "estimator"}),
    "pricing.read": frozenset({"owner", "admin", "estimator", "accountant"}),
    "pricing.manage": MANAGERS,
    # leads: the website form's and unknown texters' leads, their answers and figures; the intake settings
    "leads.read": frozenset({"owner", "admin", "estimator", "advisor"}),
    "leads.write": frozenset({"owner", "admin", "estimator", "advisor"}),
    "leads.settings": frozenset({"owner"}),
}


def permissions_of(role: str) -> frozenset[str]:
    """Every permission the role holds (empty for an unknown role)."""
    return frozenset(name for name, roles in PERMISSIONS.items() if role in roles)


ROLE_PERMISSIONS: dict[str, frozenset[str]] = {role: permissions_of(role) for role in ROLES}
