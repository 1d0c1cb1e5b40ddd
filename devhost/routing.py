"""Functions route templates (`items/{id:int}/{name?}`, `{*rest}`) compiled and matched like the host does."""

from __future__ import annotations

import heapq
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_TOKEN = re.compile(r"^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)((?::[^=?}]+(?:\([^)]*\))?)*)(\?)?(?:=([^}]*))?\}$")
_CONSTRAINT = re.compile(r":([a-zA-Z]+)(?:\(([^)]*)\))?")


def _is_int(v: str) -> bool:
    return re.fullmatch(r"-?\d+", v) is not None


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return v.strip().lower() not in ("nan", "inf", "-inf", "infinity")


def _is_guid(v: str) -> bool:
    try:
        uuid.UUID(v)
    except ValueError:
        return False
    return True


def _is_datetime(v: str) -> bool:
    try:
        datetime.fromisoformat(v)
    except ValueError:
        return False
    return True


def _constraint(name: str, arg: str | None) -> Callable[[str], bool]:
    args = [a.strip() for a in arg.split(",")] if arg else []
    simple: dict[str, Callable[[str], bool]] = {
        "int": _is_int,
        "long": _is_int,
        "double": _is_float,
        "float": _is_float,
        "decimal": _is_float,
        "bool": lambda v: v.lower() in ("true", "false"),
        "guid": _is_guid,
        "datetime": _is_datetime,
        "alpha": lambda v: v.isalpha() and v.isascii(),
    }
    if name in simple:
        return simple[name]
    if name == "minlength":
        return lambda v: len(v) >= int(args[0])
    if name == "maxlength":
        return lambda v: len(v) <= int(args[0])
    if name == "length":
        if len(args) == 1:
            return lambda v: len(v) == int(args[0])
        return lambda v: int(args[0]) <= len(v) <= int(args[1])
    if name == "min":
        return lambda v: _is_int(v) and int(v) >= int(args[0])
    if name == "max":
        return lambda v: _is_int(v) and int(v) <= int(args[0])
    if name == "range":
        return lambda v: _is_int(v) and int(args[0]) <= int(v) <= int(args[1])
    if name == "regex":
        pattern = re.compile(arg or "")
        return lambda v: pattern.search(v) is not None
    raise ValueError(f"unsupported route constraint :{name}")


@dataclass
class Segment:
    """One path segment of a template: a literal, or a parameter with its constraints."""

    literal: str | None = None
    name: str | None = None
    checks: list[Callable[[str], bool]] = field(default_factory=list)
    optional: bool = False
    catch_all: bool = False
    default: str | None = None

    @property
    def rank(self) -> int:
        """Precedence like ASP.NET routing: literals, then constrained, plain, optional, catch-all."""
        if self.literal is not None:
            return 0
        if self.catch_all:
            return 4
        if self.optional or self.default is not None:
            return 3
        return 1 if self.checks else 2


def parse_template(template: str) -> list[Segment]:
    """Split a route template into segments."""
    segments = []
    for part in template.strip("/").split("/") if template.strip("/") else []:
        match = _TOKEN.match(part)
        if not match:
            if "{" in part or "}" in part:
                raise ValueError(f"unsupported route segment {part!r}")
            segments.append(Segment(literal=part.lower()))
            continue
        star, name, constraints, optional, default = match.groups()
        checks = [_constraint(c.lower(), a) for c, a in _CONSTRAINT.findall(constraints or "")]
        segments.append(
            Segment(name=name, checks=checks, optional=bool(optional), catch_all=bool(star), default=default)
        )
    return segments


@dataclass
class Route:
    """A compiled route template bound to whatever the caller wants back on a match."""

    template: str
    target: Any
    methods: frozenset[str] | None
    segments: list[Segment] = field(init=False)

    def __post_init__(self) -> None:
        self.segments = parse_template(self.template)

    def match(self, path: str) -> dict[str, str] | None:
        """The route parameters if path matches this template, else None."""
        return self.match_parts(_parts(path))

    def match_parts(self, parts: list[str]) -> dict[str, str] | None:
        """match() for a path already split into its segments."""
        params: dict[str, str] = {}
        for i, seg in enumerate(self.segments):
            if seg.catch_all:
                rest = "/".join(parts[i:])
                if rest:
                    params[seg.name or ""] = rest
                return params
            if i >= len(parts):
                if seg.literal is None and (seg.optional or seg.default is not None):
                    if seg.default is not None:
                        params[seg.name or ""] = seg.default
                    continue
                return None
            value = parts[i]
            if seg.literal is not None:
                if value.lower() != seg.literal:
                    return None
                continue
            if not value or not all(check(value) for check in seg.checks):
                return None
            params[seg.name or ""] = value
        return params if len(parts) <= len(self.segments) else None

    def lengths(self) -> tuple[int, float]:
        """The fewest and the most path segments the template can match (a catch-all takes any number)."""
        fewest = 0
        for i, seg in enumerate(self.segments):
            if seg.catch_all:
                return fewest, float("inf")
            if seg.literal is not None or not (seg.optional or seg.default is not None):
                fewest = i + 1
        return fewest, len(self.segments)

    def literal_prefix(self, most: int) -> tuple[str, ...]:
        """The template's leading literal segments (at most `most`): a path must start with them to match."""
        prefix: list[str] = []
        for seg in self.segments[:most]:
            if seg.literal is None:
                break
            prefix.append(seg.literal)
        return tuple(prefix)

    @property
    def precedence(self) -> tuple[int, ...]:
        """Sort key: more specific templates first."""
        return (*(seg.rank for seg in self.segments), 9)


def _parts(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


# Routes are looked up by their first two literal segments ("v1/estimates"), so a request is matched against the
# few templates that can serve it, not every template of the app (~190); of those, only the ones that can match as
# many segments as the path has are tried.
PREFIX_SEGMENTS = 2


class RouteTable:
    """Every HTTP trigger's route, matched most specific first."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: r.precedence)
        self._by_prefix: dict[tuple[str, ...], list[tuple[int, Route, int, float]]] = {}
        for index, route in enumerate(self.routes):
            entry = (index, route, *route.lengths())
            self._by_prefix.setdefault(route.literal_prefix(PREFIX_SEGMENTS), []).append(entry)

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route that serves method and path, with its parameters; None when nothing does."""
        parts = _parts(path)
        lowered = tuple(part.lower() for part in parts[:PREFIX_SEGMENTS])
        # the templates whose literal prefix the path starts with, in the table's order of precedence
        buckets = [self._by_prefix.get(lowered[:n], []) for n in range(len(lowered) + 1)]
        count = len(parts)
        for _, route, fewest, most in heapq.merge(*buckets, key=lambda entry: entry[0]):
            if not fewest <= count <= most:
                continue
            params = route.match_parts(parts)
            if params is None:
                continue
            if route.methods is None or method.upper() in route.methods:
                return route, params
        return None
