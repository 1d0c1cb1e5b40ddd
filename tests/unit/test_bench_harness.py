"""benchmarks/harness.py: the samplers, the timing client on loopback, and the services' teardown on error."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer

import pytest

from benchmarks import harness
from devhost.sms import JsonHandler


def test_percentile_is_the_nearest_rank_rounded() -> None:
    values = [float(n) for n in range(10, 0, -1)]  # unordered on purpose
    assert harness.percentile(values, 0.5) == 5.0
    assert harness.percentile(values, 0.95) == 10.0
    assert harness.percentile(values, 0.0) == 1.0
    assert harness.percentile([1.23456], 0.5, digits=3) == 1.235


def test_spread_gives_p50_p95_and_the_max_when_asked() -> None:
    values = [float(n) for n in range(1, 21)]
    assert harness.spread(values) == {"p50": 11.0, "p95": 19.0}
    assert harness.spread(values, with_max=True) == {"p50": 11.0, "p95": 19.0, "max": 20.0}
    assert harness.spread([]) is None


def test_time_in_turn_runs_each_call_once_a_round_starting_one_further_along() -> None:
    order: list[tuple[str, int]] = []

    def call(name: str, ms: float) -> Callable[[int], float]:
        def run(n: int) -> float:
            order.append((name, n))
            return ms + n

        return run

    kept = harness.time_in_turn({"a": call("a", 100), "b": call("b", 200), "c": call("c", 300)}, rounds=3, warmup=1)
    assert [name for name, _ in order] == ["a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"]
    assert kept == {"a": [101, 102, 103], "b": [201, 202, 203], "c": [301, 302, 303]}  # warm-up round not kept


def test_samples_warms_up_then_keeps_runs() -> None:
    seen: list[int] = []
    kept = harness.samples(lambda n: float(seen.append(n) or n), runs=3, warmup=2)
    assert seen == [0, 1, 0, 1, 2] and kept == [0.0, 1.0, 2.0]
    assert len(harness.stopwatch(lambda: None, runs=4, warmup=1)) == 4


class _Server:
    """An HTTP/1.1 loopback server that counts connections; `/close` answers, then drops the connection
    without saying so (as a server does with an idle kept-alive one)."""

    def __init__(self) -> None:
        self.connections = 0
        owner = self

        class Handler(JsonHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the dev host's aiohttp server

            def setup(self) -> None:
                super().setup()
                owner.connections += 1

            def do_GET(self) -> None:
                if self.path == "/missing":
                    self.send_json(404, {"title": "not here"})
                    return
                self.send_json(200, {"path": self.path, "auth": self.headers.get("authorization")})
                if self.path == "/close":
                    self.close_connection = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                self.send_json(201, {"type": self.headers.get("content-type"), "echo": json.loads(body)})

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    running = _Server()
    yield running
    running.stop()


def test_timing_client_keeps_one_connection_and_sends_its_headers(server: _Server) -> None:
    client = harness.TimingClient(server.base_url, headers={"Authorization": "Bearer t"})
    answers = [client.get(f"/n/{n}") for n in range(5)]
    assert [a.json()["path"] for a in answers] == [f"/n/{n}" for n in range(5)]
    assert all(a.json()["auth"] == "Bearer t" and a.ms > 0 for a in answers)
    assert client.connects == 1 and server.connections == 1
    posted = client.post("/things", json={"a": [1, 2]}, expect=201).json()
    assert posted == {"type": "application/json", "echo": {"a": [1, 2]}}
    client.close()


def test_timing_client_reconnects_when_the_server_closed_the_connection(server: _Server) -> None:
    client = harness.TimingClient(server.base_url)
    assert client.get("/close").status == 200
    assert client.get("/after").json()["path"] == "/after"
    assert client.connects == 2 and server.connections == 2
    client.close()


def test_timing_client_checks_the_status(server: _Server) -> None:
    client = harness.TimingClient(server.base_url)
    with pytest.raises(AssertionError, match=r"GET /missing answered 404, not 200: .*not here"):
        client.get("/missing")
    assert client.get("/missing", expect=None).status == 404
    assert client.get("/missing", expect=(200, 404)).json() == {"title": "not here"}
    with pytest.raises(ValueError, match="plain http"):
        harness.TimingClient("https://example.com")
    client.close()


def test_services_stop_everything_newest_first_on_error_and_restore_the_environment() -> None:
    stopped: list[str] = []
    before = dict(os.environ)
    with pytest.raises(RuntimeError, match="bench failed"):  # noqa: SIM117
        with harness.services("bench_test", database=False, azurite=False, env={"BENCH_TEST_A": "1"}) as bench:
            assert os.environ["BENCH_TEST_A"] == "1" and os.environ["JWT_SIGNING_KEY"] == harness.JWT_SIGNING_KEY
            bench.on_exit(lambda: stopped.append("first"))
            bench.add_env({"BENCH_TEST_B": "2"})
            bench.on_exit(lambda: stopped.append("second"))
            raise RuntimeError("bench failed")
    assert stopped == ["second", "first"]
    assert dict(os.environ) == before


def test_print_figures_prints_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    harness.print_figures({"benchmark": "x", "p95_ms": 1.5}, meets_targets=True, load_average=True)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(line)
    assert figures["benchmark"] == "x" and figures["meets_targets"] is True
    assert isinstance(figures["load_average_1m"], float)
