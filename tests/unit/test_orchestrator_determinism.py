"""Orchestrators must be deterministic: no clock, no random ids, no I/O (ARCHITECTURE 3.5).

The guard (`devhost/durable/determinism.py`) reads each orchestrator's source. These tests prove it finds
planted violations in apps built the way function_app is (blueprints registered into a DFApp), and pin
the list of function_app's orchestrators, so one that is added or lost is seen and checked.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import azure.durable_functions as df
import httpx

from devhost.durable.determinism import check_app, orchestrators_of

# function_app's orchestrators. Empty today; a module that adds an orchestrator adds its name here.
EXPECTED_FUNCTION_APP_ORCHESTRATORS: set[str] = {
    "bids_analyze_document",
    "bids_generate_bid",
    "bids_notify_acceptance",
    "pricebook_pull",
    "pricebook_push",
}

# A small app built like function_app: a module blueprint registered into the DFApp.
planted = df.Blueprint()


@planted.orchestration_trigger(context_name="context")
def planted_clock(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Reads the wall clock."""
    yield context.call_activity("record", datetime.now().isoformat())


@planted.orchestration_trigger(context_name="context")
def planted_random_id(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Makes a random id."""
    yield context.call_activity("record", str(uuid.uuid4()))


@planted.orchestration_trigger(context_name="context")
def planted_io(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Calls out over HTTP."""
    answer = httpx.get("https://example.com/price")
    yield context.call_activity("record", answer.text)


@planted.orchestration_trigger(context_name="context")
def planted_clean(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Replay-safe: the orchestration's clock and new_uuid."""
    yield context.call_activity("record", [context.current_utc_datetime.isoformat(), str(context.new_uuid())])


planted_app = df.DFApp()
planted_app.register_functions(planted)


def test_the_guard_catches_a_planted_clock_read_random_id_and_io_call() -> None:
    report = check_app(planted_app)
    assert {name: {v.category for v in found} for name, found in report.items()} == {
        "planted_clock": {"clock"},
        "planted_random_id": {"random"},
        "planted_io": {"io"},
        "planted_clean": set(),
    }
    assert "datetime.datetime.now" in {v.name for v in report["planted_clock"]}
    assert "uuid.uuid4" in {v.name for v in report["planted_random_id"]}
    assert "httpx.get" in {v.name for v in report["planted_io"]}


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


def test_function_app_has_exactly_the_expected_orchestrators() -> None:
    import function_app

    assert {name for name, _ in orchestrators_of(function_app.app)} == EXPECTED_FUNCTION_APP_ORCHESTRATORS


def test_every_orchestrator_of_function_app_is_deterministic() -> None:
    import function_app

    report = check_app(function_app.app)
    assert set(report) == EXPECTED_FUNCTION_APP_ORCHESTRATORS
    assert {name: [str(v) for v in found] for name, found in report.items() if found} == {}
