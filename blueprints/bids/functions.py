"""Bids triggers: projects, plan uploads, the analysis orchestration and its activities, the review."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import azure.durable_functions as df
from pydantic import RootModel

from blueprints.bids import bid_orchestration, bid_schemas, orchestration, schemas
from blueprints.bids.durable_http import client, durable_route
from shared import customer_pages, html, lazy
from shared.etag import if_match, with_etag
from shared.http import Request, Response, Router, UserRequest, problem_response
from shared.pagination import PageQuery
from shared.providers.anthropic_vision import VisionError
from shared.triggers import activity, timer_handler

if TYPE_CHECKING:
    from blueprints.bids import analysis, bid_generation, bid_notices, bidding, pdfcheck, proposal, service
    from shared.db import session_scope
    from shared.jobs import for_each_tenant
else:  # loaded on first use (shared/lazy.py): indexing needs only the schemas and the orchestrator
    analysis = lazy.module("blueprints.bids.analysis")
    pdfcheck = lazy.module("blueprints.bids.pdfcheck")
    service = lazy.module("blueprints.bids.service")
    bid_generation = lazy.module("blueprints.bids.bid_generation")
    bid_notices = lazy.module("blueprints.bids.bid_notices")
    bidding = lazy.module("blueprints.bids.bidding")
    proposal = lazy.module("blueprints.bids.proposal")
    for_each_tenant = lazy.function("shared.jobs", "for_each_tenant")
    session_scope = lazy.function("shared.db", "session_scope")

bp = df.Blueprint()
api = Router(bp, module="bids", feature="bids")
DOCUMENT = "v1/bids/documents/{document_id}"


@api.get(
    "v1/bids/projects", permission="bids.read", query=PageQuery, response=schemas.ProjectPage, summary="Projects to bid"
)
def list_projects(req: UserRequest[None, PageQuery]) -> schemas.ProjectPage:
    """List projects."""
    return service.list_projects(**req.reads, query=req.query)


@api.post(
    "v1/bids/projects",
    permission="bids.write",
    body=schemas.ProjectIn,
    response=schemas.ProjectOut,
    summary="A new project",
)
def create_project(req: UserRequest[schemas.ProjectIn, None]) -> schemas.ProjectOut:
    """Create a project for a customer."""
    return service.create_project(**req.writes, project_in=req.body)


@api.get("v1/bids/projects/{project_id}", permission="bids.read", response=schemas.ProjectOut, summary="One project")
def get_project(req: UserRequest) -> schemas.ProjectOut:
    """Read a project."""
    return service.get_project(**req.reads, project_id=req.uuid_param("project_id"))


@api.get("v1/bids/projects/{project_id}/documents", permission="bids.read", summary="A project's plan documents")
def list_documents(req: UserRequest) -> dict[str, Any]:
    """List a project's documents."""
    return {"items": service.list_documents(**req.reads, project_id=req.uuid_param("project_id"))}


@api.post(
    "v1/bids/projects/{project_id}/documents",
    permission="bids.write",
    body=schemas.DocumentIn,
    response=schemas.UploadOut,
    summary="A plan document: PUT the PDF to upload_url (write-only, 15 min), then commit",
)
def create_document(req: UserRequest[schemas.DocumentIn, None]) -> schemas.UploadOut:
    """Create a document awaiting its upload."""
    return service.create_document(**req.writes, project_id=req.uuid_param("project_id"), document_in=req.body)


@durable_route(
    api,
    f"{DOCUMENT}/commit",
    methods=["POST"],
    permission="bids.write",
    status=202,
    body=schemas.CommitIn,
    response=schemas.DocumentOut,
    summary="Check the uploaded PDF (type, size, pages) and start its analysis; a refused file leaves nothing",
)
def commit_document(req: UserRequest[schemas.CommitIn, None]) -> Any:
    """Commit an upload and start the analysis orchestration."""
    outcome = service.commit_document(
        **req.writes, document_id=req.uuid_param("document_id"), commit_in=req.body, durable=client()
    )
    if isinstance(outcome, schemas.DocumentOut):
        return Response(outcome, status=202)
    return problem_response(outcome, request_id=req.request_id)  # refused: the deletion commits with the answer


@durable_route(
    api,
    DOCUMENT,
    methods=["GET"],
    permission="bids.read",
    response=schemas.DocumentOut,
    summary="A document and its analysis progress (pages done of total, stage)",
)
def get_document(req: UserRequest) -> schemas.DocumentOut:
    """Read a document with its progress."""
    return service.get_document(**req.reads, document_id=req.uuid_param("document_id"), durable=client())


@durable_route(
    api,
    f"{DOCUMENT}/cancel",
    methods=["POST"],
    permission="bids.write",
    status=200,
    idempotent=True,
    response=schemas.DocumentOut,
    summary="Cancel a running analysis (its orchestration is terminated)",
)
def cancel_analysis(req: UserRequest) -> schemas.DocumentOut:
    """Cancel an analysis."""
    return service.cancel_analysis(**req.writes, document_id=req.uuid_param("document_id"), durable=client())


@api.get(
    f"{DOCUMENT}/fixtures",
    permission="bids.read",
    query=schemas.FixtureQuery,
    response=schemas.FixturePage,
    summary="The document's fixtures, filtered by type, sheet, page, state and source",
)
def list_fixtures(req: UserRequest[None, schemas.FixtureQuery]) -> schemas.FixturePage:
    """List fixtures."""
    return service.list_fixtures(**req.reads, document_id=req.uuid_param("document_id"), query=req.query)


@api.post(
    f"{DOCUMENT}/fixtures",
    permission="bids.review",
    body=schemas.FixtureIn,
    response=schemas.FixtureOut,
    summary="Add a fixture the detectors missed",
)
def add_fixture(req: UserRequest[schemas.FixtureIn, None]) -> schemas.FixtureOut:
    """Add a fixture."""
    return service.add_fixture(**req.writes, document_id=req.uuid_param("document_id"), fixture_in=req.body)


@api.patch(
    f"{DOCUMENT}/fixtures/{{fixture_id}}",
    permission="bids.review",
    body=schemas.FixturePatch,
    response=schemas.FixtureOut,
    summary="Confirm, reject or edit a fixture (If-Match required)",
)
def update_fixture(req: UserRequest[schemas.FixturePatch, None]) -> Response:
    """Decide on a fixture."""
    expected = if_match(req)
    fixture = service.update_fixture(
        **req.writes,
        document_id=req.uuid_param("document_id"),
        fixture_id=req.uuid_param("fixture_id"),
        patch=req.body,
        expected=expected,
    )
    return with_etag(fixture, fixture.version)


@api.post(
    f"{DOCUMENT}/fixtures/confirm",
    permission="bids.review",
    status=200,
    body=schemas.BulkConfirmIn,
    response=schemas.BulkConfirmOut,
    summary="Confirm many fixtures at once",
)
def bulk_confirm(req: UserRequest[schemas.BulkConfirmIn, None]) -> schemas.BulkConfirmOut:
    """Confirm fixtures in bulk."""
    return service.bulk_confirm(**req.writes, document_id=req.uuid_param("document_id"), bulk=req.body)


@api.get(
    f"{DOCUMENT}/takeoff",
    permission="bids.read",
    response=schemas.TakeoffOut,
    summary="Counts by type and sheet, fixture units, the schedule and the list of things to check",
)
def get_takeoff(req: UserRequest) -> schemas.TakeoffOut:
    """Read the takeoff."""
    return service.get_takeoff(**req.reads, document_id=req.uuid_param("document_id"))


@api.post(
    f"{DOCUMENT}/takeoff/review",
    permission="bids.review",
    status=200,
    response=schemas.ReviewOut,
    summary="Freeze the takeoff as reviewed (a new version is kept)",
)
def review_takeoff(req: UserRequest) -> schemas.ReviewOut:
    """Mark the takeoff reviewed."""
    return service.review(**req.writes, document_id=req.uuid_param("document_id"))


@api.get(
    f"{DOCUMENT}/takeoff/reviews",
    permission="bids.read",
    response=schemas.ReviewPage,
    summary="Every reviewed (frozen) version of the takeoff, newest first",
)
def list_reviews(req: UserRequest) -> schemas.ReviewPage:
    """List the frozen versions."""
    return service.list_reviews(**req.reads, document_id=req.uuid_param("document_id"))


@api.get(
    f"{DOCUMENT}/marked-set",
    permission="bids.read",
    content_type="application/pdf",
    summary="The plan set with every counted fixture's box and tag drawn on it (PDF)",
)
def marked_set(req: UserRequest) -> Response:
    """Download the marked set."""
    data = service.marked_set(**req.reads, document_id=req.uuid_param("document_id"))
    disposition = {"Content-Disposition": f'attachment; filename="marked-{req.route_params["document_id"]}.pdf"'}
    return Response(data, content_type="application/pdf", headers=disposition)


@api.get("v1/bids/settings", permission="bids.read", response=schemas.SettingsOut, summary="Takeoff settings")
def get_settings(req: UserRequest) -> schemas.SettingsOut:
    """Read the business's takeoff settings."""
    return service.get_settings_of(**req.reads)


@api.put(
    "v1/bids/settings",
    permission="bids.settings",
    body=schemas.SettingsIn,
    response=schemas.SettingsOut,
    summary="Plumbing code for fixture units (IPC or UPC) and the confidence thresholds",
)
def put_settings(req: UserRequest[schemas.SettingsIn, None]) -> schemas.SettingsOut:
    """Change the business's takeoff settings."""
    return service.put_settings(**req.writes, settings_in=req.body)


# ---- the analysis orchestration and its activities --------------------------------------------------


@bp.orchestration_trigger(context_name="context", orchestration=orchestration.ORCHESTRATOR)
def bids_analyze_document(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Analyse a plan set page by page, then merge its takeoff."""
    return (yield from orchestration.analyze_document(context))


def _ids(job: dict[str, Any]) -> dict[str, uuid.UUID]:
    return {"tenant_id": uuid.UUID(job["tenant_id"]), "document_id": uuid.UUID(job["document_id"])}


@activity(bp, name=orchestration.START)
def bids_start_analysis(job: dict[str, Any]) -> dict[str, Any]:
    """Move the document to analyzing."""
    ids = _ids(job)
    with session_scope(tenant_id=ids["tenant_id"]) as session:
        return analysis.start(session=session, document_id=ids["document_id"])


@activity(bp, name=orchestration.ANALYZE_PAGE)
def bids_analyze_page(job: dict[str, Any]) -> dict[str, Any]:
    """Detect one page outside any transaction, then record it in a short one of its own.

    A vision refusal that retrying cannot fix (a spend limit) marks the page failed at once; anything else
    raises, and the activity's retry policy tries the page again.
    """
    ids, page = _ids(job), int(job["page"])
    try:
        result = analysis.detect_page(
            tenant_id=ids["tenant_id"],
            blob_name=job["blob_name"],
            size_bytes=job.get("size_bytes"),
            page=page,
            vision_all=bool(job.get("vision_all")),
        )
    except VisionError as error:
        if error.transient:
            raise
        with session_scope(tenant_id=ids["tenant_id"]) as session:
            return analysis.record_failed_page(session=session, **ids, page=page, error=f"vision: {error.code}")
    with session_scope(tenant_id=ids["tenant_id"]) as session:
        return analysis.record_page(session=session, **ids, result=result)


@activity(bp, name=orchestration.RECORD_FAILED_PAGE)
def bids_record_failed_page(job: dict[str, Any]) -> dict[str, Any]:
    """Record a page that failed after its retries."""
    ids = _ids(job)
    with session_scope(tenant_id=ids["tenant_id"]) as session:
        return analysis.record_failed_page(session=session, **ids, page=int(job["page"]), error=str(job.get("error")))


@activity(bp, name=orchestration.FINISH)
def bids_finish_analysis(job: dict[str, Any]) -> dict[str, Any]:
    """Merge the pages into the takeoff, then drop this worker's local copy of the PDF."""
    ids = _ids(job)
    with session_scope(tenant_id=ids["tenant_id"]) as session:
        summary = analysis.finish(session=session, **ids)
    if job.get("blob_name"):
        pdfcheck.forget(job["blob_name"])
    return summary


@activity(bp, name=orchestration.FAIL)
def bids_fail_analysis(job: dict[str, Any]) -> dict[str, Any]:
    """Mark the analysis failed."""
    ids = _ids(job)
    with session_scope(tenant_id=ids["tenant_id"]) as session:
        return analysis.fail(session=session, document_id=ids["document_id"], error=str(job.get("error", "")))


# ---- pricing: the price book, bids, the generation orchestration, the customer's proposal page ----------

BID = "v1/bids/{bid_id}"
HTML = html.CONTENT_TYPE
PDF_URL_TTL = timedelta(minutes=15)
PAGE_ERRORS = {
    403: "Tampered or unusable link (HTML page)",
    404: "No such bid (HTML page)",
    409: "The proposal was already answered (HTML page)",
    410: "Expired link, expired or updated proposal (HTML page)",
    422: "No name typed or no decision (HTML page)",
}


@api.get(
    "v1/bids/price-book",
    permission="bids.read",
    query=bid_schemas.PriceBookQuery,
    response=bid_schemas.PriceBookOut,
    summary="The plumbing price book (current version, or ?version=N)",
)
def get_price_book(req: UserRequest[None, bid_schemas.PriceBookQuery]) -> bid_schemas.PriceBookOut:
    """Read the price book."""
    return service.get_price_book(**req.reads, version=req.query.version)


@api.put(
    "v1/bids/price-book",
    permission="bids.settings",
    body=bid_schemas.PriceBookBody,
    response=bid_schemas.PriceBookOut,
    summary="Save the price book as a new version (assemblies, labour, pipe, permits, markups, margin, bond, tax)",
)
def save_price_book(req: UserRequest[bid_schemas.PriceBookBody, None]) -> bid_schemas.PriceBookOut:
    """Save a new price book version."""
    return service.save_price_book(**req.writes, book=req.body)


@api.get("v1/bids", permission="bids.read", query=bid_schemas.BidQuery, response=bid_schemas.BidPage, summary="Bids")
def list_bids(req: UserRequest[None, bid_schemas.BidQuery]) -> bid_schemas.BidPage:
    """List bids."""
    return service.list_bids(**req.reads, query=req.query)


@api.post(
    "v1/bids",
    permission="bids.write",
    status=201,
    body=bid_schemas.BidIn,
    response=bid_schemas.BidOut,
    responses={409: "The document's takeoff is not reviewed yet"},
    summary="A bid priced from a document's reviewed takeoff ({document_id}), or by hand",
)
def create_bid(req: UserRequest[bid_schemas.BidIn, None]) -> Response:
    """Create a bid."""
    bid = service.create_bid(**req.writes, bid_in=req.body)
    return with_etag(bid, bid.version, status=201)


@api.get(BID, permission="bids.read", response=bid_schemas.BidOut, summary="A bid, priced, with every step")
def get_bid(req: UserRequest) -> Response:
    """Read a bid."""
    bid = service.get_bid(**req.reads, bid_id=req.uuid_param("bid_id"))
    return with_etag(bid, bid.version)


@api.put(
    BID,
    permission="bids.write",
    body=bid_schemas.BidContent,
    response=bid_schemas.BidOut,
    responses={409: "Accepted, or being sent", 412: "Stale If-Match"},
    summary="Change a bid's content and price it again (a sent bid's change is a new revision)",
)
def update_bid(req: UserRequest[bid_schemas.BidContent, None]) -> Response:
    """Change a bid."""
    bid = service.update_bid(**req.writes, bid_id=req.uuid_param("bid_id"), content=req.body, expected=if_match(req))
    return with_etag(bid, bid.version)


@durable_route(
    api,
    f"{BID}/send",
    methods=["POST"],
    permission="bids.send",
    status=202,
    idempotent=True,
    body=bid_schemas.SendBidIn,
    response=bid_schemas.BidOut,
    responses={409: "Only a draft is sent"},
    summary="Price, render, store and email the proposal (the generation orchestration; sent when it is done)",
)
def send_bid(req: UserRequest[bid_schemas.SendBidIn, None]) -> Response:
    """Send a bid."""
    bid = service.send_bid(**req.writes, bid_id=req.uuid_param("bid_id"), send_in=req.body, durable=client())
    return Response(bid, status=202)


@api.get(
    f"{BID}/pdf",
    permission="bids.read",
    response=bid_schemas.BidPdfLink,
    responses={404: "Not sent yet"},
    summary="A short-lived link to the newest sent revision's PDF (the signed copy once accepted)",
)
def bid_pdf(req: UserRequest) -> bid_schemas.BidPdfLink:
    """Link the proposal PDF."""
    link = bid_generation.pdf_link(**req.reads, bid_id=req.uuid_param("bid_id"), ttl=PDF_URL_TTL)
    return bid_schemas.BidPdfLink.model_validate(link)


BID_PROPOSAL = "v1/bid-proposals/{token}"


class BidProposalForm(RootModel[dict[str, str]]):
    """The customer's form: decision (accept | decline), alternate-<id>=on, name, reason."""


_refused = customer_pages.notice("Proposal not available")


@api.get(
    BID_PROPOSAL,
    auth="anonymous",
    content_type=HTML,
    responses=PAGE_ERRORS,
    summary="The customer's bid proposal page (signed link; HTML, no JavaScript)",
)
def bid_proposal_page(req: Request[None, None]) -> Response:
    """Show the proposal."""
    token, action = customer_pages.token_of(req), customer_pages.token_path(req, BID_PROPOSAL)
    return customer_pages.page(
        lambda: proposal.render_for_customer(session=req.session, token=token, action=action), _refused
    )


@durable_route(
    api,
    BID_PROPOSAL,
    methods=["POST"],
    auth="anonymous",
    status=303,
    body=BidProposalForm,
    body_format="form",
    max_body_bytes=16_384,
    content_type=HTML,
    responses=PAGE_ERRORS,
    summary="The customer accepts the base bid with any alternates (typed name) or declines",
)
def bid_proposal_answer(req: Request[BidProposalForm, None]) -> Response:
    """Take the customer's answer, then show the page again."""
    token, form, durable = customer_pages.token_of(req), req.body.root, client()
    return customer_pages.answered(
        lambda: service.answer_proposal(
            session=req.session, token=token, form=form, ip=req.client_ip, user_agent=req.user_agent, durable=durable
        ),
        _refused,
        customer_pages.token_path(req, BID_PROPOSAL),
    )


@api.get(
    "v1/bid-documents/{token}",
    auth="anonymous",
    content_type="application/pdf",
    responses={403: "Tampered link", 404: "No such document", 410: "Expired link"},
    summary="A bid proposal PDF behind a signed link (the signed copy once accepted)",
)
def bid_document(req: Request[None, None]) -> Response:
    """Serve a proposal PDF."""
    return customer_pages.pdf(*proposal.document_for_customer(session=req.session, token=customer_pages.token_of(req)))


@bp.orchestration_trigger(context_name="context", orchestration=bid_orchestration.ORCHESTRATOR)
def bids_generate_bid(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Price, render, store, email and record one revision of a bid."""
    return (yield from bid_orchestration.generate_bid(context))


def _tenant(job: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(job["tenant_id"])


@activity(bp, name=bid_orchestration.FREEZE)
def bids_freeze_bid(job: dict[str, Any]) -> dict[str, Any]:
    """Price and freeze the revision as its proposal."""
    user_id = uuid.UUID(job["user_id"]) if job.get("user_id") else None
    with session_scope(tenant_id=_tenant(job)) as session:
        return bid_generation.freeze(
            session=session,
            tenant_id=_tenant(job),
            bid_id=uuid.UUID(job["bid_id"]),
            revision=int(job["revision"]),
            user_id=user_id,
        )


@activity(bp, name=bid_orchestration.RENDER)
def bids_render_bid(job: dict[str, Any]) -> dict[str, Any]:
    """Render and store the proposal PDF."""
    with session_scope(tenant_id=_tenant(job)) as session:
        return bid_generation.render(session=session, tenant_id=_tenant(job), revision_id=uuid.UUID(job["revision_id"]))


@activity(bp, name=bid_orchestration.EMAIL)
def bids_email_bid(job: dict[str, Any]) -> dict[str, Any]:
    """Email the customer the proposal's link (queued through messaging after this commits)."""
    with session_scope(tenant_id=_tenant(job)) as session:
        return bid_generation.email(
            session=session,
            tenant_id=_tenant(job),
            revision_id=uuid.UUID(job["revision_id"]),
            ttl_days=int(job.get("ttl_days", 7)),
        )


@activity(bp, name=bid_orchestration.RECORD)
def bids_record_bid(job: dict[str, Any]) -> dict[str, Any]:
    """Record the bid as sent with its email."""
    with session_scope(tenant_id=_tenant(job)) as session:
        return bid_generation.record(session=session, tenant_id=_tenant(job), revision_id=uuid.UUID(job["revision_id"]))


@activity(bp, name=bid_orchestration.FAIL)
def bids_fail_bid(job: dict[str, Any]) -> dict[str, Any]:
    """Let the draft be sent again after a failed generation."""
    with session_scope(tenant_id=_tenant(job)) as session:
        return bid_generation.fail(
            session=session,
            tenant_id=_tenant(job),
            bid_id=uuid.UUID(job["bid_id"]),
            revision=int(job["revision"]),
            error=str(job.get("error", "")),
        )


@bp.orchestration_trigger(context_name="context", orchestration=bid_orchestration.NOTICE_ORCHESTRATOR)
def bids_notify_acceptance(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Email the estimator that the customer accepted."""
    return (yield from bid_orchestration.notify_acceptance(context))


@activity(bp, name=bid_orchestration.NOTIFY)
def bids_notify_estimator(job: dict[str, Any]) -> dict[str, str]:
    """Claim, send outside any transaction, record (bid_notices)."""
    return bid_notices.notify_estimator(tenant_id=_tenant(job), bid_id=uuid.UUID(job["bid_id"]))


@timer_handler(bp, schedule="0 15 14 * * *", name="bids_expire")
def bids_expire() -> str:
    """Every day (UTC): mark open bids past their validity date expired (reads expire them too)."""
    run = for_each_tenant(
        lambda session, tenant_id: bidding.expire_due(session=session, tenant_id=tenant_id), name="bids_expire"
    )
    return f"{run.total()} bids expired; {len(run.failed)} businesses failed"
