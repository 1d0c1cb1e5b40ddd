"""The OpenAPI 3.1 document, generated from the route registry in shared/http.py."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared.errors import FieldError
from shared.http import BODY_MEDIA_TYPES, PROBLEM_JSON, REGISTRY, RouteSpec

_PARAM = re.compile(r"\{([^}:?]+)(?::([^}?]+))?(\?)?\}")
_CONSTRAINT_SCHEMA = {
    "int": {"type": "integer"},
    "long": {"type": "integer"},
    "guid": {"type": "string", "format": "uuid"},
    "bool": {"type": "boolean"},
    "alpha": {"type": "string", "pattern": "^[A-Za-z]+$"},
}
_FIELD_ERROR = FieldError.model_json_schema()
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_PROBLEMS = {
    400: "Malformed request",
    401: "Not signed in",
    403: "Not allowed",
    404: "No such resource",
    409: "Conflicts with the current state",
    412: "Stale If-Match",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    428: "If-Match required",
    429: "Rate limited",
}


def openapi_path(route: str) -> str:
    """A Functions route template as an OpenAPI path under the `api` prefix's server."""
    return "/" + _PARAM.sub(lambda m: "{" + m.group(1) + "}", route).lstrip("/")


def _path_parameters(route: str) -> list[dict[str, Any]]:
    params = []
    for name, constraint, _optional in _PARAM.findall(route):
        schema = _CONSTRAINT_SCHEMA.get(constraint.split("(")[0] if constraint else "", {"type": "string"})
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(model: type[BaseModel], schema: dict[str, Any]) -> list[dict[str, Any]]:
    params = []
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


def _header_parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    headers = []
    if spec.idempotent:
        headers.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "Replays the first response for a retry with the same key and body (24 h, per user)",
            }
        )
    if "PATCH" in spec.methods:
        headers.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "The resource's ETag; a stale one is 412, and resources that need it answer 428 without",
            }
        )
    return headers


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": "string"},
            "errors": {"type": "array", "items": _FIELD_ERROR},
        },
    }


def _creates_with_id(spec: RouteSpec) -> bool:
    model = spec.response_model
    return "POST" in spec.methods and spec.status in (201, 202) and model is not None and "id" in model.model_fields


def _links(spec: RouteSpec) -> dict[str, Any]:
    """OpenAPI links from a create to what its new id opens, for stateful fuzzing (create -> read -> update
    -> delete): every operation on `<its path>/{param}...` (its own path parameters carried over), and for a
    nested create (`/v1/crm/customers/{customer_id}/vehicles`) those on `/v1/crm/vehicles/{param}...`."""
    if not _creates_with_id(spec):
        return {}
    base = openapi_path(spec.route)
    inherited = {name: f"$request.path.{name}" for name, _, _ in _PARAM.findall(spec.route)}
    segments = base.split("/")
    bases = {base: inherited}
    if inherited:
        bases["/".join([*segments[:3], segments[-1]])] = {}
    links: dict[str, Any] = {}
    for other in (o for o in REGISTRY if o.auth == spec.auth):
        for prefix, carried in bases.items():
            match = re.match(re.escape(prefix) + r"/\{(\w+)\}", openapi_path(other.route))
            parameters = {**carried, match.group(1): "$response.body#/id"} if match else {}
            if not match or {name for name, _, _ in _PARAM.findall(other.route)} != set(parameters):
                continue
            for method in other.methods:
                links[f"{method.title()}{other.name.title().replace('_', '')}"] = {
                    "operationId": other.name,
                    "parameters": dict(sorted(parameters.items())),
                }
    return links


def _operation(spec: RouteSpec, schemas: dict[Any, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": spec.name,
        "summary": spec.summary,
        "tags": [spec.module],
        "parameters": _path_parameters(spec.route),
        "responses": {},
    }
    if spec.query_model is not None:
        inline = spec.query_model.model_json_schema(ref_template="#/components/schemas/{model}")
        op["parameters"] += _query_parameters(spec.query_model, inline)
    op["parameters"] += _header_parameters(spec)
    if spec.body_model is not None:
        schema = schemas[(spec.body_model, "validation")]
        op["requestBody"] = {
            "required": True,
            "content": {media: {"schema": schema} for media in BODY_MEDIA_TYPES[spec.body_format]},
        }
    success: dict[str, Any] = {"description": spec.summary}
    if spec.response_model is not None:
        success["content"] = {spec.content_type: {"schema": schemas[(spec.response_model, "serialization")]}}
    elif spec.content_type != "application/json":
        success["content"] = {spec.content_type: {"schema": {"type": "string"}}}
    links = _links(spec)
    if links:
        success["links"] = links
    op["responses"][str(spec.status)] = success
    for status, description in spec.responses.items():
        op["responses"].setdefault(str(status), {"description": description})
    problems = dict(_PROBLEMS)
    if spec.auth in ("function", "admin"):
        # The Functions host itself refuses a missing or wrong key, with an empty body.
        op["responses"]["401"] = {"description": "Missing or wrong function key"}
    for status, description in problems.items():
        op["responses"].setdefault(
            str(status),
            {"description": description, "content": _PROBLEM_CONTENT},
        )
    op["responses"].setdefault("500", {"description": "Unexpected error", "content": _PROBLEM_CONTENT})
    if spec.auth == "user":
        op["security"] = [{"bearer": []}]
    elif spec.auth in ("function", "admin"):
        op["security"] = [{"functionKey": []}, {"functionKeyQuery": []}]
    else:
        op["security"] = []
    return op


def build_document(*, title: str = "Tradeops API", version: str = "1.0.0") -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for every registered route."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for spec in REGISTRY:
        if spec.body_model is not None:
            models.append((spec.body_model, "validation"))
        if spec.response_model is not None:
            models.append((spec.response_model, "serialization"))
    unique = list(dict.fromkeys(models))
    schemas, definitions = models_json_schema(unique, ref_template="#/components/schemas/{model}")
    components = dict(definitions.get("$defs", {}))
    components["Problem"] = _problem_schema()
    paths: dict[str, dict[str, Any]] = {}
    for spec in sorted(REGISTRY, key=lambda s: s.route):
        item = paths.setdefault(openapi_path(spec.route), {})
        for method in spec.methods:
            item[method.lower()] = _operation(spec, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": [{"url": "/api"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            },
        },
    }
