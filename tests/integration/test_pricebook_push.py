"""Local edits pushed to the fake ServiceTitan with the three-way merge; conflicts; new items; locks."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from blueprints.pricebook import conflicts, edits, pull, push, schemas
from blueprints.pricebook.models import MasterMaterial, OutboundCall, Override, SyncConflict
from shared import audit
from shared.auth import system_principal
from shared.db import session_scope
from tests.fakes.servicetitan import FakeServiceTitan
from tests.integration.test_pricebook_pull import connected_business, fake_servicetitan, run_pull  # noqa: F401 (fixture)

EDITOR = frozenset({"pricebook.read", "pricebook.edit", "pricebook.push"})


def pulled(fake: FakeServiceTitan) -> uuid.UUID:
    fake.seed(categories=4, materials=10, services=3, equipment=2)
    tenant_id = connected_business(fake)
    run_pull(tenant_id)
    return tenant_id


def edit(tenant_id: uuid.UUID, kind: str, st_id: int, **fields: object) -> None:
    with session_scope(tenant_id=tenant_id) as session:
        patch = schemas.ItemPatch.model_validate(fields)
        edits.update_item(
            session=session,
            principal=system_principal(tenant_id, permissions=EDITOR),
            actor=audit.SYSTEM,
            kind=kind,
            st_id=st_id,
            patch=patch,
            expected=None,
        )


def run_push(tenant_id: uuid.UUID) -> list[dict[str, object]]:
    """What the push orchestration does, activity by activity."""
    with session_scope(tenant_id=tenant_id) as session:
        run = pull.create_run(
            session,
            tenant_id=tenant_id,
            direction="push",
            mode="push",
            kinds=["materials", "services", "equipment"],
            user_id=None,
        )
        run_id = run.id
    work = push.plan(tenant_id, run_id)
    outcomes = [push.push_item(tenant_id, run_id, kind, st_id) for kind, st_id in work["edits"]]
    outcomes += [push.push_new(tenant_id, run_id, uuid.UUID(new_id)) for new_id in work["new"]]
    pull.finish(tenant_id, run_id)
    return outcomes


def test_a_local_price_and_a_remote_description_both_survive_the_push(fake: FakeServiceTitan) -> None:
    tenant_id = pulled(fake)
    # given a price changed here and the description changed in ServiceTitan
    edit(tenant_id, "materials", 20_001, price_cents=12_345)
    fake.edit("materials", 20_001, description="<p>Changed in ServiceTitan</p>")
    # when we push
    outcomes = run_push(tenant_id)
    # then ServiceTitan has our price and keeps its description, and so does our master
    assert outcomes == [{"outcome": "sent", "sent": ["price_cents"], "conflicts": []}]
    remote = fake.state.items["materials"][20_001]
    assert remote["price"] == 123.45 and remote["description"] == "<p>Changed in ServiceTitan</p>"
    with session_scope(tenant_id=tenant_id) as session:
        master = session.get(MasterMaterial, (tenant_id, 20_001))
        assert master is not None and master.price_cents == 12_345
        assert master.description == "<p>Changed in ServiceTitan</p>"
        override = session.scalars(select(Override).where(Override.tenant_id == tenant_id)).one()
        assert override.fields == {} and override.pending is False
        calls = session.scalars(select(OutboundCall).where(OutboundCall.tenant_id == tenant_id)).all()
        assert [(c.method, c.fields, c.status) for c in calls] == [("PATCH", {"price": 123.45}, "sent")]
    # and the PATCH carried only the changed field
    patches = [c for c in fake.api_calls() if c["method"] == "PATCH"]
    assert len(patches) == 1


def test_the_same_field_changed_on_both_sides_is_a_conflict_and_nothing_is_overwritten(fake: FakeServiceTitan) -> None:
    tenant_id = pulled(fake)
    synced = fake.state.items["materials"][20_002]["price"]
    edit(tenant_id, "materials", 20_002, price_cents=5_000, display_name="Local name")
    fake.edit("materials", 20_002, price=77.0)
    outcomes = run_push(tenant_id)
    assert outcomes[0]["outcome"] == "conflict" and outcomes[0]["conflicts"] == ["price_cents"]
    # the name (changed here only) went; the price stayed ServiceTitan's
    assert fake.state.items["materials"][20_002]["price"] == 77.0
    assert fake.state.items["materials"][20_002]["displayName"] == "Local name"
    with session_scope(tenant_id=tenant_id) as session:
        conflict = session.scalars(select(SyncConflict).where(SyncConflict.tenant_id == tenant_id)).one()
        assert (conflict.field, conflict.base, conflict.local, conflict.remote) == (
            "price_cents",
            round(synced * 100),
            5_000,
            7_700,
        )
        # when the estimator keeps ours, the next push sends it
        principal = system_principal(tenant_id, permissions=EDITOR)
        conflicts.resolve(
            session=session,
            principal=principal,
            actor=audit.SYSTEM,
            conflict_id=conflict.id,
            resolution=schemas.ResolutionIn(take="local"),
        )
    assert run_push(tenant_id)[0]["outcome"] == "sent"
    assert fake.state.items["materials"][20_002]["price"] == 50.0


def test_a_remote_change_racing_our_patch_to_another_field_is_kept(fake: FakeServiceTitan) -> None:
    tenant_id = pulled(fake)
    edit(tenant_id, "materials", 20_003, price_cents=999)
    # someone edits the description in ServiceTitan between our GET and our PATCH
    fake.state.before_patch = lambda kind, item: item.update(description="<p>Racing edit</p>")
    run_push(tenant_id)
    fake.state.before_patch = None
    remote = fake.state.items["materials"][20_003]
    assert remote["price"] == 9.99 and remote["description"] == "<p>Racing edit</p>"
    with session_scope(tenant_id=tenant_id) as session:
        master = session.get(MasterMaterial, (tenant_id, 20_003))
        assert master is not None and master.description == "<p>Racing edit</p>" and master.price_cents == 999


def test_a_new_item_is_posted_and_linked(fake: FakeServiceTitan) -> None:
    tenant_id = pulled(fake)
    with session_scope(tenant_id=tenant_id) as session:
        created = edits.create_item(
            session=session,
            principal=system_principal(tenant_id, permissions=EDITOR),
            actor=audit.SYSTEM,
            kind="materials",
            item_in=schemas.NewItemIn(code="NEW-1", display_name="Shark bite", price_cents=1_250),
        )
    outcomes = run_push(tenant_id)
    assert outcomes[0]["outcome"] == "created"
    st_id = int(outcomes[0]["st_id"])  # type: ignore[arg-type]
    assert fake.state.items["materials"][st_id]["code"] == "NEW-1"
    with session_scope(tenant_id=tenant_id) as session:
        assert session.get(MasterMaterial, (tenant_id, st_id)) is not None
    assert run_push(tenant_id) == []  # nothing pending any more
    assert created.pending


def test_an_item_locked_by_another_push_is_left_for_later(fake: FakeServiceTitan) -> None:
    tenant_id = pulled(fake)
    edit(tenant_id, "materials", 20_004, price_cents=100)
    with session_scope(tenant_id=tenant_id) as session:
        assert push.acquire_lock(session, tenant_id=tenant_id, kind="materials", st_id=20_004, holder=uuid.uuid4())
    assert run_push(tenant_id) == [{"outcome": "locked"}]
    assert fake.state.items["materials"][20_004]["price"] != 1.0


def test_two_pushes_of_the_same_item_at_once_send_one_patch(fake: FakeServiceTitan) -> None:
    import threading
    import time

    tenant_id = pulled(fake)
    edit(tenant_id, "materials", 20_005, price_cents=777)
    runs = []
    for _ in range(2):
        with session_scope(tenant_id=tenant_id) as session:
            run = pull.create_run(
                session, tenant_id=tenant_id, direction="push", mode="push", kinds=["materials"], user_id=None
            )
            runs.append(run.id)
            run.status = "completed"  # two pushes started by different people (the one-running rule set aside)
    # the first push holds its PATCH open while the second one tries the same item
    fake.state.before_patch = lambda kind, item: time.sleep(0.5)
    outcomes: dict[int, dict[str, object]] = {}
    first = threading.Thread(
        target=lambda: outcomes.update({0: push.push_item(tenant_id, runs[0], "materials", 20_005)})
    )
    first.start()
    time.sleep(0.2)
    outcomes[1] = push.push_item(tenant_id, runs[1], "materials", 20_005)
    first.join()
    fake.state.before_patch = None
    assert sorted(o["outcome"] for o in outcomes.values()) == ["locked", "sent"]
    assert len([c for c in fake.api_calls() if c["method"] == "PATCH"]) == 1


def test_every_push_is_audited_with_what_it_sent(fake: FakeServiceTitan) -> None:
    from shared.audit import AuditLog

    tenant_id = pulled(fake)
    edit(tenant_id, "materials", 20_006, price_cents=4_000)
    run_push(tenant_id)
    with session_scope(tenant_id=tenant_id) as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.action == "pricebook.pushed")).all()
        assert [(r.entity_id, r.after["sent"]) for r in rows if r.after] == [("20006", {"price_cents": 4_000})]
