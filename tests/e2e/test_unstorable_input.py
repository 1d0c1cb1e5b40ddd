"""Input PostgreSQL cannot store, and absurdly nested bodies, are the caller's 4xx, never a 500."""

from __future__ import annotations

import httpx

from tests.builders import register
from tests.conftest import RunningHost


def _refused(response: httpx.Response, loc: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert loc in [error["loc"] for error in response.json()["errors"]]


def test_a_nul_in_a_customer_note_a_template_name_or_a_search_is_422(app_host: RunningHost) -> None:
    client = app_host.client()
    owner = register(client, tenant_name="Nul Auto")
    customer = {"name": "Ada", "notes": "x\u0000y"}
    _refused(client.post("/api/v1/crm/customers", headers=owner.headers, json=customer), "body.notes")
    template = {"name": "Brakes\u0000", "labels": ["Pads"]}
    _refused(client.post("/api/v1/shop/inspection-templates", headers=owner.headers, json=template), "body.name")
    _refused(client.get("/api/v1/crm/customers?q=%00", headers=owner.headers), "query.q")
    # and a lone surrogate, which UTF-8 cannot encode
    lone = client.post(
        "/api/v1/crm/customers",
        headers={**owner.headers, "content-type": "application/json"},
        content=b'{"name": "Ada", "notes": "\\ud800"}',
    )
    _refused(lone, "body.notes")
    # nothing was stored
    listed = client.get("/api/v1/crm/customers", headers=owner.headers)
    assert listed.status_code == 200 and listed.json()["items"] == []


def test_a_body_nested_ten_thousand_deep_is_a_400_problem(app_host: RunningHost) -> None:
    client = app_host.client()
    owner = register(client, tenant_name="Deep Auto")
    deep = b"[" * 10_000 + b"]" * 10_000
    response = client.post(
        "/api/v1/crm/customers", headers={**owner.headers, "content-type": "application/json"}, content=deep
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "json_too_deep"
