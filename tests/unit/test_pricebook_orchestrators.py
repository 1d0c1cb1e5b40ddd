"""The pull and push orchestrators driven by hand: the activities they call, in order, and their outcome."""

from __future__ import annotations

from typing import Any
from unittest.mock import Mock

import azure.durable_functions as df
import pytest
from azure.durable_functions.testing import orchestrator_generator_wrapper

from blueprints.pricebook import functions
from devhost.durable.determinism import check_function
from tests.unit.test_durable_orchestrators import Done


def drive(orchestrator: Any, job: dict[str, Any], activity: Any) -> tuple[Any, list[tuple[str, Any]], Mock]:
    calls: list[tuple[str, Any]] = []

    def call(name: str, value: Any = None) -> Done:
        calls.append((name, value))
        return activity(name, value)

    context = Mock(spec=df.DurableOrchestrationContext)
    context.get_input.return_value = job
    context.call_activity.side_effect = call
    context.call_activity_with_retry.side_effect = lambda name, _retry, value=None: call(name, value)
    function = orchestrator._function.get_user_function().orchestrator_function
    steps = list(orchestrator_generator_wrapper(function(context)))
    return steps[-1], calls, context


JOB = {"tenant_id": "t", "run_id": "r", "mode": "full", "kinds": ["categories", "materials"]}


def test_the_pull_follows_each_feed_until_caught_up_then_finishes() -> None:
    pages = {
        None: {"received": 50, "continue_from": "50", "has_more": True},
        "50": {"received": 7, "continue_from": "57", "has_more": False},
    }

    def activity(name: str, value: Any) -> Done:
        if name == functions.PULL_BEGIN:
            return Done({"categories": None, "materials": None})
        if name == functions.PULL_PAGE:
            return Done(pages[value["token"]])
        return Done("completed" if name == functions.RUN_FINISH else None)

    outcome, calls, context = drive(functions.pricebook_pull, JOB, activity)
    names = [name for name, _ in calls]
    assert names == [
        functions.PULL_BEGIN,
        functions.PULL_PAGE,
        functions.PULL_PAGE,
        functions.PULL_KIND_DONE,
        functions.PULL_PAGE,
        functions.PULL_PAGE,
        functions.PULL_KIND_DONE,
        functions.RUN_FINISH,
    ]
    assert outcome["status"] == "completed" and outcome["progress"]["materials"] == {"pages": 2, "received": 57}
    context.set_custom_status.assert_called()


def test_a_failing_page_marks_the_run_failed() -> None:
    def activity(name: str, value: Any) -> Done:
        if name == functions.PULL_BEGIN:
            return Done({"categories": None, "materials": None})
        if name == functions.PULL_PAGE:
            return Done(error=Exception("Activity function 'pricebook_pull_page' failed: ServiceTitan 500"))
        return Done("failed")

    outcome, calls, _ = drive(functions.pricebook_pull, JOB, activity)
    assert outcome["status"] == "failed"
    assert calls[-1][0] == functions.RUN_FINISH and "ServiceTitan 500" in calls[-1][1]["error"]


def test_the_push_sends_each_edit_then_each_new_item() -> None:
    def activity(name: str, value: Any) -> Done:
        if name == functions.PUSH_PLAN:
            return Done({"edits": [["materials", 1], ["services", 2]], "new": ["n1"]})
        if name == functions.PUSH_ITEM:
            return Done({"outcome": "sent" if value["st_id"] == 1 else "conflict"})
        if name == functions.PUSH_NEW:
            return Done({"outcome": "created"})
        return Done("completed")

    outcome, calls, _ = drive(functions.pricebook_push, {"tenant_id": "t", "run_id": "r"}, activity)
    assert [name for name, _ in calls] == [
        functions.PUSH_PLAN,
        functions.PUSH_ITEM,
        functions.PUSH_ITEM,
        functions.PUSH_NEW,
        functions.RUN_FINISH,
    ]
    assert outcome == {"status": "completed", "outcomes": {"sent": 1, "conflict": 1, "created": 1}}


@pytest.mark.parametrize("orchestrator", [functions.pricebook_pull, functions.pricebook_push])
def test_the_orchestrators_are_deterministic(orchestrator: Any) -> None:
    assert check_function(orchestrator) == []


def test_activity_names_are_the_functions_that_exist() -> None:
    for name in (
        functions.PULL_BEGIN,
        functions.PULL_PAGE,
        functions.PULL_KIND_DONE,
        functions.RUN_FINISH,
        functions.PUSH_PLAN,
        functions.PUSH_ITEM,
        functions.PUSH_NEW,
    ):
        assert getattr(functions, name)._function.get_function_name() == name
