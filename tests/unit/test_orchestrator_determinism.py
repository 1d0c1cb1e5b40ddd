"""Orchestrators must be deterministic: no clock, no random ids, no I/O (ARCHITECTURE 3.5)."""

from __future__ import annotations

import time
import uuid

import azure.durable_functions as df

from devhost.durable.determinism import check_app, check_function, orchestrators_of

bad_app = df.DFApp()


@bad_app.orchestration_trigger(context_name="context")
def deliberately_bad(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Reads the clock and makes a random id: the guard must catch both."""
    started = time.time()
    order_id = uuid.uuid4()
    yield context.call_activity("record", {"id": str(order_id), "at": started})


def test_the_guard_catches_a_bad_orchestrator_defined_here() -> None:
    found = check_function(deliberately_bad)
    assert {v.category for v in found} == {"clock", "random"}
    assert {v.name for v in found} == {"time.time", "uuid.uuid4"}
    assert orchestrators_of(bad_app)[0][0] == "deliberately_bad"


def test_the_guard_catches_the_known_bad_sample_and_passes_the_good_one() -> None:
    from tests.e2e.durable import bad_orchestrators

    report = check_app(bad_orchestrators.app)
    categories = {name: {v.category for v in found} for name, found in report.items()}
    assert categories == {
        "reads_the_clock": {"clock"},
        "clock_through_a_helper": {"clock"},
        "makes_random_ids": {"random"},
        "does_io": {"io"},
        "well_behaved": set(),
    }
    flagged = {v.name for v in report["reads_the_clock"]}
    assert {"datetime.datetime.now", "datetime.datetime.utcnow", "time.time"} <= flagged
    assert {"builtins.open", "httpx.get", "os.environ.get", ".execute()"} <= {v.name for v in report["does_io"]}


def test_the_durable_test_app_orchestrators_are_deterministic() -> None:
    from tests.e2e.durable import durable_app

    report = check_app(durable_app.app)
    assert len(report) >= 10  # not vacuous: the guard saw every orchestrator of the test app
    assert {name: [str(v) for v in found] for name, found in report.items() if found} == {}


def test_every_orchestrator_of_function_app_is_deterministic() -> None:
    import function_app

    report = check_app(function_app.app)
    assert "bids_analyze_document" in report  # not vacuous: the guard saw the app's orchestrators
    assert {name: [str(v) for v in found] for name, found in report.items() if found} == {}
