"""Plan documents against the real database and Azurite: upload by SAS, commit checks, the analysis steps the
orchestration's activities run, the review and the marked set."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from blueprints.bids import analysis, catalog, service
from blueprints.bids.schemas import (
    BulkConfirmIn,
    CommitIn,
    DocumentIn,
    DocumentOut,
    FixturePatch,
    FixtureQuery,
    ProjectIn,
    SettingsIn,
)
from shared import audit, uploads
from shared.config import get_settings
from shared.errors import AppError, Conflict, Forbidden, NotFound
from shared.storage import blob_service
from tests.builders import create_customer, create_tenant, create_user, principal_of
from tests.plansets.generator import PlanSet, encrypted_pdf, make_plan_set, zero_page_pdf

ACTOR = audit.Actor()


@pytest.fixture
def owner(db_session: Any) -> Any:
    tenant = create_tenant(db_session, name="PipelineOS Plumbing")
    user = create_user(db_session, tenant=tenant, role="owner")
    customer = create_customer(db_session, tenant=tenant, owner=user, name="Riverside Clinic LLC")
    principal = principal_of(user)
    project = service.create_project(
        session=db_session,
        principal=principal,
        actor=ACTOR,
        project_in=ProjectIn(customer_id=customer.id, name="Riverside Clinic", address="12 River Rd, Austin TX"),
    )
    return principal, project


def _upload(session: Any, principal: Any, project_id: uuid.UUID, data: bytes) -> DocumentOut | AppError:
    ticket = service.create_document(
        session=session,
        principal=principal,
        actor=ACTOR,
        project_id=project_id,
        document_in=DocumentIn(filename="set.pdf"),
    )
    assert "sig=" in ticket.upload_url and "sp=cw" in ticket.upload_url  # write-only (create, write)
    put = httpx.put(ticket.upload_url, content=data, headers=ticket.upload_headers, timeout=60)
    assert put.status_code == 201, put.text
    return service.commit_document(
        session=session,
        principal=principal,
        actor=ACTOR,
        document_id=ticket.document.id,
        commit_in=CommitIn(),
        durable=None,
    )


def _analyse(session: Any, principal: Any, document_id: uuid.UUID) -> None:
    """What the orchestration's activities do, in order (each step's own session here is the test's)."""
    started = analysis.start(session=session, document_id=document_id)
    for page in range(1, started["page_count"] + 1):
        result = analysis.detect_page(
            tenant_id=principal.tenant_id,
            blob_name=started["blob_name"],
            size_bytes=started["size_bytes"],
            page=page,
            vision_all=False,
        )
        analysis.record_page(session=session, tenant_id=principal.tenant_id, document_id=document_id, result=result)
    analysis.finish(session=session, tenant_id=principal.tenant_id, document_id=document_id)


@pytest.fixture
def analysed(db_session: Any, owner: Any) -> tuple[Any, DocumentOut, PlanSet]:
    principal, project = owner
    plan_set = make_plan_set(plan_sheets=3, seed=8)
    document = _upload(db_session, principal, project.id, plan_set.pdf)
    assert isinstance(document, DocumentOut) and document.status == "queued" and document.page_count == 5
    _analyse(db_session, principal, document.id)
    return principal, document, plan_set


def test_an_analysed_set_has_the_true_counts_schedule_and_checks(db_session: Any, analysed: Any) -> None:
    principal, document, plan_set = analysed
    takeoff = service.get_takeoff(session=db_session, principal=principal, document_id=document.id)
    assert {c.fixture_type: c.count for c in takeoff.counts} == {
        k.lower().replace(" ", "_"): n for k, n in plan_set.counts().items()
    }
    assert sum(c.by_sheet.get("P-101", 0) for c in takeoff.counts) == len(plan_set.sheets[1].fixtures)
    assert {r.tag for r in takeoff.schedule} == set(plan_set.schedule_tags)
    assert takeoff.drainage_fixture_units > 0 and takeoff.code == "IPC"
    kinds = {(i.kind, i.tag) for i in takeoff.to_check}
    assert ("schedule_row_not_found", "DF-2") in kinds
    assert [p.discipline for p in takeoff.pages][-1] == "ARCHITECTURAL"


def test_running_a_step_twice_has_one_effect(db_session: Any, analysed: Any) -> None:
    principal, document, _ = analysed
    before = service.list_fixtures(
        session=db_session, principal=principal, document_id=document.id, query=FixtureQuery(limit=200)
    )
    # a redelivered page and a redelivered merge (the document is analyzed: the merge is a no-op)
    result = analysis.detect_page(
        tenant_id=principal.tenant_id,
        blob_name=_blob(db_session, document.id),
        size_bytes=None,
        page=2,
        vision_all=False,
    )
    analysis.record_page(session=db_session, tenant_id=principal.tenant_id, document_id=document.id, result=result)
    assert (
        analysis.finish(session=db_session, tenant_id=principal.tenant_id, document_id=document.id)["status"]
        == "analyzed"
    )
    after = service.list_fixtures(
        session=db_session, principal=principal, document_id=document.id, query=FixtureQuery(limit=200)
    )
    assert [f.id for f in after.items] == [f.id for f in before.items]


def _blob(session: Any, document_id: uuid.UUID) -> str:
    from blueprints.bids.models import BidDocument

    document = session.get(BidDocument, document_id)
    assert document is not None
    return document.blob_name


def test_review_edits_then_freezes_a_version_and_draws_the_marked_set(db_session: Any, analysed: Any) -> None:
    principal, document, plan_set = analysed
    reads = {"session": db_session, "principal": principal, "document_id": document.id}
    pending = service.list_fixtures(**reads, query=FixtureQuery(state="pending"))
    with pytest.raises(Conflict):
        service.review(**reads, actor=ACTOR)  # pending fixtures wait for a person
    confirmed = service.bulk_confirm(
        **reads, actor=ACTOR, bulk=BulkConfirmIn(fixture_ids=[f.id for f in pending.items])
    )
    assert confirmed.confirmed == len(pending.items) > 0
    one = service.list_fixtures(**reads, query=FixtureQuery(fixture_type="water_closet", limit=1)).items[0]
    rejected = service.update_fixture(
        **reads, actor=ACTOR, fixture_id=one.id, patch=FixturePatch(state="rejected"), expected=frozenset({one.version})
    )
    assert rejected.state == "rejected"
    frozen = service.review(**reads, actor=ACTOR)
    assert frozen.version == 1
    assert frozen.totals.total_fixtures == len(plan_set.fixtures) - 1
    marked = service.marked_set(**reads)
    assert marked.startswith(b"%PDF-") and len(marked) > 1000


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(2000), "upload_wrong_type"),
        (encrypted_pdf(), "pdf_encrypted"),
        (encrypted_pdf(user_password=None), "pdf_encrypted"),
        (b"%PDF-1.7\n this is not really a pdf" + bytes(100), "pdf_malformed"),
        (zero_page_pdf(), "pdf_empty"),
    ],
    ids=["jpeg-renamed", "encrypted", "owner-password-only", "malformed", "zero-pages"],
)
def test_a_refused_file_leaves_no_document_and_no_blob(db_session: Any, owner: Any, data: bytes, code: str) -> None:
    principal, project = owner
    refused = _upload(db_session, principal, project.id, data)
    assert isinstance(refused, AppError) and refused.status == 422 and refused.code == code
    assert service.list_documents(session=db_session, principal=principal, project_id=project.id) == []
    names = [
        b.name
        for b in blob_service()
        .get_container_client("uploads")
        .list_blobs(name_starts_with=f"tenants/{principal.tenant_id}/bids/{project.id}/")
    ]
    assert names == []


def test_a_file_over_the_limit_is_413_and_leaves_nothing(db_session: Any, owner: Any) -> None:
    principal, project = owner
    refused = _upload(db_session, principal, project.id, b"%PDF-1.7\n" + bytes(51 * 1024 * 1024))
    assert isinstance(refused, AppError) and refused.status == 413
    assert service.list_documents(session=db_session, principal=principal, project_id=project.id) == []


def test_commit_refuses_a_blob_name_we_did_not_issue(owner: Any) -> None:
    principal, project = owner
    made_up = f"tenants/{principal.tenant_id}/bids/{project.id}/{uuid.uuid4().hex}.0000000000000000.pdf"
    with pytest.raises(Forbidden):
        uploads.commit(tenant_id=principal.tenant_id, blob_name=made_up, kinds={"pdf"}, max_bytes=1000)
    theirs = uploads.blob_name_for(tenant_id=uuid.uuid4(), area="bids/x", kind="pdf")
    with pytest.raises(Forbidden):
        uploads.commit(tenant_id=principal.tenant_id, blob_name=theirs, kinds={"pdf"}, max_bytes=1000)


def test_another_business_cannot_see_the_document(db_session: Any, analysed: Any) -> None:
    _, document, _ = analysed
    stranger = create_user(db_session, tenant=create_tenant(db_session, name="Someone Else"), role="owner")
    with pytest.raises(NotFound):
        service.get_takeoff(session=db_session, principal=principal_of(stranger), document_id=document.id)


def test_the_dev_host_lets_the_pwa_put_uploads_from_its_origins(database: Any) -> None:
    origins = uploads.allow_browser_uploads()
    rules = blob_service().get_service_properties()["cors"]
    assert origins and rules[0].allowed_origins == ",".join(origins) and "PUT" in rules[0].allowed_methods


def test_a_person_edits_adds_and_reviews_twice_and_both_versions_stay(db_session: Any, analysed: Any) -> None:
    from blueprints.bids.schemas import Box, FixtureIn
    from shared.errors import PreconditionFailed

    principal, document, _ = analysed
    reads = {"session": db_session, "principal": principal, "document_id": document.id}
    pending = service.list_fixtures(**reads, query=FixtureQuery(state="pending"))
    service.bulk_confirm(**reads, actor=ACTOR, bulk=BulkConfirmIn(fixture_ids=[f.id for f in pending.items]))
    first = service.review(**reads, actor=ACTOR)
    # given a sink the detectors called a lavatory: the estimator changes its type, mark and box
    lav = service.list_fixtures(**reads, query=FixtureQuery(fixture_type="lavatory", limit=1)).items[0]
    with pytest.raises(PreconditionFailed):
        service.update_fixture(
            **reads, actor=ACTOR, fixture_id=lav.id, patch=FixturePatch(state="rejected"), expected=frozenset({99})
        )
    box = Box(x0=lav.box.x0 - 1, top=lav.box.top - 1, x1=lav.box.x1 + 5, bottom=lav.box.bottom + 5)
    edited = service.update_fixture(
        **reads,
        actor=ACTOR,
        fixture_id=lav.id,
        patch=FixturePatch(fixture_type="sink", tag="s-1", box=box),
        expected=frozenset({lav.version}),
    )
    assert (edited.fixture_type, edited.tag, edited.schedule_tag, edited.state) == ("sink", "S-1", "S-1", "confirmed")
    assert edited.box == box and edited.edited and edited.version == lav.version + 1
    # and adds a floor drain nobody found
    added = service.add_fixture(
        **reads,
        actor=ACTOR,
        fixture_in=FixtureIn(
            page_number=2, fixture_type="floor_drain", tag="FD-1", box=Box(x0=5, top=5, x1=15, bottom=15)
        ),
    )
    assert added.sources == ["person"] and added.schedule_tag == "FD-1" and added.sheet_number == "P-101"
    assert service.get_takeoff(**reads).reviewed is False  # changed since the review
    second = service.review(**reads, actor=ACTOR)
    versions = service.list_reviews(**reads).items
    assert [v.version for v in versions] == [second.version, first.version] == [2, 1]
    assert versions[0].totals.total_fixtures == versions[1].totals.total_fixtures + 1
    first_lav = next(f for f in versions[1].fixtures if f.id == lav.id)
    assert first_lav.fixture_type == "lavatory"  # the frozen version did not change


def test_the_business_code_and_thresholds_drive_units_and_states(db_session: Any, owner: Any) -> None:
    principal, project = owner
    ipc = service.get_settings_of(session=db_session, principal=principal)
    assert (ipc.code, ipc.auto_accept, ipc.hide_below) == ("IPC", Decimal("0.9"), Decimal("0.4"))
    strict = SettingsIn(code="UPC", auto_accept=Decimal("0.99"), hide_below=Decimal("0.1"))
    service.put_settings(session=db_session, principal=principal, actor=ACTOR, settings_in=strict)
    document = _upload(db_session, principal, project.id, make_plan_set(plan_sheets=1, seed=8).pdf)
    assert isinstance(document, DocumentOut)
    _analyse(db_session, principal, document.id)
    reads = {"session": db_session, "principal": principal, "document_id": document.id}
    takeoff = service.get_takeoff(**reads)
    assert takeoff.code == "UPC"
    counts = {c.fixture_type: c.count for c in takeoff.counts}
    assert (takeoff.drainage_fixture_units, takeoff.water_supply_fixture_units) == catalog.fixture_units("UPC", counts)
    # nothing reaches 0.99: every fixture waits for a person, and the notes' prose (0.2) is now shown pending too
    states = {f.state for f in service.list_fixtures(**reads, query=FixtureQuery(limit=200)).items}
    assert states == {"pending"}


def test_vision_tiles_count_against_the_daily_cap(db_session: Any, owner: Any) -> None:
    principal, _ = owner
    cap = get_settings().bids_vision_daily_tiles
    assert analysis.claim_tiles(session=db_session, tenant_id=principal.tenant_id, tiles=cap - 2)
    assert analysis.claim_tiles(session=db_session, tenant_id=principal.tenant_id, tiles=2)
    assert not analysis.claim_tiles(session=db_session, tenant_id=principal.tenant_id, tiles=1)  # used up today
    other = create_tenant(db_session, name="Another Plumber")
    assert analysis.claim_tiles(session=db_session, tenant_id=other.id, tiles=1)  # each business has its own
