"""The plumbing demo (`make seed`): a customer, a project and a small generated plan set (schedule sheet, two
plans, the architectural P-1 trap), uploaded and analysed in-process by the same steps the orchestration
runs; then a price book and a draft bid from the reviewed takeoff (step bids_pricing); safe to run again.
Local use only (the plan-set generator lives in tests/ and needs fpdf2).
"""

from __future__ import annotations

import httpx
from sqlalchemy import select

from blueprints.bids import analysis, bidding, price_book, projects, review
from blueprints.bids.bid_schemas import BidIn, PriceBookBody
from blueprints.bids.models import Bid, BidDocument, BidFixture, BidProject, BidTakeoff
from blueprints.bids.schemas import BulkConfirmIn, CommitIn, DocumentIn, ProjectIn
from blueprints.crm import service as crm
from blueprints.crm.schemas import CustomerIn
from blueprints.identity import service as identity
from shared import audit
from shared.db import session_scope

PROJECT = "Riverside Clinic - plumbing"
ACTOR = audit.Actor(request_id="seed")


def seed_bids() -> str:
    """Create the demo project with an analysed plan set unless it exists."""
    from tests.plansets.generator import make_plan_set

    with session_scope(tenant_id=identity.DEMO_TENANT_ID) as session:
        principal = identity.principal_for_user(session=session, user_id=identity.demo_user_id("owner"))
        if principal is None:
            return "no demo tenant yet; run the identity step first"
        if session.scalar(select(BidProject.id).where(BidProject.name == PROJECT)) is not None:
            return "demo project exists"
        customer, _ = crm.create_customer(
            session=session,
            principal=principal,
            customer_in=CustomerIn(
                name="Riverside Clinic LLC", phone="(512) 555-0177", address="12 River Rd, Austin TX"
            ),
        )
        project = projects.create_project(
            session=session,
            principal=principal,
            actor=ACTOR,
            project_in=ProjectIn(customer_id=customer.id, name=PROJECT, address="12 River Rd, Austin TX"),
        )
        ticket = projects.create_document(
            session=session,
            principal=principal,
            actor=ACTOR,
            project_id=project.id,
            document_in=DocumentIn(filename="riverside-plumbing.pdf"),
        )
        plan_set = make_plan_set(plan_sheets=2, seed=2026)
        put = httpx.put(ticket.upload_url, content=plan_set.pdf, headers=ticket.upload_headers, timeout=60)
        put.raise_for_status()
        committed = projects.commit_document(
            session=session, principal=principal, actor=ACTOR, document_id=ticket.document.id, commit_in=CommitIn()
        )
        assert committed.document is not None, committed.refused
        started = analysis.start(session=session, document_id=committed.document.id)
        for page in range(1, started["page_count"] + 1):
            result = analysis.detect_page(
                tenant_id=principal.tenant_id,
                blob_name=started["blob_name"],
                size_bytes=started["size_bytes"],
                page=page,
                vision_all=False,
            )
            analysis.record_page(
                session=session, tenant_id=principal.tenant_id, document_id=committed.document.id, result=result
            )
        summary = analysis.finish(session=session, tenant_id=principal.tenant_id, document_id=committed.document.id)
    return f"project {PROJECT!r}: {started['page_count']} sheets analysed, {summary.get('fixtures', 0)} fixtures"


def seed_bid_pricing() -> str:
    """Give the demo business a price book and a draft bid from the demo plan set's reviewed takeoff, once."""
    with session_scope(tenant_id=identity.DEMO_TENANT_ID) as session:
        principal = identity.principal_for_user(session=session, user_id=identity.demo_user_id("owner"))
        if principal is None:
            return "no demo tenant yet; run the identity step first"
        if price_book.current_version(session, principal.tenant_id) == 0:
            price_book.save_price_book(session=session, principal=principal, actor=ACTOR, book=PriceBookBody())
        if session.scalar(select(Bid.id).limit(1)) is not None:
            return "demo bid exists"
        document_id = session.scalar(
            select(BidDocument.id)
            .join(BidProject, BidProject.id == BidDocument.project_id)
            .where(BidProject.name == PROJECT, BidDocument.status == "analyzed")
        )
        if document_id is None:
            return "price book saved; no analysed demo plan set to bid on"
        if session.scalar(select(BidTakeoff.id).where(BidTakeoff.document_id == document_id)) is None:
            pending = list(
                session.scalars(
                    select(BidFixture.id).where(BidFixture.document_id == document_id, BidFixture.state == "pending")
                )
            )
            if pending:
                review.bulk_confirm(
                    session=session,
                    principal=principal,
                    actor=ACTOR,
                    document_id=document_id,
                    bulk=BulkConfirmIn(fixture_ids=pending),
                )
            review.review(session=session, principal=principal, actor=ACTOR, document_id=document_id)
        bid = bidding.create_bid(
            session=session, principal=principal, actor=ACTOR, bid_in=BidIn(document_id=document_id)
        )
    return f"price book v1 and bid {bid.number}: {bid.priced.totals.total_cents} cents"
