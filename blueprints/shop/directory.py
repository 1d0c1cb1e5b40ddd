"""The crm and identity read projections the shop joins in its hot reads (board, drawer, exports).

The board shows 200 cards with their customer, vehicle and technician in one statement, and the drawer
fetches them with the appointment in one statement; the owning modules' services publish these
read-only selectables for that, so the shop knows their public projection, never their tables.
"""

from __future__ import annotations

from blueprints.crm import service as crm_service
from blueprints.identity import service as identity_service

customers = crm_service.customer_projection()
vehicles = crm_service.vehicle_projection()
users = identity_service.user_projection()
