"""Orchestrators unit-tested without a host, with the SDK's orchestrator_generator_wrapper."""

from __future__ import annotations

from typing import Any
from unittest.mock import Mock

import azure.durable_functions as df
import pytest
from azure.durable_functions.testing import orchestrator_generator_wrapper

from tests.e2e.durable import durable_app


class Done:
    """A finished task as the wrapper sees it: `.result` is the value or raises the error."""

    def __init__(self, value: Any = None, error: Exception | None = None) -> None:
        self._value, self._error = value, error

    @property
    def result(self) -> Any:
        """The value, or the error raised into the orchestrator."""
        if self._error is not None:
            raise self._error
        return self._value


def context_with(input_value: Any, activity: Any) -> Mock:
    """An orchestration context whose activities answer through `activity(name, input)`."""
    context = Mock(spec=df.DurableOrchestrationContext)
    context.get_input.return_value = input_value
    context.call_activity.side_effect = lambda name, value=None: activity(name, value)
    context.call_activity_with_retry.side_effect = lambda name, _retry, value=None: activity(name, value)
    return context


def orchestrator(function: Any) -> Any:
    """The generator function behind an app's orchestrator."""
    return function._function.get_user_function().orchestrator_function


def test_hello_sequence_greets_each_city_and_reports_progress() -> None:
    context = context_with(["Paris", "Quito"], lambda name, city: Done(f"Hello {city}!"))
    steps = list(orchestrator_generator_wrapper(orchestrator(durable_app.hello_sequence)(context)))
    assert steps[-1] == ["Hello Paris!", "Hello Quito!"]
    context.set_custom_status.assert_called_with({"at": "Quito"})


def test_retries_returns_the_last_error_text() -> None:
    def activity(name: str, value: Any) -> Done:
        return Done("ok") if name == "flaky" else Done(error=Exception("Activity function 'explode' failed: x \n {}"))

    context = context_with("key", activity)
    steps = list(orchestrator_generator_wrapper(orchestrator(durable_app.retries)(context)))
    assert steps[-1] == {"ok": "ok", "error": "Activity function 'explode' failed: x "}


def test_fails_propagates_the_activity_error() -> None:
    context = context_with("boom", lambda name, value: Done(error=ValueError(value)))
    with pytest.raises(ValueError, match="boom"):
        list(orchestrator_generator_wrapper(orchestrator(durable_app.fails)(context)))
