"""The estimates module's public API: other modules import this file and schemas.py only.

The use cases live in focused files (rate_book, estimates, reading, sending, proposal, followups);
this file names the ones other modules, jobs and the triggers call.
"""

from __future__ import annotations

from blueprints.estimates.estimates import (
    add_addon,
    add_option,
    add_room,
    create_estimate,
    delete_addon,
    delete_estimate,
    delete_option,
    delete_room,
    get_estimate,
    list_estimates,
    share_estimate,
    unshare_estimate,
    update_estimate,
    update_room,
)
from blueprints.estimates.followups import follow_up
from blueprints.estimates.photos import commit_photo, create_upload, delete_photo, get_photo, list_photos, update_photo
from blueprints.estimates.previews import get_preview, list_previews, request_preview, update_preview
from blueprints.estimates.rate_book import get_rate_book, save_rate_book
from blueprints.estimates.sending import pdf_link, send_estimate
from blueprints.estimates.voice import start_voice_session
from blueprints.estimates.voice_drafts import confirm_draft, list_drafts, reject_draft

__all__ = [
    "add_addon",
    "add_option",
    "add_room",
    "commit_photo",
    "confirm_draft",
    "create_estimate",
    "create_upload",
    "delete_addon",
    "delete_estimate",
    "delete_option",
    "delete_photo",
    "delete_room",
    "follow_up",
    "get_estimate",
    "get_photo",
    "get_preview",
    "get_rate_book",
    "list_drafts",
    "list_estimates",
    "list_photos",
    "list_previews",
    "pdf_link",
    "reject_draft",
    "request_preview",
    "save_rate_book",
    "send_estimate",
    "share_estimate",
    "start_voice_session",
    "unshare_estimate",
    "update_estimate",
    "update_photo",
    "update_preview",
    "update_room",
]
