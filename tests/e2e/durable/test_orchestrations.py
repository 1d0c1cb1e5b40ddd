"""Orchestrations of the durable test app, driven over HTTP through DurableOrchestrationClient."""

from __future__ import annotations

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import RunningHost
from tests.e2e.durable.conftest import client_call, side_effects, start, wait_for


def test_sequence_completes_with_output_custom_status_and_history(durable_host: RunningHost) -> None:
    # when: an HTTP starter starts the orchestration and answers create_check_status_response
    response = start(durable_host, "hello_sequence", ["Tokyo", "Seattle", "London"])
    assert response.status_code == 202
    links = response.json()
    assert response.headers["Location"] == links["statusQueryGetUri"]
    assert set(links) >= {"id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri"}

    # then: polling statusQueryGetUri ends with the activities' results
    status = wait_for(links["statusQueryGetUri"])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    assert status["customStatus"] == {"at": "London"}
    assert status["name"] == "hello_sequence" and status["instanceId"] == links["id"]
    detailed = httpx.get(links["statusQueryGetUri"] + "&showHistory=true&showHistoryOutput=true").json()
    kinds = [e["EventType"] for e in detailed["historyEvents"]]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "TaskCompleted", "ExecutionCompleted"]
    assert detailed["historyEvents"][1]["FunctionName"] == "say_hello"
    assert detailed["historyEvents"][1]["Result"] == "Hello Tokyo!"


def test_wait_for_completion_answers_the_output(durable_host: RunningHost) -> None:
    response = start(durable_host, "hello_sequence", ["Oslo"], wait="10000")
    assert response.status_code == 200
    assert response.json() == ["Hello Oslo!"]


def test_activity_failure_fails_the_orchestration_with_its_error(durable_host: RunningHost) -> None:
    links = start(durable_host, "fails", "kaboom").json()
    status = wait_for(links["statusQueryGetUri"])
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith("Orchestrator function 'fails' failed: Activity function 'explode' failed: ")
    assert "ValueError: kaboom" in status["output"]
    # the failed instance answers 200, or 500 when the caller asks for it
    assert httpx.get(links["statusQueryGetUri"]).status_code == 200
    assert httpx.get(links["statusQueryGetUri"] + "&returnInternalServerErrorOnFailure=true").status_code == 500


def _history(links: dict) -> list[dict]:
    return httpx.get(links["statusQueryGetUri"] + "&showHistory=true").json()["historyEvents"]


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_retries_are_counted_and_delayed(durable_host: RunningHost) -> None:
    key = uuid.uuid4().hex
    links = start(durable_host, "retries", key).json()
    status = wait_for(links["statusQueryGetUri"])
    error = "Activity function 'explode' failed: ValueError: never works "
    assert status["output"] == {"ok": "ok after 3", "error": error}
    assert side_effects("flaky", key) == {key: 3}
    # the history holds a 300 ms retry timer after each failure: 2 for `flaky`, 3 for `explode` (DTFx waits
    # after the last attempt too), each fired before the next attempt
    history = _history(links)
    kinds = [e["EventType"] for e in history if e["EventType"] != "ExecutionStarted"]
    retry = ["TaskFailed", "TimerCreated", "TimerFired"]
    assert kinds == [*retry, *retry, "TaskCompleted", *retry, *retry, *retry, "ExecutionCompleted"]
    delays = [
        (_at(e["FireAt"]) - _at(e["Timestamp"])).total_seconds() for e in history if e["EventType"] == "TimerCreated"
    ]
    assert [round(d, 3) for d in delays] == [0.3] * 5


def test_timer_really_waits(durable_host: RunningHost) -> None:
    links = start(durable_host, "timer", 1.5).json()
    assert wait_for(links["statusQueryGetUri"], until=("Running", "Completed"))["runtimeStatus"] == "Running"
    status = wait_for(links["statusQueryGetUri"])
    clock = status["output"]
    waited = datetime.fromisoformat(clock["end"]) - datetime.fromisoformat(clock["start"])
    assert waited.total_seconds() >= 1.5
    # the orchestration's own record: a timer due 1.5 s after the start, fired, then the end
    history = _history(links)
    [created] = [e for e in history if e["EventType"] == "TimerCreated"]
    assert (_at(created["FireAt"]) - _at(history[0]["Timestamp"])).total_seconds() >= 1.5
    assert [e["EventType"] for e in history][-2:] == ["TimerFired", "ExecutionCompleted"]


def test_external_events_raised_early_and_late(durable_host: RunningHost) -> None:
    links = start(durable_host, "approval").json()
    instance_id = links["id"]
    # given: "Second" is raised before the orchestrator waits for it (it waits for "First" first)
    client_call(durable_host, "raise", instance_id, "yes", event="Second")
    # then: the orchestration took it (its history records it) and still waits for "First"
    deadline = time.monotonic() + 30  # a guard against hanging, not a measurement
    while not any(e.get("Name") == "Second" for e in _history(links) if e["EventType"] == "EventRaised"):
        assert time.monotonic() < deadline, _history(links)
        time.sleep(0.05)
    assert httpx.get(links["statusQueryGetUri"]).json()["runtimeStatus"] == "Running"
    # when: "First" comes late
    client_call(durable_host, "raise", instance_id, {"a": 1}, event="First")
    status = wait_for(links["statusQueryGetUri"])
    # then: both arrive; the SDK client encodes event data once more, so it reaches the orchestrator as JSON text
    assert status["runtimeStatus"] == "Completed"
    assert json.loads(status["output"]["first"]) == {"a": 1}
    assert json.loads(status["output"]["second"]) == "yes"
    # raising to a finished instance is 410 Gone
    gone = httpx.post(links["sendEventPostUri"].replace("{eventName}", "First"), json="late")
    assert gone.status_code == 410


def test_ten_way_fan_out(durable_host: RunningHost) -> None:
    run = uuid.uuid4().hex
    links = start(durable_host, "fan_out", {"run": run}).json()
    status = wait_for(links["statusQueryGetUri"])
    assert status["output"] == sum(n * n for n in range(1, 11))
    assert side_effects("square", run) == {f"{run}:{n}": 1 for n in range(1, 11)}


def test_sub_orchestration_result_and_failure(durable_host: RunningHost) -> None:
    city = uuid.uuid4().hex[:6]
    links = start(durable_host, "parent", [city]).json()
    status = wait_for(links["statusQueryGetUri"])
    assert status["output"]["greetings"] == [f"Hello {city}!"]
    assert "Activity function 'explode' failed: ValueError: child boom" in status["output"]["child_error"]
    # the child is an instance of its own, named as DTFx names it: "<parent execution id>:<task id>"
    instances = links["statusQueryGetUri"].split("/instances/")[0] + "/instances/"
    code = links["statusQueryGetUri"].split("code=")[1]
    listed = httpx.get(instances, params={"code": code, "runtimeStatus": "Completed"}).json()
    child = next(i for i in listed if i["input"] == json.dumps([city]) and i["name"] == "hello_sequence")
    assert re.fullmatch(r"[0-9a-f-]{36}:0", child["instanceId"])


def test_continue_as_new(durable_host: RunningHost) -> None:
    links = start(durable_host, "counter", {"count": 0, "target": 3}).json()
    status = wait_for(links["statusQueryGetUri"])
    assert status["output"] == 3
    history = httpx.get(links["statusQueryGetUri"] + "&showHistory=true").json()["historyEvents"]
    # the last execution starts fresh: no activity of the earlier ones in its history
    assert [e["EventType"] for e in history] == ["ExecutionStarted", "ExecutionCompleted"]


def test_terminate(durable_host: RunningHost) -> None:
    links = start(durable_host, "waits_forever").json()
    wait_for(links["statusQueryGetUri"], until=("Running",))
    client_call(durable_host, "terminate", links["id"], reason="no longer needed")
    status = wait_for(links["statusQueryGetUri"])
    assert status["runtimeStatus"] == "Terminated"
    assert status["output"] == "no longer needed"
    assert httpx.post(links["terminatePostUri"].replace("{text}", "again")).status_code == 410


def test_suspend_and_resume(durable_host: RunningHost) -> None:
    links = start(durable_host, "waits_forever").json()
    wait_for(links["statusQueryGetUri"], until=("Running",))
    client_call(durable_host, "suspend", links["id"])
    client_call(durable_host, "raise", links["id"], 42, event="Never")
    # the event raised while suspended is held: the instance stays suspended, its history shows the suspension
    assert wait_for(links["statusQueryGetUri"], until=("Suspended",))["runtimeStatus"] == "Suspended"
    assert [e["EventType"] for e in _history(links)] == ["ExecutionStarted", "ExecutionSuspended"]
    client_call(durable_host, "resume", links["id"])
    status = wait_for(links["statusQueryGetUri"])
    assert status["runtimeStatus"] == "Completed" and json.loads(status["output"]) == 42


def test_management_api_codes_and_purge(durable_host: RunningHost) -> None:
    prefix = f"api-{uuid.uuid4().hex[:8]}-"
    links = start(durable_host, "hello_sequence", ["Rome"], instance_id=prefix + "1").json()
    wait_for(links["statusQueryGetUri"])
    unknown = links["statusQueryGetUri"].replace(links["id"], "nope")
    assert httpx.get(unknown).status_code == 404
    assert httpx.post(unknown.replace("?", "/raiseEvent/x?"), json=1).status_code == 404
    assert httpx.get(links["statusQueryGetUri"].split("?")[0]).status_code == 401  # no system key
    assert client_call(durable_host, "list", prefix) == [prefix + "1"]
    assert client_call(durable_host, "status", prefix + "1")["runtimeStatus"] == "Completed"
    assert client_call(durable_host, "purge", prefix + "1") == 1
    assert httpx.delete(links["purgeHistoryDeleteUri"]).status_code == 404
    # starting an orchestrator that does not exist fails in start_new (400 from the API)
    assert start(durable_host, "no_such_orchestrator").status_code == 500


def test_failing_orchestrations_never_stop_the_others(durable_host: RunningHost) -> None:
    runs = [uuid.uuid4().hex for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        good = list(pool.map(lambda run: start(durable_host, "fan_out", {"run": run}).json(), runs))
        bad = list(pool.map(lambda n: start(durable_host, "fails", f"bad {n}").json(), range(4)))
    assert all(wait_for(links["statusQueryGetUri"])["output"] == 385 for links in good)
    assert all(wait_for(links["statusQueryGetUri"])["runtimeStatus"] == "Failed" for links in bad)


def test_fan_out_runs_in_parallel_on_a_bounded_pool(durable_host: RunningHost) -> None:
    run = uuid.uuid4().hex
    links = start(durable_host, "parallel_sleeps", {"run": run, "count": 16, "seconds": 0.5}).json()
    assert wait_for(links["statusQueryGetUri"])["output"] == 16
    # each step recorded how many steps of the run were running when it ended (itself included)
    running = [int(key.rsplit(":", 1)[1]) for key in side_effects("in_flight", run)]
    assert len(running) == 16
    # host.json allows 8 activities at once (maxConcurrentActivityFunctions): parallel, never more than 8
    assert 1 < max(running) <= 8, sorted(running)
    assert side_effects("step", run) == {f"{run}:{n}": 1 for n in range(16)}


def test_create_and_wait_url_of_the_extension(durable_host: RunningHost) -> None:
    links = start(durable_host, "hello_sequence", ["Kyiv"]).json()
    code = links["statusQueryGetUri"].split("code=")[1]
    base = links["statusQueryGetUri"].split("/instances/")[0]
    url = f"{base}/orchestrators/hello_sequence?timeout=10&pollingInterval=0.1&code={code}"
    response = httpx.post(url, json=json.dumps(["Accra"]), timeout=30)
    assert response.status_code == 200
    assert response.json() == ["Hello Accra!"]
    assert httpx.post(url.replace("code=", "code=x"), json=None).status_code == 401


def test_a_timer_triggered_starter_gets_its_durable_client(durable_host: RunningHost) -> None:
    assert durable_host.fire("yearly_start").status_code == 200
    links = start(durable_host, "hello_sequence", ["x"]).json()
    status = wait_for(links["statusQueryGetUri"].replace(links["id"], "started-by-timer"))
    assert status["output"] == ["Hello Timer!"]


def test_list_and_purge_with_filters(durable_host: RunningHost) -> None:
    prefix = f"list-{uuid.uuid4().hex[:8]}-"
    done = start(durable_host, "hello_sequence", ["A"], instance_id=prefix + "done").json()
    waiting = start(durable_host, "waits_forever", instance_id=prefix + "waiting").json()
    wait_for(done["statusQueryGetUri"])
    wait_for(waiting["statusQueryGetUri"], until=("Running",))
    instances = done["statusQueryGetUri"].split("/instances/")[0] + "/instances/"
    code = done["statusQueryGetUri"].split("code=")[1]
    since = datetime.now(UTC) - timedelta(minutes=5)

    def listed(**params: str) -> list[str]:
        response = httpx.get(instances, params={"code": code, "instanceIdPrefix": prefix, **params})
        assert response.status_code == 200
        return sorted(item["instanceId"] for item in response.json())

    assert listed() == [prefix + "done", prefix + "waiting"]
    assert listed(runtimeStatus="Running") == [prefix + "waiting"]
    assert listed(runtimeStatus="Completed,Failed") == [prefix + "done"]
    assert listed(createdTimeFrom=(since + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")) == []
    page = httpx.get(instances, params={"code": code, "instanceIdPrefix": prefix, "top": "1"})
    assert len(page.json()) == 1 and page.headers["x-ms-continuation-token"]
    # purge by filter removes finished instances only; a running one answers 412 to a purge by id
    filters = {"code": code, "createdTimeFrom": since.isoformat(), "runtimeStatus": "Completed"}
    purged = httpx.delete(instances, params=filters)
    assert purged.status_code == 200 and purged.json()["instancesDeleted"] >= 1
    assert listed() == [prefix + "waiting"]
    assert httpx.delete(waiting["purgeHistoryDeleteUri"]).status_code == 412
    assert httpx.delete(instances, params={"code": code}).status_code == 400
