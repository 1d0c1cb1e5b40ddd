"""Leads against the real database: matching and merging into crm customers, consent in messaging's ledger,
the first answer's decision with the clock pinned, one answer however often the task runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blueprints.crm.models import Customer
from blueprints.leads import responder, schemas, service
from blueprints.leads.models import Lead
from blueprints.messaging import schemas as messaging_schemas
from blueprints.messaging import service as messaging
from blueprints.messaging import webhooks
from blueprints.messaging.models import Message, MessagingSettings
from shared import clock
from shared.models import OutboxMessage
from shared.storage import read_task
from tests.builders import create_customer, create_tenant, create_user, unique_email, unique_phone

CHICAGO = ZoneInfo("America/Chicago")
AFTERNOON = datetime(2026, 12, 1, 14, 0, tzinfo=CHICAGO)
WORDING = "Text me about my request. Msg & data rates may apply. Reply STOP to opt out."


@pytest.fixture(autouse=True)
def _pinned() -> Iterator[None]:
    clock.pin(AFTERNOON)
    yield
    clock.unpin()


def _business(session: Session):
    tenant = create_tenant(session, name="Pipeline Plumbing")
    owner = create_user(session, tenant=tenant, role="owner", name="Olive Owner")
    return tenant, owner


def _contact(**fields) -> service.Contact:
    return service.Contact(**{"source": "form", "name": "Hank Homeowner", **fields})


def _record(session: Session, tenant, **fields) -> tuple[Lead, bool]:
    return service.record_lead(session=session, tenant_id=tenant.id, contact=_contact(**fields))


def _customers(session: Session, tenant) -> int:
    return session.scalar(select(func.count()).select_from(Customer).where(Customer.tenant_id == tenant.id)) or 0


def _answer_tasks(session: Session) -> list[str]:
    return [m.body for m in session.scalars(select(OutboxMessage)).all() if m.queue == schemas.RESPONDER_QUEUE]


def test_a_new_lead_creates_a_customer_owned_by_the_owner_in_the_business_zone(db_session) -> None:
    tenant, owner = _business(db_session)
    phone = unique_phone()
    lead, created = _record(db_session, tenant, phone=phone, email="hank@example.com", address="1 Main St")
    assert created and lead.status == "new" and lead.answer_state == "pending"
    customer = db_session.get(Customer, lead.customer_id)
    assert customer is not None
    assert (customer.owner_id, customer.phone, customer.email, customer.timezone) == (
        owner.id,
        phone,
        "hank@example.com",
        "America/Chicago",
    )
    # its first answer is queued after commit (outbox)
    assert any(str(lead.id) in body and '"answer"' in body for body in _answer_tasks(db_session))


def test_a_lead_matches_an_existing_customer_by_phone_or_by_email_and_fills_what_it_lacked(db_session) -> None:
    tenant, owner = _business(db_session)
    phone, email = unique_phone(), unique_email("ada")
    by_phone = create_customer(db_session, tenant=tenant, owner=owner, name="Ada", phone=phone)
    by_email = create_customer(db_session, tenant=tenant, owner=owner, name="Bea", email=email)
    before = _customers(db_session, tenant)
    first, _ = _record(db_session, tenant, phone=phone, email=unique_email("new"))
    second, _ = _record(db_session, tenant, email=email, phone=unique_phone())
    assert (first.customer_id, second.customer_id) == (by_phone.id, by_email.id)
    assert _customers(db_session, tenant) == before
    db_session.refresh(by_phone)
    db_session.refresh(by_email)
    assert by_phone.email == first.email and by_email.phone == second.phone


def test_the_same_person_within_24_hours_is_one_lead_and_after_that_a_new_one(db_session) -> None:
    tenant, _ = _business(db_session)
    phone = unique_phone()
    lead, created = _record(db_session, tenant, phone=phone, message="Leaking heater")
    clock.advance(timedelta(hours=23))
    again, created_again = _record(db_session, tenant, phone=phone, email="hank@example.com", message="Still leaking")
    assert created and not created_again and again.id == lead.id
    assert (again.submissions, again.email) == (2, "hank@example.com")
    assert again.message == "Leaking heater\n\nStill leaking"
    assert [str(lead.id) in body for body in _answer_tasks(db_session)].count(True) == 1  # one answer queued
    clock.advance(timedelta(hours=2))
    later, created_later = _record(db_session, tenant, phone=phone)
    assert created_later and later.id != lead.id and later.customer_id == lead.customer_id


def test_consent_goes_to_the_ledger_with_the_forms_wording_and_never_overrides_a_recorded_choice(db_session) -> None:
    tenant, owner = _business(db_session)
    email = unique_email("opted-out")
    customer = create_customer(db_session, tenant=tenant, owner=owner, name="Cy", email=email)
    messaging.record_consent(
        session=db_session,
        tenant_id=tenant.id,
        customer_id=customer.id,
        channel="email",
        purpose="transactional",
        granted=False,
        source="unsubscribed",
    )
    lead, _ = _record(db_session, tenant, phone=unique_phone(), email=email, consent_given=True, consent_text=WORDING)
    sms = messaging.current_consent(
        session=db_session, tenant_id=tenant.id, customer_id=customer.id, channel="sms", purpose="transactional"
    )
    mail = messaging.current_consent(
        session=db_session, tenant_id=tenant.id, customer_id=customer.id, channel="email", purpose="transactional"
    )
    assert sms is not None and sms.granted and sms.source == lead.consent_source
    assert lead.consent_source is not None and lead.consent_source.startswith("lead_form:")
    assert lead.consent_text == WORDING
    assert mail is not None and (mail.granted, mail.source) == (False, "unsubscribed")


def test_an_unticked_box_records_no_texting_consent_and_the_answer_goes_by_email(db_session) -> None:
    tenant, _ = _business(db_session)
    lead, _ = _record(db_session, tenant, phone=unique_phone(), email=unique_email("lead"), consent_given=False)
    sms = messaging.current_consent(
        session=db_session, tenant_id=tenant.id, customer_id=lead.customer_id, channel="sms", purpose="transactional"
    )
    assert sms is None
    assert responder._answer(db_session, lead) == "answer queued by email"
    message = db_session.get(Message, lead.answer_message_id)
    assert message is not None and (message.channel, message.related_type, message.related_id) == (
        "email",
        "lead",
        lead.id,
    )


def test_the_answer_is_one_message_however_often_the_task_runs(db_session) -> None:
    tenant, _ = _business(db_session)
    lead, _ = _record(db_session, tenant, phone=unique_phone(), consent_given=True, consent_text=WORDING)
    outcomes = [responder._answer(db_session, lead) for _ in range(3)]
    assert outcomes == ["answer queued by sms", "already answered", "already answered"]
    count = select(func.count()).select_from(Message).where(Message.related_id == lead.id)
    assert db_session.scalar(count) == 1
    assert lead.answer_channel == "sms" and lead.answer_state == "queued"


def test_at_half_past_eleven_a_textable_lead_is_scheduled_for_eight_and_the_owner_is_told(db_session) -> None:
    tenant, _ = _business(db_session)
    clock.pin(datetime(2026, 12, 1, 23, 30, tzinfo=CHICAGO))
    lead, _ = _record(db_session, tenant, phone=unique_phone(), consent_given=True, consent_text=WORDING)
    assert responder._answer(db_session, lead).startswith("scheduled for")
    assert lead.answer_scheduled_for == datetime(2026, 12, 2, 8, 0, tzinfo=CHICAGO)
    assert (lead.answer_state, lead.answer_message_id, lead.owner_notice) == ("scheduled", None, "scheduled")
    # a copy of the task before eight does nothing more; at eight the text is queued
    assert responder._answer(db_session, lead) == "already scheduled"
    clock.pin(datetime(2026, 12, 2, 8, 0, 1, tzinfo=CHICAGO))
    assert responder._answer(db_session, lead) == "answer queued by sms"


def test_a_lead_no_channel_reaches_is_the_owners(db_session) -> None:
    tenant, _ = _business(db_session)
    lead, _ = _record(db_session, tenant, phone=unique_phone(), consent_given=False)
    assert responder._answer(db_session, lead) == "unreachable: no channel with consent"
    assert (lead.answer_state, lead.owner_notice) == ("unreachable", "unreachable")


def test_a_contacted_lead_gets_no_automatic_answer(db_session) -> None:
    tenant, _ = _business(db_session)
    lead, _ = _record(db_session, tenant, email=unique_email("lead"))
    lead.status = "contacted"
    assert responder._answer(db_session, lead) == "skipped: no longer new"
    assert lead.answer_message_id is None


def _texting_business(session: Session):
    tenant, _ = _business(session)
    number = unique_phone()
    session.add(
        MessagingSettings(tenant_id=tenant.id, sms_from_number=number, sms_footer="Reply STOP.", help_text="Call us.")
    )
    session.flush()
    return tenant, number


def test_follow_ups_go_while_the_lead_is_silent_and_stop_once_it_replies(db_session) -> None:
    tenant, number = _texting_business(db_session)
    phone = unique_phone()
    lead, _ = _record(db_session, tenant, phone=phone, consent_given=True, consent_text=WORDING)
    assert responder._answer(db_session, lead) == "answer queued by sms"
    # day 1: no word from the lead, the follow-up is queued once however often its task runs
    clock.advance(timedelta(days=1))
    assert responder._follow_up(db_session, lead, 0) == "follow-up 0 queued"
    assert responder._follow_up(db_session, lead, 0) == "follow-up 0 queued"
    texts = select(func.count()).select_from(Message).where(Message.related_id == lead.id)
    assert db_session.scalar(texts) == 2 and lead.follow_ups_sent == 1
    # the lead texts back; day 3's follow-up stops
    clock.advance(timedelta(hours=1))
    params = {"From": phone, "To": number, "Body": "Yes, Tuesday works", "MessageSid": "SM" + uuid.uuid4().hex}
    webhooks.receive_inbound(session=db_session, params=params)
    clock.advance(timedelta(days=2))
    assert responder._follow_up(db_session, lead, 1) == "follow-up 1 stopped: the lead replied"
    assert lead.replied_at is not None and lead.follow_ups_stopped == "replied"
    assert db_session.scalar(texts) == 2


def test_a_text_from_an_unknown_number_is_queued_for_leads_and_one_from_a_customer_is_not(db_session) -> None:
    tenant, number = _texting_business(db_session)
    known = create_customer(db_session, tenant=tenant, name="Known", phone=unique_phone())
    stranger = unique_phone()
    for sender in (stranger, known.phone, stranger):
        sid = "SM" + uuid.uuid4().hex
        webhooks.receive_inbound(
            session=db_session, params={"From": sender, "To": number, "Body": "Hi", "MessageSid": sid}
        )
    webhooks.receive_inbound(
        session=db_session, params={"From": stranger, "To": number, "Body": "STOP", "MessageSid": "SM1"}
    )
    queued = [m.body for m in db_session.scalars(select(OutboxMessage)).all() if m.queue == "inbound-from-unknown"]
    assert len(queued) == 2 and all(stranger in body for body in queued)
    # leads makes one lead of the stranger's first text, merges the second, and ignores a copy of the first
    parsed = read_task(queued[0].encode(), messaging_schemas.InboundFromUnknown, queue="inbound-from-unknown")
    assert parsed is not None
    first, _ = parsed
    assert service.lead_from_text(session=db_session, task=first).endswith("made")
    assert "already made" in service.lead_from_text(session=db_session, task=first)
    parsed = read_task(queued[1].encode(), messaging_schemas.InboundFromUnknown, queue="inbound-from-unknown")
    assert parsed is not None
    assert service.lead_from_text(session=db_session, task=parsed[0]).endswith("merged")
    leads = db_session.scalars(select(Lead).where(Lead.tenant_id == tenant.id)).all()
    assert [(lead.source, lead.phone, lead.message) for lead in leads] == [("sms", stranger, "Hi")]
    assert leads[0].submissions == 2


# --- what a task the host gave up on (a poison queue's copy) leaves on the lead --------------------------------


def _task(lead: Lead, kind: schemas.TaskKind, n: int = 0) -> schemas.LeadTask:
    return schemas.LeadTask(tenant_id=lead.tenant_id, lead_id=lead.id, kind=kind, n=n)


def _notices(session: Session, lead: Lead) -> int:
    return [str(lead.id) in body and '"notify_owner"' in body for body in _answer_tasks(session)].count(True)


def test_a_poisoned_answer_fails_the_unanswered_lead_and_queues_the_owners_notice_once(db_session) -> None:
    tenant, _ = _business(db_session)
    lead, _ = _record(db_session, tenant, email=unique_email("lead"))
    assert responder._give_up(db_session, lead, _task(lead, "answer")) == "answer failed; owner's notice queued"
    assert (lead.answer_state, lead.owner_notice, lead.answer_message_id) == ("failed", "failed", None)
    assert _notices(db_session, lead) == 1
    # a second poisoned copy changes nothing more
    assert responder._give_up(db_session, lead, _task(lead, "answer")) == "nothing changed: answer failed"
    assert _notices(db_session, lead) == 1


def test_a_poisoned_scheduled_answer_fails_and_says_the_owner_was_already_told(db_session) -> None:
    tenant, _ = _business(db_session)
    clock.pin(datetime(2026, 12, 1, 23, 30, tzinfo=CHICAGO))
    lead, _ = _record(db_session, tenant, phone=unique_phone(), consent_given=True, consent_text=WORDING)
    assert responder._answer(db_session, lead).startswith("scheduled for")
    lead.owner_notified_at = clock.now()  # the owner's notice about the 08:00 text went out
    assert responder._give_up(db_session, lead, _task(lead, "answer")) == "answer failed; owner already told"
    assert lead.answer_state == "failed" and _notices(db_session, lead) == 1  # the scheduling notice only


def test_a_poisoned_copy_of_an_answered_leads_tasks_changes_nothing_and_says_what_the_lead_records(
    db_session,
) -> None:
    tenant, _ = _business(db_session)
    lead, _ = _record(db_session, tenant, phone=unique_phone(), consent_given=True, consent_text=WORDING)
    assert responder._answer(db_session, lead) == "answer queued by sms"
    answer = lead.answer_message_id
    outcomes = [
        responder._give_up(db_session, lead, _task(lead, kind, n))
        for kind, n in (("answer", 0), ("confirm", 3), ("follow_up", 1), ("notify_owner", 0))
    ]
    assert outcomes == [
        "nothing changed: answer queued",
        "nothing changed: confirmation dropped, answer queued",
        "nothing changed: follow-up 1 dropped, answer queued",
        "nothing changed: owner not told",
    ]
    assert (lead.answer_state, lead.answer_message_id, lead.owner_notice) == ("queued", answer, None)
    count = select(func.count()).select_from(Message).where(Message.related_id == lead.id)
    assert db_session.scalar(count) == 1 and _notices(db_session, lead) == 0


def test_a_poisoned_inbound_text_says_whether_a_lead_has_it_and_the_text_stays_stored(db_session) -> None:
    tenant, number = _texting_business(db_session)
    params = {"From": unique_phone(), "To": number, "Body": "Burst pipe!", "MessageSid": "SM" + uuid.uuid4().hex}
    webhooks.receive_inbound(session=db_session, params=params)
    [queued] = [m.body for m in db_session.scalars(select(OutboxMessage)).all() if m.queue == "inbound-from-unknown"]
    parsed = read_task(queued.encode(), messaging_schemas.InboundFromUnknown, queue="inbound-from-unknown")
    assert parsed is not None
    task = parsed[0]
    assert service.text_given_up(session=db_session, task=task) == "no lead made; messaging keeps the text"
    stored = db_session.get(Message, task.message_id)
    assert stored is not None and (stored.direction, stored.body) == ("inbound", "Burst pipe!")
    made = service.lead_from_text(session=db_session, task=task)
    lead_id = made.split()[1]
    assert service.text_given_up(session=db_session, task=task) == f"lead {lead_id} already made"
    assert db_session.scalar(select(func.count()).select_from(Lead).where(Lead.tenant_id == tenant.id)) == 1
