"""Bids triggers: projects, plan uploads, the analysis orchestration and its activities, the review."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import azure.durable_functions as df

from blueprints.bids import orchestration, schemas
from blueprints.bids.durable_http import client, durable_route
from shared import lazy
from shared.etag import if_match, with_etag
from shared.http import Response, Router, UserRequest, problem_response
from shared.pagination import PageQuery
from shared.providers.anthropic_vision import VisionError

if TYPE_CHECKING:
    from blueprints.bids import analysis, pdfcheck, service
    from shared.db import session_scope
else:  # loaded on first use (shared/lazy.py): indexing needs only the schemas and the orchestrator
    analysis = lazy.module("blueprints.bids.analysis")
    pdfcheck = lazy.module("blueprints.bids.pdfcheck")
    service = lazy.module("blueprints.bids.service")
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


@bp.activity_trigger(input_name="job", activity=orchestration.START)
def bids_start_analysis(job: dict[str, Any]) -> dict[str, Any]:
    """Move the document to analyzing."""
    ids = _ids(job)
    with session_scope(tenant_id=ids["tenant_id"]) as session:
        return analysis.start(session=session, document_id=ids["document_id"])


@bp.activity_trigger(input_name="job", activity=orchestration.ANALYZE_PAGE)
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


@bp.activity_trigger(input_name="job", activity=orchestration.RECORD_FAILED_PAGE)
def bids_record_failed_page(job: dict[str, Any]) -> dict[str, Any]:
    """Record a page that failed after its retries."""
    ids = _ids(job)
    with session_scope(tenant_id=ids["tenant_id"]) as session:
        return analysis.record_failed_page(session=session, **ids, page=int(job["page"]), error=str(job.get("error")))


@bp.activity_trigger(input_name="job", activity=orchestration.FINISH)
def bids_finish_analysis(job: dict[str, Any]) -> dict[str, Any]:
    """Merge the pages into the takeoff, then drop this worker's local copy of the PDF."""
    ids = _ids(job)
    with session_scope(tenant_id=ids["tenant_id"]) as session:
        summary = analysis.finish(session=session, **ids)
    if job.get("blob_name"):
        pdfcheck.forget(job["blob_name"])
    return summary


@bp.activity_trigger(input_name="job", activity=orchestration.FAIL)
def bids_fail_analysis(job: dict[str, Any]) -> dict[str, Any]:
    """Mark the analysis failed."""
    ids = _ids(job)
    with session_scope(tenant_id=ids["tenant_id"]) as session:
        return analysis.fail(session=session, document_id=ids["document_id"], error=str(job.get("error", "")))
