"""Liveness answers even when the settings refuse to load; everything else answers 500 then."""

from __future__ import annotations

import json
from collections.abc import Iterator

import azure.functions as func
import pytest

from blueprints.ops import functions as ops
from shared import runtime
from shared.config import reset_settings_cache
from shared.http import REGISTRY, RouteSpec, dispatch


@pytest.fixture
def refused_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # given production settings with a placeholder signing key, which Settings refuses
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("JWT_SIGNING_KEY", "dev-only-change-me")
    reset_settings_cache()
    runtime.reset()
    yield
    reset_settings_cache()
    runtime.reset()


def _spec(name: str) -> RouteSpec:
    return next(spec for spec in REGISTRY if spec.name == name)


def test_health_answers_200_when_the_settings_are_refused(refused_settings: None) -> None:
    response = dispatch(_spec("ops_health"), ops.health, func.HttpRequest("GET", "http://h/api/health", body=b""))
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"status": "ok"}


def test_a_route_that_needs_the_settings_still_answers_500(refused_settings: None) -> None:
    response = dispatch(_spec("ops_ready"), ops.ready, func.HttpRequest("GET", "http://h/api/ready", body=b""))
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
