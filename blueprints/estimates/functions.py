"""Estimates triggers: the rate book, estimates with rooms, options, add-ons and shares, sending, the PDF,
the customer's proposal page, estimator notices and the daily follow-ups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import azure.durable_functions as df
from pydantic import BaseModel, Field, RootModel

from blueprints.estimates import photo_schemas, schemas, voice_schemas
from shared import customer_pages, html, lazy
from shared.etag import if_match, with_etag
from shared.http import Request, Response, Router, UserRequest
from shared.triggers import Delivery, poison_queue, queue_handler, timer_handler

if TYPE_CHECKING:
    from blueprints.estimates import estimates as service
    from blueprints.estimates import (
        followups,
        media_pipeline,
        photos,
        previews,
        proposal,
        rate_book,
        sending,
        voice,
        voice_drafts,
    )
    from shared.jobs import for_each_tenant
else:  # loaded on first use (shared/lazy.py): indexing needs only the schemas
    service = lazy.module("blueprints.estimates.estimates")
    followups = lazy.module("blueprints.estimates.followups")
    proposal = lazy.module("blueprints.estimates.proposal")
    rate_book = lazy.module("blueprints.estimates.rate_book")
    sending = lazy.module("blueprints.estimates.sending")
    media_pipeline = lazy.module("blueprints.estimates.media_pipeline")
    photos = lazy.module("blueprints.estimates.photos")
    previews = lazy.module("blueprints.estimates.previews")
    voice = lazy.module("blueprints.estimates.voice")
    voice_drafts = lazy.module("blueprints.estimates.voice_drafts")
    for_each_tenant = lazy.function("shared.jobs", "for_each_tenant")

bp = df.Blueprint()
api = Router(bp, module="estimates", feature="estimates")
E = "v1/estimates/{estimate_id}"
HTML = html.CONTENT_TYPE
PAGE_ERRORS = {
    403: "Tampered or unusable link (HTML page)",
    404: "No such estimate (HTML page)",
    409: "The estimate was already answered (HTML page)",
    410: "Expired link, expired or updated estimate (HTML page)",
    422: "No option chosen or no name typed (HTML page)",
}


class RateBookQuery(BaseModel):
    """Which version to read (the current one when empty)."""

    version: int | None = Field(default=None, ge=0)


@api.get(
    "v1/estimates/rate-book",
    permission="rate_book.read",
    query=RateBookQuery,
    response=schemas.RateBookOut,
    summary="The business's rate book (current, or a version)",
)
def get_rate_book(req: UserRequest[None, RateBookQuery]) -> schemas.RateBookOut:
    """Read the rate book."""
    return rate_book.get_rate_book(**req.reads, version=req.query.version)


@api.put(
    "v1/estimates/rate-book",
    permission="rate_book.manage",
    body=schemas.RateBookBody,
    response=schemas.RateBookOut,
    summary="Save the rate book as a new version (sent estimates keep theirs)",
)
def save_rate_book(req: UserRequest[schemas.RateBookBody, None]) -> schemas.RateBookOut:
    """Save a new rate-book version."""
    return rate_book.save_rate_book(**req.writes, book=req.body)


@api.get(
    "v1/estimates",
    permission="estimates.read",
    query=schemas.EstimateQuery,
    response=schemas.EstimatePage,
    summary="Estimates the caller may see, newest change first",
)
def list_estimates(req: UserRequest[None, schemas.EstimateQuery]) -> schemas.EstimatePage:
    """List estimates."""
    return service.list_estimates(**req.reads, query=req.query)


@api.post(
    "v1/estimates",
    permission="estimates.write",
    body=schemas.EstimateIn,
    response=schemas.EstimateOut,
    summary="Start an estimate for a customer",
)
def create_estimate(req: UserRequest[schemas.EstimateIn, None]) -> Response:
    """Create an estimate."""
    out, version = service.create_estimate(**req.writes, estimate_in=req.body)
    return with_etag(out, version, status=201)


@api.get(E, permission="estimates.read", response=schemas.EstimateOut, summary="An estimate, priced, in one answer")
def get_estimate(req: UserRequest) -> Response:
    """Read an estimate."""
    out, version = service.get_estimate(**req.reads, estimate_id=req.uuid_param("estimate_id"))
    return with_etag(out, version)


@api.patch(
    E,
    permission="estimates.write",
    body=schemas.EstimatePatch,
    response=schemas.EstimateOut,
    summary="Change an estimate (If-Match); a sent one becomes a new draft revision",
)
def update_estimate(req: UserRequest[schemas.EstimatePatch, None]) -> Response:
    """Change an estimate."""
    estimate_id = req.uuid_param("estimate_id")
    expected = if_match(req)
    out, version = service.update_estimate(**req.writes, estimate_id=estimate_id, patch=req.body, expected=expected)
    return with_etag(out, version)


@api.delete(E, permission="estimates.write", summary="Delete an estimate (soft; its owner or an admin)")
def delete_estimate(req: UserRequest) -> None:
    """Soft-delete an estimate."""
    service.delete_estimate(**req.writes, estimate_id=req.uuid_param("estimate_id"))


@api.post(
    E + "/rooms",
    permission="estimates.write",
    body=schemas.RoomIn,
    response=schemas.EstimateOut,
    summary="Add a measured room; the estimate comes back priced",
)
def add_room(req: UserRequest[schemas.RoomIn, None]) -> Response:
    """Add a room."""
    out, version = service.add_room(**req.writes, estimate_id=req.uuid_param("estimate_id"), room_in=req.body)
    return with_etag(out, version, status=201)


@api.patch(
    E + "/rooms/{room_id}",
    permission="estimates.write",
    body=schemas.RoomPatch,
    response=schemas.EstimateOut,
    summary="Change a room (If-Match with the room's version)",
)
def update_room(req: UserRequest[schemas.RoomPatch, None]) -> Response:
    """Change a room."""
    estimate_id, room_id = req.uuid_param("estimate_id"), req.uuid_param("room_id")
    expected = if_match(req)
    out, version = service.update_room(
        **req.writes, estimate_id=estimate_id, room_id=room_id, patch=req.body, expected=expected
    )
    return with_etag(out, version)


@api.delete(E + "/rooms/{room_id}", permission="estimates.write", summary="Remove a room")
def delete_room(req: UserRequest) -> None:
    """Remove a room."""
    service.delete_room(**req.writes, estimate_id=req.uuid_param("estimate_id"), room_id=req.uuid_param("room_id"))


@api.post(
    E + "/options",
    permission="estimates.write",
    body=schemas.OptionIn,
    response=schemas.EstimateOut,
    summary="Add an option (at most four)",
)
def add_option(req: UserRequest[schemas.OptionIn, None]) -> Response:
    """Add an option."""
    out, version = service.add_option(**req.writes, estimate_id=req.uuid_param("estimate_id"), option_in=req.body)
    return with_etag(out, version, status=201)


@api.delete(E + "/options/{option_id}", permission="estimates.write", summary="Remove an option and its own rooms")
def delete_option(req: UserRequest) -> None:
    """Remove an option."""
    service.delete_option(
        **req.writes, estimate_id=req.uuid_param("estimate_id"), option_id=req.uuid_param("option_id")
    )


@api.post(
    E + "/addons",
    permission="estimates.write",
    body=schemas.AddonIn,
    response=schemas.EstimateOut,
    summary="Add an optional extra",
)
def add_addon(req: UserRequest[schemas.AddonIn, None]) -> Response:
    """Add an add-on."""
    out, version = service.add_addon(**req.writes, estimate_id=req.uuid_param("estimate_id"), addon_in=req.body)
    return with_etag(out, version, status=201)


@api.delete(E + "/addons/{addon_id}", permission="estimates.write", summary="Remove an add-on")
def delete_addon(req: UserRequest) -> None:
    """Remove an add-on."""
    service.delete_addon(**req.writes, estimate_id=req.uuid_param("estimate_id"), addon_id=req.uuid_param("addon_id"))


@api.post(
    E + "/shares",
    permission="estimates.share",
    body=schemas.ShareIn,
    response=schemas.EstimateOut,
    summary="Share an estimate with a peer (owner or admin); its customer becomes visible to them",
)
def share_estimate(req: UserRequest[schemas.ShareIn, None]) -> Response:
    """Share an estimate."""
    out, version = service.share_estimate(**req.writes, estimate_id=req.uuid_param("estimate_id"), share_in=req.body)
    return with_etag(out, version, status=201)


@api.delete(E + "/shares/{user_id}", permission="estimates.share", summary="Stop sharing an estimate with a peer")
def unshare_estimate(req: UserRequest) -> None:
    """Stop sharing an estimate."""
    service.unshare_estimate(**req.writes, estimate_id=req.uuid_param("estimate_id"), user_id=req.uuid_param("user_id"))


@api.post(
    E + "/send",
    permission="estimates.send",
    status=200,
    body=schemas.SendIn,
    response=schemas.SendOut,
    responses={409: "Only a draft is sent (change a sent estimate to make a new revision)"},
    summary="Freeze the revision, store its PDF and text or email the customer the signed link",
)
def send_estimate(req: UserRequest[schemas.SendIn, None]) -> schemas.SendOut:
    """Send an estimate."""
    return sending.send_estimate(**req.writes, estimate_id=req.uuid_param("estimate_id"), send_in=req.body)


@api.get(
    E + "/pdf",
    permission="estimates.read",
    response=schemas.PdfLink,
    responses={404: "Not sent yet"},
    summary="A short-lived link to the newest sent revision's PDF (the signed copy once accepted)",
)
def estimate_pdf(req: UserRequest) -> schemas.PdfLink:
    """Link the proposal PDF."""
    return sending.pdf_link(**req.reads, estimate_id=req.uuid_param("estimate_id"))


# --- the customer's side: signed links, no sign-in ------------------------------------------------------

PROPOSAL = "v1/estimate-proposals/{token}"


class ProposalForm(RootModel[dict[str, str]]):
    """The customer's form: decision (accept | decline), option, addon-<id>=on, name, reason."""


_refused = customer_pages.notice("Estimate not available")


@api.get(
    PROPOSAL,
    auth="anonymous",
    content_type=HTML,
    responses=PAGE_ERRORS,
    summary="The customer's proposal page (signed link; HTML, no JavaScript)",
)
def proposal_page(req: Request[None, None]) -> Response:
    """Show the proposal."""
    token, action = customer_pages.token_of(req), customer_pages.token_path(req, PROPOSAL)
    return customer_pages.page(
        lambda: proposal.render_for_customer(session=req.session, token=token, action=action), _refused
    )


@api.post(
    PROPOSAL,
    auth="anonymous",
    status=303,
    body=ProposalForm,
    body_format="form",
    max_body_bytes=16_384,
    content_type=HTML,
    responses=PAGE_ERRORS,
    summary="The customer accepts (option, add-ons, typed name) or declines",
)
def proposal_answer(req: Request[ProposalForm, None]) -> Response:
    """Take the customer's answer, then show the page again."""
    token, form = customer_pages.token_of(req), req.body.root
    return customer_pages.answered(
        lambda: proposal.answer(
            session=req.session, token=token, form=form, ip=req.client_ip, user_agent=req.user_agent
        ),
        _refused,
        customer_pages.token_path(req, PROPOSAL),
    )


@api.get(
    "v1/estimate-documents/{token}",
    auth="anonymous",
    content_type="application/pdf",
    responses={403: "Tampered link", 404: "No such document", 410: "Expired link"},
    summary="A proposal PDF behind a signed link (the signed copy once accepted)",
)
def estimate_document(req: Request[None, None]) -> Response:
    """Serve a proposal PDF."""
    return customer_pages.pdf(*proposal.document_for_customer(session=req.session, token=customer_pages.token_of(req)))


# --- estimator notices and the daily follow-ups ----------------------------------------------------------


@queue_handler(bp, queue=schemas.FOLLOW_UP_QUEUE, model=schemas.NoticeTask, name="estimates_notice")
def estimate_notice(task: schemas.NoticeTask, delivery: Delivery) -> str:
    """Email the estimator one notice (acceptance or follow-up reminder)."""
    return followups.deliver_notice(task)


@queue_handler(
    bp, queue=poison_queue(schemas.FOLLOW_UP_QUEUE), model=schemas.NoticeTask, name="estimates_notice_poison"
)
def estimate_notice_poison(task: schemas.NoticeTask, delivery: Delivery) -> str:
    """A notice the queue gave up on: mark it failed."""
    followups.give_up(task)
    return "failed"


@timer_handler(bp, schedule="0 0 14 * * *", name="estimates_follow_ups")
def estimate_follow_ups() -> str:
    """Every day (UTC): expire overdue estimates and queue the estimators' follow-up reminders."""
    run = for_each_tenant(
        lambda session, tenant_id: followups.follow_up(session=session, tenant_id=tenant_id),
        name="estimates_follow_ups",
    )
    return f"{run.total()} expired or reminded; {len(run.failed)} businesses failed"


# --- photos and colour previews (issue 14) ---------------------------------------------------------------

PHOTO = E + "/photos/{photo_id}"
PREVIEW = PHOTO + "/previews/{preview_id}"


@api.post(
    E + "/photos/uploads",
    permission="estimates.write",
    body=photo_schemas.PhotoUploadIn,
    response=photo_schemas.PhotoUploadOut,
    summary="A photo: PUT it to upload_url (write-only, 15 min; JPEG, PNG, HEIC/HEIF or WebP up to 25 MB), then commit",
)
def create_photo_upload(req: UserRequest[photo_schemas.PhotoUploadIn, None]) -> photo_schemas.PhotoUploadOut:
    """Issue a photo upload."""
    return photos.create_upload(**req.writes, estimate_id=req.uuid_param("estimate_id"), upload_in=req.body)


@api.post(
    PHOTO + "/commit",
    permission="estimates.write",
    status=200,
    body=photo_schemas.PhotoCommitIn,
    response=photo_schemas.PhotoOut,
    responses={
        403: "The blob name was not issued for this photo",
        413: "Larger than 25 MB",
        422: "Nothing uploaded yet, or not a JPEG, PNG, HEIC/HEIF or WebP by its content",
    },
    summary="Check the uploaded photo (size, type by content), remove its location and queue its thumbnails",
)
def commit_photo(req: UserRequest[photo_schemas.PhotoCommitIn, None]) -> photo_schemas.PhotoOut:
    """Commit a photo upload."""
    return photos.commit_photo(
        **req.writes,
        estimate_id=req.uuid_param("estimate_id"),
        photo_id=req.uuid_param("photo_id"),
        commit_in=req.body,
    )


@api.get(
    E + "/photos",
    permission="estimates.read",
    response=photo_schemas.PhotoList,
    summary="An estimate's photos in their order, with short-lived read URLs",
)
def list_photos(req: UserRequest) -> photo_schemas.PhotoList:
    """List an estimate's photos."""
    return photos.list_photos(**req.reads, estimate_id=req.uuid_param("estimate_id"))


@api.get(PHOTO, permission="estimates.read", response=photo_schemas.PhotoOut, summary="A photo and its thumbnails")
def get_photo(req: UserRequest) -> Response:
    """Read a photo."""
    out, version = photos.get_photo(
        **req.reads, estimate_id=req.uuid_param("estimate_id"), photo_id=req.uuid_param("photo_id")
    )
    return with_etag(out, version)


@api.patch(
    PHOTO,
    permission="estimates.write",
    body=photo_schemas.PhotoPatch,
    response=photo_schemas.PhotoOut,
    summary="Change a photo's caption, room, order or whether it is in the proposal (If-Match)",
)
def update_photo(req: UserRequest[photo_schemas.PhotoPatch, None]) -> Response:
    """Change a photo."""
    expected = if_match(req)
    out, version = photos.update_photo(
        **req.writes,
        estimate_id=req.uuid_param("estimate_id"),
        photo_id=req.uuid_param("photo_id"),
        patch=req.body,
        expected=expected,
    )
    return with_etag(out, version)


@api.delete(PHOTO, permission="estimates.write", summary="Delete a photo (soft)")
def delete_photo(req: UserRequest) -> None:
    """Soft-delete a photo."""
    photos.delete_photo(**req.writes, estimate_id=req.uuid_param("estimate_id"), photo_id=req.uuid_param("photo_id"))


@api.post(
    PHOTO + "/previews",
    permission="estimates.preview",
    status=202,
    body=photo_schemas.PreviewIn,
    response=photo_schemas.PreviewOut,
    responses={429: "The business's daily preview cap is reached (Retry-After)"},
    summary="Queue an AI colour preview of the photo (the same colour, surfaces and finish answer the same preview)",
)
def request_preview(req: UserRequest[photo_schemas.PreviewIn, None]) -> photo_schemas.PreviewOut:
    """Ask for a colour preview."""
    return previews.request_preview(
        **req.writes,
        estimate_id=req.uuid_param("estimate_id"),
        photo_id=req.uuid_param("photo_id"),
        preview_in=req.body,
    )


@api.get(
    PHOTO + "/previews",
    permission="estimates.read",
    response=photo_schemas.PreviewList,
    summary="A photo's colour previews, newest first",
)
def list_previews(req: UserRequest) -> photo_schemas.PreviewList:
    """List a photo's previews."""
    return previews.list_previews(
        **req.reads, estimate_id=req.uuid_param("estimate_id"), photo_id=req.uuid_param("photo_id")
    )


@api.get(
    PREVIEW,
    permission="estimates.read",
    response=photo_schemas.PreviewOut,
    summary="A colour preview: status, read URL, colour, model and cost units (labelled AI visualisation)",
)
def get_preview(req: UserRequest) -> Response:
    """Read a preview."""
    out, version = previews.get_preview(
        **req.reads,
        estimate_id=req.uuid_param("estimate_id"),
        photo_id=req.uuid_param("photo_id"),
        preview_id=req.uuid_param("preview_id"),
    )
    return with_etag(out, version)


@api.patch(
    PREVIEW,
    permission="estimates.write",
    body=photo_schemas.PreviewPatch,
    response=photo_schemas.PreviewOut,
    summary="Put a ready colour preview into the proposal or take it out (If-Match)",
)
def update_preview(req: UserRequest[photo_schemas.PreviewPatch, None]) -> Response:
    """Change a preview."""
    expected = if_match(req)
    out, version = previews.update_preview(
        **req.writes,
        estimate_id=req.uuid_param("estimate_id"),
        photo_id=req.uuid_param("photo_id"),
        preview_id=req.uuid_param("preview_id"),
        patch=req.body,
        expected=expected,
    )
    return with_etag(out, version)


@queue_handler(bp, queue=photo_schemas.THUMBNAIL_QUEUE, model=photo_schemas.ThumbnailTask, name="estimates_thumbnails")
def estimate_thumbnails(task: photo_schemas.ThumbnailTask, delivery: Delivery) -> str:
    """Make a committed photo's 320 px and 1280 px WebP thumbnails."""
    return media_pipeline.make_thumbnails(task)


@queue_handler(
    bp,
    queue=poison_queue(photo_schemas.THUMBNAIL_QUEUE),
    model=photo_schemas.ThumbnailTask,
    name="estimates_thumbnails_poison",
)
def estimate_thumbnails_poison(task: photo_schemas.ThumbnailTask, delivery: Delivery) -> str:
    """Thumbnails the queue gave up on: the photo says they failed."""
    return media_pipeline.give_up_thumbnails(task)


@queue_handler(bp, queue=photo_schemas.PREVIEW_QUEUE, model=photo_schemas.PreviewTask, name="estimates_preview")
def estimate_preview(task: photo_schemas.PreviewTask, delivery: Delivery) -> str:
    """Make one colour preview (Gemini, or the local recolouring without a key)."""
    return media_pipeline.make_preview(task)


@queue_handler(
    bp,
    queue=poison_queue(photo_schemas.PREVIEW_QUEUE),
    model=photo_schemas.PreviewTask,
    name="estimates_preview_poison",
)
def estimate_preview_poison(task: photo_schemas.PreviewTask, delivery: Delivery) -> str:
    """A preview the queue gave up on: it is failed unless it was made."""
    return media_pipeline.give_up_preview(task)


# --- estimates by voice (the ElevenLabs agent): sessions, server tools, the post-call webhook, draft rooms ----
# (voice.py, voice_drafts.py; models at the end of models.py)

DRAFT = E + "/drafts/{draft_id}"


@api.post(
    E + "/voice-sessions",
    permission="estimates.write",
    response=voice_schemas.VoiceSessionOut,
    responses={502: "The voice agent refused", 503: "The voice agent is busy or not configured"},
    summary="Open a voice conversation for an estimate: the signed URL (15 min) and its dynamic variables",
)
def start_voice_session(req: UserRequest) -> voice_schemas.VoiceSessionOut:
    """Start a voice session."""
    return voice.start_voice_session(**req.writes, estimate_id=req.uuid_param("estimate_id"))


@api.get(
    E + "/drafts",
    permission="estimates.read",
    query=voice_schemas.DraftQuery,
    response=voice_schemas.DraftPage,
    summary="Draft rooms the voice agent heard, oldest first, each with the words it came from",
)
def list_drafts(req: UserRequest[None, voice_schemas.DraftQuery]) -> voice_schemas.DraftPage:
    """List draft rooms."""
    return voice_drafts.list_drafts(**req.reads, estimate_id=req.uuid_param("estimate_id"), query=req.query)


@api.post(
    DRAFT + "/confirm",
    permission="estimates.write",
    status=200,
    body=voice_schemas.DraftConfirmIn,
    response=voice_schemas.DraftConfirmed,
    responses={409: "The draft was already confirmed or rejected"},
    summary="Confirm a draft room (with corrections): it becomes a room, priced by the rate book",
)
def confirm_draft(req: UserRequest[voice_schemas.DraftConfirmIn, None]) -> voice_schemas.DraftConfirmed:
    """Confirm a draft room."""
    return voice_drafts.confirm_draft(
        **req.writes,
        estimate_id=req.uuid_param("estimate_id"),
        draft_id=req.uuid_param("draft_id"),
        corrections=req.body,
    )


@api.post(
    DRAFT + "/reject",
    permission="estimates.write",
    status=200,
    body=voice_schemas.DraftRejectIn,
    response=voice_schemas.DraftOut,
    responses={409: "The draft was already confirmed or rejected"},
    summary="Reject a draft room (it never becomes a room)",
)
def reject_draft(req: UserRequest[voice_schemas.DraftRejectIn, None]) -> voice_schemas.DraftOut:
    """Reject a draft room."""
    return voice_drafts.reject_draft(
        **req.writes,
        estimate_id=req.uuid_param("estimate_id"),
        draft_id=req.uuid_param("draft_id"),
        rejection=req.body,
    )


def _tool_secret(req: Request[Any, Any]) -> None:
    """403 unless the call carries the secret header configured on the agent's tools."""
    voice.check_tool_secret(req.headers.get(voice.TOOL_SECRET_HEADER))


@api.post(
    "webhooks/elevenlabs/tools/{tool}",
    auth="webhook",
    verify=_tool_secret,
    status=200,
    response=voice_schemas.ToolAnswer,
    max_body_bytes=16_384,
    responses={
        403: "No tool secret",
        404: "No such tool",
        409: "The session belongs to another conversation",
        422: "Invalid call, or no voice session we issued",
    },
    summary="The voice agent's server tools (add_room, set_surface, list_rooms): draft rooms with provenance",
)
def voice_tool(req: Request[None, None]) -> voice_schemas.ToolAnswer:
    """Run a server tool."""
    return voice.call_tool(session=req.session, tool=req.route_params.get("tool", ""), raw=req.raw.get_body())


def _signed_by_elevenlabs(req: Request[Any, Any]) -> int:
    """The signed timestamp of a post-call webhook ElevenLabs signed (403 otherwise)."""
    return voice.verify_signature(header=req.headers.get("elevenlabs-signature"), body=req.raw.get_body() or b"")


@api.post(
    "webhooks/elevenlabs/post-call",
    auth="webhook",
    verify=_signed_by_elevenlabs,
    status=200,
    response=voice_schemas.PostCallAck,
    max_body_bytes=4_194_304,
    responses={
        403: "Unsigned, forged, tampered or stale",
        409: "The session belongs to another conversation",
        422: "No voice session we issued",
    },
    summary="ElevenLabs' post-call webhook (signed): stored once per conversation and queued for draft rooms",
)
def voice_post_call(req: Request[None, None]) -> voice_schemas.PostCallAck:
    """Take a post-call webhook."""
    return voice.receive_post_call(session=req.session, body=req.raw.get_body() or b"")


@queue_handler(
    bp, queue=voice_schemas.VOICE_CALLS_QUEUE, model=voice_schemas.VoiceCallTask, name="estimates_voice_call"
)
def estimate_voice_call(task: voice_schemas.VoiceCallTask, delivery: Delivery) -> str:
    """Turn one post-call webhook into draft rooms, once."""
    return voice_drafts.process_call(task)


@queue_handler(
    bp,
    queue=poison_queue(voice_schemas.VOICE_CALLS_QUEUE),
    model=voice_schemas.VoiceCallTask,
    name="estimates_voice_call_poison",
)
def estimate_voice_call_poison(task: voice_schemas.VoiceCallTask, delivery: Delivery) -> str:
    """A post-call webhook the queue gave up on: mark it failed."""
    return voice_drafts.give_up_call(task)
