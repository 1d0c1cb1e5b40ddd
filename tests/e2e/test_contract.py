"""The API contract grows with the product: the OpenAPI document lists exactly the app's HTTP routes,
and every operation is fuzzed through the dev host (no 5xx, responses match their schemas)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.openapi import openapi_path
from tests.app_index import http_routes
from tests.builders import client_ip
from tests.conftest import RunningHost


def _app_routes() -> frozenset[tuple[str, str]]:
    """(METHOD, /path) for every HTTP trigger, read from the app's own index."""
    return frozenset((method, openapi_path(route)) for method, route in http_routes())


def _document_routes(document: dict) -> frozenset[tuple[str, str]]:
    return frozenset(
        (method.upper(), path) for path, item in document["paths"].items() for method in item if method != "parameters"
    )


def test_openapi_lists_exactly_the_registered_http_routes(app_host: RunningHost) -> None:
    document = app_host.client().get("/api/openapi.json").json()
    documented = _document_routes(document)
    registered = _app_routes()
    assert registered - documented == set(), "routes missing from the OpenAPI document"
    assert documented - registered == set(), "documented routes the app does not serve"


def test_every_operation_has_an_id_summary_and_error_responses(app_host: RunningHost) -> None:
    document = app_host.client().get("/api/openapi.json").json()
    ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            ids.append(operation["operationId"])
            assert operation["summary"], f"{method} {path} has no summary"
            assert "500" in operation["responses"]
            assert set(re.findall(r"\{(\w+)\}", path)) == {
                p["name"] for p in operation["parameters"] if p["in"] == "path"
            }
            headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
            if method == "patch":
                assert "If-Match" in headers, f"PATCH {path} does not document If-Match"
    assert len(ids) == len(set(ids))
    create_customer = document["paths"]["/v1/crm/customers"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in create_customer["parameters"] if p["in"] == "header"}


# Characters no column stores, which the fuzzer slips into generated strings so that class of 500 stays found:
# NUL (PostgreSQL refuses it in text) and both halves of a surrogate pair, alone (JSON escapes them; a URL
# or a form carries only UTF-8, which has no lone surrogates, so there only NUL).
UNSTORABLE_IN_JSON = ("\x00", "\ud800", "\udfff")
UNSTORABLE_IN_URL = ("\x00",)


def _string_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _string_paths(item, (*path, key))]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _string_paths(item, (*path, index))]
    return []


def _inserted(value: Any, path: tuple[Any, ...], character: str, at: int) -> Any:
    if not path:
        return value[: at % (len(value) + 1)] + character + value[at % (len(value) + 1) :]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _inserted(value[path[0]], path[1:], character, at)
    return copy


def _slip_in_unstorable(case: schemathesis.Case, data: st.DataObject) -> bool:
    """Now and then put one unstorable character into one string of a case that is otherwise valid."""
    meta = case.meta
    if meta is None or meta.generation.mode.is_negative or not data.draw(st.booleans(), label="unstorable"):
        return False
    json_body = "json" in (case.media_type or "")
    parts = [("body", UNSTORABLE_IN_JSON if json_body else UNSTORABLE_IN_URL)] if case.body is not None else []
    parts += [("query", UNSTORABLE_IN_URL), ("path_parameters", UNSTORABLE_IN_URL)]
    targets = [(part, path, chars) for part, chars in parts for path in _string_paths(getattr(case, part, None))]
    if not targets:
        return False
    part, path, characters = data.draw(st.sampled_from(targets), label="string")
    character = data.draw(st.sampled_from(characters), label="character")
    setattr(case, part, _inserted(getattr(case, part), path, character, data.draw(st.integers(0, 64))))
    # Still the positive case it was (JSON Schema allows any character in a string): the edit is its starting
    # state, not a change to revalidate, which the schema validator cannot do with a lone surrogate.
    case._record_starting_state()
    return True


@pytest.fixture(scope="module")
def api_schema(app_host: RunningHost) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{app_host.api}/openapi.json")
    schema.config.base_url = app_host.api  # type: ignore[attr-defined]
    return schema


FUZZ_PASSWORD = "correct horse battery staple"
# Operations that end sessions (logout-all: every session of the person): each call is made as another
# person, on a session of its own, so the owner's stays good for every other operation (checked by the
# last test of this file).
SESSION_ENDING = {"/v1/auth/logout", "/v1/auth/logout-all"}


def _register(app_host: RunningHost, name: str) -> dict[str, str]:
    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    registered = app_host.client().post(
        "/api/v1/auth/register",
        headers=client_ip(),
        json={
            "tenant_name": f"Fuzz {uuid.uuid4().hex[:8]}",
            "name": name,
            "email": email,
            "password": FUZZ_PASSWORD,
            "timezone": "America/Chicago",
        },
    )
    assert registered.status_code == 201, registered.text
    return {"email": email, "Authorization": f"Bearer {registered.json()['access_token']}"}


@pytest.fixture(scope="module")
def owner(app_host: RunningHost) -> dict[str, str]:
    """A signed-in owner of a fresh business with every module on, so the fuzzer gets past sign-in."""
    return _register(app_host, "Fuzz Owner")


@pytest.fixture(scope="module")
def leaver(app_host: RunningHost) -> dict[str, str]:
    """Another person, whose sessions the sign-out operations end."""
    return _register(app_host, "Fuzz Leaver")


def _fresh_session(app_host: RunningHost, email: str) -> dict[str, str]:
    signed_in = app_host.client().post(
        "/api/v1/auth/login", headers=client_ip(), json={"email": email, "password": FUZZ_PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


schema = schemathesis.pytest.from_fixture("api_schema")
CONTRACT_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@schema.given(data=st.data())
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_answers_every_generated_request_within_its_contract(
    case: schemathesis.Case, data: st.DataObject, owner: dict[str, str], leaver: dict[str, str], app_host: RunningHost
) -> None:
    if _slip_in_unstorable(case, data):
        # signed in, so the character reaches the code that stores it rather than stopping at a 401
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if "authorization" not in {k.lower() for k in (case.headers or {})}:
        signed_in = (
            _fresh_session(app_host, leaver["email"])
            if case.path in SESSION_ENDING
            else {"Authorization": owner["Authorization"]}
        )
        case.headers = {**(case.headers or {}), **signed_in}
    # What the contract promises: no 5xx, and every answer (status, type, headers, body) as documented.
    # Rules JSON Schema cannot state (IANA zones, reserved email domains) may refuse schema-valid input with 422.
    case.call_and_validate(timeout=30, checks=CONTRACT_CHECKS)


def test_the_fuzzed_owner_is_still_signed_in_afterwards(app_host: RunningHost, owner: dict[str, str]) -> None:
    # Every operation above was fuzzed signed in, not answered 401 after some call ended the session.
    me = app_host.client().get("/api/v1/me", headers={"Authorization": owner["Authorization"]})
    assert me.status_code == 200, me.text
