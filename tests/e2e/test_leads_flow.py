"""Leads end to end: the public form and inbound texts through the dev host, the lead-responses queue in its
own Azurite, the loopback Twilio stand-in and a real SMTP server (aiosmtpd) on loopback.

The dev host runs on the real clock, so each business's zone is chosen where it is now the hour a scenario
needs (14:00, 23:00), as the messaging e2e tests do.
"""

from __future__ import annotations

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
from tests.builders import Account, client_ip, register, unique_email, unique_phone
from tests.conftest import Database, RunningHost, start_host
from tests.fakes.smtp import FakeSmtp
from tests.fakes.twilio_messaging import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioMessaging

CONSENT = "I agree to receive texts from this business about my request. Msg & data rates may apply. Reply STOP."


@dataclass
class Env:
    """The running host and its fakes."""

    host: RunningHost
    client: httpx.Client
    twilio: FakeTwilioMessaging
    smtp: FakeSmtp


@dataclass
class Business:
    """A business with leads on: its owner, slug, texting number and zone."""

    owner: Account
    slug: str
    number: str
    zone: str


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
            "LOG_LEVEL": "INFO",
            "SMTP_FROM": "leads@example.com",
            **smtp.env(),
        },
    )
    client = host.client()
    try:
        yield Env(host=host, client=client, twilio=twilio, smtp=smtp)
    finally:
        client.close()
        host.stop()
        twilio.stop()
        smtp.stop()
        azurite.stop()


def _zone_at_local_hour(hour: int) -> str:
    offset = ((hour - datetime.now(UTC).hour + 12) % 24) - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def _business(env: Env, *, local_hour: int, origins: list[str] | None = None) -> Business:
    owner = register(env.client, tenant_name=f"Pipeline Plumbing {uuid.uuid4().hex[:6]}")
    zone = _zone_at_local_hour(local_hour)
    tenant = env.client.patch("/api/v1/tenant", headers={**owner.headers, "If-Match": "*"}, json={"timezone": zone})
    assert tenant.status_code == 200, tenant.text
    number = unique_phone()
    put = env.client.put(
        "/api/v1/messaging/settings",
        headers=owner.headers,
        json={"sms_from_number": number, "email_from": "office@pipeline.example.com"},
    )
    assert put.status_code == 200, put.text
    slug = f"pipeline-{uuid.uuid4().hex[:8]}"
    settings = env.client.put(
        "/api/v1/leads/settings",
        headers=owner.headers,
        json={"slug": slug, "site_origins": origins or ["https://www.pipeline.example.com"]},
    )
    assert settings.status_code == 200, settings.text
    return Business(owner=owner, slug=slug, number=number, zone=zone)


def _post_lead(env: Env, business: Business, **fields: Any) -> httpx.Response:
    body = {"name": "Hank Homeowner", "message": "Water heater leaking", **fields}
    return env.client.post(f"/api/v1/leads/intake/{business.slug}", json=body, headers=client_ip())


def _leads(env: Env, business: Business) -> list[dict[str, Any]]:
    response = env.client.get("/api/v1/leads", headers=business.owner.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _wait_lead(env: Env, business: Business, predicate: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = _leads(env, business)
        match = next((lead for lead in found if predicate(lead)), None)
        if match is not None:
            return match
        time.sleep(0.2)
    raise AssertionError(f"no lead matched; leads: {found}\n{env.host.log_tail(30)}")


def _log_events(env: Env, fragment: str, *, level: str | None = None) -> list[str]:
    found = []
    for line in env.host.log_path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            event = json.loads(line)
            text = event.get("message", "")
            if fragment in text and (level is None or event.get("level") == level):
                found.append(text)
    return found


def test_a_form_lead_at_two_in_the_afternoon_gets_a_text_within_a_minute(env: Env) -> None:
    business = _business(env, local_hour=14)
    phone = unique_phone()
    posted_at = datetime.now(UTC)
    response = _post_lead(env, business, phone=phone, consent=True, consent_text=CONSENT)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted"}
    # then Twilio accepts one text to the lead, the business's template filled in
    [text] = env.twilio.wait_for(phone, timeout=60)
    assert text.sender == business.number
    assert text.body.startswith("Hi Hank, thanks for contacting Pipeline Plumbing")
    # and the lead shows the answer: SMS, when the provider accepted it, under a minute after the post
    lead = _wait_lead(env, business, lambda lead: lead["first_response_at"] is not None)
    assert (lead["source"], lead["status"], lead["answer_channel"], lead["answer_state"]) == (
        "form",
        "new",
        "sms",
        "sent",
    )
    answered = datetime.fromisoformat(lead["first_response_at"].replace("Z", "+00:00"))
    assert timedelta(0) <= answered - posted_at < timedelta(seconds=60)
    assert 0 <= lead["seconds_to_first_response"] < 60
    detail = env.client.get(f"/api/v1/leads/{lead['id']}", headers=business.owner.headers).json()
    assert detail["answer"]["channel"] == "sms" and detail["answer"]["sent_at"] == lead["first_response_at"]
    # the consent went to messaging's ledger with the form's wording named by its digest
    consents = env.client.get(
        f"/api/v1/messaging/customers/{lead['customer_id']}/consents", headers=business.owner.headers
    ).json()["items"]
    assert [(c["channel"], c["granted"], c["source"][:10]) for c in consents] == [("sms", True, "lead_form:")]
    assert lead["consent_text"] == CONSENT
    # and the week's figures count it
    stats = env.client.get("/api/v1/leads/stats", headers=business.owner.headers).json()
    [form] = [s for s in stats["by_source"] if s["source"] == "form"]
    assert form["leads"] == form["answered"] == 1 and form["median_seconds"] == form["p95_seconds"]
    assert form["median_seconds"] == pytest.approx(lead["seconds_to_first_response"], abs=0.01)


def _next_eight(zone: str) -> datetime:
    local_now = datetime.now(ZoneInfo(zone))
    eight = local_now.replace(hour=8, minute=0, second=0, microsecond=0)
    return (eight if eight > local_now else eight + timedelta(days=1)).astimezone(UTC)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_lead_at_eleven_at_night_who_may_only_be_texted_gets_the_text_at_eight_and_the_owner_is_told(
    env: Env,
) -> None:
    business = _business(env, local_hour=23)
    phone = unique_phone()
    eight = _next_eight(business.zone)
    response = _post_lead(env, business, phone=phone, consent=True, consent_text=CONSENT)
    assert response.status_code == 202, response.text
    # then the text waits for 08:00 in the lead's zone (the business's: the form sent none)
    lead = _wait_lead(env, business, lambda lead: lead["answer_state"] == "scheduled")
    assert _at(lead["answer_scheduled_for"]) == eight
    assert lead["answer_message_id"] is None
    # the owner is emailed that the lead waits, and nothing reaches the lead in quiet hours
    notice = env.smtp.wait_for(business.owner.email or "", timeout=60)
    assert "quiet hours" in notice.message.get_content() and "08:00" in notice.message.get_content()
    assert _wait_lead(env, business, lambda lead: lead["owner_notified_at"] is not None)
    time.sleep(2)  # any stray copy of the task has run
    assert env.twilio.sent_to(phone) == []


def test_an_answer_task_the_host_gave_up_on_fails_the_lead_and_says_so_in_its_log_line(env: Env) -> None:
    # given a lead whose text waits for 08:00, the owner already told about it
    business = _business(env, local_hour=23)
    phone = unique_phone()
    assert _post_lead(env, business, phone=phone, consent=True, consent_text=CONSENT).status_code == 202
    lead = _wait_lead(env, business, lambda lead: lead["owner_notified_at"] is not None)
    assert lead["answer_state"] == "scheduled"
    # when its answer task reaches the poison queue (twice: the host may hand a message over again)
    task = {"tenant_id": business.owner.tenant_id, "lead_id": lead["id"], "kind": "answer", "n": 0}
    for _ in range(2):
        assert env.host.fire("leads_responder_poison", task).status_code == 200
    # then the lead shows its answer failed, and the handler's outcome is its warning line, once per delivery
    failed = env.client.get(f"/api/v1/leads/{lead['id']}", headers=business.owner.headers).json()
    assert (failed["answer_state"], failed["answer_message_id"]) == ("failed", None)
    assert failed["owner_notified_at"] == lead["owner_notified_at"]  # one notice per lead
    assert _log_events(env, f"lead {lead['id']} answer gave up", level="WARNING") == [
        f"lead {lead['id']} answer gave up: answer failed; owner already told",
        f"lead {lead['id']} answer gave up: nothing changed: answer failed",
    ]
    assert env.twilio.sent_to(phone) == []


def test_a_lead_at_eleven_at_night_who_gave_an_email_is_emailed_at_once_and_never_texted(env: Env) -> None:
    business = _business(env, local_hour=23)
    phone, email = unique_phone(), unique_email("night")
    posted_at = datetime.now(UTC)
    # texting is consented to, but it is quiet hours: the email answers now rather than a text at 08:00
    response = _post_lead(env, business, phone=phone, email=email.upper(), consent=True, consent_text=CONSENT)
    assert response.status_code == 202, response.text
    delivered = env.smtp.wait_for(email, timeout=60)
    assert "Pipeline Plumbing" in delivered.message.get_content()
    lead = _wait_lead(env, business, lambda lead: lead["first_response_at"] is not None)
    assert (lead["email"], lead["answer_channel"], lead["answer_state"]) == (email, "email", "sent")
    assert timedelta(0) <= _at(lead["first_response_at"]) - posted_at < timedelta(seconds=60)
    time.sleep(2)  # any stray copy of the task has run
    assert env.twilio.sent_to(phone) == []


def test_the_same_lead_posted_twice_is_one_lead_and_one_answer(env: Env) -> None:
    business = _business(env, local_hour=14)
    phone = unique_phone()
    fields = {"phone": phone, "consent": "on", "consent_text": CONSENT}
    # once as JSON and once form-encoded, as a double-clicking visitor's browser might
    assert _post_lead(env, business, **fields).status_code == 202
    form = {"name": "Hank Homeowner", "message": "Water heater leaking", **fields}
    again = env.client.post(
        f"/api/v1/leads/intake/{business.slug}",
        data=form,
        headers={**client_ip(), "Origin": "https://www.pipeline.example.com"},
    )
    assert again.status_code == 202, again.text
    assert again.headers["access-control-allow-origin"] == "https://www.pipeline.example.com"
    lead = _wait_lead(env, business, lambda lead: lead["first_response_at"] is not None)
    [only] = _leads(env, business)
    assert only["id"] == lead["id"] and only["submissions"] == 2
    time.sleep(3)  # every task of both posts has run
    assert len(env.twilio.sent_to(phone)) == 1


def test_an_inbound_text_from_an_unknown_number_becomes_a_lead_and_is_answered(env: Env) -> None:
    business = _business(env, local_hour=14)
    sender = unique_phone()
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": business.number,
        "Body": "Do you fix burst pipes?",
        "NumMedia": "0",
    }
    url = f"{env.host.base_url}/api/webhooks/twilio/inbound"
    signature = compute(AUTH_TOKEN, url, params.items())
    for _ in range(2):  # Twilio retries a webhook: the same MessageSid is one lead
        answer = env.client.post(url, data=params, headers={"X-Twilio-Signature": signature})
        assert answer.status_code == 200, answer.text
    lead = _wait_lead(env, business, lambda lead: lead["first_response_at"] is not None)
    assert (lead["source"], lead["phone"], lead["message"], lead["answer_channel"]) == (
        "sms",
        sender,
        "Do you fix burst pipes?",
        "sms",
    )
    [text] = env.twilio.wait_for(sender, timeout=60)
    assert text.body.startswith("Hi there, thanks for contacting Pipeline Plumbing")
    assert len(_leads(env, business)) == 1


def test_a_filled_honeypot_is_accepted_and_dropped_and_bad_input_is_refused(env: Env) -> None:
    business = _business(env, local_hour=14)
    bot = _post_lead(env, business, phone=unique_phone(), consent=True, website="http://spam.example")
    assert bot.status_code == 202
    assert env.client.post("/api/v1/leads/intake/no-such-business", json={"name": "A"}).status_code == 404
    bad = _post_lead(env, business, phone="12")
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["loc"] == "body.phone"
    nothing = _post_lead(env, business)
    assert nothing.status_code == 422 and nothing.json()["code"] == "contact_required"
    text = env.client.post(
        f"/api/v1/leads/intake/{business.slug}", content="name=A", headers={"Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    foreign = env.client.post(
        f"/api/v1/leads/intake/{business.slug}",
        json={"name": "A", "phone": unique_phone()},
        headers={**client_ip(), "Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and foreign.json()["code"] == "origin_not_allowed"
    assert _leads(env, business) == []


def test_cors_preflight_answers_the_businesss_sites_only(env: Env) -> None:
    business = _business(env, local_hour=14)
    path = f"/api/v1/leads/intake/{business.slug}"
    ours = {"Origin": "https://www.pipeline.example.com", "Access-Control-Request-Method": "POST"}
    allowed = env.client.options(path, headers=ours)
    assert allowed.status_code == 204, allowed.text
    assert allowed.headers["access-control-allow-origin"] == "https://www.pipeline.example.com"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    refused = env.client.options(path, headers={**ours, "Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


def test_staff_move_a_lead_along_its_statuses_and_follow_ups_stop(env: Env) -> None:
    business = _business(env, local_hour=14)
    assert _post_lead(env, business, email=unique_email("lead")).status_code == 202
    lead = _wait_lead(env, business, lambda lead: lead["answer_state"] in ("queued", "sent"))
    url, headers = f"/api/v1/leads/{lead['id']}", business.owner.headers
    etag = env.client.get(url, headers=headers).headers["ETag"]
    contacted = env.client.patch(url, headers={**headers, "If-Match": etag}, json={"status": "contacted"})
    assert contacted.status_code == 200, contacted.text
    assert contacted.json()["contacted_at"] is not None
    stale = env.client.patch(url, headers={**headers, "If-Match": etag}, json={"status": "qualified"})
    assert stale.status_code == 412
    back = env.client.patch(url, headers={**headers, "If-Match": "*"}, json={"status": "new"})
    assert back.status_code == 409 and back.json()["code"] == "invalid_transition"
    # a follow-up due now (delivered early through the admin API) does nothing for a contacted lead
    task = {"tenant_id": business.owner.tenant_id, "lead_id": lead["id"], "kind": "follow_up", "n": 0}
    assert env.host.fire("leads_responder", task).status_code == 200
    assert _log_events(env, f"lead {lead['id']} follow_up: follow-up 0 stopped: lead contacted")
    assert env.client.get(url, headers=headers).json()["follow_ups_sent"] == 0


def test_an_address_posting_too_often_is_refused_with_retry_after_and_the_site_can_read_why(env: Env) -> None:
    business = _business(env, local_hour=14)
    headers = {**client_ip(), "Origin": "https://www.pipeline.example.com"}
    url, bot = f"/api/v1/leads/intake/{business.slug}", {"name": "Bot", "website": "x"}
    for _ in range(10):  # honeypot posts count too, and keep nothing
        assert env.client.post(url, json=bot, headers=headers).status_code == 202
    refused = env.client.post(url, json={"name": "Hank", "phone": unique_phone()}, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.headers["access-control-allow-origin"] == "https://www.pipeline.example.com"
    invalid = env.client.post(url, json={"name": ""}, headers={**client_ip(), "Origin": headers["Origin"]})
    assert invalid.status_code == 422
    assert invalid.headers["access-control-allow-origin"] == "https://www.pipeline.example.com"
    assert _leads(env, business) == []
