"""The customer's inspection approval page in a real headless Chromium at phone size, with scripts switched off."""

from __future__ import annotations

import asyncio

import pytest

from tests.builders import register, unique_phone
from tests.conftest import RunningHost
from tests.e2e.browser import chromium, find_browser


def _post(client, account, path: str, body: dict, headers: dict | None = None) -> dict:
    response = client.post(f"/api/{path}", headers={**account.headers, **(headers or {})}, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _inspection(client, owner) -> tuple[str, str, list[dict]]:
    """An appointment with an inspection of three items, two of them recommended (one with markup in its notes)."""
    customer = _post(client, owner, "v1/crm/customers", {"name": "Rosa <Diaz>", "phone": unique_phone()})
    appointment = _post(
        client,
        owner,
        "v1/shop/appointments",
        {"customer_id": customer["id"], "starts_at": "2027-02-01T15:00:00Z", "ends_at": "2027-02-01T17:00:00Z"},
    )
    checklist = _post(
        client,
        owner,
        f"v1/shop/appointments/{appointment['id']}/inspections",
        {"title": "Multi-point check", "labels": ["Front brake pads", "Wiper blades", "Horn"]},
    )
    findings = [
        {"status": "urgent", "recommended": True, "estimate_cents": 18_000, "notes": "2 mm left <b>now</b>"},
        {"status": "attention", "recommended": True, "estimate_cents": 4_500, "notes": "Streaking"},
    ]
    for item, finding in zip(checklist["items"], findings, strict=False):
        response = client.patch(
            f"/api/v1/shop/inspections/{checklist['id']}/items/{item['id']}",
            headers={**owner.headers, "If-Match": "*"},
            json=finding,
        )
        assert response.status_code == 200, response.text
    return appointment["id"], checklist["id"], checklist["items"]


async def _answer_on_a_phone(browser: str, url: str, approve: str, decline: str) -> tuple[str, str, float]:
    async with chromium(browser) as page:
        await page.phone()
        await page.goto(url)
        first = await page.html()
        width = await page.layout_width()
        await page.click(f'input[name="item-{approve}"][value="approve"]')
        await page.click(f'input[name="item-{decline}"][value="decline"]')
        await page.click('button[type="submit"]', navigates=True)
        return first, await page.html(), width


def test_a_customer_approves_one_item_and_declines_another_on_a_phone(app_host: RunningHost) -> None:
    browser = find_browser()
    if browser is None:
        pytest.skip("skipped: no Chromium or Chrome browser found (install Debian's chromium to run it)")
    client = app_host.client()
    owner = register(client, tenant_name="Edgar's <Auto>")
    appointment_id, checklist_id, items = _inspection(client, owner)
    url = _post(client, owner, f"v1/shop/inspections/{checklist_id}/link", {"ttl_hours": 48})["url"]
    # when the customer opens the link on a phone, approves the brakes and declines the wipers
    first, after, width = asyncio.run(_answer_on_a_phone(browser, url, items[0]["id"], items[1]["id"]))
    # then the page showed both recommended items, escaped, without sideways scrolling
    assert "Front brake pads" in first and "Wiper blades" in first and "Horn" not in first
    assert "&lt;b&gt;now&lt;/b&gt;" in first and "Edgar's &lt;Auto&gt;" in first
    assert width <= 390
    assert "Thank you" in after and "Your answer: approved" in after and "Your answer: declined" in after
    # and both answers are on the appointment
    drawer = client.get(f"/api/v1/shop/appointments/{appointment_id}", headers=owner.headers).json()
    decisions = {i["label"]: i["decision"] for i in drawer["inspections"][0]["items"]}
    assert decisions == {"Front brake pads": "approved", "Wiper blades": "declined", "Horn": None}
    history = [h["action"] for h in drawer["history"]]
    assert history.count("inspections.answered") == 2


def test_a_tampered_link_is_refused_with_a_plain_page(app_host: RunningHost) -> None:
    client = app_host.client()
    owner = register(client, tenant_name="Tamper Test Auto")
    _, checklist_id, _ = _inspection(client, owner)
    url = _post(client, owner, f"v1/shop/inspections/{checklist_id}/link", {"ttl_hours": 1})["url"]
    path = url.split("/api/", 1)[1]
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    response = client.get(f"/api/{forged}")
    assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    assert "not valid" in response.text
    answered = client.post(
        f"/api/{forged}", content=b"item-x=approve", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answered.status_code == 403
