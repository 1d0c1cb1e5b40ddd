"""The ServiceTitan client against the fake: token cache, app key, 429 Retry-After, errors, no secret logged."""

from __future__ import annotations

import logging
import threading

import pytest

from shared.config import get_settings, reset_settings_cache
from shared.providers import servicetitan
from shared.providers.servicetitan import Connection, ServiceTitanClient, ServiceTitanError
from tests.fakes.servicetitan import FakeServiceTitan
from tests.integration.test_pricebook_pull import fake_servicetitan  # noqa: F401 (fixture)


def client(fake: FakeServiceTitan, secret: str = "fake-secret") -> ServiceTitanClient:
    """A client of the fake's tenant (seeding a small pricebook on first use)."""
    if not fake.state.items["materials"]:
        fake.seed(categories=3, materials=30, services=2, equipment=1)
    return ServiceTitanClient(Connection(fake.state.st_tenant_id, "fake-client", secret), settings=get_settings())


def test_one_token_serves_many_calls_and_threads(fake: FakeServiceTitan) -> None:
    st = client(fake)
    threads = [threading.Thread(target=lambda: st.list_page("materials", page_size=5)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.state.token_requests == 1
    assert len(fake.api_calls()) == 8 and {c["app_key"] for c in fake.api_calls()} == {fake.state.app_key}


def test_a_token_is_asked_for_again_before_it_expires(fake: FakeServiceTitan) -> None:
    st = client(fake)
    st.token()
    key = next(iter(servicetitan._tokens))
    token, _ = servicetitan._tokens[key]
    servicetitan._tokens[key] = (token, servicetitan.time.monotonic() + 30)  # 30 s left: inside the 60 s margin
    st.token()
    assert fake.state.token_requests == 2


def test_a_refused_secret_is_an_auth_error_and_never_logged(
    fake: FakeServiceTitan, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ServiceTitanError) as refused:
        client(fake, secret="wrong-secret-value").check()
    assert refused.value.auth_refused and refused.value.status == 400
    assert "wrong-secret-value" not in caplog.text
    st = client(fake)
    st.list_page("materials")
    assert st.token() not in caplog.text


def test_429_waits_for_retry_after_and_loses_nothing(fake: FakeServiceTitan) -> None:
    fake.state.burst_429, fake.state.retry_after = 2, "0"
    page = client(fake).export("materials", None)
    assert len(page["data"]) == 30 and fake.state.throttled == 2


def test_a_per_second_limit_is_respected_by_the_pacer(fake: FakeServiceTitan, monkeypatch: pytest.MonkeyPatch) -> None:
    # as in production (50 against ServiceTitan's 60), the pacer keeps a margin for network jitter
    fake.state.max_per_second = 6
    monkeypatch.setenv("SERVICETITAN_MAX_RPS", "5")
    reset_settings_cache()
    servicetitan.reset()
    st = client(fake)
    for _ in range(12):
        st.list_page("categories", page_size=1)
    assert fake.state.throttled == 0


def test_errors_are_the_vendors_problem_documents(fake: FakeServiceTitan) -> None:
    with pytest.raises(ServiceTitanError) as missing:
        client(fake).get("materials", 1)
    assert missing.value.status == 404 and missing.value.trace_id
    with pytest.raises(ServiceTitanError) as refused:
        client(fake).patch("services", 40_000, {"cost": 1})  # a service has no cost to patch
    assert refused.value.status == 400 and "cost" in refused.value.errors


def test_images_follow_the_302_without_our_credentials(fake: FakeServiceTitan) -> None:
    data, content_type = client(fake).image("Images/Material/20000.png") or (b"", "")
    assert data == fake.state.files["Images/Material/20000.png"] and content_type == "image/png"
    assert client(fake).image("Images/none.png") is None
