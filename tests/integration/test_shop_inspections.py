"""Inspections against the real database: templates, findings, the signed link and the customer's answers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from blueprints.identity.models import Tenant
from blueprints.shop import inspections
from blueprints.shop.schemas import ChecklistIn, ItemPatch, TemplateIn
from shared import audit, clock
from shared.errors import Conflict, Forbidden, Gone
from tests.builders import create_appointment, create_shop_world

ACTOR = audit.Actor()


@pytest.fixture
def checklist(db_session):
    world = create_shop_world(db_session)
    appointment = create_appointment(db_session, tenant=world.tenant, customer=world.customer, vehicle=world.vehicle)
    safety = TemplateIn(name="Safety", labels=["Brakes", "Tyres", "Horn"])
    template = inspections.create_template(session=db_session, principal=world.principal(), template_in=safety)
    with pytest.raises(Conflict):
        inspections.create_template(
            session=db_session, principal=world.principal(), template_in=TemplateIn(name="Safety", labels=["Again"])
        )
    made = inspections.create_checklist(
        session=db_session,
        principal=world.principal("tech"),
        actor=ACTOR,
        appointment_id=appointment.id,
        checklist_in=ChecklistIn(template_id=template.id),
    )
    for item, finding in zip(
        made.items,
        [
            ItemPatch(
                status="urgent", recommended=True, estimate_cents=9_000, photo_paths=["inspections/brakes-1.jpg"]
            ),
            ItemPatch(status="attention", recommended=True),
        ],
        strict=False,
    ):
        inspections.update_item(
            session=db_session,
            principal=world.principal("tech"),
            checklist_id=made.id,
            item_id=item.id,
            patch=finding,
            expected=None,
        )
    return world, made


def test_answers_come_back_onto_the_recommended_items(db_session, checklist) -> None:
    world, made = checklist
    link = inspections.approval_link(
        session=db_session, principal=world.principal("advisor"), checklist_id=made.id, ttl_hours=72, actor=ACTOR
    )
    token = link.url.rsplit("/", 1)[1]
    page = inspections.render_for_customer(session=db_session, token=token, action="/x")
    assert "Brakes" in page and "Tyres" in page and "Horn" not in page and "Edgar&#x27;s Auto" in page
    brakes, tyres, horn = made.items
    changed = inspections.record_answers(
        session=db_session,
        token=token,
        form={
            f"item-{brakes.id}": "approve",
            f"item-{tyres.id}": "decline",
            f"item-{horn.id}": "approve",
            "item-not-an-item": "approve",
        },
    )
    assert changed == 2
    answered = inspections.get_checklist(session=db_session, principal=world.principal(), checklist_id=made.id)
    assert [i.decision for i in answered.items] == ["approved", "declined", None]
    assert answered.items[0].photo_paths == ["inspections/brakes-1.jpg"]


def test_an_expired_link_is_refused_by_page_and_form(db_session, checklist) -> None:
    world, made = checklist
    clock.pin(clock.now())
    try:
        link = inspections.approval_link(
            session=db_session, principal=world.principal(), checklist_id=made.id, ttl_hours=168, actor=ACTOR
        )
        clock.advance(timedelta(days=7, seconds=1))
        token = link.url.rsplit("/", 1)[1]
        with pytest.raises(Gone):
            inspections.render_for_customer(session=db_session, token=token, action="/x")
        with pytest.raises(Gone):
            inspections.record_answers(session=db_session, token=token, form={})
    finally:
        clock.unpin()


def test_a_business_that_switched_the_shop_off_refuses_its_links(db_session, checklist) -> None:
    world, made = checklist
    link = inspections.approval_link(
        session=db_session, principal=world.principal(), checklist_id=made.id, ttl_hours=1, actor=ACTOR
    )
    db_session.get(Tenant, world.tenant.id).enabled_modules = ["crm"]
    db_session.flush()
    with pytest.raises(Forbidden):
        inspections.render_for_customer(session=db_session, token=link.url.rsplit("/", 1)[1], action="/x")
