"""Painting estimates over HTTP through the dev host: the acceptance story of issue 13.

An estimator builds the example room (totals exactly as the issue says), sends it by email (it arrives at a
real SMTP server on loopback with the link), the customer accepts option "Better" with a typed name in a
headless Chromium at phone size with scripts off, and the signed PDF is stored, its hash recorded and emailed
as an attachment (whose SHA-256 is the stored one) to the customer and the estimator.
Visibility: a peer's unshared estimate is 404, shared it reads, an admin sees all. Tampered links 403,
expired 410. The host gets its own Azurite, so the emails its queues send are sent by this host alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared import clock, signed_links
from tests.builders import Account, invite, login, register, unique_email
from tests.conftest import Database, RunningHost, start_host
from tests.e2e.browser import chromium, find_browser
from tests.fakes.smtp import FakeSmtp

BOOK = {
    "labour_rate_cents": 6500,
    "products": [
        {"name": "Wall eggshell", "coverage_sqft_per_gallon": "350", "price_per_gallon_cents": 4500},
        {"name": "Ceiling flat", "coverage_sqft_per_gallon": "400", "price_per_gallon_cents": 4000},
        {"name": "Wall premium", "coverage_sqft_per_gallon": "400", "price_per_gallon_cents": 6500},
    ],
}


@dataclass
class Env:
    host: RunningHost
    client: httpx.Client
    smtp: FakeSmtp
    owner: Account
    estimator: Account
    peer: Account
    admin: Account
    products: dict[str, str]


def _daytime_zone() -> str:
    """A zone where it is mid-afternoon now, so quiet hours never hold the email back."""
    offset = ((14 - datetime.now(UTC).hour + 12) % 24) - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def _ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), response.text
    return response.json() if response.content and "json" in response.headers.get("content-type", "") else None


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
        owner = register(client, tenant_name="Pinpoint <Painting>")
        people = {role: login(client, email=invite(client, owner, role=role)["email"]) for role in ("admin",)}
        estimator = login(client, email=invite(client, owner, role="estimator")["email"])
        peer = login(client, email=invite(client, owner, role="estimator")["email"])
        _ok(
            client.put(
                "/api/v1/messaging/settings", headers=owner.headers, json={"email_from": "jobs@pinpoint.example"}
            )
        )
        book = _ok(client.put("/api/v1/estimates/rate-book", headers=owner.headers, json=BOOK))
        products = {p["name"]: p["id"] for p in book["products"]}
        yield Env(host, client, smtp, owner, estimator, peer, people["admin"], products)
    finally:
        client.close()
        host.stop()
        smtp.stop()
        azurite.stop()


def _customer(env: Env, account: Account) -> dict:
    body = {"name": "Rosa <Diaz>", "email": unique_email("rosa"), "timezone": _daytime_zone()}
    customer = _ok(env.client.post("/api/v1/crm/customers", headers=account.headers, json=body))
    consent = {"channel": "email", "purpose": "transactional", "granted": True, "source": "signed_form"}
    _ok(
        env.client.post(f"/api/v1/messaging/customers/{customer['id']}/consents", headers=account.headers, json=consent)
    )
    return customer


def _example_estimate(env: Env, account: Account) -> tuple[dict, dict]:
    customer = _customer(env, account)
    premium = {env.products["Wall eggshell"]: env.products["Wall premium"]}
    body = {
        "customer_id": customer["id"],
        "title": "Living room <repaint>",
        "job_address": "12 Elm St",
        "options": [{"name": "Good"}, {"name": "Better", "product_overrides": premium}],
    }
    estimate = _ok(env.client.post("/api/v1/estimates", headers=account.headers, json=body))
    room = {
        "name": "Living room",
        "length_ft": 12,
        "width_ft": 14,
        "height_ft": 8,
        "doors": 1,
        "windows": 2,
        "surfaces": [
            {"kind": "walls", "product_id": env.products["Wall eggshell"], "coats": 2, "prep": "none"},
            {"kind": "ceiling", "product_id": env.products["Ceiling flat"], "coats": 1, "prep": "none"},
        ],
    }
    path = f"/api/v1/estimates/{estimate['id']}/rooms"
    return _ok(env.client.post(path, headers=account.headers, json=room)), customer


def _mail(env: Env, to: str, subject_part: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with env.smtp.lock:
            found = [m for m in env.smtp.messages if to in m.rcpt_tos and subject_part in m.message["Subject"]]
        if found:
            return found[-1].message
        assert time.monotonic() < deadline, f"no email '{subject_part}' to {to}"
        time.sleep(0.1)


def _text(mail: Any) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None, "the email has no text part"
    return body.get_content()


def _attached_pdf_sha256(mail: Any) -> str:
    """The SHA-256 of the email's one attachment, which must be a PDF."""
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert (attachment.get_filename() or "").endswith(".pdf")
    data = attachment.get_payload(decode=True)
    assert data.startswith(b"%PDF")
    return hashlib.sha256(data).hexdigest()


async def _accept_on_a_phone(browser: str, url: str, option_id: str, name: str) -> tuple[str, str, float]:
    async with chromium(browser) as page:
        await page.phone()
        await page.goto(url)
        first = await page.html()
        width = await page.layout_width()
        await page.click(f'input[name="option"][value="{option_id}"]')
        await page.click('input[name="name"]')
        await page.send("Input.insertText", text=name)
        await page.click('button[value="accept"]', navigates=True)
        return first, await page.html(), width


def test_an_estimator_builds_sends_and_the_customer_signs_better_on_a_phone(env: Env) -> None:
    browser = find_browser()
    if browser is None:
        pytest.skip("skipped: no Chromium or Chrome browser found (install Debian's chromium to run it)")
    estimate, customer = _example_estimate(env, env.estimator)
    good, better = estimate["options"]
    # the example room is priced exactly as the issue says
    walls, ceiling = good["rooms"][0]["surfaces"]
    measured = [Decimal(s[k]) for s in (walls, ceiling) for k in ("quantity", "hours")]
    assert measured == [Decimal(365), Decimal("3.285"), Decimal(168), Decimal("1.12")]
    assert [(m["gallons"], m["cents"]) for m in good["materials"]] == [(3, 13_500), (1, 4_000)]
    assert (good["totals"]["labour_cents"], good["totals"]["total_cents"]) == (28_633, 46_133)
    # when it is sent by email, the email arrives with the link
    sent = _ok(
        env.client.post(
            f"/api/v1/estimates/{estimate['id']}/send",
            headers=env.estimator.headers,
            json={"channel": "email", "ttl_days": 7},
        ),
        200,
    )
    mail = _mail(env, customer["email"], "your estimate")
    link = re.search(r"(http://\S+/api/v1/estimate-proposals/\S+)", mail.get_content())
    assert link and link.group(1) == sent["url"]
    # and the customer accepts Better with a typed name on a phone, scripts off
    first, after, width = asyncio.run(_accept_on_a_phone(browser, link.group(1), better["id"], "Rosa Diaz"))
    assert "Living room &lt;repaint&gt;" in first and "Pinpoint &lt;Painting&gt;" in first and "$461.33" in first
    assert width <= 390
    assert "Accepted by Rosa Diaz" in after and "Better" in after
    # then the estimate is accepted with Better, the signed PDF stored and its hash recorded
    read = _ok(env.client.get(f"/api/v1/estimates/{estimate['id']}", headers=env.estimator.headers))
    acceptance = read["acceptance"]
    assert read["status"] == "accepted" and acceptance["option_id"] == better["id"]
    assert acceptance["signer_name"] == "Rosa Diaz" and acceptance["total_cents"] == better["totals"]["total_cents"]
    assert acceptance["user_agent"] and "Chrome" in acceptance["user_agent"]
    pdf = _ok(env.client.get(f"/api/v1/estimates/{estimate['id']}/pdf", headers=env.estimator.headers))
    assert pdf["signed"] and pdf["sha256"] == acceptance["signed_pdf_sha256"]
    document = env.client.get("/api/" + pdf["url"].split("/api/", 1)[1])
    assert document.status_code == 200 and document.content.startswith(b"%PDF")
    assert hashlib.sha256(document.content).hexdigest() == acceptance["signed_pdf_sha256"]
    # and emailed: the customer gets the signed copy attached (and its link), the estimator a notice with it
    signed_mail = _mail(env, customer["email"], "your signed proposal")
    assert "/api/v1/estimate-documents/" in _text(signed_mail)
    assert _attached_pdf_sha256(signed_mail) == acceptance["signed_pdf_sha256"]
    notice = _mail(env, env.estimator.email or "", "Accepted")
    assert acceptance["signed_pdf_sha256"] in _text(notice)
    assert _attached_pdf_sha256(notice) == acceptance["signed_pdf_sha256"]
    # a second acceptance is refused
    again = env.client.post(
        link.group(1),
        content=f"decision=accept&option={good['id']}&name=X",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.status_code == 409


async def _open_on_a_phone(browser: str, url: str) -> str:
    async with chromium(browser) as page:
        await page.phone()
        await page.goto(url)
        return await page.html()


def test_tampered_and_outdated_links_are_refused_with_a_plain_page(env: Env) -> None:
    estimate, _ = _example_estimate(env, env.estimator)
    sent = _ok(
        env.client.post(
            f"/api/v1/estimates/{estimate['id']}/send", headers=env.estimator.headers, json={"channel": "email"}
        ),
        200,
    )
    path = "/api/" + sent["url"].split("/api/", 1)[1]
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    refused = env.client.get(forged)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "not valid" in refused.text
    browser = find_browser()
    if browser is not None:  # and a phone's browser shows the same plain page
        assert "not valid" in asyncio.run(_open_on_a_phone(browser, env.host.base_url + forged))
    # a change after sending: the old link says the estimate was updated
    patched = env.client.patch(
        f"/api/v1/estimates/{estimate['id']}",
        headers={**env.estimator.headers, "If-Match": "*"},
        json={"notes": "Add the hall"},
    )
    assert _ok(patched)["revision"] == 2
    outdated = env.client.get(path)
    assert outdated.status_code == 410 and "updated" in outdated.text


def test_an_expired_link_answers_410(env: Env) -> None:
    estimate, _ = _example_estimate(env, env.estimator)
    sent = _ok(
        env.client.post(
            f"/api/v1/estimates/{estimate['id']}/send",
            headers=env.estimator.headers,
            json={"channel": "email", "ttl_days": 1},
        ),
        200,
    )
    token = sent["url"].rsplit("/", 1)[1]
    claims = signed_links.verify(token, purpose="estimate", id_count=2)
    clock.pin(clock.now() - timedelta(days=2))  # a link signed two days ago for one day
    try:
        expired, _ = signed_links.sign(
            purpose="estimate", tenant_id=claims.tenant_id, ids=claims.ids, ttl=timedelta(days=1)
        )
    finally:
        clock.unpin()
    response = env.client.get(f"/api/v1/estimate-proposals/{expired}")
    assert response.status_code == 410 and "expired" in response.text
    browser = find_browser()
    if browser is not None:
        shown = asyncio.run(_open_on_a_phone(browser, f"{env.host.base_url}/api/v1/estimate-proposals/{expired}"))
        assert "expired" in shown and 'name="decision"' not in shown


def test_a_peer_sees_an_estimate_only_once_shared_and_an_admin_sees_all(env: Env) -> None:
    estimate, customer = _example_estimate(env, env.estimator)
    url = f"/api/v1/estimates/{estimate['id']}"
    assert env.client.get(url, headers=env.peer.headers).status_code == 404
    assert env.client.get(f"/api/v1/crm/customers/{customer['id']}", headers=env.peer.headers).status_code == 404
    listed = _ok(env.client.get("/api/v1/estimates?limit=200", headers=env.peer.headers))
    assert estimate["id"] not in {e["id"] for e in listed["items"]}
    _ok(env.client.post(f"{url}/shares", headers=env.estimator.headers, json={"user_id": env.peer.user_id}))
    assert _ok(env.client.get(url, headers=env.peer.headers))["id"] == estimate["id"]
    assert env.client.get(f"/api/v1/crm/customers/{customer['id']}", headers=env.peer.headers).status_code == 200
    everything = _ok(env.client.get("/api/v1/estimates?limit=200", headers=env.admin.headers))
    assert estimate["id"] in {e["id"] for e in everything["items"]}


def test_the_follow_up_timer_runs_through_the_host(env: Env) -> None:
    estimate, _ = _example_estimate(env, env.estimator)
    _ok(
        env.client.post(
            f"/api/v1/estimates/{estimate['id']}/send", headers=env.estimator.headers, json={"channel": "email"}
        ),
        200,
    )
    fired = env.host.fire("estimates_follow_ups")
    assert fired.status_code in (200, 202), fired.text
    # nothing is due yet (sent moments ago): the estimate is still waiting for the customer, not expired
    assert _ok(env.client.get(f"/api/v1/estimates/{estimate['id']}", headers=env.estimator.headers))["status"] == "sent"


def test_a_send_messaging_blocks_is_reported_on_the_estimate(env: Env) -> None:
    # given a customer who never agreed to email
    body = {"name": "No Consent", "email": unique_email("nc"), "timezone": _daytime_zone()}
    customer = _ok(env.client.post("/api/v1/crm/customers", headers=env.estimator.headers, json=body))
    estimate = _ok(
        env.client.post(
            "/api/v1/estimates", headers=env.estimator.headers, json={"customer_id": customer["id"], "title": "Porch"}
        )
    )
    # when the estimate is sent by email
    sent = _ok(
        env.client.post(
            f"/api/v1/estimates/{estimate['id']}/send", headers=env.estimator.headers, json={"channel": "email"}
        ),
        200,
    )
    assert sent["message_status"] == "queued"
    # then the estimator sees on the estimate that messaging blocked it, and why
    deadline = time.monotonic() + 30
    while True:
        read = _ok(env.client.get(f"/api/v1/estimates/{estimate['id']}", headers=env.estimator.headers))
        revision = read["revisions"][0]
        if revision["message_status"] == "blocked":
            break
        assert time.monotonic() < deadline, revision
        time.sleep(0.2)
    assert revision["message_reason"] == "no_consent" and read["status"] == "sent"
