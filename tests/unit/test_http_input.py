"""Input no column can store, and bodies nested too deep, are refused by the route decorator with a problem."""

from __future__ import annotations

import json

import azure.functions as func
import pytest
from pydantic import BaseModel

from shared.errors import Forbidden
from shared.http import MAX_JSON_DEPTH, Request, RouteSpec, dispatch


class Note(BaseModel):
    title: str
    lines: list[str] = []
    data: dict[str, object] = {}


class Search(BaseModel):
    q: str | None = None


def _spec(**kwargs: object) -> RouteSpec:
    fields: dict = {"name": "t", "module": "t", "route": "v1/notes", "methods": ["POST"], "auth": "anonymous"}
    return RouteSpec(**{**fields, "summary": "t", **kwargs})


def _post(body: bytes, **kwargs: object) -> func.HttpRequest:
    return func.HttpRequest(
        "POST", "http://h/api/v1/notes", headers={"content-type": "application/json"}, body=body, **kwargs
    )


def _problem(response: func.HttpResponse) -> dict:
    assert response.mimetype == "application/problem+json"
    return json.loads(response.get_body())


def _ok(req: Request) -> dict[str, str]:
    return {"ok": "yes"}


@pytest.mark.parametrize("bad", ["x\u0000y", "\ud800", "tail \udfff"])
def test_a_nul_or_lone_surrogate_anywhere_in_a_body_is_422_naming_the_field(bad: str) -> None:
    body = json.dumps({"title": "fine", "lines": ["ok", bad], "data": {"deep": {"k": bad}}}).encode()
    response = dispatch(_spec(body_model=Note), _ok, _post(body))
    assert response.status_code == 422
    problem = _problem(response)
    assert [e["loc"] for e in problem["errors"]] == ["body.data.deep.k", "body.lines.1"]
    assert {e["type"] for e in problem["errors"]} == {"string_unstorable_character"}


def test_a_nul_in_a_key_is_refused_too() -> None:
    body = json.dumps({"title": "fine", "data": {"k\u0000": 1}}).encode()
    response = dispatch(_spec(body_model=Note), _ok, _post(body))
    assert response.status_code == 422
    assert [e["loc"] for e in _problem(response)["errors"]] == ["body.data.k\u0000"]


def test_a_nul_in_a_query_or_route_parameter_is_422_naming_it() -> None:
    spec = _spec(methods=["GET"], query_model=Search)
    query = func.HttpRequest("GET", "http://h/api/v1/notes?q=%00", params={"q": "\x00"}, body=b"")
    assert [e["loc"] for e in _problem(dispatch(spec, _ok, query))["errors"]] == ["query.q"]
    routed = func.HttpRequest("GET", "http://h/api/v1/notes/a", route_params={"name": "a\x00"}, body=b"")
    response = dispatch(_spec(methods=["GET"]), _ok, routed)
    assert response.status_code == 422
    assert [e["loc"] for e in _problem(response)["errors"]] == ["path.name"]


def test_ordinary_text_passes_untouched() -> None:
    body = json.dumps({"title": "Ünïcode 🎨 [brackets] {in} strings", "lines": ["tab\there"]}).encode()
    response = dispatch(_spec(body_model=Note), lambda req: {"title": req.body.title}, _post(body))
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"title": "Ünïcode 🎨 [brackets] {in} strings"}


def test_a_body_nested_ten_thousand_deep_is_400_not_a_crash() -> None:
    body = b"[" * 10_000 + b"]" * 10_000
    response = dispatch(_spec(body_model=Note), _ok, _post(body))
    assert response.status_code == 400
    assert _problem(response)["code"] == "json_too_deep"


def test_nesting_is_capped_at_the_limit_and_brackets_in_strings_do_not_count() -> None:
    def nested(depth: int) -> bytes:
        inner: object = "[[[[{{{{"  # brackets in a string
        for _ in range(depth - 1):  # the body object is the first level
            inner = {"k": inner}
        return json.dumps({"title": "t", "data": inner}).encode()

    assert dispatch(_spec(body_model=Note), _ok, _post(nested(MAX_JSON_DEPTH))).status_code == 200
    deeper = dispatch(_spec(body_model=Note), _ok, _post(nested(MAX_JSON_DEPTH + 1)))
    assert deeper.status_code == 400
    assert _problem(deeper)["code"] == "json_too_deep"


def test_a_webhook_verifies_its_sender_before_it_validates_the_query_or_body() -> None:
    def refuse(req: Request) -> None:
        raise Forbidden("The request is not signed", code="invalid_signature")

    spec = _spec(auth="webhook", verify=refuse, query_model=Search, body_model=Note)
    # no query it needs, a body that is not even JSON, a NUL: still 403, not 4xx about the input
    unsigned = func.HttpRequest("POST", "http://h/api/v1/notes", params={"q": "\x00"}, body=b"{nope")
    response = dispatch(spec, _ok, unsigned)
    assert response.status_code == 403
    assert _problem(response)["code"] == "invalid_signature"


def _posted(body: bytes, content_type: str) -> func.HttpRequest:
    return func.HttpRequest("POST", "http://h/api/v1/notes", headers={"content-type": content_type}, body=body)


def _echo(req: Request) -> dict[str, object]:
    return {"title": req.body.title, "lines": req.body.lines}


def test_a_json_or_form_body_is_read_from_either_by_its_content_type_and_nothing_else_is() -> None:
    spec = _spec(body_model=Note, body_format="json_or_form")
    as_json = dispatch(spec, _echo, _posted(b'{"title": "Leak"}', "application/json; charset=utf-8"))
    as_form = dispatch(spec, _echo, _posted(b"title=Leak+under+sink", "application/x-www-form-urlencoded"))
    assert (as_json.status_code, json.loads(as_json.get_body())) == (200, {"title": "Leak", "lines": []})
    assert (as_form.status_code, json.loads(as_form.get_body())) == (200, {"title": "Leak under sink", "lines": []})
    refused = dispatch(spec, _echo, _posted(b"title=Leak", "text/plain"))
    assert refused.status_code == 415
    assert _problem(refused)["detail"] == "Send the body as application/json or application/x-www-form-urlencoded"
    # and a form body is checked like a JSON one: fields validated, unstorable characters refused
    missing = dispatch(spec, _echo, _posted(b"other=x", "application/x-www-form-urlencoded"))
    assert missing.status_code == 422 and [e["loc"] for e in _problem(missing)["errors"]] == ["body.title"]
    nul = dispatch(spec, _echo, _posted(b"title=a%00b", "application/x-www-form-urlencoded"))
    assert nul.status_code == 422 and [e["loc"] for e in _problem(nul)["errors"]] == ["body.title"]


def test_a_json_only_or_form_only_body_still_refuses_the_other_media_type() -> None:
    form_only = dispatch(
        _spec(body_model=Note, body_format="form"), _echo, _posted(b'{"title": "x"}', "application/json")
    )
    json_only = dispatch(_spec(body_model=Note), _echo, _posted(b"title=x", "application/x-www-form-urlencoded"))
    assert (form_only.status_code, json_only.status_code) == (415, 415)
    assert _problem(form_only)["detail"] == "Send the body as application/x-www-form-urlencoded"
    assert _problem(json_only)["detail"] == "Send the body as application/json"


def test_problem_headers_go_on_every_problem_answer_of_the_route_and_not_on_its_successes() -> None:
    def cors(req: Request) -> dict[str, str]:
        return {"Access-Control-Allow-Origin": req.headers.get("origin") or ""}

    def refuse_some(req: Request) -> dict[str, str]:
        if req.body.title == "spam":
            raise Forbidden("Not from here", code="origin_not_allowed")
        return {"ok": "yes"}

    spec = _spec(body_model=Note, body_format="json_or_form", problem_headers=cors)

    def post(body: bytes, content_type: str = "application/json") -> func.HttpResponse:
        headers = {"content-type": content_type, "origin": "https://site.example"}
        return dispatch(
            spec, refuse_some, func.HttpRequest("POST", "http://h/api/v1/notes", headers=headers, body=body)
        )

    answers = [post(b'{"lines": 3}'), post(b"{nope"), post(b"x", "text/plain"), post(b'{"title": "spam"}')]
    assert [a.status_code for a in answers] == [422, 400, 415, 403]
    assert {a.headers.get("Access-Control-Allow-Origin") for a in answers} == {"https://site.example"}
    accepted = post(b'{"title": "Leak"}')
    assert accepted.status_code == 200 and "Access-Control-Allow-Origin" not in accepted.headers


def test_an_unknown_body_format_is_refused_when_the_route_is_declared() -> None:
    from shared.http import Router

    class Blueprint:
        def function_name(self, name: str) -> object:
            raise AssertionError("registered a route with an unknown body format")

    with pytest.raises(ValueError, match="unknown body format"):
        Router(Blueprint(), module="t").post("v1/notes", summary="t", body=Note, body_format="multipart")
