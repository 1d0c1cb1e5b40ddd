"""The pricebook module's public API: other modules import this file and schemas.py only.

The use cases live in focused files (connection, pull, browse, edits, push, conflicts, images, pricing);
this file names the ones triggers, jobs and other modules may call.
"""

from __future__ import annotations

from blueprints.pricebook.browse import get_item, list_categories, list_items
from blueprints.pricebook.conflicts import list_conflicts
from blueprints.pricebook.conflicts import resolve as resolve_conflict
from blueprints.pricebook.connection import delete_connection, get_connection, put_connection
from blueprints.pricebook.edits import create_item, update_item
from blueprints.pricebook.images import CACHE_CONTROL as IMAGE_CACHE_CONTROL
from blueprints.pricebook.images import get_image
from blueprints.pricebook.pricing import drift_report, get_pricing, put_pricing, suggested_price
from blueprints.pricebook.pull import begin as begin_pull
from blueprints.pricebook.pull import finish as finish_run
from blueprints.pricebook.pull import finish_kind, get_sync, nightly_run, pull_page, start_sync
from blueprints.pricebook.push import plan as plan_push
from blueprints.pricebook.push import push_item, push_new, start_push

__all__ = [
    "IMAGE_CACHE_CONTROL",
    "begin_pull",
    "create_item",
    "delete_connection",
    "drift_report",
    "finish_kind",
    "finish_run",
    "get_connection",
    "get_image",
    "get_item",
    "get_pricing",
    "get_sync",
    "list_categories",
    "list_conflicts",
    "list_items",
    "nightly_run",
    "plan_push",
    "pull_page",
    "push_item",
    "push_new",
    "put_connection",
    "put_pricing",
    "resolve_conflict",
    "start_push",
    "start_sync",
    "suggested_price",
    "update_item",
]
