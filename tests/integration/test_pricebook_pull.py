"""Pulling a pricebook from the fake ServiceTitan into raw and master, full and incremental."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from blueprints.pricebook import connection, pull, schemas
from blueprints.pricebook.models import MasterCategory, MasterMaterial, RawMaterial, ServiceLink
from blueprints.pricebook.schemas import KindProgress
from shared import audit
from shared.config import reset_settings_cache
from shared.db import session_scope
from shared.providers import servicetitan
from tests.builders import create_tenant, create_user, principal_of
from tests.fakes.servicetitan import FakeServiceTitan, settings_for


@pytest.fixture(name="fake")
def fake_servicetitan(database, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServiceTitan]:
    """A fake ServiceTitan our client is pointed at."""
    server = FakeServiceTitan().start()
    for name, value in settings_for(server).items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    servicetitan.reset()
    yield server
    server.stop()
    servicetitan.reset()
    reset_settings_cache()


def connected_business(fake: FakeServiceTitan) -> uuid.UUID:
    """A committed business with a pricebook connection to the fake."""
    with session_scope() as session:
        tenant = create_tenant(session, name=f"LAZI {uuid.uuid4().hex[:6]}")
        owner = principal_of(create_user(session, tenant=tenant))
        body = schemas.ConnectionIn(
            st_tenant_id=fake.state.st_tenant_id, client_id="fake-client", client_secret="fake-secret"
        )
        connection.put_connection(session=session, principal=owner, actor=audit.SYSTEM, connection_in=body)
        return tenant.id


def run_pull(tenant_id: uuid.UUID, mode: str = "full") -> uuid.UUID:
    """What the orchestration does, activity by activity."""
    with session_scope(tenant_id=tenant_id) as session:
        run = pull.create_run(
            session, tenant_id=tenant_id, direction="pull", mode=mode, kinds=list(pull.ORDER), user_id=None
        )
        run_id = run.id
    tokens = pull.begin(tenant_id, run_id)
    for kind in pull.ORDER:
        token = tokens[kind]
        while True:
            page = pull.pull_page(tenant_id, run_id, kind, token)
            token = page["continue_from"]
            if not page["has_more"]:
                break
        pull.finish_kind(tenant_id, run_id, kind)
    assert pull.finish(tenant_id, run_id) == "completed"
    return run_id


def test_a_full_pull_lands_every_item_in_raw_and_master(fake: FakeServiceTitan) -> None:
    # given a ServiceTitan pricebook (export pages smaller than the feed, so paging is exercised)
    fake.seed(categories=12, materials=130, services=40, equipment=9, nested=3)
    fake.state.export_page_size = 50
    tenant_id = connected_business(fake)
    # when it is pulled
    run_pull(tenant_id)
    # then master holds exactly ServiceTitan's counts, money in cents, services linked to their materials
    with session_scope(tenant_id=tenant_id) as session:
        assert pull.counts(session, tenant_id) == {"categories": 15, "materials": 130, "services": 40, "equipment": 9}
        nested = session.get(MasterCategory, (tenant_id, 9_001))  # sent inside category 1000's subcategories
        assert nested is not None and nested.path == "/1000/9001/"
        material = session.get(MasterMaterial, (tenant_id, 20_001))
        assert material is not None
        assert material.price_cents == round(fake.state.items["materials"][20_001]["price"] * 100)
        raw = session.get(RawMaterial, (tenant_id, 20_001))
        assert raw is not None and raw.payload["code"] == "MAT-00001"
        links = session.scalars(select(ServiceLink).where(ServiceLink.tenant_id == tenant_id)).all()
        assert links and all(link.sku_kind == "material" for link in links)
    # and every API call carried our app key
    assert {call["app_key"] for call in fake.api_calls()} == {fake.state.app_key}


def test_an_incremental_pull_takes_remote_edits_deletions_and_a_moved_category(fake: FakeServiceTitan) -> None:
    fake.seed(categories=12, materials=60, services=10, equipment=3)
    tenant_id = connected_business(fake)
    run_pull(tenant_id)
    # given edits in ServiceTitan after the first pull
    fake.edit("materials", 20_002, price=99.99, description="<p>New text</p>")
    fake.deactivate("materials", 20_003)
    child = next(c for c in fake.state.items["categories"].values() if c["parentId"] is not None)
    new_parent = next(
        c["id"]
        for c in fake.state.items["categories"].values()
        if c["parentId"] is None and c["id"] != child["parentId"]
    )
    fake.move_category(child["id"], new_parent)
    calls_before = len(fake.api_calls())
    # when the incremental pull runs
    run_id = run_pull(tenant_id, mode="incremental")
    # then only the changes came through, and master shows them
    with session_scope(tenant_id=tenant_id) as session:
        edited = session.get(MasterMaterial, (tenant_id, 20_002))
        deleted = session.get(MasterMaterial, (tenant_id, 20_003))
        moved = session.get(MasterCategory, (tenant_id, child["id"]))
        assert edited is not None and edited.price_cents == 9999 and edited.description == "<p>New text</p>"
        assert deleted is not None and deleted.active is False
        assert moved is not None and moved.path == f"/{new_parent}/{child['id']}/"
        run = pull.get_sync(session=session, principal=_system(tenant_id), run_id=run_id)
        materials = run.progress["materials"]
        assert isinstance(materials, KindProgress) and materials.written == 2
    assert len(fake.api_calls()) - calls_before == 4  # one page per kind


def test_a_page_written_twice_changes_nothing(fake: FakeServiceTitan) -> None:
    fake.seed(categories=3, materials=20, services=0, equipment=0)
    tenant_id = connected_business(fake)
    run_id = run_pull(tenant_id)
    page = fake.export("materials", None)
    with session_scope(tenant_id=tenant_id) as session:
        written = pull.write_page(session, tenant_id=tenant_id, run_id=run_id, kind="materials", token=None, page=page)
        assert written == 0
        assert pull.counts(session, tenant_id)["materials"] == 20


def _system(tenant_id: uuid.UUID):
    from shared.auth import system_principal

    return system_principal(tenant_id)


def test_the_client_secret_is_stored_sealed_and_opens_for_its_business_only(fake: FakeServiceTitan) -> None:
    from blueprints.pricebook.models import StConnection
    from shared import secretbox

    tenant_id = connected_business(fake)
    with session_scope(tenant_id=tenant_id) as session:
        row = session.get(StConnection, tenant_id)
        assert row is not None and "fake-secret" not in row.secret_box
        assert connection.load(session, tenant_id).client_secret == "fake-secret"
        with pytest.raises(secretbox.SecretBoxError):
            secretbox.open_box(row.secret_box, kek=connection.key_encryption_key(), context=str(uuid.uuid4()))


def test_a_wrong_servicetitan_tenant_is_a_422_and_nothing_is_saved(fake: FakeServiceTitan) -> None:
    from shared.errors import Unprocessable

    with session_scope() as session:
        tenant = create_tenant(session, name="Typo")
        owner = principal_of(create_user(session, tenant=tenant))
        body = schemas.ConnectionIn(st_tenant_id=42, client_id="fake-client", client_secret="fake-secret")
        with pytest.raises(Unprocessable, match="refused"):  # the API answers 403 for a tenant we may not read
            connection.put_connection(session=session, principal=owner, actor=audit.SYSTEM, connection_in=body)
        assert connection.get_connection(session=session, principal=owner).connected is False


def test_a_run_that_never_finished_stops_blocking_after_six_hours(fake: FakeServiceTitan) -> None:
    from datetime import timedelta

    from shared import clock
    from shared.errors import Conflict

    tenant_id = connected_business(fake)
    with session_scope(tenant_id=tenant_id) as session:
        stuck = pull.create_run(
            session, tenant_id=tenant_id, direction="pull", mode="full", kinds=["materials"], user_id=None
        )
        with pytest.raises(Conflict), session.begin_nested():
            pull.create_run(
                session, tenant_id=tenant_id, direction="pull", mode="full", kinds=["materials"], user_id=None
            )
        stuck.created_at = clock.now() - timedelta(hours=7)
        session.flush()
        fresh = pull.create_run(
            session, tenant_id=tenant_id, direction="pull", mode="full", kinds=["materials"], user_id=None
        )
        assert fresh.id != stuck.id and stuck.status == "failed"


def test_the_nightly_run_skips_a_business_that_switched_the_module_off(fake: FakeServiceTitan) -> None:
    from blueprints.identity.models import Tenant

    tenant_id = connected_business(fake)
    with session_scope(tenant_id=tenant_id) as session:
        assert pull.nightly_run(session, tenant_id) is not None  # connected, module on: a run is recorded
    off = connected_business(fake)
    with session_scope(tenant_id=off) as session:
        tenant = session.get(Tenant, off)
        assert tenant is not None
        tenant.enabled_modules = ["crm"]
    with session_scope(tenant_id=off) as session:
        assert pull.nightly_run(session, off) is None
