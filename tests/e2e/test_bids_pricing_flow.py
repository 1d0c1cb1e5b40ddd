"""Plumbing bids priced and accepted over HTTP through the dev host: the acceptance story of issue 16 (points 1-4).

A generated plan set is analysed and its takeoff reviewed; with a round-number price book the bid made from it
has totals that match the hand calculation below at every step; the generation orchestration emails the
proposal (a real SMTP server on loopback); opening the link marks the bid viewed; accepting with one alternate
locks the totals and stores a signed PDF whose SHA-256 is recorded and emailed. Tampered 403, expired 410,
second answer 409, an edit after sending is a new revision and the old link says so. The host has its own
Azurite, so the emails its queues send are sent by this host alone.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from blueprints.bids.catalog import FIXTURE_TYPES
from shared import clock, signed_links
from tests.builders import Account, register, unique_email
from tests.conftest import Database, RunningHost, start_host
from tests.fakes.smtp import FakeSmtp
from tests.plansets.generator import make_plan_set

ROUND = {"rough_in_hours": "2", "trim_hours": "1", "material_cents": 10_000, "allowance_cents": 0}
BOOK = {
    "labour_rate_cents": 10_000,
    "productivity_factor": "1",
    "assemblies": dict.fromkeys(FIXTURE_TYPES, ROUND),
    "pipe": {"basis": "per_fixture", "feet": "10", "material_cents_per_foot": 500, "hours_per_foot": "0.1"},
    "permit_fees_cents": 20_000,
    "contingency_percent": "5",
    "overhead_percent": "10",
    "margin_percent": "20",
    "bond_percent": "1",
    "tax_percent": "8",
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ANY = {"If-Match": "*"}


@dataclass
class Env:
    host: RunningHost
    client: httpx.Client
    smtp: FakeSmtp
    owner: Account


def _ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), response.text
    return response.json()


def _daytime_zone() -> str:
    """A zone where it is mid-afternoon now, so quiet hours never hold the email back."""
    offset = ((14 - datetime.now(UTC).hour + 12) % 24) - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


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
        owner = register(client, tenant_name="PipelineOS <Plumbing>")
        _ok(client.put("/api/v1/messaging/settings", headers=owner.headers, json={"email_from": "bids@pipe.example"}))
        settings = {"code": "IPC", "auto_accept": "0.9", "hide_below": "0.4", "licence_number": "M-40123"}
        _ok(client.put("/api/v1/bids/settings", headers=owner.headers, json=settings))
        _ok(client.put("/api/v1/bids/price-book", headers=owner.headers, json=BOOK))
        yield Env(host, client, smtp, owner)
    finally:
        client.close()
        host.stop()
        smtp.stop()
        azurite.stop()


def _reviewed_document(env: Env) -> tuple[str, str, dict[str, Any]]:
    """A generated plan set analysed through the orchestration, pending fixtures confirmed, takeoff reviewed."""
    client, headers = env.client, env.owner.headers
    body = {"name": "Rosa Diaz", "email": unique_email("rosa"), "timezone": _daytime_zone()}
    customer = _ok(client.post("/api/v1/crm/customers", headers=headers, json=body))
    consent = {"channel": "email", "purpose": "transactional", "granted": True, "source": "signed_form"}
    _ok(client.post(f"/api/v1/messaging/customers/{customer['id']}/consents", headers=headers, json=consent))
    project = _ok(
        client.post(
            "/api/v1/bids/projects",
            headers=headers,
            json={"customer_id": customer["id"], "name": "Riverside Clinic", "address": "12 River Rd"},
        )
    )
    ticket = _ok(
        client.post(f"/api/v1/bids/projects/{project['id']}/documents", headers=headers, json={"filename": "set.pdf"})
    )
    put = httpx.put(
        ticket["upload_url"], content=make_plan_set(plan_sheets=1, seed=4).pdf, headers=ticket["upload_headers"]
    )
    assert put.status_code == 201, put.text
    document_id = ticket["document"]["id"]
    _ok(client.post(f"/api/v1/bids/documents/{document_id}/commit", headers=headers, json={}), 202)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = _ok(client.get(f"/api/v1/bids/documents/{document_id}", headers=headers))["status"]
        if status not in ("queued", "analyzing"):
            break
        time.sleep(0.1)
    assert status == "analyzed", env.host.log_tail()
    pending = _ok(client.get(f"/api/v1/bids/documents/{document_id}/fixtures?state=pending", headers=headers))
    if pending["items"]:
        ids = {"fixture_ids": [f["id"] for f in pending["items"]]}
        _ok(client.post(f"/api/v1/bids/documents/{document_id}/fixtures/confirm", headers=headers, json=ids))
    reviewed = _ok(client.post(f"/api/v1/bids/documents/{document_id}/takeoff/review", headers=headers))
    return document_id, customer["email"], reviewed


def _half_up(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _by_hand(fixtures: int) -> dict[str, int]:
    """The book above for n fixtures: each 3 h at $100 plus $100 material; 10 ft of pipe each ($50 + 1 h)."""
    fixture_lines = fixtures * (3 * 10_000 + 10_000)
    pipe = fixtures * 10 * 500 + fixtures * 10_000  # 10 ft x $5, and 10 ft x 0.1 h x $100
    direct = fixture_lines + pipe + 20_000  # permit fees
    contingency = _half_up(Decimal(direct) * 5 / 100)
    overhead = _half_up(Decimal(direct + contingency) * 10 / 100)
    cost = direct + contingency + overhead
    price = _half_up(Decimal(cost) / Decimal("0.8"))
    bond = _half_up(Decimal(price) / 100)
    tax = _half_up(Decimal(price + bond) * 8 / 100)
    return {
        "direct_cost_cents": direct,
        "contingency_cents": contingency,
        "overhead_cents": overhead,
        "cost_cents": cost,
        "margin_cents": price - cost,
        "price_cents": price,
        "bond_cents": bond,
        "tax_cents": tax,
        "total_cents": price + bond + tax,
    }


def _mail(env: Env, to: str, subject_part: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with env.smtp.lock:
            found = [m for m in env.smtp.messages if to in m.rcpt_tos and subject_part in m.message["Subject"]]
        if found:
            return found[-1].message
        assert time.monotonic() < deadline, f"no email '{subject_part}' to {to}: {env.host.log_tail()}"
        time.sleep(0.1)


def _sent(env: Env, bid_id: str) -> dict[str, Any]:
    headers = env.owner.headers
    sending = _ok(env.client.post(f"/api/v1/bids/{bid_id}/send", headers=headers, json={"ttl_days": 7}), 202)
    assert sending["sending"] and sending["status"] == "draft"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        bid = _ok(env.client.get(f"/api/v1/bids/{bid_id}", headers=headers))
        if bid["status"] == "sent":
            return bid
        time.sleep(0.1)
    raise AssertionError(f"the bid was never sent: {bid} {env.host.log_tail()}")


def test_a_reviewed_takeoff_becomes_a_bid_priced_as_by_hand_emailed_viewed_and_accepted(env: Env) -> None:
    client, headers = env.client, env.owner.headers
    document_id, customer_email, reviewed = _reviewed_document(env)
    counts = {c["fixture_type"]: c["count"] for c in reviewed["totals"]["counts"]}
    fixtures = sum(counts.values())
    assert fixtures > 0
    # when a bid is made from the reviewed takeoff
    bid = _ok(client.post("/api/v1/bids", headers=headers, json={"document_id": document_id}), 201)
    # then it has one line per fixture type, each keeping where its quantity came from
    lines = [line for line in bid["priced"]["lines"] if line["kind"] == "fixture"]
    assert {line["fixture_type"]: Decimal(line["quantity"]) for line in lines} == counts
    frozen = {f["id"] for f in reviewed["fixtures"]}
    for line in lines:
        assert line["source"]["takeoff_version"] == reviewed["version"] and line["source"]["document_id"] == document_id
        assert len(line["source"]["fixture_ids"]) == counts[line["fixture_type"]]
        assert set(line["source"]["fixture_ids"]) <= frozen
    # and its totals match the hand calculation at every step
    totals = bid["priced"]["totals"]
    assert {k: totals[k] for k in _by_hand(fixtures)} == _by_hand(fixtures)
    assert bid["status"] == "draft" and bid["price_book_version"] == 1 and bid["number"].startswith("P-")
    # an alternate (one more water heater) is priced on its own
    content = {
        **bid["content"],
        "alternates": [
            {"name": "Add a water heater", "lines": [{"fixture_type": "water_heater", "quantity": "1"}]},
        ],
        "exclusions": ["Trenching <outside>"],
    }
    bid = _ok(client.put(f"/api/v1/bids/{bid['id']}", headers={**headers, **ANY}, json=content))
    alternate = bid["priced"]["alternates"][0]
    # 1 x (3 h x $100 + $100) + 10 ft of pipe ($50 + 1 h) = 55,000 direct -> 2,750 contingency -> 5,775 overhead
    # -> 63,525 cost -> 79,406.25 price (half up 79,406) -> 794 bond -> 6,416 tax
    assert alternate["totals"]["direct_cost_cents"] == 55_000 and alternate["totals"]["total_cents"] == 86_616
    assert bid["revision"] == 1 and bid["priced"]["totals"]["total_cents"] == totals["total_cents"]
    # when it is sent, the orchestration emails the proposal's link to the customer
    sent = _sent(env, bid["id"])
    assert sent["message_id"] and sent["valid_until"]
    mail = _mail(env, customer_email, "proposal P-")
    link = re.search(r"(http://\S+/api/v1/bid-proposals/\S+)", mail.get_content())
    assert link, mail.get_content()
    # opening the link shows the proposal and marks the bid viewed
    page = client.get(link.group(1))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "PipelineOS &lt;Plumbing&gt;" in page.text and "Trenching &lt;outside&gt;" in page.text
    assert "M-40123" in page.text and "Add a water heater" in page.text
    viewed = _ok(client.get(f"/api/v1/bids/{bid['id']}", headers=headers))
    assert viewed["status"] == "viewed" and viewed["viewed_at"]
    # accepting with the alternate locks the totals
    form = f"decision=accept&name=Rosa+Diaz&alternate-{alternate['id']}=on"
    answered = client.post(link.group(1), content=form, headers={**FORM, "User-Agent": "PhoneBrowser/1.0"})
    assert answered.status_code == 303, answered.text
    accepted = _ok(client.get(f"/api/v1/bids/{bid['id']}", headers=headers))
    locked = accepted["accepted_totals"]
    assert accepted["status"] == "accepted" and accepted["signer_name"] == "Rosa Diaz"
    assert locked["base_total_cents"] == totals["total_cents"]
    assert locked["total_cents"] == totals["total_cents"] + alternate["totals"]["total_cents"]
    assert [a["id"] for a in locked["alternates"]] == [alternate["id"]]
    # and the signed copy is stored with its hash and emailed
    pdf = _ok(client.get(f"/api/v1/bids/{bid['id']}/pdf", headers=headers))
    document = client.get("/api/" + pdf["url"].split("/api/", 1)[1])
    assert pdf["signed"] and document.status_code == 200 and document.content.startswith(b"%PDF")
    assert hashlib.sha256(document.content).hexdigest() == pdf["sha256"] == accepted["signed_pdf_sha256"]
    signed_mail = _mail(env, customer_email, "your signed proposal")
    assert accepted["signed_pdf_sha256"] in signed_mail.get_content()
    notice = _mail(env, env.owner.email or "", "Accepted: proposal")  # and the estimator is told
    assert accepted["signed_pdf_sha256"] in notice.get_content() and "Rosa Diaz" in notice.get_content()
    # a second answer is 409, and the accepted bid no longer changes
    again = client.post(link.group(1), content="decision=accept&name=X", headers=FORM)
    assert again.status_code == 409
    assert client.put(f"/api/v1/bids/{bid['id']}", headers={**headers, **ANY}, json=content).status_code == 409


def test_tampered_expired_and_outdated_links(env: Env) -> None:
    client, headers = env.client, env.owner.headers
    customer = _ok(
        client.post(
            "/api/v1/crm/customers",
            headers=headers,
            json={"name": "Ada", "email": unique_email("ada"), "timezone": _daytime_zone()},
        )
    )
    project = _ok(
        client.post(
            "/api/v1/bids/projects",
            headers=headers,
            json={"customer_id": customer["id"], "name": "Annex", "address": "3 Elm St"},
        )
    )
    content = {"title": "Annex", "lines": [{"fixture_type": "lavatory", "quantity": "2"}]}
    bid = _ok(client.post("/api/v1/bids", headers=headers, json={"project_id": project["id"], "content": content}))
    assert bid["document_id"] is None and bid["priced"]["totals"]["total_cents"] > 0
    sent = _sent(env, bid["id"])  # no consent: the email is refused, the bid is still sent with its link
    pdf = _ok(client.get(f"/api/v1/bids/{bid['id']}/pdf", headers=headers))
    token = pdf["url"].rsplit("/", 1)[1]
    claims = signed_links.verify(token, purpose="bid-document", id_count=2)
    page_token, _ = signed_links.sign(purpose="bid", tenant_id=claims.tenant_id, ids=claims.ids, ttl=timedelta(days=1))
    assert client.get(f"/api/v1/bid-proposals/{page_token}").status_code == 200
    # tampered: 403 as a plain page
    forged = page_token[:-3] + ("AAA" if not page_token.endswith("AAA") else "BBB")
    refused = client.get(f"/api/v1/bid-proposals/{forged}")
    assert refused.status_code == 403 and "not valid" in refused.text
    # expired: 410
    clock.pin(clock.now() - timedelta(days=2))
    try:
        old, _ = signed_links.sign(purpose="bid", tenant_id=claims.tenant_id, ids=claims.ids, ttl=timedelta(days=1))
    finally:
        clock.unpin()
    assert client.get(f"/api/v1/bid-proposals/{old}").status_code == 410
    # an edit after sending is a new revision; the old link says the proposal was updated
    changed = _ok(
        client.put(f"/api/v1/bids/{bid['id']}", headers={**headers, **ANY}, json={**content, "title": "Annex 2"})
    )
    assert changed["revision"] == 2 and changed["status"] == "draft" and sent["revision"] == 1
    outdated = client.get(f"/api/v1/bid-proposals/{page_token}")
    assert outdated.status_code == 410 and "updated" in outdated.text
    # and declining the new revision records the reason
    resent = _sent(env, bid["id"])
    assert resent["revision"] == 2
    pdf = _ok(client.get(f"/api/v1/bids/{bid['id']}/pdf", headers=headers))
    claims = signed_links.verify(pdf["url"].rsplit("/", 1)[1], purpose="bid-document", id_count=2)
    page_token, _ = signed_links.sign(purpose="bid", tenant_id=claims.tenant_id, ids=claims.ids, ttl=timedelta(days=1))
    declined = client.post(
        f"/api/v1/bid-proposals/{page_token}", content="decision=decline&reason=Too+late", headers=FORM
    )
    assert declined.status_code == 303
    read = _ok(client.get(f"/api/v1/bids/{bid['id']}", headers=headers))
    assert read["status"] == "declined" and read["decline_reason"] == "Too late"


def test_a_bid_needs_a_reviewed_takeoff_and_bad_input_is_a_problem(env: Env) -> None:
    client, headers = env.client, env.owner.headers
    missing = client.post("/api/v1/bids", headers=headers, json={"document_id": "00000000-0000-0000-0000-000000000001"})
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    bad = client.post("/api/v1/bids", headers=headers, json={})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    wrong_margin = client.put("/api/v1/bids/price-book", headers=headers, json={**BOOK, "margin_percent": "100"})
    assert wrong_margin.status_code == 422
    book = _ok(client.get("/api/v1/bids/price-book", headers=headers))
    assert book["version"] == 1 and book["margin_percent"] == "20"  # the refused save changed nothing
