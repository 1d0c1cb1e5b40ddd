"""Queue and timer triggers, as the route decorator in shared.http is for HTTP: one place for the plumbing.

A queue handler receives its message already parsed into its pydantic model and the delivery facts:

    @queue_handler(bp, queue=OUTBOUND_QUEUE, model=OutboundTask)
    def messaging_outbound(task: OutboundTask, delivery: Delivery) -> str: ...

The wrapper binds telemetry, runs start-up once, parses the body (a malformed message is logged and moved
to `<queue>-poison`, or dropped when it is read from the poison queue), passes the dequeue count and logs
the handler's outcome. Handlers stay idempotent: delivery is at-least-once.

No `from __future__ import annotations` here: the Functions worker reads the wrappers' real annotations.
"""

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import azure.functions as func
from opentelemetry.trace import SpanKind
from pydantic import BaseModel

from shared import lazy, tracing
from shared.telemetry import invocation

if TYPE_CHECKING:
    from shared import runtime, storage
else:  # loaded on the first delivery: triggers are declared (indexing) without SQLAlchemy or storage
    runtime = lazy.module("shared.runtime")
    storage = lazy.module("shared.storage")

log = logging.getLogger("tradeops.triggers")
CONNECTION = "AzureWebJobsStorage"
Task = TypeVar("Task", bound=BaseModel)
# Every queue a trigger reads, in registration order (ops reports their depth).
QUEUES: list[str] = []


@dataclass(frozen=True)
class Delivery:
    """What the host says about one delivery of a queue message."""

    queue: str
    message_id: str
    dequeue_count: int


def poison_queue(queue: str) -> str:
    """The queue the host moves a message to after maxDequeueCount failed deliveries."""
    return f"{queue}-poison"


def _log_outcome(function_name: str, outcome: Any, *, gave_up: bool = False) -> None:
    # The line already names the function (telemetry binds it); the handler's outcome says what happened. What a
    # poison queue's handler did with a message the host gave up on is a warning: somebody should look at it.
    if outcome:
        log.log(logging.WARNING if gave_up else logging.INFO, "%s", outcome)


def _register(blueprint: Any, binding: Any, trigger: Callable[..., None], function_name: str, handler: Any) -> None:
    """Give the wrapper the function's name and docstring and register it with its trigger binding."""
    trigger.__name__ = trigger.__qualname__ = function_name
    trigger.__doc__ = handler.__doc__
    blueprint.function_name(name=function_name)(binding(trigger))


def queue_handler(
    blueprint: Any, *, queue: str, model: type[Task], name: str | None = None
) -> Callable[[Callable[[Task, Delivery], Any]], Callable[[Task, Delivery], Any]]:
    """Register handler as the queue trigger of queue; a `-poison` queue's malformed messages are dropped."""
    from_poison = queue.endswith("-poison")
    QUEUES.append(queue)

    def decorate(handler: Callable[[Task, Delivery], Any]) -> Callable[[Task, Delivery], Any]:
        function_name = name or handler.__name__

        def queue_trigger(msg: func.QueueMessage) -> None:
            with invocation(function_name):
                runtime.ensure_started()
                received = storage.read_task(msg.get_body(), model, queue=queue, poison=not from_poison)
                if received is None:
                    return
                task, traceparent = received
                delivery = Delivery(queue=queue, message_id=msg.id or "", dequeue_count=msg.dequeue_count or 1)
                attributes = {"messaging.destination.name": queue, "messaging.delivery.count": delivery.dequeue_count}
                with tracing.span(
                    function_name, traceparent=traceparent, kind=SpanKind.CONSUMER, attributes=attributes
                ):
                    _log_outcome(function_name, handler(task, delivery), gave_up=from_poison)

        binding = blueprint.queue_trigger(arg_name="msg", queue_name=queue, connection=CONNECTION)
        _register(blueprint, binding, queue_trigger, function_name, handler)
        return handler

    return decorate


def activity(blueprint: Any, *, name: str | None = None) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Register a Durable activity (its input is `job`) whose span continues the trace the input carries."""

    def register(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        span_name = f"activity {name or function.__name__}"

        @functools.wraps(function)
        def traced(job: Any) -> Any:
            with tracing.span(span_name, traceparent=tracing.carry(job).get(tracing.TRACEPARENT)):
                return function(job)

        trigger = (
            blueprint.activity_trigger(input_name="job", activity=name)
            if name
            else blueprint.activity_trigger(input_name="job")
        )
        return trigger(traced)

    return register


def timer_handler(
    blueprint: Any, *, schedule: str, name: str | None = None, run_on_startup: bool = False
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register handler as a timer trigger on a six-field NCRONTAB schedule (UTC)."""

    def decorate(handler: Callable[[], Any]) -> Callable[[], Any]:
        function_name = name or handler.__name__

        def timer_trigger(timer: func.TimerRequest) -> None:
            with invocation(function_name):
                runtime.ensure_started()
                _log_outcome(function_name, handler())

        binding = blueprint.timer_trigger(arg_name="timer", schedule=schedule, run_on_startup=run_on_startup)
        _register(blueprint, binding, timer_trigger, function_name, handler)
        return handler

    return decorate
