"""JSON Schema 2020-12 for product options: checking a schema on save, validating a configuration against it,
and the canonical form and hash of a configuration (the render cache key).

jsonschema is imported inside the functions: importing the function app (a cold start) must not load it.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from typing import Any

from shared.errors import Unprocessable

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def canonical(value: Any) -> Any:
    """The value with integral floats as ints, so 600 and 600.0 name the same configuration."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    raise TypeError(f"{type(value).__name__} is not JSON data")


def canonical_json(config: dict[str, Any]) -> str:
    """Sorted-key compact JSON of a configuration."""
    return json.dumps(canonical(config), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def config_hash(config: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON: equal configurations hash equal whatever their key order."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


def _path(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if _IDENTIFIER.match(key) else f"{base}[{json.dumps(key)}]"


def _loc(prefix: str, absolute_path: Any) -> str:
    return ".".join([prefix, *(str(p) for p in absolute_path)])


def _entry(path: str, loc: str, msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "path": path, "msg": msg, "type": kind}


def _extra_keys(error: Any) -> list[str]:
    properties = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    patterns = error.schema.get("patternProperties", {}) if isinstance(error.schema, dict) else {}
    extras = []
    for key in error.instance:
        if key in properties or any(re.search(p, key) for p in patterns):
            continue
        extras.append(key)
    return extras


def _entries(error: Any, prefix: str) -> list[dict[str, Any]]:
    """One error as problem entries; an unknown property gets its own path."""
    kind = f"schema.{error.validator}"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extras = _extra_keys(error)
        if extras:
            return [
                _entry(
                    _path(error.json_path, key),
                    _loc(prefix, [*error.absolute_path, key]),
                    f"Unknown option {key!r}",
                    "schema.unknown_option",
                )
                for key in extras
            ]
    return [_entry(error.json_path, _loc(prefix, error.absolute_path), error.message, kind)]


def _sorted(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: (e["path"], e["type"], e["msg"]))


def schema_errors(schema: Any, *, prefix: str = "body.config_schema") -> list[dict[str, Any]]:
    """Every reason schema is not a usable JSON Schema 2020-12 for an object of options (empty when fine)."""
    from jsonschema import Draft202012Validator, SchemaError  # heavy SDK: loaded on first use (cold start)

    if not isinstance(schema, dict):
        return [_entry("$", prefix, "The schema must be a JSON object", "schema.type")]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        checker = Draft202012Validator.FORMAT_CHECKER
        meta = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=checker)
        return _sorted([e for err in meta.iter_errors(schema) for e in _entries(err, prefix)])
    problems = []
    if schema.get("$schema", DIALECT) != DIALECT:
        problems.append(_entry("$['$schema']", f"{prefix}.$schema", f"Only {DIALECT} is supported", "schema.dialect"))
    if schema.get("type") != "object":
        problems.append(_entry("$.type", f"{prefix}.type", "The root must be 'type': 'object'", "schema.type"))
    problems += [
        _entry("$", prefix, f"Cannot resolve $ref {ref!r}: only references inside the schema work", "schema.unusable")
        for ref in _unresolvable_refs(schema)
    ]
    if not problems:
        try:  # an unresolvable $ref or a pathological schema fails here, not on the first configuration
            list(Draft202012Validator(schema).iter_errors({}))
        except Exception as exc:  # anything the evaluator raises means the schema is unusable
            problems.append(_entry("$", prefix, f"The schema cannot be evaluated: {exc}"[:300], "schema.unusable"))
    return problems


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _pointer_resolves(root: Any, pointer: str) -> bool:
    node = root
    for raw in pointer.split("/")[1:] if pointer else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _unresolvable_refs(schema: dict[str, Any]) -> list[str]:
    """$refs that point outside the schema or at nothing in it (the evaluator never fetches anything)."""
    nodes = list(_walk(schema))
    anchors = {n["$anchor"] for n in nodes if isinstance(n.get("$anchor"), str)}
    bad = []
    for node in nodes:
        for key in ("$ref", "$dynamicRef"):
            ref = node.get(key)
            if isinstance(ref, str) and not _ref_resolves(schema, anchors, ref):
                bad.append(ref)
    return bad


def _ref_resolves(schema: dict[str, Any], anchors: set[str], ref: str) -> bool:
    if not ref.startswith("#"):
        return False
    fragment = ref[1:]
    if fragment == "" or fragment.startswith("/"):
        return _pointer_resolves(schema, fragment)
    return fragment in anchors


def check_schema(schema: Any) -> None:
    """422 listing every problem when schema is not a usable options schema."""
    problems = schema_errors(schema)
    if problems:
        raise Unprocessable(
            "config_schema is not a valid JSON Schema 2020-12 for options",
            code="invalid_config_schema",
            errors=problems,
        )


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    from jsonschema import Draft202012Validator  # heavy SDK: loaded on first use (cold start)

    return Draft202012Validator(json.loads(schema_json))


def config_errors(schema: dict[str, Any], config: Any, *, prefix: str = "body.config_data") -> list[dict[str, Any]]:
    """Every violation of schema by config, each with its JSON path, sorted by path."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    try:
        return _sorted([e for err in validator.iter_errors(config) for e in _entries(err, prefix)])
    except Exception as exc:  # the product's fault, not a 500
        return [_entry("$", prefix, f"The product's schema cannot be evaluated: {exc}"[:300], "schema.unusable")]


def check_config(schema: dict[str, Any], config: Any, *, code: str = "invalid_configuration") -> None:
    """422 listing every violation when config does not satisfy the product's schema."""
    errors = config_errors(schema, config)
    if errors:
        raise Unprocessable(
            f"config_data breaks the product's schema in {len(errors)} place(s)", code=code, errors=errors
        )
