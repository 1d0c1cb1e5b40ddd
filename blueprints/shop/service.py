"""The shop module's public API: other modules import this file and schemas.py only.

The use cases live in focused files (appointments, board, drawer, line_items, payments, inspections,
stats, exports, texts); this file names the ones other modules and jobs may call.
"""

from __future__ import annotations

from blueprints.shop.appointments import create, delete, get, list_calendar, update
from blueprints.shop.board import get_board, move
from blueprints.shop.drawer import get_drawer
from blueprints.shop.payments import list_payments, record, void
from blueprints.shop.stats import get_stats
from blueprints.shop.texts import send_reminders

__all__ = [
    "create",
    "delete",
    "get",
    "get_board",
    "get_drawer",
    "get_stats",
    "list_calendar",
    "list_payments",
    "move",
    "record",
    "send_reminders",
    "update",
    "void",
]
