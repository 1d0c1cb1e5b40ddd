"""Emailed password links over SMTP (aiosmtpd on loopback): an invitation sets a first password on its page,
a reset sets a new one and ends every session; each link works once.

The host gets its own Azurite, so the link emails it queues are sent by this host alone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.builders import PASSWORD, Account, client_ip, invite, login, register, unique_email
from tests.conftest import Database, RunningHost, start_host
from tests.fakes.smtp import FakeSmtp

NEW_PASSWORD = "a brand new password 42"


@dataclass
class Env:
    host: RunningHost
    client: httpx.Client
    smtp: FakeSmtp
    owner: Account


@pytest.fixture(scope="module")
def env(database: Database) -> Iterator[Env]:
    from devhost.services import free_azurite

    azurite = free_azurite().start()
    smtp = FakeSmtp().start()
    host = start_host(
        "function_app:app",
        env={"AzureWebJobsStorage": azurite.connection_string, "SMTP_FROM": "hello@tradeops.example.com", **smtp.env()},
    )
    client = host.client()
    try:
        yield Env(host=host, client=client, smtp=smtp, owner=register(client, tenant_name="Edgar's <Auto> & Paint"))
    finally:
        client.close()
        host.stop()
        smtp.stop()
        azurite.stop()


INVITED = "Edgar's <Auto> & Paint invited you to Tradeops"


def _link(env: Env, email: str, *, after: int = 0, subject: str = INVITED) -> str:
    """The link in the newest email to this address, once more than `after` have arrived."""
    deadline = time.monotonic() + 30
    while True:
        with env.smtp.lock:
            received = [m for m in env.smtp.messages if email in m.rcpt_tos]
        if len(received) > after:
            break
        assert time.monotonic() < deadline, f"no email number {after + 1} to {email}"
        time.sleep(0.05)
    message = received[-1].message
    assert message["Subject"] == subject
    assert received[-1].tls and received[-1].authenticated
    found = re.search(r"(http://\S+/api/v1/auth/password-links/(\S+))", message.get_content())
    assert found, message.get_content()
    return found.group(1)


def _path(link: str) -> str:
    return link.split("/api/", 1)[1]


def test_an_invited_person_chooses_a_password_on_the_page_and_the_link_then_stops_working(env: Env) -> None:
    email = unique_email("painter")
    user = invite(env.client, env.owner, role="estimator", name="Pat <Painter>", email=email, password=None)
    assert user["password_set"] is False  # the people list shows the invitation is still open
    link = _link(env, email)
    page = env.client.get("/api/" + _path(link))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Pat &lt;Painter&gt;" in page.text and "<Painter>" not in page.text  # escaped
    assert page.headers["Cache-Control"] == "no-store" and "<script" not in page.text

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    mismatch = env.client.post(
        "/api/" + _path(link), headers=form, content=f"password={NEW_PASSWORD}&password_confirm=something+else"
    )
    assert mismatch.status_code == 422 and "not the same" in mismatch.text
    short = env.client.post("/api/" + _path(link), headers=form, content="password=short&password_confirm=short")
    assert short.status_code == 422 and "10 to 256 characters" in short.text

    body = f"password={NEW_PASSWORD.replace(' ', '+')}&password_confirm={NEW_PASSWORD.replace(' ', '+')}"
    done = env.client.post("/api/" + _path(link), headers=form, content=body)
    assert done.status_code == 200 and "Your password is set" in done.text, done.text
    signed_in = login(env.client, email=email, password=NEW_PASSWORD)
    assert signed_in.role == "estimator"
    person = env.client.get(f"/api/v1/users/{user['id']}", headers=env.owner.headers).json()
    assert person["password_set"] is True

    again = env.client.get("/api/" + _path(link))
    assert again.status_code == 410 and "already used" in again.text
    replay = env.client.post("/api/" + _path(link), headers=form, content=body)
    assert replay.status_code == 410
    expected = {"users.invited", "users.invitation_issued", "users.password_link_emailed", "users.invitation_accepted"}
    deadline = time.monotonic() + 10  # the sender records "emailed" just after the server took the email
    while True:
        audit = env.client.get("/api/v1/audit?entity=user&limit=200", headers=env.owner.headers).json()["items"]
        actions = {row["action"] for row in audit if row["entity_id"] == signed_in.user_id}
        if expected <= actions or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert expected <= actions, actions


def test_a_resent_invitation_replaces_the_first_and_the_app_accepts_it_signed_in(env: Env) -> None:
    email = unique_email("tech")
    user = invite(env.client, env.owner, role="tech", email=email, password=None)
    first = _link(env, email)
    resent = env.client.post(f"/api/v1/users/{user['id']}/invitation", headers=env.owner.headers)
    assert resent.status_code == 201 and resent.json()["email_status"] == "queued", resent.text
    second = _link(env, email, after=1)
    assert second != first
    assert env.client.get("/api/" + _path(first)).status_code == 410

    token = second.rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = env.client.post(
        "/api/v1/auth/password-link-acceptances",
        headers=client_ip(),
        json={"token": tampered, "password": NEW_PASSWORD},
    )
    assert refused.status_code == 403 and refused.json()["code"] == "link_invalid"
    accepted = env.client.post(
        "/api/v1/auth/password-link-acceptances", headers=client_ip(), json={"token": token, "password": NEW_PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    me = env.client.get("/api/v1/me", headers={"Authorization": f"Bearer {accepted.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["user"]["id"] == user["id"]

    active = env.client.post(f"/api/v1/users/{user['id']}/invitation", headers=env.owner.headers)
    assert active.status_code == 409 and active.json()["code"] == "already_active"


def test_a_person_given_a_password_gets_no_email_and_signs_in_at_once(env: Env) -> None:
    email = unique_email("advisor")
    invite(env.client, env.owner, role="advisor", email=email, password=PASSWORD)
    assert login(env.client, email=email).role == "advisor"
    with env.smtp.lock:
        assert [m for m in env.smtp.messages if email in m.rcpt_tos] == []


def test_a_forgotten_password_is_reset_by_email_and_every_old_session_ends(env: Env) -> None:
    email = unique_email("forgetful")
    invite(env.client, env.owner, role="advisor", email=email, password=PASSWORD)
    before = login(env.client, email=email)
    unknown = env.client.post("/api/v1/auth/password-resets", headers=client_ip(), json={"email": unique_email()})
    asked = env.client.post("/api/v1/auth/password-resets", headers=client_ip(), json={"email": email.upper()})
    assert unknown.status_code == asked.status_code == 202 and unknown.json() == asked.json()

    link = _link(env, email, subject="Reset your Tradeops password for Edgar's <Auto> & Paint")
    page = env.client.get("/api/" + _path(link))
    assert page.status_code == 200 and "New password for Edgar&#x27;s &lt;Auto&gt; &amp; Paint" in page.text
    accepted = env.client.post(
        "/api/v1/auth/password-link-acceptances",
        headers=client_ip(),
        json={"token": link.rsplit("/", 1)[1], "password": NEW_PASSWORD},
    )
    assert accepted.status_code == 200, accepted.text

    old = env.client.post("/api/v1/auth/login", headers=client_ip(), json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    assert login(env.client, email=email, password=NEW_PASSWORD).role == "advisor"
    old_session = env.client.post(
        "/api/v1/auth/refresh", headers=client_ip(), json={"refresh_token": before.refresh_token}
    )
    assert old_session.status_code == 401 and env.client.get("/api/v1/me", headers=before.headers).status_code == 401
    assert env.client.get("/api/" + _path(link)).status_code == 410


def _audit_of(env: Env, user_id: str, action: str, timeout: float = 60) -> dict:
    """The first audit row of this action about the person, once it exists (the deadline only guards a hang)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = env.client.get("/api/v1/audit?entity=user&limit=200", headers=env.owner.headers).json()["items"]
        found = [row for row in rows if row["entity_id"] == user_id and row["action"] == action]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no {action} for {user_id}\n{env.host.log_tail(20)}"
        time.sleep(0.2)


def test_a_relay_refusing_for_good_fails_the_link_after_one_try(env: Env) -> None:
    # given a relay that answers 550 for the invited address
    email = unique_email("gone")
    env.smtp.refuse(email, permanent=True)
    user = invite(env.client, env.owner, role="tech", email=email, password=None)
    # then the link is marked failed with the relay's code, after a single attempt
    failed = _audit_of(env, user["id"], "users.password_link_email_failed")
    assert failed["after"]["error"].startswith("smtp_550")
    assert env.smtp.attempts[email] == 1


def test_a_relay_refusing_for_now_is_retried_by_the_queue_then_poison_fails_the_link(env: Env) -> None:
    # given a relay that answers 451 (try later) for the invited address, every time
    email = unique_email("busy")
    env.smtp.refuse(email, permanent=False)
    user = invite(env.client, env.owner, role="tech", email=email, password=None)
    # then the queue tries maxDequeueCount (5) times, and the poison handler marks the link failed
    failed = _audit_of(env, user["id"], "users.password_link_email_failed")
    assert "gave up" in failed["after"]["error"]
    assert env.smtp.attempts[email] == 5
    with env.smtp.lock:
        assert [m for m in env.smtp.messages if email in m.rcpt_tos] == []
