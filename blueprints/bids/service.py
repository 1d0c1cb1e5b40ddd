"""The bids module's public API: other modules import this file and schemas.py only.

The use cases live in projects.py (projects, uploads, commit), analysis.py (the orchestration's steps),
review.py (the person's review, takeoff, settings) and markedset.py; this file names them, and joins the
document reads and commands that talk to the orchestration (start, progress, terminate).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blueprints.bids import bidding, projects, proposal
from blueprints.bids.bid_orchestration import NOTICE_ORCHESTRATOR
from blueprints.bids.bid_orchestration import ORCHESTRATOR as GENERATE_BID
from blueprints.bids.bid_schemas import BidOut, SendBidIn
from blueprints.bids.bidding import create_bid, get_bid, list_bids, update_bid
from blueprints.bids.durable_http import DurableClient
from blueprints.bids.markedset import marked_set
from blueprints.bids.models import BidPage
from blueprints.bids.orchestration import ORCHESTRATOR
from blueprints.bids.price_book import get_price_book, save_price_book
from blueprints.bids.projects import create_document, create_project, get_project, list_documents, list_projects
from blueprints.bids.review import (
    add_fixture,
    bulk_confirm,
    get_fixture,
    get_settings_of,
    get_takeoff,
    list_fixtures,
    list_reviews,
    put_settings,
    review,
    update_fixture,
)
from blueprints.bids.schemas import CommitIn, DocumentOut, Progress
from blueprints.bids.transitions import RUNNING
from shared import audit
from shared.auth import Principal
from shared.db import on_commit
from shared.errors import AppError

__all__ = [
    "add_fixture",
    "answer_proposal",
    "bulk_confirm",
    "cancel_analysis",
    "commit_document",
    "create_bid",
    "create_document",
    "create_project",
    "get_bid",
    "get_document",
    "get_fixture",
    "get_price_book",
    "get_project",
    "get_settings_of",
    "get_takeoff",
    "list_bids",
    "list_documents",
    "list_fixtures",
    "list_projects",
    "list_reviews",
    "marked_set",
    "put_settings",
    "review",
    "save_price_book",
    "send_bid",
    "update_bid",
    "update_fixture",
]


def commit_document(
    *,
    session: Session,
    principal: Principal,
    document_id: uuid.UUID,
    commit_in: CommitIn,
    actor: audit.Actor,
    durable: DurableClient | None,
) -> DocumentOut | AppError:
    """Check the upload and start its analysis once the commit is durable; the refusal when the file is refused."""
    outcome = projects.commit_document(
        session=session, principal=principal, document_id=document_id, commit_in=commit_in, actor=actor
    )
    if outcome.refused is not None:
        return outcome.refused
    assert outcome.document is not None and outcome.instance_id is not None
    if outcome.start and durable is not None:
        payload = projects.orchestration_input(outcome.document, principal.tenant_id)
        instance_id = outcome.instance_id

        def start() -> None:
            durable.start(ORCHESTRATOR, instance_id, payload)

        on_commit(session, start)
    return outcome.document


def get_document(
    *, session: Session, principal: Principal, document_id: uuid.UUID, durable: DurableClient | None
) -> DocumentOut:
    """A document with its progress: the orchestration's custom status, else the pages recorded so far."""
    document = projects.get_document(session=session, principal=principal, document_id=document_id)
    out = DocumentOut.model_validate(document)
    custom: Any = None
    if durable is not None and document.instance_id and document.status in (*RUNNING, "analyzed"):
        _, custom = durable.custom_status(document.instance_id)
    if isinstance(custom, dict) and "stage" in custom:
        out.progress = Progress.model_validate({k: custom[k] for k in Progress.model_fields if k in custom})
    elif document.page_count:
        done = session.scalar(select(func.count()).select_from(BidPage).where(BidPage.document_id == document_id))
        out.progress = Progress(stage=document.status, pages_done=int(done or 0), pages_total=document.page_count)
    return out


def cancel_analysis(
    *, session: Session, principal: Principal, document_id: uuid.UUID, actor: audit.Actor, durable: DurableClient | None
) -> DocumentOut:
    """Cancel a running analysis: the document is marked cancelled and its orchestration terminated."""
    out, instance_id = projects.mark_cancelled(
        session=session, principal=principal, document_id=document_id, actor=actor
    )
    if instance_id and durable is not None:
        on_commit(session, lambda: durable.terminate(instance_id, "cancelled by a person"))
    return out


def send_bid(
    *,
    session: Session,
    principal: Principal,
    actor: audit.Actor,
    bid_id: uuid.UUID,
    send_in: SendBidIn,
    durable: DurableClient | None,
) -> BidOut:
    """Start the generation orchestration of a draft once the request commits (a second send while it runs: as is)."""
    out, payload = bidding.prepare_send(
        session=session, principal=principal, actor=actor, bid_id=bid_id, ttl_days=send_in.ttl_days
    )
    if payload is not None and durable is not None:
        instance_id = f"bid-{payload['bid_id']}-r{payload['revision']}"
        job = payload

        def start() -> None:
            durable.start(GENERATE_BID, instance_id, job)

        on_commit(session, start)
    return out


def answer_proposal(
    *,
    session: Session,
    token: str,
    form: dict[str, str],
    ip: str | None,
    user_agent: str | None,
    durable: DurableClient | None,
) -> None:
    """Record the customer's answer; an acceptance starts the estimator's notice once it commits."""
    answered = proposal.answer(session=session, token=token, form=form, ip=ip, user_agent=user_agent)
    if answered.accepted and durable is not None:
        job = {"tenant_id": str(answered.tenant_id), "bid_id": str(answered.bid_id)}
        instance_id = f"bid-{answered.bid_id}-accepted"

        def start() -> None:
            durable.start(NOTICE_ORCHESTRATOR, instance_id, job)

        on_commit(session, start)
