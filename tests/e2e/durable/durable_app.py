"""The dev host's own durable test app: orchestrators covering every feature, an HTTP starter, counted side effects.

Activities record each run in `devhost_test.side_effects` (the table is created on first use), so a
test can prove that a completed activity never ran twice across a dev host restart.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import psycopg

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=300, max_number_of_attempts=3)


SIDE_EFFECTS_DDL = """
    CREATE SCHEMA IF NOT EXISTS devhost_test;
    CREATE TABLE IF NOT EXISTS devhost_test.side_effects (kind text, key text, at timestamptz DEFAULT now())
"""


def _connect() -> psycopg.Connection[Any]:
    url = os.environ.get("DEVHOST_DATABASE_URL") or os.environ["DATABASE_URL"]
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True)


def record(kind: str, key: str) -> int:
    """Record one side effect; how many times (kind, key) has happened so far."""
    with _connect() as conn:
        try:
            conn.execute("INSERT INTO devhost_test.side_effects (kind, key) VALUES (%s, %s)", (kind, key))
        except psycopg.errors.UndefinedTable:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(4242)")  # parallel activities create it once
                conn.execute(SIDE_EFFECTS_DDL)
            conn.execute("INSERT INTO devhost_test.side_effects (kind, key) VALUES (%s, %s)", (kind, key))
        row = conn.execute(
            "SELECT count(*) FROM devhost_test.side_effects WHERE kind = %s AND key = %s", (kind, key)
        ).fetchone()
        return int(row[0]) if row else 0


def _running(run: str) -> int:
    """Steps of a run that started and have not yet recorded their end."""
    with _connect() as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE kind = 'step_started') - count(*) FILTER (WHERE kind = 'step') "
            "FROM devhost_test.side_effects WHERE key LIKE %s",
            (run + ":%",),
        ).fetchone()
        return int(row[0]) if row else 0


# ---- HTTP starters -----------------------------------------------------------------------------


@app.route(route="orchestrators/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start an orchestrator with the request body as input; answer the check-status response."""
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(req.route_params["name"], req.params.get("instance_id"), payload)
    if req.params.get("wait"):
        return await client.wait_for_completion_or_create_check_status_response(
            req, instance_id, timeout_in_milliseconds=int(req.params["wait"]), retry_interval_in_milliseconds=100
        )
    return client.create_check_status_response(req, instance_id)


@app.route(route="client/{action}/{instance_id}", methods=["POST", "GET"])
@app.durable_client_input(client_name="client")
async def http_client(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Exercise the rest of the SDK client: raise, terminate, suspend, resume, status, purge, list."""
    action, instance_id = req.route_params["action"], req.route_params["instance_id"]
    data = json.loads(req.get_body() or b"null")
    result: Any = None
    if action == "raise":
        await client.raise_event(instance_id, req.params["event"], data)
    elif action == "terminate":
        await client.terminate(instance_id, req.params.get("reason", "stopped"))
    elif action == "suspend":
        await client.suspend(instance_id, "pause")
    elif action == "resume":
        await client.resume(instance_id, "go on")
    elif action == "status":
        status = await client.get_status(instance_id, show_history=True, show_history_output=True)
        result = status.to_json()
    elif action == "purge":
        result = (await client.purge_instance_history(instance_id)).instances_deleted
    elif action == "list":
        statuses = await client.get_status_by(instance_id_prefix=instance_id)
        result = sorted(s.instance_id for s in statuses)
    return func.HttpResponse(json.dumps(result, default=str), mimetype="application/json")


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=False)
@app.durable_client_input(client_name="client")
async def yearly_start(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """A timer-triggered starter (fired through the admin API in tests)."""
    await client.start_new("hello_sequence", "started-by-timer", ["Timer"])


# ---- activities ------------------------------------------------------------------------------------


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    """A plain activity."""
    return f"Hello {name}!"


@app.activity_trigger(input_name="item")
def square(item: dict[str, Any]) -> int:
    """A fan-out activity that records its run."""
    record("square", f"{item['run']}:{item['n']}")
    return int(item["n"]) ** 2


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    """Fails twice, then succeeds: counts its attempts."""
    attempt = record("flaky", key)
    if attempt < 3:
        raise RuntimeError(f"flaky attempt {attempt} failed")
    return f"ok after {attempt}"


@app.activity_trigger(input_name="message")
def explode(message: str) -> None:
    """Always fails with the given message."""
    raise ValueError(message)


@app.activity_trigger(input_name="step")
def slow_step(step: dict[str, Any]) -> str:
    """Sleeps, then records that it completed (the restart test kills the host in between).

    It also records how many steps of its run were running when its sleep ended (itself included), so the
    pool test counts concurrency instead of timing it.
    """
    record("step_started", f"{step['run']}:{step['n']}")
    time.sleep(float(step.get("seconds", 0)))
    running = _running(step["run"])
    record("in_flight", f"{step['run']}:{step['n']}:{running}")
    record("step", f"{step['run']}:{step['n']}")
    return f"step {step['n']}"


# ---- orchestrators ---------------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Three activities in a row; custom status along the way."""
    cities = context.get_input() or ["Tokyo", "Seattle", "London"]
    results = []
    for city in cities:
        context.set_custom_status({"at": city})
        results.append((yield context.call_activity("say_hello", city)))
    return results


@app.orchestration_trigger(context_name="context")
def fails(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """An activity failure propagates."""
    yield context.call_activity("explode", context.get_input() or "boom")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def retries(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """call_activity_with_retry: succeeds on the third attempt; a second one fails after all attempts."""
    key = context.get_input()
    ok = yield context.call_activity_with_retry("flaky", RETRY, key)
    try:
        yield context.call_activity_with_retry("explode", RETRY, "never works")
    except Exception as error:
        return {"ok": ok, "error": str(error).split("\n")[0]}
    return {"ok": ok}


@app.orchestration_trigger(context_name="context")
def timer(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Waits on a durable timer; reports the orchestration clock before and after."""
    seconds = float(context.get_input() or 1)
    start = context.current_utc_datetime
    yield context.create_timer(start + timedelta(seconds=seconds))
    return {"start": start.isoformat(), "end": context.current_utc_datetime.isoformat()}


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Waits for two external events (one may arrive before the wait), with a timeout timer."""
    first = yield context.wait_for_external_event("First")
    deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    second = context.wait_for_external_event("Second")
    winner = yield context.task_any([second, deadline])
    if winner == second:
        deadline.cancel()
        return {"first": first, "second": second.result}
    return {"first": first, "second": "timed out"}


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """A 10-way fan-out and fan-in."""
    run = context.get_input()["run"]
    tasks = [context.call_activity("square", {"run": run, "n": n}) for n in range(1, 11)]
    squares = yield context.task_all(tasks)
    return sum(squares)


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Calls hello_sequence as a sub-orchestration, then a failing one."""
    cities = context.get_input()
    greetings = yield context.call_sub_orchestrator("hello_sequence", cities)
    try:
        yield context.call_sub_orchestrator("fails", "child boom")
    except Exception as error:
        return {"greetings": greetings, "child_error": str(error)}
    return {"greetings": greetings}


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """continue_as_new until the count reaches its target."""
    state = context.get_input()
    if state["count"] >= state["target"]:
        return state["count"]
    yield context.call_activity("say_hello", str(state["count"]))
    context.continue_as_new({"count": state["count"] + 1, "target": state["target"]})


@app.orchestration_trigger(context_name="context")
def steps(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Slow steps in sequence with a timer in between (the restart test)."""
    job = context.get_input()
    done = []
    for n in range(job["steps"]):
        context.set_custom_status({"step": n})
        done.append((yield context.call_activity("slow_step", {"run": job["run"], "n": n, "seconds": job["seconds"]})))
        if n == 0:
            context.set_custom_status("pausing")
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=job["pause"]))
    return done


@app.orchestration_trigger(context_name="context")
def waits_forever(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Waits for an event nobody sends (terminate, suspend and resume tests)."""
    context.set_custom_status("waiting")
    value = yield context.wait_for_external_event("Never")
    return value


@app.orchestration_trigger(context_name="context")
def parallel_sleeps(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """A fan-out of slow activities (the bounded activity pool test)."""
    job = context.get_input()
    tasks = [
        context.call_activity("slow_step", {"run": job["run"], "n": n, "seconds": job["seconds"]})
        for n in range(job["count"])
    ]
    return len((yield context.task_all(tasks)))
