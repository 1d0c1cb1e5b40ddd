"""The client binding JSON, the system key and the status API's history: what the unmodified SDK client reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import azure.durable_functions as df
import azure.functions as func
import pytest

from devhost.durable.api import DurableHttpApi, system_key
from devhost.durable.history import EventType, event, execution_started, public_history, task_failed
from devhost.durable.store import database_url
from devhost.host import Keys

AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def api() -> DurableHttpApi:
    host = SimpleNamespace(base_url="http://127.0.0.1:7071", keys=Keys(function_key="fk", master_key="mk"))
    engine = SimpleNamespace(host=host, hub_name="TradeopsHub", rpc_base_url="http://127.0.0.1:4567/durabletask/")
    return DurableHttpApi(engine)  # type: ignore[arg-type]


def test_binding_json_is_what_the_sdk_client_expects() -> None:
    binding = json.loads(api().client_binding_json())
    key = system_key("mk")
    assert binding["taskHubName"] == "TradeopsHub"
    assert binding["rpcBaseUrl"].endswith("/durabletask/")
    assert binding["baseUrl"] == "http://127.0.0.1:7071/runtime/webhooks/durabletask"
    assert binding["requiredQueryStringParameters"] == f"code={key}"
    assert binding["managementUrls"]["id"] == "INSTANCEID"
    assert binding["managementUrls"]["statusQueryGetUri"] == (
        "http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/INSTANCEID"
        f"?taskHub=TradeopsHub&connection=Storage&code={key}"
    )
    assert "{functionName}[/{instanceId}]" in binding["creationUrls"]["createNewInstancePostUri"]


def test_sdk_check_status_response_uses_the_request_origin_and_instance_id() -> None:
    client = df.DurableOrchestrationClient(api().client_binding_json())
    request = func.HttpRequest("POST", "http://localhost:9000/api/orchestrators/x", body=b"")
    response = client.create_check_status_response(request, "abc")
    links = json.loads(response.get_body())
    assert response.status_code == 202
    assert links["id"] == "abc"
    assert links["statusQueryGetUri"].startswith("http://localhost:9000/runtime/webhooks/durabletask/instances/abc?")
    assert links["sendEventPostUri"].split("?")[0].endswith("/instances/abc/raiseEvent/{eventName}")


def test_system_key_is_stable_scoped_and_not_the_master_key() -> None:
    assert system_key("mk") == system_key("mk") != system_key("other")
    assert "mk" not in system_key("mk")


def test_public_history_merges_scheduling_and_hides_replay_fields() -> None:
    history = [
        event(EventType.ORCHESTRATOR_STARTED, AT),
        execution_started(AT, "flow", "", '"[1]"'),
        event(EventType.TASK_SCHEDULED, AT, 0, Name="step", Input="1"),
        event(EventType.ORCHESTRATOR_COMPLETED, AT),
        event(EventType.TASK_COMPLETED, AT, TaskScheduledId=0, Result='"done"'),
        task_failed(AT, 1, "other", ValueError("bad")),
    ]
    shown = public_history(history, with_output=True)
    assert [e["EventType"] for e in shown] == ["ExecutionStarted", "TaskCompleted", "TaskFailed"]
    assert shown[0]["FunctionName"] == "flow"
    assert shown[1] == {
        "EventType": "TaskCompleted",
        "Result": "done",
        "Timestamp": "2026-03-04T05:06:07.000000Z",
        "FunctionName": "step",
        "ScheduledTime": "2026-03-04T05:06:07.000000Z",
    }
    assert shown[2]["Reason"] == "Activity function 'other' failed: ValueError: bad"
    assert "Result" not in public_history(history, with_output=False)[1]


def test_database_url_prefers_the_dev_host_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://app@/db")
    monkeypatch.setenv("DATABASE_MIGRATION_URL", "postgresql+psycopg://owner@/db")
    assert database_url() == "postgresql://owner@/db"
    monkeypatch.setenv("DEVHOST_DATABASE_URL", "postgresql+psycopg://devhost@/db?host=/tmp")
    assert database_url() == "postgresql://devhost@/db?host=/tmp"
