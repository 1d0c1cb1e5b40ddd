"""Customer messaging end to end: HTTP through the dev host, the outbound-messages queue in Azurite, the
fake Twilio Messages server and a real SMTP server (aiosmtpd) on loopback, signed Twilio webhooks.

The host gets its own Azurite, so no other test's host consumes this module's queue (and vice versa).
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.twilio_signature import compute
from tests.builders import Account, register, unique_email, unique_phone
from tests.conftest import Database, RunningHost, start_host
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio_messaging import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioMessaging

QUIET_LOCAL_HOUR = 3  # the customer's local hour in the quiet-hours scenario: far from both edges


@dataclass
class Env:
    """The running host, its fakes and one signed-in owner of a business that texts."""

    host: RunningHost
    client: httpx.Client
    twilio: FakeTwilioMessaging
    smtp: FakeSmtp
    owner: Account
    number: str
    azurite: str


@pytest.fixture(scope="module")
def env(database: Database) -> Iterator[Env]:
    from devhost.services import free_azurite

    azurite = free_azurite().start()
    twilio, smtp = FakeTwilioMessaging().start(), FakeSmtp().start()
    host = start_host(
        "function_app:app",
        env={
            "AzureWebJobsStorage": azurite.connection_string,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE_URL": twilio.base_url,
            "MESSAGING_RETRY_BASE_SECONDS": "1",
            "LOG_LEVEL": "INFO",  # each handled task logs its outcome: the tests read those events
            "SMTP_FROM": "shop@example.com",
            **smtp.env(),
        },
    )
    client = host.client()
    try:
        owner = register(client, tenant_name="Edgar's Auto")
        _enable_messaging(client, owner)
        number = unique_phone()
        settings = client.put(
            "/api/v1/messaging/settings",
            headers=owner.headers,
            json={
                "sms_from_number": number,
                "email_from": "service@edgars.example.com",
                "help_text": "{business_name}: call 555-0100. Reply STOP to opt out.",
            },
        )
        assert settings.status_code == 200, settings.text
        yield Env(
            host=host,
            client=client,
            twilio=twilio,
            smtp=smtp,
            owner=owner,
            number=number,
            azurite=azurite.connection_string,
        )
    finally:
        client.close()
        host.stop()
        twilio.stop()
        smtp.stop()
        azurite.stop()


def _enable_messaging(client: httpx.Client, owner: Account) -> None:
    response = client.patch(
        "/api/v1/tenant", headers={**owner.headers, "If-Match": "*"}, json={"enabled_modules": ["crm", "messaging"]}
    )
    assert response.status_code == 200, response.text


def _customer(env: Env, *, timezone: str | None = "America/Chicago", consent: tuple[str, ...] = ("sms",)) -> dict:
    body: dict[str, Any] = {"name": "Ada Lovelace", "phone": unique_phone(), "email": unique_email("ada")}
    if timezone:
        body["timezone"] = timezone
    response = env.client.post("/api/v1/crm/customers", headers=env.owner.headers, json=body)
    assert response.status_code == 201, response.text
    customer = response.json()
    for channel in consent:
        granted = env.client.post(
            f"/api/v1/messaging/customers/{customer['id']}/consents",
            headers=env.owner.headers,
            json={"channel": channel, "purpose": "transactional", "granted": True, "source": "signed_form"},
        )
        assert granted.status_code == 201, granted.text
    return customer


def _daytime_zone() -> str:
    """A zone where it is now mid-afternoon, so quiet hours never interfere with the other scenarios."""
    return _zone_at_local_hour(14)


def _zone_at_local_hour(hour: int) -> str:
    offset = ((hour - datetime.now(UTC).hour + 12) % 24) - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def _post(env: Env, customer: dict, body: str = "Your car is ready.", **extra: Any) -> dict:
    payload = {"customer_id": customer["id"], "channel": "sms", "body": body, **extra}
    response = env.client.post("/api/v1/messages", headers=env.owner.headers, json=payload)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    return response.json()


def _wait(env: Env, message_id: str, *statuses: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    current: dict = {}
    while time.monotonic() < deadline:
        response = env.client.get(f"/api/v1/messages/{message_id}", headers=env.owner.headers)
        assert response.status_code == 200, response.text
        current = response.json()
        if current["status"] in statuses:
            return current
        time.sleep(0.1)
    raise AssertionError(f"message stayed {current.get('status')!r}, wanted {statuses}\n{env.host.log_tail(30)}")


def _log_events(env: Env, fragment: str) -> list[str]:
    """The host's log messages (JSON lines) that contain fragment."""
    found = []
    for line in env.host.log_path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            text = json.loads(line).get("message", "")
            if fragment in text:
                found.append(text)
    return found


def _outcomes(env: Env, message_id: str) -> list[str]:
    """What each handled outbound-messages task of one message did, in order (from the host's log)."""
    prefix = f"outbound message {message_id}: "
    return [line[len(prefix) :] for line in _log_events(env, prefix)]


def _wait_for_events(env: Env, fragment: str, count: int, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(found := _log_events(env, fragment)) < count:
        assert time.monotonic() < deadline, f"{len(found)} of {count} '{fragment}' events\n{env.host.log_tail(30)}"
        time.sleep(0.1)
    return found


def _signed_post(
    env: Env, path: str, params: dict[str, str], *, token: str = AUTH_TOKEN, signature: str | None = None
) -> httpx.Response:
    url = f"{env.host.base_url}{path}"
    headers = {"X-Twilio-Signature": signature if signature is not None else compute(token, url, params.items())}
    return env.client.post(url, data=params, headers=headers)


def _inbound(env: Env, customer: dict, body: str, sid: str | None = None) -> httpx.Response:
    params = {
        "MessageSid": sid or "SM" + secrets.token_hex(16),
        "AccountSid": ACCOUNT_SID,
        "From": customer["phone"],
        "To": env.number,
        "Body": body,
        "NumMedia": "0",
    }
    return _signed_post(env, "/api/webhooks/twilio/inbound", params)


def test_a_message_is_queued_sent_through_twilio_and_delivered(env: Env) -> None:
    customer = _customer(env, timezone=_daytime_zone())
    message = _post(env, customer, related={"type": "appointment", "id": str(uuid.uuid4())})
    sent = _wait(env, message["id"], "sent", "delivered")
    [accepted] = env.twilio.wait_for(customer["phone"])
    assert accepted.body == "Your car is ready.\nReply STOP to opt out."
    assert accepted.sender == env.number
    assert sent["sent_at"] is not None
    # when Twilio reports delivery (signed), the message is delivered
    assert env.twilio.deliver(accepted.sid, "delivered").status_code == 204
    assert _wait(env, message["id"], "delivered")["delivered_at"] is not None
    # a replayed report has one effect, and a late "sent" never moves it backwards
    assert env.twilio.deliver(accepted.sid, "delivered").status_code == 204
    assert env.twilio.deliver(accepted.sid, "sent").status_code == 204
    assert _wait(env, message["id"], "delivered")["status"] == "delivered"


@pytest.mark.parametrize(("report", "error_code"), [("undelivered", "30003"), ("failed", "30007")])
def test_a_failed_or_undelivered_report_records_twilios_error_code(env: Env, report: str, error_code: str) -> None:
    customer = _customer(env, timezone=_daytime_zone())
    message = _post(env, customer)
    _wait(env, message["id"], "sent")
    [accepted] = env.twilio.wait_for(customer["phone"])
    # when the carrier reports it undelivered (or failed) with Twilio's ErrorCode, signed
    assert env.twilio.deliver(accepted.sid, report, error_code=error_code).status_code == 204
    # then the message shows that status and the code
    final = _wait(env, message["id"], report)
    assert (final["status"], final["error_code"]) == (report, error_code)
    # and a late "sent" report does not move it back or hide the failure
    assert env.twilio.deliver(accepted.sid, "sent").status_code == 204
    assert _wait(env, message["id"], report)["error_code"] == error_code


def test_posting_with_an_idempotency_key_queues_one_message(env: Env) -> None:
    customer = _customer(env, timezone=_daytime_zone())
    headers = {**env.owner.headers, "Idempotency-Key": uuid.uuid4().hex}
    body = {"customer_id": customer["id"], "channel": "sms", "body": "Estimate attached."}
    first = env.client.post("/api/v1/messages", headers=headers, json=body)
    again = env.client.post("/api/v1/messages", headers=headers, json=body)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
    _wait(env, first.json()["id"], "sent")
    thread = env.client.get(f"/api/v1/messages?customer_id={customer['id']}", headers=env.owner.headers).json()
    assert len(thread["items"]) == 1


def test_stop_blocks_the_next_send_and_start_restores_it(env: Env) -> None:
    customer = _customer(env, timezone=_daytime_zone())
    # when the customer texts STOP
    answer = _inbound(env, customer, "Stop")
    assert answer.status_code == 200 and "<Message>" not in answer.text
    # then the next send is blocked, and no text reaches Twilio
    blocked = _wait(env, _post(env, customer)["id"], "blocked")
    assert blocked["reason"] == "consent_revoked"
    assert env.twilio.sent_to(customer["phone"]) == []
    # when they text START, the next send goes out
    assert _inbound(env, customer, "START").status_code == 200
    _wait(env, _post(env, customer, "Back on: your car is ready.")["id"], "sent")
    assert len(env.twilio.wait_for(customer["phone"])) == 1
    # and the thread shows both keywords inbound, newest last
    thread = env.client.get(f"/api/v1/messages?customer_id={customer['id']}", headers=env.owner.headers).json()
    assert [(m["direction"], m["body"].split("\n")[0]) for m in thread["items"]] == [
        ("inbound", "Stop"),
        ("outbound", "Your car is ready."),
        ("inbound", "START"),
        ("outbound", "Back on: your car is ready."),
    ]
    consents = env.client.get(f"/api/v1/messaging/customers/{customer['id']}/consents", headers=env.owner.headers)
    assert [(c["purpose"], c["granted"], c["source"]) for c in consents.json()["items"]] == [
        ("transactional", True, "sms_keyword:START")
    ]


def test_help_answers_with_the_business_help_text_and_a_replayed_inbound_has_one_effect(env: Env) -> None:
    customer = _customer(env, timezone=_daytime_zone())
    sid = "SM" + secrets.token_hex(16)
    first, replay = _inbound(env, customer, "help", sid=sid), _inbound(env, customer, "help", sid=sid)
    assert first.status_code == replay.status_code == 200
    assert first.headers["content-type"].startswith("text/xml")
    assert "<Message>Edgar's Auto: call 555-0100. Reply STOP to opt out.</Message>" in first.text
    assert replay.text == first.text
    thread = env.client.get(f"/api/v1/messages?customer_id={customer['id']}", headers=env.owner.headers).json()
    assert [m["body"] for m in thread["items"]] == ["help"]


def test_a_message_in_quiet_hours_is_scheduled_for_eight_local(env: Env) -> None:
    """The dev host runs on the real clock, so the customer's zone is chosen where it is now 03:00.

    The handler must schedule the text for 08:00 in that zone and send nothing. That the scheduled
    message does go out at 08:00 is proven in tests/integration/test_messaging_pipeline.py with the
    app's clock pinned (22:30 -> 08:00), which a separate host process cannot share.
    """
    zone = _zone_at_local_hour(QUIET_LOCAL_HOUR)
    customer = _customer(env, timezone=zone)
    scheduled = _wait(env, _post(env, customer)["id"], "scheduled")
    assert scheduled["reason"] == "quiet_hours"
    local_now = datetime.now(ZoneInfo(zone))
    eight = local_now.replace(hour=8, minute=0, second=0, microsecond=0)
    eight = eight if eight > local_now else eight + timedelta(days=1)
    assert datetime.fromisoformat(scheduled["scheduled_for"].replace("Z", "+00:00")) == eight.astimezone(UTC)
    # the one task handled so far scheduled it, and Twilio was never called for this number
    assert _outcomes(env, scheduled["id"]) == ["scheduled"]
    assert [r for r in env.twilio.requests if r[1].get("To") == customer["phone"]] == []


def test_the_twenty_first_message_in_a_day_is_deferred(env: Env) -> None:
    customer = _customer(env, timezone=_daytime_zone())
    ids = [_post(env, customer, f"Update {n}")["id"] for n in range(21)]
    finals = [_wait(env, i, "sent", "deferred")["status"] for i in ids]
    assert finals.count("sent") == 20 and finals.count("deferred") == 1
    deferred = next(
        m
        for m in (env.client.get(f"/api/v1/messages/{i}", headers=env.owner.headers).json() for i in ids)
        if m["status"] == "deferred"
    )
    assert deferred["reason"] == "rate_limited" and deferred["scheduled_for"]
    assert len(env.twilio.sent_to(customer["phone"])) == 20
    # and the thread pages backwards: the newest 15 oldest first, then the 6 before them
    url = f"/api/v1/messages?customer_id={customer['id']}&limit=15"
    newest = env.client.get(url, headers=env.owner.headers).json()
    older = env.client.get(f"{url}&cursor={newest['next_cursor']}", headers=env.owner.headers).json()
    assert [m["id"] for m in older["items"] + newest["items"]] == ids and older["next_cursor"] is None


def test_the_same_queue_message_delivered_twice_sends_once(env: Env) -> None:
    customer = _customer(env, timezone=_daytime_zone())
    message = _post(env, customer)
    _wait(env, message["id"], "sent")
    task = {"tenant_id": env.owner.tenant_id, "message_id": message["id"], "seq": 0}
    handled = len(_outcomes(env, message["id"]))
    # when the same task arrives again: through the queue itself, twice, and through the admin API
    from azure.storage.queue import QueueClient

    queue = QueueClient.from_connection_string(env.azurite, "outbound-messages")
    for _ in range(2):
        queue.send_message(base64.b64encode(json.dumps(task).encode()).decode())
    assert env.host.fire("messaging_outbound", task).status_code == 200
    _wait_for_events(env, f"outbound message {message['id']}: ", handled + 3)
    # then all three copies were handled, none sent again, and Twilio got it once
    assert "sent" not in _outcomes(env, message["id"])[handled:]
    assert len(env.twilio.sent_to(customer["phone"])) == 1


def test_a_provider_500_is_retried_once_then_sent(env: Env) -> None:
    customer = _customer(env, timezone=_daytime_zone())
    env.twilio.fail_next(1, status=500)
    message = _post(env, customer)
    sent = _wait(env, message["id"], "sent")
    assert sent["attempts"] == 2 and sent["error_code"] is None
    assert [r[2] for r in env.twilio.requests if r[1].get("To") == customer["phone"]] == [500, 201]


def test_twilio_21610_fails_the_message_without_a_retry(env: Env) -> None:
    customer = _customer(env, timezone=_daytime_zone())
    env.twilio.opted_out.add(customer["phone"])
    failed = _wait(env, _post(env, customer)["id"], "failed")
    assert (failed["error_code"], failed["attempts"]) == ("21610", 1)
    # the one delivery failed it for good (a transient error would have re-queued it instead), one request
    assert _outcomes(env, failed["id"]) == ["failed"]
    assert [r[2] for r in env.twilio.requests if r[1].get("To") == customer["phone"]] == [400]


def test_forged_or_unsigned_webhooks_are_refused(env: Env) -> None:
    customer = _customer(env, timezone=_daytime_zone())
    message = _post(env, customer)
    _wait(env, message["id"], "sent")
    [accepted] = env.twilio.wait_for(customer["phone"])
    # a report signed with another token, an unsigned one and a tampered inbound are all 403
    assert env.twilio.deliver(accepted.sid, "failed", auth_token="not-the-token").status_code == 403
    path = f"/api/webhooks/twilio/status?tenant_id={env.owner.tenant_id}&message_id={message['id']}"
    params = {"MessageSid": accepted.sid, "MessageStatus": "failed"}
    assert _signed_post(env, path, params, signature="").status_code == 403
    inbound = {"MessageSid": "SM" + secrets.token_hex(16), "From": customer["phone"], "To": env.number, "Body": "STOP"}
    forged = compute(AUTH_TOKEN, f"{env.host.base_url}/api/webhooks/twilio/inbound", {**inbound, "Body": "HI"}.items())
    response = _signed_post(env, "/api/webhooks/twilio/inbound", inbound, signature=forged)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    # and nothing changed
    assert _wait(env, message["id"], "sent")["status"] == "sent"
    later = _wait(env, _post(env, customer, "Still subscribed")["id"], "sent", "blocked")
    assert later["status"] == "sent"


@pytest.mark.parametrize("path", ["/api/webhooks/twilio/status", "/api/webhooks/twilio/inbound"])
def test_an_unsigned_webhook_is_403_whatever_its_query_and_body(env: Env, path: str) -> None:
    # a webhook authenticates before it validates: no query, a body that is no form, a NUL, all unsigned
    client = env.host.client()
    for body in (b"", b"\x00\xff not a form", b"MessageSid=&MessageStatus=%00"):
        response = client.post(path, content=body, headers={"content-type": "application/x-www-form-urlencoded"})
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "invalid_signature"


def test_email_goes_through_smtp_with_starttls_auth_and_the_right_headers(env: Env) -> None:
    customer = _customer(env, timezone=_daytime_zone(), consent=("email",))
    message = _post(
        env, customer, "Your invoice is attached.\n\nThanks, Edgar", channel="email", subject="Invoice #1042"
    )
    _wait(env, message["id"], "sent")
    received = env.smtp.wait_for(customer["email"])
    assert received.tls and received.authenticated
    email = received.message
    assert email["From"] == "service@edgars.example.com"
    assert email["To"] == customer["email"]
    assert email["Subject"] == "Invoice #1042"
    assert email["Message-ID"] == f"<{message['id']}@edgars.example.com>"
    assert email["X-Tradeops-Message-Id"] == message["id"]
    assert email["Date"]
    assert email.get_content_type() == "text/plain" and email.get_content_charset() == "utf-8"
    assert email.get_content().replace("\r\n", "\n").strip() == "Your invoice is attached.\n\nThanks, Edgar"


def test_templates_refuse_unknown_placeholders_and_missing_values(env: Env) -> None:
    headers = env.owner.headers
    bad = env.client.post(
        "/api/v1/messaging/templates",
        headers=headers,
        json={
            "name": f"ready-{uuid.uuid4().hex[:6]}",
            "channel": "sms",
            "body": "Hi {first_name}, your {vehicle} is ready",
        },
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_placeholder"
    good = env.client.post(
        "/api/v1/messaging/templates",
        headers=headers,
        json={
            "name": f"ready-{uuid.uuid4().hex[:6]}",
            "channel": "sms",
            "body": "Hi {first_name}, your {vehicle} is ready",
            "placeholders": ["vehicle"],
        },
    )
    assert good.status_code == 201, good.text
    customer = _customer(env, timezone=_daytime_zone())
    payload = {"customer_id": customer["id"], "channel": "sms", "template_id": good.json()["id"]}
    missing = env.client.post("/api/v1/messages", headers=headers, json=payload)
    assert missing.status_code == 422 and missing.json()["code"] == "template_values_missing"
    sent = env.client.post("/api/v1/messages", headers=headers, json={**payload, "values": {"vehicle": "Civic"}})
    assert sent.status_code == 202
    assert sent.json()["body"].startswith("Hi Ada, your Civic is ready")


def test_a_malformed_task_goes_to_the_poison_queue_and_the_pipeline_keeps_working(env: Env) -> None:
    """The poison queue has a trigger of its own (messaging_outbound_poison) that drains it, so the test reads
    the host's record of both hops rather than racing that trigger to the queue."""
    from azure.storage.queue import QueueClient

    moved = "malformed outbound-messages message moved to poison"
    dropped = "malformed outbound-messages-poison message dropped"
    host_gave_up = "moved to outbound-messages-poison"  # the host's own move after maxDequeueCount tries
    before = {text: len(_log_events(env, text)) for text in (moved, dropped, host_gave_up)}
    queue = QueueClient.from_connection_string(env.azurite, "outbound-messages")
    queue.send_message(base64.b64encode(b'{"message_id": "not-a-uuid"}').decode())
    # then the outbound trigger moves it to outbound-messages-poison on its first delivery (not after five
    # tries), and the poison trigger takes it from there and drops it
    _wait_for_events(env, moved, before[moved] + 1)
    _wait_for_events(env, dropped, before[dropped] + 1)
    assert len(_log_events(env, host_gave_up)) == before[host_gave_up]
    poison = QueueClient.from_connection_string(env.azurite, "outbound-messages-poison")
    deadline = time.monotonic() + 30
    while poison.get_queue_properties().approximate_message_count:
        assert time.monotonic() < deadline, "outbound-messages-poison never drained"
        time.sleep(0.1)
    # and the pipeline keeps working
    customer = _customer(env, timezone=_daytime_zone())
    _wait(env, _post(env, customer)["id"], "sent")


def test_a_texting_number_belongs_to_one_business(env: Env) -> None:
    other = register(env.client, tenant_name="Another Shop")
    taken = env.client.put("/api/v1/messaging/settings", headers=other.headers, json={"sms_from_number": env.number})
    assert taken.status_code == 409 and taken.json()["code"] == "sender_taken"
    # a text to a number nobody owns is answered (Twilio needs a 200) and changes nothing
    params = {"MessageSid": "SM" + secrets.token_hex(16), "From": unique_phone(), "To": unique_phone(), "Body": "STOP"}
    response = _signed_post(env, "/api/webhooks/twilio/inbound", params)
    assert response.status_code == 200 and "<Message>" not in response.text


def test_an_estimator_sees_only_threads_of_customers_they_see(env: Env) -> None:
    from tests.builders import invite, login

    estimator = login(env.client, email=invite(env.client, env.owner, role="estimator")["email"])
    customer = _customer(env, timezone=_daytime_zone())
    hidden = env.client.get(f"/api/v1/messages?customer_id={customer['id']}", headers=estimator.headers)
    assert hidden.status_code == 404
    unnamed = env.client.get(
        f"/api/v1/messages?related_type=appointment&related_id={uuid.uuid4()}", headers=estimator.headers
    )
    assert unnamed.status_code == 422 and unnamed.json()["code"] == "customer_required"
