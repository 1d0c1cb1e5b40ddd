"""The benchmarks' TimingClient against the dev host: every timed call of a run on one kept-alive connection."""

from __future__ import annotations

from benchmarks import harness
from tests.conftest import RunningHost


def test_timing_client_keeps_one_connection_to_the_dev_host(app_host: RunningHost) -> None:
    # given a client sending a request id with every call
    client = harness.TimingClient(app_host.base_url, headers={"X-Request-Id": "bench-probe"})
    try:
        # when it makes the calls a benchmark times, and one the host refuses
        answers = [client.get("/api/health") for _ in range(20)]
        refused = client.get("/api/v1/tenant", expect=401)
    finally:
        client.close()
    # then they all went over the one connection, with their answers whole
    assert client.connects == 1
    assert all(a.json() == {"status": "ok"} and a.headers["X-Request-Id"] == "bench-probe" for a in answers)
    assert refused.headers["Content-Type"].startswith("application/problem+json")
