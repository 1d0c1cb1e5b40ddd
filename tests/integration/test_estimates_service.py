"""Estimates against the real database (app role, RLS on): the worked example priced and read back, rate-book
versions, and who sees which estimate (owner, admin, a peer before and after a share, another business)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from blueprints.crm import service as crm
from blueprints.estimates import service as estimates
from blueprints.estimates.schemas import AddonIn, EstimateIn, EstimatePatch, EstimateQuery, OptionIn, RoomPatch, ShareIn
from shared.audit import Actor, AuditLog
from shared.db import get_engine
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from tests.builders import PaintWorld, create_paint_world, example_room, paint_rate_book

ACTOR = Actor()


@contextmanager
def counting() -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)


def _estimate(session, world: PaintWorld, who: str = "estimator", **fields) -> object:
    body = EstimateIn(customer_id=world.customer.id, title="Living room repaint", **fields)
    out, _ = estimates.create_estimate(session=session, principal=world.principal(who), actor=ACTOR, estimate_in=body)
    return out


def test_the_example_room_is_priced_exactly_as_the_issue_says(db_session) -> None:
    world = create_paint_world(db_session)
    estimate = _estimate(db_session, world)
    out, _ = estimates.add_room(
        session=db_session,
        principal=world.principal("estimator"),
        actor=ACTOR,
        estimate_id=estimate.id,
        room_in=example_room(world),
    )
    (option,) = out.options
    walls, ceiling = option.rooms[0].surfaces
    assert (walls.quantity, walls.hours, ceiling.quantity, ceiling.hours) == (
        365,
        Decimal("3.285"),
        168,
        Decimal("1.12"),
    )
    assert [(m.name, m.gallons, m.cents) for m in option.materials] == [
        ("Wall eggshell", 3, 13_500),
        ("Ceiling flat", 1, 4_000),
    ]
    assert (option.totals.labour_cents, option.totals.materials_cents, option.totals.total_cents) == (
        28_633,
        17_500,
        46_133,
    )
    # and reading it again answers the same, from the stored rows
    again, _ = estimates.get_estimate(session=db_session, principal=world.principal("admin"), estimate_id=estimate.id)
    assert again.options[0].totals == option.totals


def test_options_price_their_own_rooms_and_product_tiers(db_session) -> None:
    world = create_paint_world(db_session)
    premium = {world.products["Wall eggshell"]: world.products["Wall premium"]}
    estimate = _estimate(
        db_session, world, options=[OptionIn(name="Good"), OptionIn(name="Better", product_overrides=premium)]
    )
    good, better = estimate.options
    me = world.principal("estimator")
    estimates.add_room(
        session=db_session, principal=me, actor=ACTOR, estimate_id=estimate.id, room_in=example_room(world)
    )
    hall = example_room(world, name="Hall", option_id=better.id)
    out, _ = estimates.add_room(session=db_session, principal=me, actor=ACTOR, estimate_id=estimate.id, room_in=hall)
    assert [len(o.rooms) for o in out.options] == [1, 2]
    assert {m.name for m in out.options[1].materials} == {"Wall premium", "Ceiling flat"}
    out, _ = estimates.add_addon(
        session=db_session,
        principal=me,
        actor=ACTOR,
        estimate_id=estimate.id,
        addon_in=AddonIn(name="Power wash deck", price_cents=25_000),
    )
    assert out.addons[0].price_cents == 25_000
    estimates.delete_option(session=db_session, principal=me, actor=ACTOR, estimate_id=estimate.id, option_id=better.id)
    out, _ = estimates.get_estimate(session=db_session, principal=me, estimate_id=estimate.id)
    assert [o.name for o in out.options] == ["Good"] and len(out.rooms) == 1
    with pytest.raises(Conflict):
        estimates.delete_option(
            session=db_session, principal=me, actor=ACTOR, estimate_id=estimate.id, option_id=good.id
        )


def test_a_room_with_a_product_the_rate_book_lacks_is_refused(db_session) -> None:
    world = create_paint_world(db_session)
    estimate = _estimate(db_session, world)
    room = example_room(world)
    room.surfaces[0] = room.surfaces[0].model_copy(update={"product_id": world.customer.id})
    with pytest.raises(Unprocessable):
        estimates.add_room(
            session=db_session,
            principal=world.principal("estimator"),
            actor=ACTOR,
            estimate_id=estimate.id,
            room_in=room,
        )


def test_each_rate_book_change_is_a_new_version_and_drafts_record_theirs(db_session) -> None:
    world = create_paint_world(db_session)
    owner = world.principal("owner")
    estimate = _estimate(db_session, world)
    assert estimate.rate_book_version == 1
    dearer = paint_rate_book(labour_rate_cents=7_000)
    dearer.products[:] = estimates.get_rate_book(session=db_session, principal=owner).products
    saved = estimates.save_rate_book(session=db_session, principal=owner, actor=ACTOR, book=dearer)
    assert saved.version == 2
    assert estimates.get_rate_book(session=db_session, principal=owner, version=1).labour_rate_cents == 6_500
    # the draft keeps version 1 until it changes, then is priced with version 2
    same, _ = estimates.get_estimate(session=db_session, principal=owner, estimate_id=estimate.id)
    assert same.rate_book_version == 1
    out, _ = estimates.add_room(
        session=db_session, principal=owner, actor=ACTOR, estimate_id=estimate.id, room_in=example_room(world)
    )
    assert (
        out.rate_book_version == 2 and out.options[0].totals.labour_cents == 22_995 + 7_840
    )  # per line: 3.285 h and 1.12 h at $70
    changes = db_session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "rate_book.changed")
    )
    assert changes == 2


def test_estimators_see_their_own_and_shared_estimates_admins_see_all(db_session) -> None:
    world = create_paint_world(db_session)
    mine = _estimate(db_session, world)
    peer, admin = world.principal("peer"), world.principal("admin")
    # the peer sees neither the estimate nor its customer
    with pytest.raises(NotFound):
        estimates.get_estimate(session=db_session, principal=peer, estimate_id=mine.id)
    assert estimates.list_estimates(session=db_session, principal=peer, query=EstimateQuery()).items == []
    with pytest.raises(NotFound):
        crm.get_customer(session=db_session, principal=peer, customer_id=world.customer.id)
    # the admin sees it and all of the business's estimates
    assert [
        e.id for e in estimates.list_estimates(session=db_session, principal=admin, query=EstimateQuery()).items
    ] == [mine.id]
    # once shared to view, the peer reads it and its customer, but may not change it
    estimates.share_estimate(
        session=db_session,
        principal=world.principal("estimator"),
        actor=ACTOR,
        estimate_id=mine.id,
        share_in=ShareIn(user_id=world.users["peer"].id),
    )
    seen, _ = estimates.get_estimate(session=db_session, principal=peer, estimate_id=mine.id)
    assert seen.shares[0].access == "view"
    crm.get_customer(session=db_session, principal=peer, customer_id=world.customer.id)
    with pytest.raises(Forbidden):
        estimates.add_room(
            session=db_session, principal=peer, actor=ACTOR, estimate_id=mine.id, room_in=example_room(world)
        )
    with pytest.raises(Forbidden):
        estimates.share_estimate(
            session=db_session,
            principal=peer,
            actor=ACTOR,
            estimate_id=mine.id,
            share_in=ShareIn(user_id=world.users["admin"].id),
        )
    # shared to edit, the peer may change it; unshared, it is gone again
    estimates.share_estimate(
        session=db_session,
        principal=admin,
        actor=ACTOR,
        estimate_id=mine.id,
        share_in=ShareIn(user_id=world.users["peer"].id, access="edit"),
    )
    estimates.add_room(
        session=db_session, principal=peer, actor=ACTOR, estimate_id=mine.id, room_in=example_room(world)
    )
    estimates.unshare_estimate(
        session=db_session,
        principal=world.principal("estimator"),
        actor=ACTOR,
        estimate_id=mine.id,
        user_id=world.users["peer"].id,
    )
    with pytest.raises(NotFound):
        estimates.get_estimate(session=db_session, principal=peer, estimate_id=mine.id)


def test_another_business_never_sees_an_estimate(db_session) -> None:
    world = create_paint_world(db_session)
    mine = _estimate(db_session, world)
    other = create_paint_world(db_session, name="Someone Else Painting")
    with pytest.raises(NotFound):
        estimates.get_estimate(session=db_session, principal=other.principal("owner"), estimate_id=mine.id)


def test_lists_filter_and_page(db_session) -> None:
    world = create_paint_world(db_session)
    made = [_estimate(db_session, world) for _ in range(5)]
    admin = world.principal("admin")
    first = estimates.list_estimates(session=db_session, principal=admin, query=EstimateQuery(limit=3))
    second = estimates.list_estimates(
        session=db_session, principal=admin, query=EstimateQuery(limit=3, cursor=first.next_cursor)
    )
    assert {e.id for e in first.items + second.items} == {e.id for e in made} and second.next_cursor is None
    owned = EstimateQuery(owner_id=world.users["peer"].id)
    assert estimates.list_estimates(session=db_session, principal=admin, query=owned).items == []
    assert (
        len(estimates.list_estimates(session=db_session, principal=admin, query=EstimateQuery(status="draft")).items)
        == 5
    )


def test_an_empty_cursor_is_the_first_page(db_session) -> None:
    # found by the stateful fuzz: GET /v1/estimates?cursor=&customer_id=... answered 500
    world = create_paint_world(db_session)
    made = _estimate(db_session, world)  # the estimator's
    for role in ("admin", "estimator"):
        query = EstimateQuery.model_validate({"cursor": "", "customer_id": str(made.customer_id)})
        page = estimates.list_estimates(session=db_session, principal=world.principal(role), query=query)
        assert [e.id for e in page.items] == [made.id]  # the estimator's own, and the admin sees all


def test_stale_writes_are_refused_and_patching_a_room_reprices(db_session) -> None:
    world = create_paint_world(db_session)
    me = world.principal("estimator")
    estimate = _estimate(db_session, world)
    out, version = estimates.add_room(
        session=db_session, principal=me, actor=ACTOR, estimate_id=estimate.id, room_in=example_room(world)
    )
    room = out.rooms[0]
    out, _ = estimates.update_room(
        session=db_session,
        principal=me,
        actor=ACTOR,
        estimate_id=estimate.id,
        room_id=room.id,
        patch=RoomPatch(doors=2),
        expected=frozenset({room.version}),
    )
    assert out.options[0].rooms[0].wall_area_sqft == 344
    from shared.errors import PreconditionFailed

    with pytest.raises(PreconditionFailed):
        estimates.update_estimate(
            session=db_session,
            principal=me,
            actor=ACTOR,
            estimate_id=estimate.id,
            patch=EstimatePatch(title="x"),
            expected=frozenset({version}),
        )


def test_reading_an_estimate_is_one_statement_however_many_rooms_it_has(db_session) -> None:
    world = create_paint_world(db_session)
    me = world.principal("estimator")
    small, big = (
        _estimate(db_session, world),
        _estimate(db_session, world, options=[OptionIn(name="A"), OptionIn(name="B")]),
    )
    for n in range(12):
        estimates.add_room(
            session=db_session, principal=me, actor=ACTOR, estimate_id=big.id, room_in=example_room(world, name=f"R{n}")
        )
    estimates.add_addon(
        session=db_session, principal=me, actor=ACTOR, estimate_id=big.id, addon_in=AddonIn(name="x", price_cents=1)
    )
    for estimate, rooms in ((small, 0), (big, 12)):
        with counting() as statements:
            out, _ = estimates.get_estimate(session=db_session, principal=me, estimate_id=estimate.id)
        assert len(statements) == 1 and len(out.rooms) == rooms
    assert all(len(o.rooms) == 12 for o in out.options)


def test_a_draft_keeps_its_rate_book_when_the_newest_one_dropped_a_product_it_uses(db_session) -> None:
    world = create_paint_world(db_session)
    owner, me = world.principal("owner"), world.principal("estimator")
    estimate = _estimate(db_session, world)
    estimates.add_room(
        session=db_session, principal=me, actor=ACTOR, estimate_id=estimate.id, room_in=example_room(world)
    )
    # the owner drops the ceiling paint from the rate book
    current = estimates.get_rate_book(session=db_session, principal=owner)
    kept = [p for p in current.products if p.name != "Ceiling flat"]
    estimates.save_rate_book(session=db_session, principal=owner, actor=ACTOR, book=paint_rate_book(products=kept))
    # a change to the draft keeps it priced with version 1, and it still reads
    out, _ = estimates.update_estimate(
        session=db_session,
        principal=me,
        actor=ACTOR,
        estimate_id=estimate.id,
        patch=EstimatePatch(notes="Ceiling too"),
        expected=None,
    )
    assert out.rate_book_version == 1 and out.options[0].totals.total_cents == 46_133


def test_an_estimators_pages_hold_their_own_and_shared_newest_change_first(db_session) -> None:
    # given five estimates of the estimator, one of the admin shared with them and one not shared
    world = create_paint_world(db_session)
    own = [_estimate(db_session, world) for _ in range(5)]
    shared, unshared = _estimate(db_session, world, "admin"), _estimate(db_session, world, "admin")
    estimates.share_estimate(
        session=db_session,
        principal=world.principal("admin"),
        actor=ACTOR,
        estimate_id=shared.id,
        share_in=ShareIn(user_id=world.users["estimator"].id),
    )
    estimator = world.principal("estimator")
    # when they page through two at a time, with and without a filter
    for query in (EstimateQuery(limit=2), EstimateQuery(limit=2, status="draft", customer_id=world.customer.id)):
        seen, cursor = [], None
        while True:
            page = estimates.list_estimates(
                session=db_session, principal=estimator, query=query.model_copy(update={"cursor": cursor})
            )
            seen += page.items
            if (cursor := page.next_cursor) is None:
                break
        # then they see their own and the shared one, each once, newest change first, never the unshared one
        assert {e.id for e in seen} == {e.id for e in own} | {shared.id} and unshared.id not in {e.id for e in seen}
        assert [(e.updated_at, e.id) for e in seen] == sorted(((e.updated_at, e.id) for e in seen), reverse=True)
        assert len(seen) == 6
    owned_by_admin = EstimateQuery(owner_id=world.users["admin"].id)
    assert [
        e.id for e in estimates.list_estimates(session=db_session, principal=estimator, query=owned_by_admin).items
    ] == [shared.id]
