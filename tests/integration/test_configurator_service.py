"""Configurator services against the real PostgreSQL (app role, RLS on) and Azurite."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from blueprints.configurator import blobs, jobs, service
from blueprints.configurator.models import RenderJob
from blueprints.configurator.pricing import PriceRule
from blueprints.configurator.schemas import ConfigurationIn, ProductIn, ProductPatch, RenderJobIn
from render_container.contract import RenderRequest, RenderResult, RenderStatus
from render_container.templates.products import BASE_CABINET
from shared import audit
from shared.auth import Principal
from shared.errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from shared.models import OutboxMessage
from shared.storage import blob_service
from tests.builders import create_tenant, create_user, principal_of

ACTOR = audit.Actor(request_id="test")
_TENANTS: dict[uuid.UUID, uuid.UUID] = {}
RULE = {
    "currency": "USD",
    "base_cents": 45_000,
    "option_adders": {"finish": {"walnut": 12_000}},
    "dimension_rates": {"width": {"cents_per_unit": 2_500, "unit": 100, "included": 600}},
}


def _owner(session: Session, name: str = "Cabinet Co") -> Principal:
    tenant = create_tenant(session, name=name)
    return principal_of(create_user(session, tenant=tenant, role="owner"))


def _product(session: Session, principal: Principal, **fields: Any) -> Any:
    values = {
        "name": f"Base cabinet {uuid.uuid4().hex[:6]}",
        "config_schema": BASE_CABINET.json_schema(),
        "template_blob_path": "products/base-cabinet/1.0.0.blend",
        "template_version": "1.0.0",
        "price_rule": RULE,
    } | fields
    return service.create_product(session=session, principal=principal, product_in=ProductIn(**values), actor=ACTOR)


def _configuration(session: Session, principal: Principal, product_id: uuid.UUID, **options: Any) -> Any:
    data = BASE_CABINET.default_config() | options
    return service.create_configuration(
        session=session,
        principal=principal,
        configuration_in=ConfigurationIn(product_id=product_id, name="Kitchen island", config_data=data),
    )


def _report(job: Any, status: RenderStatus, **fields: Any) -> RenderResult:
    tenant_id = _TENANTS[job.id]
    return RenderResult(
        job_id=job.id,
        tenant_id=tenant_id,
        status=status,
        worker_attempt=1,
        progress=fields.pop("progress", 0),
        **fields,
    )


def _apply(session: Session, job: Any, status: RenderStatus, *, message_id: str | None = None, **fields: Any) -> str:
    return jobs.apply_result(
        session=session, result=_report(job, status, **fields), message_id=message_id or uuid.uuid4().hex
    )


def _job(session: Session, principal: Principal, configuration_id: uuid.UUID) -> Any:
    job = jobs.create_job(session=session, principal=principal, job_in=RenderJobIn(configuration_id=configuration_id))
    _TENANTS[job.id] = principal.tenant_id
    return job


def _row(session: Session, job_id: uuid.UUID) -> RenderJob:
    return session.scalars(
        select(RenderJob).where(RenderJob.id == job_id).execution_options(populate_existing=True)
    ).one()


def _outbox_requests(session: Session) -> list[tuple[RenderRequest, int]]:
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.queue == "render-jobs").order_by(OutboxMessage.created_at)
    ).all()
    return [(RenderRequest.model_validate_json(r.body), r.delay_seconds) for r in rows]


def test_a_product_schema_is_checked_on_save(db_session: Session) -> None:
    owner = _owner(db_session)
    with pytest.raises(Unprocessable) as caught:
        _product(db_session, owner, config_schema={"type": "object", "properties": {"w": {"minimum": "x"}}})
    assert caught.value.errors and caught.value.errors[0]["path"] == "$.properties.w.minimum"
    with pytest.raises(Unprocessable) as caught:
        _product(db_session, owner, price_rule=RULE | {"option_adders": {"colour": {"red": 1}}})
    assert caught.value.code == "invalid_price_rule"


def test_products_have_unique_names_and_honour_if_match(db_session: Session) -> None:
    owner = _owner(db_session)
    product = _product(db_session, owner, name="Range hood")
    with pytest.raises(Conflict):
        _product(db_session, owner, name="Range hood")
    changed = service.update_product(
        session=db_session,
        principal=owner,
        product_id=product.id,
        patch=ProductPatch(template_version="1.1.0"),
        expected=frozenset({1}),
        actor=ACTOR,
    )
    assert (changed.version, changed.template_version) == (2, "1.1.0")
    with pytest.raises(PreconditionFailed):
        service.update_product(
            session=db_session,
            principal=owner,
            product_id=product.id,
            patch=ProductPatch(description="stale"),
            expected=frozenset({1}),
            actor=ACTOR,
        )


def test_a_configuration_is_validated_priced_and_shareable(db_session: Session) -> None:
    owner = _owner(db_session)
    product = _product(db_session, owner)
    with pytest.raises(Unprocessable) as caught:
        _configuration(db_session, owner, product.id, width=50, door_style=3, hinges="left")
    assert [e["path"] for e in caught.value.errors or []] == ["$.door_style", "$.door_style", "$.hinges", "$.width"]
    saved = _configuration(db_session, owner, product.id, width=750, finish="walnut")
    assert saved.product_version == product.version and saved.template_version == "1.0.0"
    assert saved.price is not None and saved.price.amount_cents == 45_000 + 12_000 + 5_000
    shared = service.get_shared(session=db_session, share_code=saved.share_code)
    assert (shared.name, shared.product_name, shared.config_data["width"]) == ("Kitchen island", product.name, 750)
    service.delete_configuration(session=db_session, principal=owner, configuration_id=saved.id, actor=ACTOR)
    with pytest.raises(NotFound):
        service.get_shared(session=db_session, share_code=saved.share_code)


def test_a_job_is_queued_through_the_outbox_with_its_cache_path(db_session: Session) -> None:
    owner = _owner(db_session)
    product = _product(db_session, owner)
    configuration = _configuration(db_session, owner, product.id)
    job = _job(db_session, owner, configuration.id)
    assert (job.status, job.cached, job.glb_url) == ("PENDING", False, None)
    [(request, delay)] = _outbox_requests(db_session)
    assert delay == 0 and request.attempt == 1 and request.config == configuration.config_data
    assert request.output_blob_path == (
        f"tenants/{owner.tenant_id}/products/{product.id}/1.0.0/{configuration.config_hash}.glb"
    )


def test_an_existing_glb_completes_the_job_at_once(db_session: Session) -> None:
    owner = _owner(db_session)
    product = _product(db_session, owner)
    configuration = _configuration(db_session, owner, product.id)
    path = blobs.glb_path(
        tenant_id=owner.tenant_id,
        product_id=product.id,
        template_version="1.0.0",
        config_hash=configuration.config_hash,
    )
    container = blob_service().get_container_client("renders")
    if not container.exists():
        container.create_container()
    container.upload_blob(path, b"glTF-binary", overwrite=True)
    job = _job(db_session, owner, configuration.id)
    assert (job.status, job.progress, job.cached) == ("COMPLETED", 100, True)
    assert job.glb_url and "sig=" in job.glb_url and "sp=r" in job.glb_url
    assert _outbox_requests(db_session) == []


def test_reports_move_the_job_once_each_and_never_backwards(db_session: Session) -> None:
    owner = _owner(db_session)
    configuration = _configuration(db_session, owner, _product(db_session, owner).id)
    job = _job(db_session, owner, configuration.id)
    assert _apply(db_session, job, RenderStatus.PROCESSING, progress=40, message_id="m1") == "PROCESSING -> PROCESSING"
    assert _apply(db_session, job, RenderStatus.PROCESSING, progress=90, message_id="m1") == "duplicate"
    assert _row(db_session, job.id).progress == 40
    _apply(db_session, job, RenderStatus.COMPLETED, progress=100, render_ms=321)
    _apply(db_session, job, RenderStatus.FAILED, error_code="render_error", recoverable=True)
    _apply(db_session, job, RenderStatus.PROCESSING, progress=10)
    row = _row(db_session, job.id)
    assert (row.status, row.progress, row.render_ms, row.retry_count) == ("COMPLETED", 100, 321, 0)


def test_recoverable_failures_are_sent_again_after_1_2_4_seconds(db_session: Session) -> None:
    owner = _owner(db_session)
    configuration = _configuration(db_session, owner, _product(db_session, owner).id)
    job = _job(db_session, owner, configuration.id)
    for _ in range(4):
        _apply(
            db_session,
            job,
            RenderStatus.FAILED,
            error_code="render_error",
            error_message="GPU hiccup",
            recoverable=True,
        )
    sent = _outbox_requests(db_session)
    assert [(r.attempt, delay) for r, delay in sent] == [(1, 0), (2, 1), (3, 2), (4, 4)]
    row = _row(db_session, job.id)
    assert (row.status, row.retry_count, row.error_code) == ("FAILED", 3, "render_error")


def test_copies_of_a_counted_failure_are_ignored_and_a_report_without_attempt_is_the_current_one(
    db_session: Session,
) -> None:
    owner = _owner(db_session)
    configuration = _configuration(db_session, owner, _product(db_session, owner).id)
    job = _job(db_session, owner, configuration.id)
    failure = {"error_code": "render_error", "recoverable": True}
    assert _apply(db_session, job, RenderStatus.FAILED, attempt=1, **failure) == "FAILED -> PENDING"
    # copies of attempt 1's failure (new message ids) and its late progress: already counted
    for status in (RenderStatus.FAILED, RenderStatus.FAILED, RenderStatus.PROCESSING):
        outcome = _apply(db_session, job, status, attempt=1, **failure)
        assert outcome == f"ignored {status} of attempt 1: the job is at attempt 2"
    assert _row(db_session, job.id).retry_count == 1
    # a worker older than the field reports without one: taken as the current attempt (2), counted
    assert _apply(db_session, job, RenderStatus.FAILED, **failure) == "FAILED -> PENDING"
    assert [r.attempt for r, _ in _outbox_requests(db_session)] == [1, 2, 3]
    row = _row(db_session, job.id)
    assert (row.status, row.retry_count) == ("PENDING", 2)


def test_invalid_input_fails_at_once(db_session: Session) -> None:
    owner = _owner(db_session)
    configuration = _configuration(db_session, owner, _product(db_session, owner).id)
    job = _job(db_session, owner, configuration.id)
    _apply(
        db_session, job, RenderStatus.FAILED, error_code="invalid_config", error_message="door_count", recoverable=False
    )
    row = _row(db_session, job.id)
    assert (row.status, row.retry_count) == ("FAILED", 0)
    assert len(_outbox_requests(db_session)) == 1


def test_cancel_writes_the_marker_and_later_reports_are_ignored(db_session: Session) -> None:
    owner = _owner(db_session)
    configuration = _configuration(db_session, owner, _product(db_session, owner).id)
    job = _job(db_session, owner, configuration.id)
    cancelled = jobs.cancel_job(session=db_session, principal=owner, job_id=job.id, actor=ACTOR)
    assert cancelled.status == "CANCELLED"
    assert blobs.exists("render-control", f"cancel/{job.id}")
    assert jobs.cancel_job(session=db_session, principal=owner, job_id=job.id, actor=ACTOR).status == "CANCELLED"
    _apply(db_session, job, RenderStatus.COMPLETED, progress=100)
    assert _row(db_session, job.id).status == "CANCELLED"
    assert jobs.get_job(session=db_session, principal=owner, job_id=job.id).glb_url is None


def test_another_tenant_sees_none_of_it(db_session: Session) -> None:
    owner = _owner(db_session)
    product = _product(db_session, owner)
    configuration = _configuration(db_session, owner, product.id)
    job = _job(db_session, owner, configuration.id)
    stranger = _owner(db_session, name="Someone else")  # binds the session to the other tenant
    with pytest.raises(NotFound):
        jobs.get_job(session=db_session, principal=stranger, job_id=job.id)
    with pytest.raises(NotFound):
        jobs.cancel_job(session=db_session, principal=stranger, job_id=job.id, actor=ACTOR)
    with pytest.raises(NotFound):
        service.get_configuration(session=db_session, principal=stranger, configuration_id=configuration.id)
    with pytest.raises(NotFound):
        service.get_product(session=db_session, principal=stranger, product_id=product.id)
    assert service.list_products(session=db_session, principal=stranger, query=_page()).items == []


def _page() -> Any:
    from shared.pagination import PageQuery

    return PageQuery()


def test_price_rule_round_trips(db_session: Session) -> None:
    owner = _owner(db_session)
    product = _product(db_session, owner)
    assert product.price_rule == PriceRule.model_validate(RULE)


# --- README claims: share codes, the read URL's expiry, a shared GLB survives a cancel -------------------


def test_share_codes_are_ten_unambiguous_characters_and_only_whole_codes_open(db_session: Session) -> None:
    owner = _owner(db_session)
    product = _product(db_session, owner)
    codes = [_configuration(db_session, owner, product.id, width=400 + n).share_code for n in range(12)]
    assert all(len(code) == 10 for code in codes) and len(set(codes)) == 12
    assert set("".join(codes)) <= set("23456789abcdefghjkmnpqrstuvwxyz")  # no 0/o, 1/l/i
    assert service.get_shared(session=db_session, share_code=codes[0]).product_name == product.name
    for near in (codes[0][:9], codes[0] + "2", codes[0].upper()):
        with pytest.raises(NotFound):
            service.get_shared(session=db_session, share_code=near)


def _uploaded_glb(owner: Principal, product: Any, configuration: Any) -> str:
    path = blobs.glb_path(
        tenant_id=owner.tenant_id,
        product_id=product.id,
        template_version="1.0.0",
        config_hash=configuration.config_hash,
    )
    container = blob_service().get_container_client("renders")
    if not container.exists():
        container.create_container()
    container.upload_blob(path, b"glTF-binary", overwrite=True)
    return path


def test_the_read_url_stops_working_when_its_ttl_has_passed(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from shared import clock
    from shared.config import reset_settings_cache

    owner = _owner(db_session)
    product = _product(db_session, owner)
    configuration = _configuration(db_session, owner, product.id, width=801)
    _uploaded_glb(owner, product, configuration)
    job = _job(db_session, owner, configuration.id)  # completed from the cache
    # a URL made now opens the file
    assert httpx.get(job.glb_url, timeout=30).status_code == 200
    # given the shortest TTL the setting allows (60 s), a URL made 61 s ago (the app's clock pinned back)
    monkeypatch.setenv("RENDER_READ_URL_TTL_SECONDS", "60")
    reset_settings_cache()
    made_at = clock.now() - timedelta(seconds=61)
    clock.pin(made_at)
    try:
        old = jobs.get_job(session=db_session, principal=owner, job_id=job.id)
    finally:
        clock.unpin()
        reset_settings_cache()
    assert old.glb_url_expires_at == made_at + timedelta(seconds=60)
    # when it is read now, past its expiry, the storage service refuses it
    assert httpx.get(old.glb_url, timeout=30).status_code == 403


def test_a_late_glb_of_a_cancelled_job_is_kept_while_another_live_job_shares_it(database: Any) -> None:
    from shared.db import session_scope

    # given two live jobs of one business for the same options (one GLB path)
    with session_scope() as session:
        owner = _owner(session)
        product = _product(session, owner)
        first = _job(session, owner, _configuration(session, owner, product.id, width=933).id)
        second_configuration = _configuration(session, owner, product.id, width=933)
        second = _job(session, owner, second_configuration.id)
    path = _uploaded_glb(owner, product, second_configuration)  # the worker uploaded the file
    # when the first is cancelled and its late COMPLETED report arrives
    with session_scope(tenant_id=owner.tenant_id) as session:
        jobs.cancel_job(session=session, principal=owner, job_id=first.id, actor=ACTOR)
    with session_scope(tenant_id=owner.tenant_id) as session:
        _apply(session, first, RenderStatus.COMPLETED, progress=100)
    # then the file stays: the second job still wants it
    assert blobs.exists("renders", path)
    # and once no live job shares it, a late report of a cancelled job deletes it
    with session_scope(tenant_id=owner.tenant_id) as session:
        jobs.cancel_job(session=session, principal=owner, job_id=second.id, actor=ACTOR)
    with session_scope(tenant_id=owner.tenant_id) as session:
        _apply(session, second, RenderStatus.COMPLETED, progress=100)
    assert not blobs.exists("renders", path)
