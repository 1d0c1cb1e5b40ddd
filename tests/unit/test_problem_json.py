"""Errors reach callers as RFC 9457 problem documents; validation errors name their fields."""

from __future__ import annotations

import json

import azure.functions as func
from pydantic import BaseModel, Field

from shared.errors import Conflict, RateLimited
from shared.http import RouteSpec, dispatch


class Paint(BaseModel):
    name: str = Field(min_length=1)
    litres: float = Field(gt=0)


def _request(body: bytes = b"", content_type: str = "application/json", **headers: str) -> func.HttpRequest:
    return func.HttpRequest(
        "POST", "http://h/api/v1/paints", headers={"content-type": content_type, **headers}, body=body
    )


def _spec(**kwargs: object) -> RouteSpec:
    fields: dict = {
        "name": "t",
        "module": "t",
        "route": "v1/paints",
        "methods": ["POST"],
        "auth": "anonymous",
        "summary": "t",
    }
    return RouteSpec(**{**fields, **kwargs})


def _problem(response: func.HttpResponse) -> dict:
    assert response.mimetype == "application/problem+json"
    return json.loads(response.get_body())


def test_app_error_becomes_problem_json_with_request_id() -> None:
    def handler(req: object) -> None:
        raise Conflict("That slot is taken", code="slot_taken")

    response = dispatch(_spec(), handler, _request(**{"x-request-id": "abc-1"}))
    problem = _problem(response)
    assert response.status_code == 409
    assert problem["code"] == "slot_taken"
    assert problem["detail"] == "That slot is taken"
    assert problem["request_id"] == "abc-1" == response.headers["X-Request-Id"]
    assert problem["instance"] == "/api/v1/paints"


def test_rate_limit_carries_retry_after() -> None:
    def handler(req: object) -> None:
        raise RateLimited("Slow down", retry_after=30)

    response = dispatch(_spec(), handler, _request())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"


def test_validation_errors_are_422_with_field_paths() -> None:
    response = dispatch(_spec(body_model=Paint), lambda req: None, _request(b'{"name": "", "litres": -1}'))
    problem = _problem(response)
    assert response.status_code == 422
    assert {e["loc"] for e in problem["errors"]} == {"body.name", "body.litres"}


def test_malformed_json_is_400_and_wrong_media_type_is_415() -> None:
    assert dispatch(_spec(body_model=Paint), lambda r: None, _request(b"{nope")).status_code == 400
    wrong = dispatch(_spec(body_model=Paint), lambda r: None, _request(b"name=x", "text/plain"))
    assert wrong.status_code == 415


def test_body_over_the_limit_is_413_before_parsing() -> None:
    big = json.dumps({"name": "x" * 5000, "litres": 1}).encode()
    response = dispatch(_spec(body_model=Paint, max_body_bytes=1024), lambda r: None, _request(big))
    assert response.status_code == 413


def test_unexpected_errors_are_500_without_internals() -> None:
    def handler(req: object) -> None:
        raise KeyError("secret internal detail")

    response = dispatch(_spec(), handler, _request())
    problem = _problem(response)
    assert response.status_code == 500
    assert "secret internal detail" not in response.get_body().decode()
    assert problem["code"] == "internal_error"


def test_user_routes_without_credentials_are_401() -> None:
    response = dispatch(_spec(auth="user"), lambda r: {"ok": True}, _request())
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
