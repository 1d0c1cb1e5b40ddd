"""Projects and their plan documents: upload straight to Blob by a write SAS, then a commit that checks the file
and queues the analysis. A refused commit (not a PDF, too big, encrypted, malformed, no pages) deletes the
document and its blob, so nothing half-made remains.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.bids import pdfcheck
from blueprints.bids.models import BidDocument, BidProject
from blueprints.bids.schemas import (
    CommitIn,
    DocumentIn,
    DocumentOut,
    ProjectIn,
    ProjectOut,
    ProjectPage,
    UploadOut,
)
from blueprints.bids.transitions import move
from blueprints.crm import service as crm
from shared import audit, clock, uploads
from shared.auth import Principal
from shared.config import get_settings
from shared.errors import AppError, Conflict, NotFound, Unprocessable
from shared.pagination import PageQuery, paginate

ORCHESTRATOR = "bids_analyze_document"


def project_or_raise(session: Session, tenant_id: uuid.UUID, project_id: uuid.UUID) -> BidProject:
    """A live project of this business, else 404."""
    project = session.scalar(
        select(BidProject).where(
            BidProject.tenant_id == tenant_id, BidProject.id == project_id, BidProject.deleted_at.is_(None)
        )
    )
    if project is None:
        raise NotFound("No such project")
    return project


def document_or_raise(
    session: Session, tenant_id: uuid.UUID, document_id: uuid.UUID, *, lock: bool = False
) -> BidDocument:
    """A document of this business, else 404."""
    stmt = select(BidDocument).where(BidDocument.tenant_id == tenant_id, BidDocument.id == document_id)
    document = session.scalar(stmt.with_for_update() if lock else stmt)
    if document is None:
        raise NotFound("No such document")
    return document


def create_project(*, session: Session, principal: Principal, project_in: ProjectIn, actor: audit.Actor) -> ProjectOut:
    """A new project for a customer of this business."""
    try:
        crm.get_customer(session=session, principal=principal, customer_id=project_in.customer_id)
    except NotFound:
        raise Unprocessable("customer_id names no customer of this business", code="unknown_customer") from None
    project = BidProject(id=uuid.uuid4(), tenant_id=principal.tenant_id, created_by=principal.user_id)
    project.customer_id, project.name, project.address = project_in.customer_id, project_in.name, project_in.address
    session.add(project)
    session.flush()
    out = ProjectOut.model_validate(project)
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.project_created",
        entity="bid_project",
        entity_id=project.id,
        after=audit.snapshot(out),
    )
    return out


def list_projects(*, session: Session, principal: Principal, query: PageQuery) -> ProjectPage:
    """The business's projects, newest first."""
    stmt = select(BidProject).where(BidProject.tenant_id == principal.tenant_id, BidProject.deleted_at.is_(None))
    rows, cursor = paginate(session, stmt, keys=[BidProject.created_at, BidProject.id], query=query, descending=True)
    return ProjectPage(items=[ProjectOut.model_validate(r) for r in rows], next_cursor=cursor)


def get_project(*, session: Session, principal: Principal, project_id: uuid.UUID) -> ProjectOut:
    """One project."""
    return ProjectOut.model_validate(project_or_raise(session, principal.tenant_id, project_id))


def list_documents(*, session: Session, principal: Principal, project_id: uuid.UUID) -> list[DocumentOut]:
    """A project's documents, oldest first."""
    project_or_raise(session, principal.tenant_id, project_id)
    rows = session.scalars(
        select(BidDocument)
        .where(BidDocument.tenant_id == principal.tenant_id, BidDocument.project_id == project_id)
        .order_by(BidDocument.created_at, BidDocument.id)
    )
    return [DocumentOut.model_validate(r) for r in rows]


def create_document(
    *, session: Session, principal: Principal, project_id: uuid.UUID, document_in: DocumentIn, actor: audit.Actor
) -> UploadOut:
    """A document awaiting its upload, and the write-only URL to PUT the PDF to."""
    project = project_or_raise(session, principal.tenant_id, project_id)
    ticket = uploads.issue(tenant_id=principal.tenant_id, area=f"bids/{project.id}", kind="pdf")
    document = BidDocument(
        id=uuid.uuid4(),
        tenant_id=principal.tenant_id,
        project_id=project.id,
        filename=document_in.filename,
        blob_name=ticket.blob_name,
        status="awaiting_upload",
        created_by=principal.user_id,
    )
    session.add(document)
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.document_created",
        entity="bid_document",
        entity_id=document.id,
    )
    return UploadOut(
        document=DocumentOut.model_validate(document),
        upload_url=ticket.url,
        upload_headers=ticket.headers,
        expires_at=ticket.expires_at,
        max_bytes=get_settings().bids_max_upload_bytes,
    )


@dataclass
class Commit:
    """A commit's outcome: the document and whether to start its analysis, or the error that refused it."""

    document: DocumentOut | None = None
    start: bool = False
    instance_id: str | None = None
    refused: AppError | None = None


def commit_document(
    *, session: Session, principal: Principal, document_id: uuid.UUID, commit_in: CommitIn, actor: audit.Actor
) -> Commit:
    """Check the uploaded file and queue its analysis; a refused file deletes the document and the blob."""
    document = document_or_raise(session, principal.tenant_id, document_id, lock=True)
    if document.status == "queued":  # a retried commit whose start did not happen: start it again
        return Commit(DocumentOut.model_validate(document), start=True, instance_id=document.instance_id)
    if document.status != "awaiting_upload":
        raise Conflict(f"The document is already {document.status}", code="document_committed")
    settings = get_settings()
    try:
        blob = uploads.commit(
            tenant_id=principal.tenant_id,
            blob_name=document.blob_name,
            kinds={"pdf"},
            max_bytes=settings.bids_max_upload_bytes,
        )
        path = pdfcheck.local_copy(blob.blob_name, size_bytes=blob.size_bytes)
        pages = pdfcheck.page_count(path, max_pages=settings.bids_max_pages)
    except AppError as error:
        if error.code == "upload_missing":
            raise
        _discard(session, principal, document, error, actor)
        return Commit(refused=error)
    document.status, document.size_bytes, document.page_count = move(document.status, "queued"), blob.size_bytes, pages
    document.vision_all = commit_in.vision_all
    document.instance_id = f"bids-{document.id}"
    document.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.document_committed",
        entity="bid_document",
        entity_id=document.id,
        after={"pages": pages, "size_bytes": blob.size_bytes},
    )
    return Commit(DocumentOut.model_validate(document), start=True, instance_id=document.instance_id)


def _discard(
    session: Session, principal: Principal, document: BidDocument, error: AppError, actor: audit.Actor
) -> None:
    uploads.delete(document.blob_name)
    pdfcheck.forget(document.blob_name)
    session.delete(document)
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.document_refused",
        entity="bid_document",
        entity_id=document.id,
        after={"code": error.code, "detail": error.detail},
    )


def orchestration_input(document: DocumentOut, tenant_id: uuid.UUID) -> dict[str, object]:
    """What the analysis orchestration starts with."""
    return {
        "tenant_id": str(tenant_id),
        "document_id": str(document.id),
        "pages_in_flight": get_settings().bids_pages_in_flight,
    }


def mark_cancelled(
    *, session: Session, principal: Principal, document_id: uuid.UUID, actor: audit.Actor
) -> tuple[DocumentOut, str | None]:
    """Mark a running analysis cancelled; the instance to terminate (None when nothing was running)."""
    document = document_or_raise(session, principal.tenant_id, document_id, lock=True)
    document.status, document.updated_at = move(document.status, "cancelled"), clock.now()  # 409 unless running
    session.flush()
    audit.record(
        session,
        tenant_id=principal.tenant_id,
        actor=actor,
        action="bids.analysis_cancelled",
        entity="bid_document",
        entity_id=document.id,
    )
    return DocumentOut.model_validate(document), document.instance_id


def get_document(*, session: Session, principal: Principal, document_id: uuid.UUID) -> BidDocument:
    """One document of this business (the trigger adds its progress)."""
    return document_or_raise(session, principal.tenant_id, document_id)
