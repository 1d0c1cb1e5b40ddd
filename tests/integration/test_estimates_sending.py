"""Sending, revisions, the customer's page and signature, and follow-ups, against the real database and Azurite."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from blueprints.estimates import followups, proposal, sending, store
from blueprints.estimates import service as estimates
from blueprints.estimates.models import Estimate, EstimateNotice
from blueprints.estimates.schemas import AddonIn, EstimateIn, EstimatePatch, OptionIn, SendIn
from blueprints.messaging.models import Message
from shared import clock
from shared.audit import Actor, AuditLog
from shared.errors import Conflict, Forbidden, Gone, Unprocessable
from tests.builders import PaintWorld, create_paint_world, example_room, paint_rate_book

ACTOR = Actor()


@pytest.fixture(autouse=True)
def _pinned_clock():
    clock.pin(clock.now())
    yield
    clock.unpin()


def _ready(session, world: PaintWorld):
    me = world.principal("estimator")
    premium = {world.products["Wall eggshell"]: world.products["Wall premium"]}
    body = EstimateIn(
        customer_id=world.customer.id,
        title="Living <room> & hall",
        job_address="1 Main St",
        options=[OptionIn(name="Good"), OptionIn(name="Better", product_overrides=premium)],
    )
    out, _ = estimates.create_estimate(session=session, principal=me, actor=ACTOR, estimate_in=body)
    estimates.add_room(session=session, principal=me, actor=ACTOR, estimate_id=out.id, room_in=example_room(world))
    out, _ = estimates.add_addon(
        session=session, principal=me, actor=ACTOR, estimate_id=out.id, addon_in=AddonIn(name="Deck", price_cents=9_900)
    )
    return out


def _send(session, world: PaintWorld, estimate_id, channel: str = "email"):
    return sending.send_estimate(
        session=session,
        principal=world.principal("estimator"),
        actor=ACTOR,
        estimate_id=estimate_id,
        send_in=SendIn(channel=channel, ttl_days=7),
    )


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _accept(session, token: str, option_id, **form):
    values = {"decision": "accept", "option": str(option_id), "name": "Rosa Diaz", **form}
    proposal.answer(session=session, token=token, form=values, ip="203.0.113.9", user_agent="Phone/1.0")


def test_sending_freezes_a_revision_with_its_pdf_and_queues_the_email(db_session) -> None:
    world = create_paint_world(db_session)
    estimate = _ready(db_session, world)
    sent = _send(db_session, world, estimate.id)
    assert sent.revision == 1 and sent.message_status == "queued" and sent.message_id is not None
    out, _ = estimates.get_estimate(session=db_session, principal=world.principal("admin"), estimate_id=estimate.id)
    assert out.status == "sent" and out.revisions[0].pdf_sha256 == sent.pdf_sha256
    pdf = store.get(store.path_of(world.tenant.id, estimate.id, 1))
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == sent.pdf_sha256
    # sending again without a change is refused: only a draft is sent
    with pytest.raises(Conflict):
        _send(db_session, world, estimate.id)


def test_a_change_after_sending_makes_a_new_revision_and_the_old_link_says_so(db_session) -> None:
    world = create_paint_world(db_session)
    estimate = _ready(db_session, world)
    first = _send(db_session, world, estimate.id)
    # a rate-book change never touches the sent revision
    estimates.save_rate_book(
        session=db_session,
        principal=world.principal("owner"),
        actor=ACTOR,
        book=paint_rate_book(
            labour_rate_cents=9_000,
            products=estimates.get_rate_book(session=db_session, principal=world.principal("owner")).products,
        ),
    )
    page = proposal.render_for_customer(session=db_session, token=_token(first.url), action="/x")
    assert "$461.33" in page and "Living &lt;room&gt; &amp; hall" in page
    out, _ = estimates.update_estimate(
        session=db_session,
        principal=world.principal("estimator"),
        actor=ACTOR,
        estimate_id=estimate.id,
        patch=EstimatePatch(notes="Two coats"),
        expected=None,
    )
    assert (out.status, out.revision, out.rate_book_version) == ("draft", 2, 2)
    with pytest.raises(Gone) as updated:
        proposal.render_for_customer(session=db_session, token=_token(first.url), action="/x")
    assert "updated" in updated.value.detail
    second = _send(db_session, world, estimate.id)
    assert second.revision == 2 and second.url != first.url
    page = proposal.render_for_customer(session=db_session, token=_token(second.url), action="/x")
    assert "$461.33" not in page  # priced with the $90/h version now


def test_the_customer_views_then_accepts_better_with_an_addon(db_session) -> None:
    world = create_paint_world(db_session)
    estimate = _ready(db_session, world)
    sent = _send(db_session, world, estimate.id)
    token = _token(sent.url)
    proposal.render_for_customer(session=db_session, token=token, action="/x")
    row = db_session.get(Estimate, estimate.id)
    first_view = row.viewed_at
    clock.advance(timedelta(hours=1))
    proposal.render_for_customer(session=db_session, token=token, action="/x")
    assert row.status == "viewed" and row.viewed_at == first_view
    better = estimate.options[1]
    # when the customer picks Better and the deck and signs
    _accept(db_session, token, better.id, **{f"addon-{estimate.addons[0].id}": "on"})
    out, _ = estimates.get_estimate(session=db_session, principal=world.principal("estimator"), estimate_id=estimate.id)
    acceptance = out.acceptance
    assert out.status == "accepted" and acceptance is not None
    assert (acceptance.option_id, acceptance.signer_name, acceptance.ip) == (better.id, "Rosa Diaz", "203.0.113.9")
    assert acceptance.user_agent == "Phone/1.0" and acceptance.addon_ids == [estimate.addons[0].id]
    assert acceptance.total_cents == better.totals.total_cents + 9_900
    signed = store.get(store.path_of(world.tenant.id, estimate.id, 1, signed=True))
    assert hashlib.sha256(signed).hexdigest() == acceptance.signed_pdf_sha256 != sent.pdf_sha256
    # and the customer's email carries that signed copy as an attachment
    emailed = db_session.scalars(select(Message).where(Message.dedupe_key == f"estimate-{estimate.id}-accepted")).one()
    assert [(a["blob_name"], a["filename"], a["content_type"]) for a in emailed.attachments] == [
        (
            store.path_of(world.tenant.id, estimate.id, 1, signed=True),
            "signed-proposal-revision-1.pdf",
            "application/pdf",
        )
    ]
    # then a second answer is refused, the page shows the acceptance, and the estimator is notified once
    with pytest.raises(Conflict):
        _accept(db_session, token, estimate.options[0].id)
    assert "Accepted by Rosa Diaz" in proposal.render_for_customer(session=db_session, token=token, action="/x")
    kinds = db_session.scalars(select(EstimateNotice.kind).where(EstimateNotice.estimate_id == estimate.id)).all()
    assert kinds == ["accepted"]
    actions = set(db_session.scalars(select(AuditLog.action).where(AuditLog.entity_id == str(estimate.id))))
    assert {"estimates.sent", "estimates.viewed", "estimates.accepted"} <= actions
    # and an accepted estimate no longer changes
    with pytest.raises(Conflict):
        estimates.add_room(
            session=db_session,
            principal=world.principal("estimator"),
            actor=ACTOR,
            estimate_id=estimate.id,
            room_in=example_room(world),
        )


def test_an_acceptance_needs_an_option_and_a_name(db_session) -> None:
    world = create_paint_world(db_session)
    estimate = _ready(db_session, world)
    token = _token(_send(db_session, world, estimate.id).url)
    with pytest.raises(Unprocessable):
        _accept(db_session, token, "not-an-option")
    with pytest.raises(Unprocessable):
        _accept(db_session, token, estimate.options[0].id, name="   ")


def test_declining_records_the_reason(db_session) -> None:
    world = create_paint_world(db_session)
    estimate = _ready(db_session, world)
    token = _token(_send(db_session, world, estimate.id).url)
    proposal.answer(
        session=db_session, token=token, form={"decision": "decline", "reason": "Too dear"}, ip=None, user_agent=None
    )
    out, _ = estimates.get_estimate(session=db_session, principal=world.principal("admin"), estimate_id=estimate.id)
    assert out.status == "declined" and out.acceptance and out.acceptance.decline_reason == "Too dear"


def test_tampered_and_expired_links_are_refused(db_session) -> None:
    world = create_paint_world(db_session)
    estimate = _ready(db_session, world)
    token = _token(_send(db_session, world, estimate.id).url)
    with pytest.raises(Forbidden):
        proposal.render_for_customer(session=db_session, token=token[:-2] + "xx", action="/x")
    clock.advance(timedelta(days=7, seconds=1))
    with pytest.raises(Gone):
        proposal.render_for_customer(session=db_session, token=token, action="/x")


def test_follow_ups_remind_once_per_stage_and_expired_estimates_move_to_expired(db_session) -> None:
    world = create_paint_world(db_session)
    unviewed, viewed = _ready(db_session, world), _ready(db_session, world)
    _send(db_session, world, unviewed.id)
    token = _token(_send(db_session, world, viewed.id).url)
    proposal.render_for_customer(session=db_session, token=token, action="/x")
    clock.advance(timedelta(days=2, minutes=1))
    assert followups.follow_up(session=db_session, tenant_id=world.tenant.id) == 1  # the unviewed one
    clock.advance(timedelta(days=3))
    assert followups.follow_up(session=db_session, tenant_id=world.tenant.id) == 1  # now the undecided one
    assert followups.follow_up(session=db_session, tenant_id=world.tenant.id) == 0  # once per stage
    notices = db_session.execute(select(EstimateNotice.estimate_id, EstimateNotice.kind)).all()
    assert sorted((str(e), k) for e, k in notices) == sorted(
        [(str(unviewed.id), "unviewed"), (str(viewed.id), "undecided")]
    )
    clock.advance(timedelta(days=26))
    assert followups.follow_up(session=db_session, tenant_id=world.tenant.id) == 2
    assert {db_session.get(Estimate, e.id).status for e in (unviewed, viewed)} == {"expired"}


def test_a_send_messaging_refuses_is_reported_not_lost(db_session) -> None:
    world = create_paint_world(db_session)
    world.customer.email = None  # nowhere to email it
    estimate = _ready(db_session, world)
    sent = _send(db_session, world, estimate.id)
    assert sent.message_id is None and sent.message_status == "not_sent: no_email"
    out, _ = estimates.get_estimate(session=db_session, principal=world.principal("estimator"), estimate_id=estimate.id)
    assert out.status == "sent" and out.revisions[0].message_id is None


def test_the_estimate_shows_what_became_of_its_message(db_session) -> None:
    world = create_paint_world(db_session)
    estimate = _ready(db_session, world)
    sent = _send(db_session, world, estimate.id)
    out, _ = estimates.get_estimate(session=db_session, principal=world.principal("estimator"), estimate_id=estimate.id)
    assert (out.revisions[0].message_id, out.revisions[0].message_status) == (sent.message_id, "queued")
