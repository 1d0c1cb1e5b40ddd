"""A small Functions app of the dev host's own tests: not Tradeops, just each trigger kind the host serves."""

import json
import os
from pathlib import Path

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
# Side effects go to files so the test process can observe them across the process boundary.
RECORD_DIR = Path(os.environ.get("DEVHOST_TEST_RECORD_DIR", "/tmp/devhost-test"))


def _record(name: str, entry: dict) -> None:
    RECORD_DIR.mkdir(parents=True, exist_ok=True)
    with (RECORD_DIR / f"{name}.jsonl").open("a") as handle:
        handle.write(json.dumps(entry) + "\n")


@app.route(route="items/{id:int}/{label?}", methods=["GET"])
def item_by_number(req: func.HttpRequest) -> func.HttpResponse:
    body = {"route": "int", "params": dict(req.route_params)}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


@app.route(route="items/new", methods=["GET"])
def item_new(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"route": "literal"}), mimetype="application/json")


@app.route(route="items/{name}", methods=["GET", "POST"])
def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
    body = {"route": "name", "params": dict(req.route_params), "method": req.method, "query": dict(req.params)}
    if req.method == "POST":
        body["echo"] = req.get_json()
    status = 201 if req.method == "POST" else 200
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


@app.route(route="files/{*path}", methods=["GET"])
def file_path(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.route_params.get("path", ""))


@app.route(route="secure/function", auth_level=func.AuthLevel.FUNCTION)
def secure_function(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("function ok")


@app.route(route="secure/admin", auth_level=func.AuthLevel.ADMIN)
def secure_admin(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin ok")


@app.route(route="enqueue", methods=["POST"])
@app.queue_output(arg_name="out", queue_name="devhost-work", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
    out.set(req.get_body().decode())
    return func.HttpResponse(status_code=202)


@app.route(route="async-echo", methods=["POST"])
async def async_echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.get_body(), mimetype="application/octet-stream")


@app.queue_trigger(arg_name="msg", queue_name="devhost-work", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    payload = json.loads(msg.get_body())
    _record("work", {"id": msg.id, "dequeue_count": msg.dequeue_count, "payload": payload})
    if payload.get("fail"):
        raise RuntimeError("told to fail")


@app.timer_trigger(arg_name="timer", schedule="0 0 3 * * *", run_on_startup=False)
def nightly(timer: func.TimerRequest) -> None:
    _record("nightly", {"past_due": timer.past_due})


@app.timer_trigger(arg_name="timer", schedule="*/1 * * * * *", run_on_startup=False)
def every_second(timer: func.TimerRequest) -> None:
    _record("every_second", {"past_due": timer.past_due})
