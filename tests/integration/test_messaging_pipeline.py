"""The outbound pipeline against the real PostgreSQL, a private Azurite and the fake Twilio server.

The queue handler's work (`pipeline.process`) is called in-process so the app's clock can be pinned:
a message at 22:30 recipient time is scheduled for 08:00 and goes out when the clock reaches 08:00.
These tests use their own Azurite so no dev host of another test picks up the tasks they queue.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text, update

from blueprints.identity.models import Tenant
from blueprints.messaging import pipeline, schemas, service
from blueprints.messaging.models import Message, MessagingSettings
from shared import clock, storage
from shared.audit import AuditLog
from shared.config import reset_settings_cache
from shared.db import session_scope
from shared.errors import Forbidden, NotFound, Unprocessable
from shared.providers import twilio_messaging
from tests.builders import create_customer, create_tenant, unique_phone
from tests.conftest import Database
from tests.fakes.twilio_messaging import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioMessaging

CHICAGO = ZoneInfo("America/Chicago")
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=CHICAGO)


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilioMessaging]:
    fake = FakeTwilioMessaging().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def private_storage(database: Database) -> Iterator[str]:
    from devhost.services import free_azurite

    azurite = free_azurite().start()
    before = os.environ.get("AzureWebJobsStorage")
    os.environ["AzureWebJobsStorage"] = azurite.connection_string
    storage.reset_clients()
    yield azurite.connection_string
    if before is not None:
        os.environ["AzureWebJobsStorage"] = before
    storage.reset_clients()
    reset_settings_cache()
    azurite.stop()


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch, twilio: FakeTwilioMessaging, private_storage: str) -> Iterator[None]:
    for name, value in {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": twilio.base_url,
        "MESSAGING_RETRY_BASE_SECONDS": "1",
        "AzureWebJobsStorage": private_storage,
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    twilio_messaging.reset_client()
    twilio.reset()
    yield
    clock.unpin()
    reset_settings_cache()
    twilio_messaging.reset_client()


@dataclass
class Shop:
    """A committed tenant with a texting number and one consenting customer."""

    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    phone: str


def _shop(
    *,
    zone: str | None = "America/Chicago",
    consent: bool = True,
    tenant_zone: str = "America/Chicago",
    phone: str | None = None,
    **limits: int,
) -> Shop:
    phone = phone or unique_phone()
    with session_scope() as session:
        tenant = create_tenant(session, name=f"Shop {uuid.uuid4().hex[:6]}", timezone=tenant_zone)
        customer = create_customer(
            session,
            tenant=tenant,
            name="Ada Lovelace",
            phone=phone,
            email=f"ada-{uuid.uuid4().hex[:8]}@example.com",
            timezone=zone,
        )
        session.add(
            MessagingSettings(
                tenant_id=tenant.id,
                sms_from_number=unique_phone(),
                email_from="shop@example.com",
                sms_footer="Reply STOP to opt out.",
                help_text="Call us.",
                **limits,
            )
        )
        session.flush()
        if consent:
            service.record_consent(
                session=session,
                tenant_id=tenant.id,
                customer_id=customer.id,
                channel="sms",
                purpose="transactional",
                granted=True,
                source="signed_form",
            )
        return Shop(tenant_id=tenant.id, customer_id=customer.id, phone=phone)


def _send(shop: Shop, body: str = "Your car is ready.", **kwargs: object) -> schemas.OutboundTask:
    with session_scope(tenant_id=shop.tenant_id) as session:
        message = service.send(
            session=session,
            tenant_id=shop.tenant_id,
            customer_id=shop.customer_id,
            channel=kwargs.pop("channel", "sms"),
            body=body,  # type: ignore[arg-type]
            purpose=kwargs.pop("purpose", "transactional"),
            **kwargs,
        )  # type: ignore[arg-type]
    return schemas.OutboundTask(tenant_id=shop.tenant_id, message_id=message.id, seq=0)


def _row(task: schemas.OutboundTask) -> Message:
    with session_scope(tenant_id=task.tenant_id) as session:
        message = session.scalars(select(Message).where(Message.id == task.message_id)).one()
        session.expunge(message)
        return message


def _next(task: schemas.OutboundTask) -> schemas.OutboundTask:
    return task.model_copy(update={"seq": _row(task).dispatch_seq})


def test_a_message_at_half_past_ten_at_night_is_scheduled_and_sent_at_eight(twilio: FakeTwilioMessaging) -> None:
    # given a customer in Chicago and a clock at 22:30 there
    shop = _shop()
    clock.pin(datetime(2026, 11, 23, 22, 30, tzinfo=CHICAGO))
    task = _send(shop)
    # when the queue handler runs
    assert pipeline.process(task) == "scheduled"
    # then nothing went out, and the message waits for 08:00 local
    row = _row(task)
    assert (row.status, row.reason) == ("scheduled", "quiet_hours")
    assert row.scheduled_for == datetime(2026, 11, 24, 8, 0, tzinfo=CHICAGO)
    assert twilio.sent_to(shop.phone) == []
    # and the old delivery of the task is now stale
    assert pipeline.process(task) == "stale"
    # when the re-queued task becomes visible at 08:00
    clock.pin(datetime(2026, 11, 24, 8, 0, tzinfo=CHICAGO))
    assert pipeline.process(_next(task)) == "sent"
    # then it went out once, with the opt-out footer of a first text
    [sent] = twilio.sent_to(shop.phone)
    assert sent.body == "Your car is ready.\nReply STOP to opt out."
    assert _row(task).status == "sent" and _row(task).provider_sid == sent.sid


NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = "America/Los_Angeles"


def test_area_code_decides_quiet_hours_when_the_customer_has_no_zone(twilio: FakeTwilioMessaging) -> None:
    # given a business in Los Angeles and a customer with no zone whose number is a 212 (New York)
    shop = _shop(zone=None, tenant_zone=LOS_ANGELES, phone=unique_phone("212"))
    # when a text is sent at 07:30 in New York (04:30 in Los Angeles)
    clock.pin(datetime(2026, 11, 24, 7, 30, tzinfo=NEW_YORK))
    early = _send(shop)
    # then it waits for 08:00 New York, not 08:00 Los Angeles (the business's zone)
    assert pipeline.process(early) == "scheduled"
    assert _row(early).scheduled_for == datetime(2026, 11, 24, 8, 0, tzinfo=NEW_YORK)
    # and at 08:30 in New York (05:30 in Los Angeles, still night for the business) it goes out
    clock.pin(datetime(2026, 11, 24, 8, 30, tzinfo=NEW_YORK))
    assert pipeline.process(_send(shop, body="Open now")) == "sent"


def test_without_a_zone_or_a_known_area_code_the_business_zone_decides(twilio: FakeTwilioMessaging) -> None:
    # given a business in Los Angeles and a toll-free customer number (no area-code zone), no customer zone
    shop = _shop(zone=None, tenant_zone=LOS_ANGELES, phone=unique_phone("833"))
    # when a text is sent at 08:30 in New York, 05:30 in Los Angeles
    clock.pin(datetime(2026, 11, 24, 8, 30, tzinfo=NEW_YORK))
    task = _send(shop)
    # then the business's zone keeps it until 08:00 there
    assert pipeline.process(task) == "scheduled"
    assert _row(task).scheduled_for == datetime(2026, 11, 24, 8, 0, tzinfo=ZoneInfo(LOS_ANGELES))


def test_the_same_task_delivered_twice_sends_once(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    clock.pin(NOON)
    task = _send(shop)
    assert pipeline.process(task) == "sent"
    assert pipeline.process(task) == "done"
    assert len(twilio.sent_to(shop.phone)) == 1


def test_concurrent_deliveries_of_one_task_send_once(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    clock.pin(NOON)
    task = _send(shop)
    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda: outcomes.append(pipeline.process(task))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("sent") == 1
    assert len(twilio.sent_to(shop.phone)) == 1


def test_provider_500_is_retried_with_backoff_then_sent(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    clock.pin(NOON)
    task = _send(shop)
    twilio.fail_next(1, status=500)
    assert pipeline.process(task) == "retrying"
    row = _row(task)
    assert (row.status, row.reason, row.error_code, row.attempts) == ("queued", "retrying", "20500", 1)
    assert row.scheduled_for == clock.now() + timedelta(seconds=1)
    assert pipeline.process(_next(task)) == "sent"
    assert len(twilio.sent_to(shop.phone)) == 1
    assert _row(task).attempts == 2 and _row(task).error_code is None


def test_opted_out_upstream_fails_with_twilios_code_and_no_retry(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    clock.pin(NOON)
    task = _send(shop)
    twilio.opted_out.add(shop.phone)
    assert pipeline.process(task) == "failed"
    row = _row(task)
    assert (row.status, row.error_code, row.attempts) == ("failed", "21610", 1)
    assert pipeline.process(_next(task)) == "done"
    assert len([r for r in twilio.requests if r[1].get("To") == shop.phone]) == 1


def test_transient_errors_until_the_last_try_leave_it_failed(
    twilio: FakeTwilioMessaging, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESSAGING_MAX_ATTEMPTS", "2")
    reset_settings_cache()
    shop = _shop()
    clock.pin(NOON)
    task = _send(shop)
    twilio.fail_next(2, status=503)
    assert pipeline.process(task) == "retrying"
    assert pipeline.process(_next(task)) == "failed"
    assert (_row(task).status, _row(task).error_code) == ("failed", "20500")


def test_the_twenty_first_message_in_a_day_is_deferred_not_dropped(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    clock.pin(NOON)
    tasks = []
    for n in range(21):
        clock.pin(NOON + timedelta(minutes=n))
        tasks.append(_send(shop, body=f"Update {n}"))
        assert pipeline.process(tasks[-1]) == ("sent" if n < 20 else "deferred")
    row = _row(tasks[-1])
    assert (row.status, row.reason) == ("deferred", "rate_limited")
    # the window has room when the first of the day's 20 is 24 hours old
    assert row.scheduled_for == NOON + timedelta(hours=24)
    clock.pin(NOON + timedelta(hours=24, seconds=1))
    assert pipeline.process(_next(tasks[-1])) == "sent"
    assert len(twilio.sent_to(shop.phone)) == 21


def test_limits_are_exact_under_concurrency(twilio: FakeTwilioMessaging) -> None:
    # given a business that lowered its per-customer limit to 5, and 12 messages processed at once
    shop = _shop(limit_per_customer_day=5)
    clock.pin(NOON)
    tasks = [_send(shop, body=f"Note {n}") for n in range(12)]
    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda t=t: outcomes.append(pipeline.process(t))) for t in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["deferred"] * 7 + ["sent"] * 5
    assert len(twilio.sent_to(shop.phone)) == 5


def test_no_consent_or_revoked_consent_blocks_and_is_audited(twilio: FakeTwilioMessaging) -> None:
    shop = _shop(consent=False)
    clock.pin(NOON)
    task = _send(shop)
    assert pipeline.process(task) == "blocked"
    assert (_row(task).status, _row(task).reason) == ("blocked", "no_consent")
    with session_scope(tenant_id=shop.tenant_id) as session:
        service.record_consent(
            session=session,
            tenant_id=shop.tenant_id,
            customer_id=shop.customer_id,
            channel="sms",
            purpose="marketing",
            granted=False,
            source="phone_call",
        )
    marketing = _send(shop, purpose="marketing")
    assert pipeline.process(marketing) == "blocked"
    assert _row(marketing).reason == "consent_revoked"
    assert twilio.sent_to(shop.phone) == []
    with session_scope(tenant_id=shop.tenant_id) as session:
        actions = session.scalars(select(AuditLog.action).where(AuditLog.tenant_id == shop.tenant_id)).all()
    assert actions.count("messages.blocked") == 2 and "consent.revoked" in actions


def _switch_modules(shop: Shop, modules: list[str]) -> None:
    with session_scope(tenant_id=shop.tenant_id) as session:
        session.execute(update(Tenant).where(Tenant.id == shop.tenant_id).values(enabled_modules=modules))


def test_a_business_that_switches_messaging_off_sends_nothing_more(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    clock.pin(NOON)
    queued = _send(shop)  # queued while the module was on
    _switch_modules(shop, ["crm", "shop"])
    assert pipeline.process(queued) == "blocked"
    assert (_row(queued).status, _row(queued).reason) == ("blocked", "messaging_disabled")
    with pytest.raises(Forbidden) as refused:
        _send(shop, body="Another one")
    assert refused.value.code == "module_disabled"
    assert twilio.sent_to(shop.phone) == []
    _switch_modules(shop, ["crm", "shop", "messaging"])  # back on: new messages go out again
    again = _send(shop, body="Back on")
    assert pipeline.process(again) == "sent"
    assert len(twilio.sent_to(shop.phone)) == 1


def test_a_dedupe_key_makes_a_second_send_return_the_first(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    first = _send(shop, dedupe_key="appointment:42:reminder")
    second = _send(shop, body="Something else", dedupe_key="appointment:42:reminder")
    assert first.message_id == second.message_id
    with session_scope(tenant_id=shop.tenant_id) as session:
        thread = service.list_thread(session=session, tenant_id=shop.tenant_id, customer_id=shop.customer_id)
    assert [m.id for m in thread] == [first.message_id]


def test_thread_is_newest_last_and_limited(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    for n in range(5):
        clock.pin(NOON + timedelta(minutes=n))
        _send(shop, body=f"Message {n}")
    with session_scope(tenant_id=shop.tenant_id) as session:
        thread = service.list_thread(session=session, tenant_id=shop.tenant_id, customer_id=shop.customer_id, limit=3)
    assert [m.body.split("\n")[0] for m in thread] == ["Message 2", "Message 3", "Message 4"]


def test_send_refuses_what_cannot_be_sent(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    with pytest.raises(NotFound), session_scope(tenant_id=shop.tenant_id) as session:
        service.send(
            session=session,
            tenant_id=shop.tenant_id,
            customer_id=uuid.uuid4(),
            channel="sms",
            body="Hi",
            purpose="transactional",
        )
    with pytest.raises(Unprocessable), session_scope(tenant_id=shop.tenant_id) as session:
        service.send(
            session=session,
            tenant_id=shop.tenant_id,
            customer_id=shop.customer_id,
            channel="email",
            body="Hi",
            purpose="transactional",
        )


def test_the_poison_handler_fails_a_message_the_host_gave_up_on(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    clock.pin(NOON)
    task = _send(shop)
    assert pipeline.give_up(task) == "failed"
    assert (_row(task).status, _row(task).error_code) == ("failed", "gave_up")
    assert pipeline.process(task) == "done"


def test_a_send_interrupted_before_its_outcome_is_failed_not_repeated(twilio: FakeTwilioMessaging) -> None:
    # given a claim whose lease ran out (the process died between the provider call and the commit)
    shop = _shop()
    clock.pin(NOON)
    task = _send(shop)
    with session_scope(tenant_id=shop.tenant_id) as session:
        row = session.get(Message, task.message_id)
        assert row is not None
        row.status, row.lease_until = "sending", clock.now() - timedelta(seconds=1)
    # when the task is redelivered, it is not sent a second time
    assert pipeline.process(task) == "failed"
    assert _row(task).error_code == "outcome_unknown"
    assert twilio.sent_to(shop.phone) == []


def test_a_duplicate_arriving_during_a_send_looks_again_after_the_lease(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    clock.pin(NOON)
    task = _send(shop)
    with session_scope(tenant_id=shop.tenant_id) as session:
        row = session.get(Message, task.message_id)
        assert row is not None
        row.status, row.lease_until = "sending", clock.now() + timedelta(seconds=60)
    assert pipeline.process(task) == "in_flight"
    assert _row(task).status == "sending"
    assert twilio.sent_to(shop.phone) == []


def test_clock_pins_are_utc() -> None:
    clock.pin(NOON)
    assert clock.now().tzinfo == UTC


# --- README claims: limits, footer, Messaging Service, permanent errors, audit -----------------------------


def _another_customer(shop: Shop) -> Shop:
    """A second consenting customer of the same business."""
    phone = unique_phone()
    with session_scope(tenant_id=shop.tenant_id) as session:
        tenant = session.get(Tenant, shop.tenant_id)
        assert tenant is not None
        customer = create_customer(session, tenant=tenant, name="Bea Blue", phone=phone)
        service.record_consent(
            session=session,
            tenant_id=shop.tenant_id,
            customer_id=customer.id,
            channel="sms",
            purpose="transactional",
            granted=True,
            source="signed_form",
        )
    return Shop(tenant_id=shop.tenant_id, customer_id=customer.id, phone=phone)


def _copies(task: schemas.OutboundTask, count: int, counted_at: datetime) -> None:
    """count more sent texts like task's message, counted at counted_at (rows in the messages table)."""
    with session_scope(tenant_id=task.tenant_id) as session:
        session.execute(
            text(
                "INSERT INTO messages SELECT (jsonb_populate_record(NULL::messages, to_jsonb(m) || jsonb_build_object("
                "'id', gen_random_uuid(), 'status', 'sent', 'counted_at', CAST(:at AS timestamptz), "
                "'dedupe_key', NULL, 'provider_sid', NULL))).* FROM messages m, generate_series(1, :n) WHERE m.id = :id"
            ),
            {"at": counted_at, "n": count, "id": task.message_id},
        )


def test_the_two_hundred_and_first_text_of_a_business_in_an_hour_is_deferred(twilio: FakeTwilioMessaging) -> None:
    # given a business (default limits) that has sent 199 texts to one customer in the last hour
    shop = _shop()
    clock.pin(NOON)
    _copies(_send(shop, body="Earlier"), 198, NOON - timedelta(minutes=50))  # 1 + 198 rows, all counted
    with session_scope(tenant_id=shop.tenant_id) as session:
        session.execute(
            update(Message).where(Message.tenant_id == shop.tenant_id).values(counted_at=NOON - timedelta(minutes=50))
        )
    other = _another_customer(shop)  # a customer of their own, far below the per-customer limit
    # when two more are sent to another customer: the 200th goes out, the 201st waits
    assert pipeline.process(_send(other, body="Two hundredth")) == "sent"
    last = _send(other, body="Two hundred and first")
    assert pipeline.process(last) == "deferred"
    row = _row(last)
    assert (row.status, row.reason) == ("deferred", "rate_limited")
    # until the oldest counted text of the hour ages out
    assert row.scheduled_for == NOON - timedelta(minutes=50) + timedelta(hours=1)
    assert [m.body.split("\n")[0] for m in twilio.sent_to(other.phone)] == ["Two hundredth"]


def test_the_footer_is_on_marketing_and_on_the_first_transactional_text_in_thirty_days(
    twilio: FakeTwilioMessaging,
) -> None:
    shop = _shop()
    with session_scope(tenant_id=shop.tenant_id) as session:
        service.record_consent(
            session=session,
            tenant_id=shop.tenant_id,
            customer_id=shop.customer_id,
            channel="sms",
            purpose="marketing",
            granted=True,
            source="signed_form",
        )
    footer = "\nReply STOP to opt out."
    clock.pin(NOON)
    first = _send(shop, body="Booked for Monday.")
    assert pipeline.process(first) == "sent"
    # a second transactional text 29 days later carries no footer; a marketing text the same day does
    clock.pin(NOON + timedelta(days=29))
    second = _send(shop, body="Reminder: Monday.")
    marketing = _send(shop, body="20% off brakes.", purpose="marketing")
    # 30 days after the last transactional one, the footer comes back
    clock.pin(NOON + timedelta(days=29 + 30, minutes=1))
    later = _send(shop, body="Your car is due.")
    assert [_row(t).body for t in (first, second, marketing, later)] == [
        "Booked for Monday." + footer,
        "Reminder: Monday.",
        "20% off brakes." + footer,
        "Your car is due." + footer,
    ]
    assert [m.body for m in twilio.sent_to(shop.phone)] == ["Booked for Monday." + footer]


def test_a_business_with_a_messaging_service_sends_through_it_and_inbound_finds_it_by_it(
    twilio: FakeTwilioMessaging,
) -> None:
    from blueprints.messaging import webhooks

    # given a business that texts through a Messaging Service, with no number of its own
    clock.pin(NOON)  # before the consent is recorded, so the STOP below is the newer event
    shop = _shop()
    service_sid = "MG" + uuid.uuid4().hex
    with session_scope(tenant_id=shop.tenant_id) as session:
        session.execute(
            update(MessagingSettings)
            .where(MessagingSettings.tenant_id == shop.tenant_id)
            .values(sms_from_number=None, messaging_service_sid=service_sid)
        )
    clock.pin(NOON)
    # when a text is sent, Twilio is asked to send it through the service (no From)
    assert pipeline.process(_send(shop)) == "sent"
    [request] = [form for _, form, status in twilio.requests if form.get("To") == shop.phone]
    assert request["MessagingServiceSid"] == service_sid and "From" not in request
    # and a STOP sent to one of the service's numbers (unknown to us) reaches this business by the service SID
    clock.pin(NOON + timedelta(minutes=1))  # later than the consent: the ledger's newest entry decides
    with session_scope() as session:  # the inbound webhook's own transaction
        answer = webhooks.receive_inbound(
            session=session,
            params={
                "MessageSid": "SM" + uuid.uuid4().hex,
                "AccountSid": ACCOUNT_SID,
                "From": shop.phone,
                "To": unique_phone(),
                "MessagingServiceSid": service_sid,
                "Body": "STOP",
            },
        )
    assert "<Message>" not in answer
    blocked = _send(shop, body="After STOP")
    assert pipeline.process(blocked) == "blocked" and _row(blocked).reason == "consent_revoked"


def test_twilio_21211_fails_at_once_and_sends_and_failures_are_audited(twilio: FakeTwilioMessaging) -> None:
    shop = _shop()
    clock.pin(NOON)
    # given one text that goes out and one Twilio refuses as an invalid number (21211, permanent)
    sent = _send(shop, body="Goes out")
    assert pipeline.process(sent) == "sent"
    twilio.fail_next(1, status=400, code=21211)
    refused = _send(shop, body="Refused")
    assert pipeline.process(refused) == "failed"
    row = _row(refused)
    assert (row.status, row.error_code, row.attempts) == ("failed", "21211", 1)
    assert pipeline.process(_next(refused)) == "done"  # no retry
    # then each outcome has its audit row, naming the message
    with session_scope(tenant_id=shop.tenant_id) as session:
        rows = session.execute(
            select(AuditLog.action, AuditLog.entity_id, AuditLog.after).where(
                AuditLog.tenant_id == shop.tenant_id, AuditLog.action.in_(("messages.sent", "messages.failed"))
            )
        ).all()
    assert sorted((action, entity_id) for action, entity_id, _ in rows) == [
        ("messages.failed", str(refused.message_id)),
        ("messages.sent", str(sent.message_id)),
    ]
    assert next(after for action, _, after in rows if action == "messages.failed")["error_code"] == "21211"
