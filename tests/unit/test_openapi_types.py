"""A client generated from the OpenAPI document has every field: no response carries an untyped object.

openapi-typescript (and every other generator) turns an object schema with neither properties nor an
additionalProperties schema, or an empty schema `{}`, into `unknown`. Such a schema may appear only
where the field is free-form by nature, in the list below, each with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# (component, field): free-form by nature, so a generated client rightly sees "any JSON" there.
FREE_FORM = {
    # a product's options are a JSON Schema 2020-12 document the tenant writes
    ("ProductOut", "config_schema"): "a tenant-written JSON Schema document",
    # a configuration is whatever object that product's schema describes
    ("ConfigurationOut", "config_data"): "data shaped by the product's own schema",
    ("SharedConfiguration", "config_data"): "data shaped by the product's own schema",
    # audit rows keep the record as it was before and after a change, whatever the record is
    ("AuditOut", "before"): "a snapshot of any audited record",
    ("AuditOut", "after"): "a snapshot of any audited record",
    ("HistoryEntry", "before"): "a snapshot of the audited appointment",
    ("HistoryEntry", "after"): "a snapshot of the audited appointment",
}


def _document() -> dict[str, Any]:
    import function_app  # noqa: F401 - registers every route
    from shared.openapi import build_document

    return build_document()


def _untyped(schema: dict[str, Any]) -> bool:
    if schema == {}:
        return True
    if schema.get("type") != "object" or "properties" in schema:
        return False
    return not isinstance(schema.get("additionalProperties"), dict)


def _walk(schema: Any, where: tuple[str, str | None]) -> Iterator[tuple[tuple[str, str | None], dict[str, Any]]]:
    """Every subschema with the (component, field) it belongs to."""
    if not isinstance(schema, dict):
        return
    yield where, schema
    component, _ = where
    for name, prop in (schema.get("properties") or {}).items():
        yield from _walk(prop, (component, name))
    for key in ("items", "additionalProperties", "not", "contains"):
        yield from _walk(schema.get(key), where)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for option in schema.get(key) or []:
            yield from _walk(option, where)


def _referenced(schema: Any, components: dict[str, Any], seen: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                _referenced(components[name], components, seen)
        for value in schema.values():
            _referenced(value, components, seen)
    elif isinstance(schema, list):
        for value in schema:
            _referenced(value, components, seen)


def _response_schemas(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                for media, content in (response.get("content") or {}).items():
                    yield f"{method.upper()} {path} {status} {media}", content["schema"]


def test_every_response_schema_is_typed_outside_the_declared_free_form_fields() -> None:
    document = _document()
    components = document["components"]["schemas"]
    untyped: set[str] = set()
    inline: list[tuple[str, dict[str, Any]]] = []
    names: set[str] = set()
    for operation, schema in _response_schemas(document):
        inline.append((operation, schema))
        _referenced(schema, components, names)
    walked = [(f"{op} (inline)", s) for op, s in inline] + [(name, components[name]) for name in sorted(names)]
    for owner, schema in walked:
        for (component, field), sub in _walk(schema, (owner, None)):
            if _untyped(sub) and (component, field) not in FREE_FORM:
                untyped.add(f"{component}.{field}" if field else component)
    assert untyped == set(), f"untyped objects a generated client sees as unknown: {sorted(untyped)}"


def test_the_free_form_list_names_only_fields_that_exist_and_are_free_form() -> None:
    # a stale entry would let a newly untyped field of the same name slip through
    components = _document()["components"]["schemas"]
    for component, field in FREE_FORM:
        assert component in components, f"{component} is no longer in the document"
        prop = components[component]["properties"][field]
        assert any(_untyped(sub) for _, sub in _walk(prop, (component, field))), f"{component}.{field} is typed now"


def test_the_leads_intake_documents_its_body_as_json_and_as_a_form_with_every_field() -> None:
    # the website's form posts either (a plain <form> post, or the site's script sending JSON): a client or a
    # site builder generated from the document must see both media types and the fields
    from blueprints.leads.schemas import IntakeIn

    document = _document()
    body = document["paths"]["/v1/leads/intake/{business_slug}"]["post"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"application/json", "application/x-www-form-urlencoded"}
    components = document["components"]["schemas"]
    for media, content in body["content"].items():
        schema = content["schema"]
        resolved = components[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
        assert set(resolved["properties"]) == set(IntakeIn.model_fields), media
        assert resolved.get("required") == ["name"], media
        assert resolved["properties"]["consent"]["type"] == "boolean", media
