"""Per-IP limits count the address our front end saw, not one the caller wrote into a header."""

from __future__ import annotations

from contextlib import ExitStack

import azure.functions as func
import pytest

from shared.config import reset_settings_cache
from shared.http import Request, RouteSpec

SPEC = RouteSpec(name="t", module="t", route="v1/t", methods=["GET"], auth="anonymous", summary="t")


def _ip(**headers: str) -> str | None:
    raw = func.HttpRequest(
        "GET", "http://h/api/v1/t", headers={k.replace("_", "-"): v for k, v in headers.items()}, body=b""
    )
    return Request(raw, SPEC, "req", ExitStack()).client_ip


def test_app_services_client_ip_header_wins_over_anything_the_caller_wrote() -> None:
    assert _ip(client_ip="203.0.113.7:52814", x_forwarded_for="6.6.6.6") == "203.0.113.7"
    assert _ip(client_ip="[2001:db8::1]:443") == "2001:db8::1"


def test_the_front_ends_entry_is_the_last_of_x_forwarded_for_not_the_first() -> None:
    assert _ip(x_forwarded_for="6.6.6.6, 203.0.113.9") == "203.0.113.9"  # 6.6.6.6 is the caller's own claim
    assert _ip(x_forwarded_for="203.0.113.9:52814") == "203.0.113.9"
    assert _ip(x_forwarded_for="2001:db8::7") == "2001:db8::7"
    assert _ip() is None


def test_more_trusted_proxies_move_the_entry_left(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_FOR_HOPS", "2")
    reset_settings_cache()
    try:
        assert _ip(x_forwarded_for="6.6.6.6, 203.0.113.9, 10.0.0.4") == "203.0.113.9"
        assert _ip(x_forwarded_for="203.0.113.9") == "203.0.113.9"  # fewer entries than hops: the leftmost
    finally:
        monkeypatch.delenv("FORWARDED_FOR_HOPS")
        reset_settings_cache()


def test_behind_front_door_the_header_is_off_and_the_hops_count_front_door_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENT_IP_HEADER", "")
    monkeypatch.setenv("FORWARDED_FOR_HOPS", "2")
    reset_settings_cache()
    try:
        # The caller's claim, the address Front Door saw, then Front Door's own address App Service appended.
        headers = {"client_ip": "147.243.0.9:4431", "x_forwarded_for": "6.6.6.6, 203.0.113.9, 147.243.0.9"}
        assert _ip(**headers) == "203.0.113.9"
    finally:
        reset_settings_cache()
