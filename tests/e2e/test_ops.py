"""Health, readiness and the OpenAPI document, through the dev host as a caller sees them."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.conftest import RunningHost, start_host


def test_health_answers_without_dependencies(app_host: RunningHost) -> None:
    # when
    response = app_host.client().get("/api/health", headers={"X-Request-Id": "probe-1"})
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Request-Id"] == "probe-1"


def test_ready_reports_database_and_storage(app_host: RunningHost) -> None:
    response = app_host.client().get("/api/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {c["name"]: c["ok"] for c in body["checks"]} == {"database": True, "storage": True}


def test_ready_names_the_database_when_it_is_down(database: object) -> None:
    # given a host whose database does not answer
    from devhost.services import free_port

    dead = f"postgresql+psycopg://tradeops_app@127.0.0.1:{free_port()}/nothing"
    host = start_host("function_app:app", env={"DATABASE_URL": dead})
    try:
        # when
        response = host.client().get("/api/ready")
    finally:
        host.stop()
    # then
    assert response.status_code == 503
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["database"]["ok"] is False
    assert checks["storage"]["ok"] is True


def test_openapi_document_is_valid_openapi_31(app_host: RunningHost) -> None:
    response = app_host.client().get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    validate(document)
    assert "/health" in document["paths"] and "/ready" in document["paths"]


def test_admin_route_refuses_a_missing_or_wrong_key(app_host: RunningHost) -> None:
    client = app_host.client()
    assert client.post("/api/v1/ops/outbox/sweep").status_code == 401
    with_function_key = client.post("/api/v1/ops/outbox/sweep", headers={"x-functions-key": app_host.function_key})
    assert with_function_key.status_code == 401
    ok = client.post("/api/v1/ops/outbox/sweep", headers={"x-functions-key": app_host.master_key})
    assert ok.status_code == 200
    # the count depends on what other tests left in the shared outbox; the key is what this test is about
    assert set(ok.json()) == {"delivered"} and ok.json()["delivered"] >= 0
