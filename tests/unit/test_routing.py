"""Route templates match the way the Functions host matches them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devhost.routing import Route, RouteTable, parse_template


def table(*templates: str, methods: frozenset[str] | None = None) -> RouteTable:
    return RouteTable(Route(template=t, target=t, methods=methods) for t in templates)


def test_literal_beats_constrained_beats_plain_parameter() -> None:
    routes = table("items/{name}", "items/{id:int}", "items/new")
    assert routes.resolve("GET", "/items/new")[0].target == "items/new"  # type: ignore[index]
    assert routes.resolve("GET", "/items/7") == (routes.routes[1], {"id": "7"})
    assert routes.resolve("GET", "/items/seven")[1] == {"name": "seven"}  # type: ignore[index]


def test_matching_is_case_insensitive_for_literals_but_keeps_values() -> None:
    assert table("Customers/{id}").resolve("GET", "/customers/AbC")[1] == {"id": "AbC"}  # type: ignore[index]


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("a/{id:int}", "/a/12", {"id": "12"}),
        ("a/{id:int}", "/a/1.5", None),
        ("a/{id:guid}", "/a/0b5e3c9e-8a43-4d3c-9a51-6a2f1d2a9c11", {"id": "0b5e3c9e-8a43-4d3c-9a51-6a2f1d2a9c11"}),
        ("a/{id:guid}", "/a/not-a-guid", None),
        ("a/{flag:bool}", "/a/TRUE", {"flag": "TRUE"}),
        ("a/{x:alpha}", "/a/abc1", None),
        ("a/{x:length(3)}", "/a/abc", {"x": "abc"}),
        ("a/{x:minlength(2)}", "/a/a", None),
        ("a/{n:range(1,5)}", "/a/6", None),
        ("a/{n:min(2)}", "/a/2", {"n": "2"}),
        ("a/{x:regex(^v\\d+$)}", "/a/v12", {"x": "v12"}),
        ("a/{x?}", "/a", {}),
        ("a/{x?}", "/a/b", {"x": "b"}),
        ("a/{x=home}", "/a", {"x": "home"}),
        ("a/{*rest}", "/a/b/c", {"rest": "b/c"}),
        ("a/{*rest}", "/a", {}),
        ("a/b", "/a/b/c", None),
        ("a/{x}", "/a/", None),
    ],
)
def test_constraints_optional_defaults_and_catch_all(template: str, path: str, expected: dict | None) -> None:
    resolved = table(template).resolve("GET", path)
    assert (resolved[1] if resolved else None) == expected


def test_methods_restrict_a_route_and_fall_through_to_others() -> None:
    routes = RouteTable([Route("items/{id}", "get", frozenset({"GET"})), Route("items/{id}", "any", None)])
    assert routes.resolve("GET", "/items/1")[0].target == "get"  # type: ignore[index]
    assert routes.resolve("DELETE", "/items/1")[0].target == "any"  # type: ignore[index]
    only_get = table("x", methods=frozenset({"GET"}))
    assert only_get.resolve("POST", "/x") is None


def test_unsupported_templates_fail_at_indexing_not_at_request_time() -> None:
    with pytest.raises(ValueError):
        parse_template("a/{x:nosuch}")
    with pytest.raises(ValueError):
        parse_template("a/b{c}")


def _linear(routes: RouteTable, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The table's answer by trying every template in order of precedence (what resolve must equal)."""
    for route in routes.routes:
        params = route.match(path)
        if params is not None and (route.methods is None or method.upper() in route.methods):
            return route, params
    return None


_APP_TEMPLATES = (
    "health",
    "v1/estimates",
    "v1/estimates/{estimate_id}",
    "v1/estimates/{estimate_id}/rooms/{room_id}",
    "v1/estimates/rate-book",
    "v1/{module}/settings",
    "v1/shop/board",
    "v1/items/{id:int}/{name?}",
    "v1/pages/{n=1}/{size?}",
    "v1/pages/{n:int}/all",
    "v1/files/{*rest}",
    "{*everything}",
    "webhooks/twilio/status",
)


@given(
    st.lists(
        st.sampled_from(
            [
                "v1",
                "V1",
                "estimates",
                "rate-book",
                "rooms",
                "shop",
                "board",
                "items",
                "pages",
                "all",
                "files",
                "7",
                "x",
                "",
            ]
        ),
        max_size=5,
    ),
    st.sampled_from(["GET", "POST", "DELETE"]),
)
def test_resolving_by_prefix_answers_what_trying_every_template_answers(parts: list[str], method: str) -> None:
    # given templates of every kind, some limited to a method (the catch-all only to POST)
    routes = RouteTable(
        Route(template=t, target=t, methods=frozenset({"POST"}) if t.startswith("{*") else None) for t in _APP_TEMPLATES
    )
    path = "/" + "/".join(parts)
    # then the indexed lookup picks the same template, with the same parameters, as trying them all in order
    assert routes.resolve(method, path) == _linear(routes, method, path)


def test_the_apps_own_routes_resolve_as_trying_every_template_does() -> None:
    # given the app's real route table (indexed once per process: tests/app_index)
    from tests.app_index import http_routes

    routes = RouteTable(
        Route(template=route, target=route, methods=frozenset({method})) for method, route in http_routes()
    )
    # then every template, filled in, and a few paths that match none resolve as a linear scan does
    paths = ["/", "/nothing/here", "/v1", "/v1/unknown/x"]
    for route in routes.routes:
        filled = [s.literal or s.default or "0b5e3c9e-8a43-4d3c-9a51-6a2f1d2a9c11" for s in route.segments]
        paths += ["/" + "/".join(filled), "/" + "/".join(filled).upper(), "/" + "/".join([*filled, "extra"])]
    assert len(routes.routes) > 100
    for path in paths:
        for method in ("GET", "POST", "DELETE"):
            assert routes.resolve(method, path) == _linear(routes, method, path), (method, path)
