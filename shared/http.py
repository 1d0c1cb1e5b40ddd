"""The route decorator every HTTP trigger uses: validation, auth hooks, problem+json, request ids, registry.

No `from __future__ import annotations` here: the Functions worker reads the wrapper's real annotations.
"""

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypedDict, cast
from urllib.parse import parse_qsl, quote

import azure.functions as func
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError
from typing_extensions import TypeVar

from shared import auth, lazy, tracing
from shared.errors import (
    AppError,
    BadRequest,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unprocessable,
    UnsupportedMediaType,
    validation_errors,
)
from shared.telemetry import REDACTED, invocation, sensitive_key, tenant_id_var

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shared import audit, config, db, idempotency, runtime, storage
else:  # loaded on the first request: routes are declared (indexing) without SQLAlchemy, settings or storage
    audit = lazy.module("shared.audit")
    config = lazy.module("shared.config")
    db = lazy.module("shared.db")
    idempotency = lazy.module("shared.idempotency")
    runtime = lazy.module("shared.runtime")
    storage = lazy.module("shared.storage")

log = logging.getLogger("tradeops.http")
BodyT = TypeVar("BodyT", default=None)
QueryT = TypeVar("QueryT", default=None)

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# A route's body_format: the media types its body may be sent as (the OpenAPI document lists each).
BODY_MEDIA_TYPES: dict[str, tuple[str, ...]] = {"json": (JSON,), "form": (FORM,), "json_or_form": (JSON, FORM)}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# JSON bodies nest at most this deep: deeper ones are refused before parsing, not left to the recursion limit.
MAX_JSON_DEPTH = 64
# NUL (PostgreSQL refuses it in text) and lone UTF-16 surrogates (not encodable as UTF-8): never storable.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_HOST_AUTH = {
    "anonymous": func.AuthLevel.ANONYMOUS,
    "user": func.AuthLevel.ANONYMOUS,
    "webhook": func.AuthLevel.ANONYMOUS,
    "function": func.AuthLevel.FUNCTION,
    "admin": func.AuthLevel.ADMIN,
}


@dataclass
class RouteSpec:
    """What one HTTP route accepts and answers; the OpenAPI document is generated from these."""

    name: str
    module: str
    route: str
    methods: list[str]
    auth: str
    summary: str
    status: int = 200
    permission: str | None = None
    feature: str | None = None
    query_model: type[BaseModel] | None = None
    body_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    body_format: str = "json"
    max_body_bytes: int | None = None
    verify: "Callable[[Request], Any] | None" = None
    problem_headers: "Callable[[Request], dict[str, str]] | None" = None
    starts_app: bool = True
    idempotent: bool = False
    responses: dict[int, str] = field(default_factory=dict)
    content_type: str = "application/json"


REGISTRY: list[RouteSpec] = []
_DEFAULT_BODY_LIMIT = 1024  # routes with starts_app=False take no body worth the name


@dataclass
class Response:
    """A handler's answer when it needs a status, headers or a non-JSON body of its own."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None


class Request(Generic[BodyT, QueryT]):
    """What a handler receives: the validated input and a trigger-owned database session.

    Anonymous and webhook routes take `Request[Body, Query]`; signed-in routes take `UserRequest`.
    """

    def __init__(self, raw: func.HttpRequest, spec: RouteSpec, request_id: str, stack: ExitStack) -> None:
        self.raw = raw
        self.spec = spec
        self.request_id = request_id
        self.route_params: dict[str, str] = dict(raw.route_params or {})
        self.query: QueryT = cast(QueryT, None)
        self.body: BodyT = cast(BodyT, None)
        self.verified: Any = None  # what a webhook route's verify hook returned (e.g. the signed parameters)
        self._principal: auth.Principal | None = None
        self._stack = stack
        self._session: Session | None = None

    @property
    def principal(self) -> auth.Principal | None:
        """The signed-in caller, on routes that have one."""
        return self._principal

    @property
    def headers(self) -> Any:
        """The request headers (case-insensitive)."""
        return self.raw.headers

    @property
    def client_ip(self) -> str | None:
        """The caller's address as our front end saw it, never one the caller could write.

        CLIENT_IP_HEADER names a header our front end overwrites (App Service's `client-ip`, the default);
        without it, the entry of X-Forwarded-For FORWARDED_FOR_HOPS from the right is the one our nearest
        proxy appended (entries further left are whatever the caller claimed).
        """
        settings = config.get_settings()
        given = (self.raw.headers.get(settings.client_ip_header) or "").strip() if settings.client_ip_header else ""
        if given:
            return _without_port(given)
        forwarded = [part.strip() for part in (self.raw.headers.get("x-forwarded-for") or "").split(",")]
        forwarded = [part for part in forwarded if part]
        if not forwarded:
            return None
        return _without_port(forwarded[max(0, len(forwarded) - settings.forwarded_for_hops)])

    @property
    def user_agent(self) -> str | None:
        """The caller's User-Agent header."""
        return self.raw.headers.get("user-agent")

    @property
    def session(self) -> "Session":
        """The request's database session, opened on first use and committed when the handler succeeds."""
        if self._session is None:
            tenant = self._principal.tenant_id if self._principal else None
            self._session = self._stack.enter_context(db.session_scope(tenant_id=tenant))
        return self._session

    def use_session(self, session: "Session") -> None:
        """Hand the request a transaction already opened on its stack (and bound to the caller's tenant)."""
        assert self._session is None, "the request already has its transaction"
        self._session = session

    @property
    def actor(self) -> "audit.Actor":
        """Who did it, for audit rows: the principal (if any), address, agent and request id."""
        return audit.actor_of(self)

    def uuid_param(self, name: str) -> uuid.UUID:
        """A route parameter that must be a UUID; anything else names no resource (404)."""
        try:
            return uuid.UUID(self.route_params[name])
        except (KeyError, ValueError) as exc:
            raise NotFound(f"No such {name.removesuffix('_id') or 'resource'}") from exc


class Reads(TypedDict):
    """The keywords a read of the caller's business takes: `service.get(**req.reads, ...)`."""

    session: "Session"
    principal: auth.Principal


class Writes(Reads):
    """The keywords an audited change takes: `service.create(**req.writes, ...)`."""

    actor: "audit.Actor"


class UserRequest(Request[BodyT, QueryT]):
    """A signed-in route's request: its principal is always there, and typed."""

    def __init__(
        self,
        raw: func.HttpRequest,
        spec: RouteSpec,
        request_id: str,
        stack: ExitStack,
        principal: auth.Principal,
    ) -> None:
        super().__init__(raw, spec, request_id, stack)
        self._principal = principal
        self._signed_in = principal

    @property
    def principal(self) -> auth.Principal:
        """The signed-in caller."""
        return self._signed_in

    @property
    def reads(self) -> Reads:
        """session and principal, as keywords for a service read."""
        return Reads(session=self.session, principal=self._signed_in)

    @property
    def writes(self) -> Writes:
        """session, principal and actor, as keywords for an audited service change."""
        return Writes(session=self.session, principal=self._signed_in, actor=self.actor)


Handler = Callable[[Any], Any]


def _without_port(address: str) -> str:
    """203.0.113.7:52814 -> 203.0.113.7, [2001:db8::1]:443 -> 2001:db8::1; bare addresses unchanged."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else address


def _request_id(raw: func.HttpRequest) -> str:
    given = raw.headers.get("x-request-id")
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


def _json(body: Any) -> bytes:
    if isinstance(body, BaseModel):
        return body.model_dump_json().encode()
    return json.dumps(body, default=_json_default, separators=(",", ":")).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text.replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def problem_response(error: AppError, *, request_id: str, instance: str | None = None) -> func.HttpResponse:
    """An AppError as an RFC 9457 application/problem+json response."""
    headers = {"X-Request-Id": request_id, **error.headers}
    body = error.to_problem(instance=instance, request_id=request_id)
    return func.HttpResponse(_json(body), status_code=error.status, headers=headers, mimetype=PROBLEM_JSON)


def _parse_body(raw: func.HttpRequest, spec: RouteSpec) -> Any:
    data = raw.get_body() or b""
    content_type = (raw.headers.get("content-type") or "").split(";")[0].strip().lower()
    media_types = BODY_MEDIA_TYPES[spec.body_format]
    if content_type == FORM and FORM in media_types:
        payload: Any = dict(parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True))
    elif JSON not in media_types or (content_type != JSON and not content_type.endswith("+json")):
        raise UnsupportedMediaType(f"Send the body as {' or '.join(media_types)}", code="unsupported_media_type")
    else:
        if _json_depth(data) > MAX_JSON_DEPTH:
            raise BadRequest(f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels", code="json_too_deep")
        try:
            payload = json.loads(data) if data else None
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise BadRequest(f"The body is not valid JSON: {exc}", code="malformed_json") from exc
        if payload is None:
            missing = [{"loc": "body", "msg": "Field required", "type": "missing"}]
            raise Unprocessable("A JSON body is required", errors=missing)
    _refuse_unstorable([("body", payload)])
    assert spec.body_model is not None
    try:
        return spec.body_model.model_validate(payload)
    except ValidationError as exc:
        raise Unprocessable("The body is not valid", errors=validation_errors(exc, location="body")) from exc


def _json_depth(data: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in b"[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_JSON_DEPTH:
                break
    return deepest


def _refuse_unstorable(inputs: list[tuple[str, Any]]) -> None:
    """422 naming every string (or key) of the input with a NUL or a lone surrogate, which no column can store."""
    errors = []
    pending = list(inputs)
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                msg = "String should not contain NUL characters or unpaired surrogates"
                errors.append({"loc": path, "msg": msg, "type": "string_unstorable_character"})
        elif isinstance(value, dict):
            for key, item in value.items():
                pending.append((f"{path}.{key}", key))
                pending.append((f"{path}.{key}", item))
        elif isinstance(value, list):
            pending += [(f"{path}.{index}", item) for index, item in enumerate(value)]
    if errors:
        unique = list({error["loc"]: error for error in errors}.values())
        raise Unprocessable("The request holds characters no text can store", errors=sorted(unique, key=_loc))


def _loc(error: dict[str, Any]) -> str:
    return str(error["loc"])


def _parse_query(raw: func.HttpRequest, spec: RouteSpec) -> Any:
    assert spec.query_model is not None
    try:
        return spec.query_model.model_validate(dict(raw.params or {}))
    except ValidationError as exc:
        raise Unprocessable("The query is not valid", errors=validation_errors(exc, location="query")) from exc


def _check_size(raw: func.HttpRequest, limit: int) -> None:
    declared = raw.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body exceeds {limit} bytes")
    if len(raw.get_body() or b"") > limit:
        raise PayloadTooLarge(f"The body exceeds {limit} bytes")


def _render(spec: RouteSpec, result: Any, request_id: str) -> func.HttpResponse:
    if isinstance(result, func.HttpResponse):
        result.headers["X-Request-Id"] = request_id
        return result
    response = result if isinstance(result, Response) else Response(body=result, status=spec.status)
    headers = {"X-Request-Id": request_id, **response.headers}
    if response.body is None and response.content_type is None:
        return func.HttpResponse(status_code=204 if response.status == 200 else response.status, headers=headers)
    body = response.body
    if spec.response_model is not None and not isinstance(body, (BaseModel, bytes, str)):
        body = spec.response_model.model_validate(body, from_attributes=True)
    content_type = response.content_type or spec.content_type
    if isinstance(body, bytes):
        data = body
    elif isinstance(body, str) and content_type != "application/json":
        data = body.encode()
    else:
        data = _json(body)
    return func.HttpResponse(data, status_code=response.status, headers=headers, mimetype=content_type)


def _run(spec: RouteSpec, handler: Handler, request: Request[Any, Any], stack: ExitStack) -> func.HttpResponse:
    """Call the handler, or replay the stored response of an earlier request with the same Idempotency-Key."""
    if not spec.idempotent:
        return _render(spec, handler(request), request.request_id)
    claim = idempotency.claim(request)
    if isinstance(claim, func.HttpResponse):
        return _render(spec, claim, request.request_id)
    if claim is not None:

        def release_on_error(exc_type: Any, *_: Any) -> bool:
            # Runs after the session scope unwinds: the key is given back when the handler or commit failed.
            if exc_type is not None:
                idempotency.release(claim)
            return False

        stack.push(release_on_error)
    response = _render(spec, handler(request), request.request_id)
    if claim is not None:
        idempotency.complete(request, claim, response)
    return response


def _request(raw: func.HttpRequest, spec: RouteSpec, request_id: str, stack: ExitStack) -> Request[Any, Any]:
    """The handler's request: signed-in routes authenticate and authorise first."""
    if spec.auth != "user":
        return Request(raw, spec, request_id, stack)
    opened: list[Session] = []

    def open_session() -> "Session":
        opened.append(stack.enter_context(db.session_scope()))
        return opened[0]

    # The sign-in is checked on the request's own transaction, which the handler then uses: one connection per
    # request. Not on idempotent routes: their key is claimed and completed in transactions of their own, and a
    # request holding its own connection while it waits for another could starve the pool under concurrent POSTs.
    principal = auth.authenticate(raw, open_session=None if spec.idempotent else open_session)
    tenant_id_var.set(str(principal.tenant_id))
    auth.authorize(principal, permission=spec.permission, feature=spec.feature)
    request = UserRequest(raw, spec, request_id, stack, principal)
    if opened:
        request.use_session(opened[0])
    return request


def dispatch(spec: RouteSpec, handler: Handler, raw: func.HttpRequest) -> func.HttpResponse:
    """Run one handler inside the conventions: ids, limits, auth, validation, transaction, problem+json."""
    request_id = _request_id(raw)
    traced = {"http.route": spec.route, "http.request.method": raw.method}
    with (
        invocation(spec.name, request_id) as timing,
        tracing.span(
            spec.name, traceparent=raw.headers.get("traceparent"), kind=SpanKind.SERVER, attributes=traced
        ) as span,
    ):
        status = 500
        try:
            # A route that starts nothing (liveness) answers even when the settings refuse to load.
            app_limit = runtime.ensure_started().max_body_bytes if spec.starts_app else _DEFAULT_BODY_LIMIT
            limit = spec.max_body_bytes or app_limit
            with ExitStack() as stack:
                _check_size(raw, limit)
                request = _request(raw, spec, request_id, stack)
                try:
                    if spec.verify is not None:  # a webhook proves who sent it before anything it sent is read
                        request.verified = spec.verify(request)
                    _refuse_unstorable([("path", dict(raw.route_params or {})), ("query", dict(raw.params or {}))])
                    if spec.query_model is not None:
                        request.query = _parse_query(raw, spec)
                    if spec.body_model is not None:
                        request.body = _parse_body(raw, spec)
                    response = _run(spec, handler, request, stack)
                except AppError as error:  # still inside the request's transaction, which then rolls back
                    if spec.problem_headers is not None:
                        error.headers.update(spec.problem_headers(request))
                    raise
            status = response.status_code
            return response
        except AppError as error:
            status = error.status
            return problem_response(error, request_id=request_id, instance=raw.url and _path(raw.url))
        except Exception as exc:
            down = _database_down() if db.is_outage(exc) else _storage_down() if storage.is_outage(exc) else None
            if down is not None:  # an outage is the caller's to retry, not a bug with a stack
                status = 503
                log.warning("%s in %s: %s", down.code, spec.name, type(exc.__cause__ or exc).__name__)
                return problem_response(down, request_id=request_id)
            log.exception("unhandled error in %s", spec.name)
            return problem_response(AppError("An unexpected error occurred"), request_id=request_id)
        finally:
            span.set_attribute("http.response.status_code", status)
            log.info(
                "%s %s -> %s",
                raw.method,
                _logged_path(raw),
                status,
                extra={"status": status, "route": spec.route, "duration_ms": timing_ms(timing)},
            )


def _database_down() -> ServiceUnavailable:
    return ServiceUnavailable(
        "The database is unavailable; try again shortly",
        code="database_unavailable",
        headers={"Retry-After": str(db.OUTAGE_RETRY_AFTER_SECONDS)},
    )


def _storage_down() -> ServiceUnavailable:
    return ServiceUnavailable(
        "Storage is unavailable; try again shortly",
        code="storage_unavailable",
        headers={"Retry-After": str(db.OUTAGE_RETRY_AFTER_SECONDS)},
    )


def timing_ms(timing: dict[str, Any]) -> float:
    """Milliseconds since the invocation started."""
    return round((time.perf_counter() - timing["started"]) * 1000, 2)


def _logged_path(raw: func.HttpRequest) -> str:
    """The path for the request log line, with capability parameters (link tokens, share codes) blanked."""
    path = _path(raw.url)
    for name, value in (raw.route_params or {}).items():
        if value and sensitive_key(name):
            path = path.replace(quote(value, safe=""), REDACTED).replace(value, REDACTED)
    return path


def _path(url: str) -> str:
    return re.sub(r"^[a-z]+://[^/]+", "", url or "").split("?")[0]


class Router:
    """A module's routes on its Blueprint: `api = Router(bp, module="crm")`, then `@api.get(...)`."""

    def __init__(self, blueprint: Any, *, module: str, feature: str | None = None) -> None:
        self.blueprint = blueprint
        self.module = module
        self.feature = feature

    def route(
        self,
        route: str,
        *,
        methods: list[str],
        summary: str,
        auth: str = "user",
        name: str | None = None,
        status: int = 200,
        permission: str | None = None,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        body_format: str = "json",
        max_body_bytes: int | None = None,
        idempotent: bool = False,
        responses: dict[int, str] | None = None,
        content_type: str = "application/json",
        verify: Callable[[Request], Any] | None = None,
        starts_app: bool = True,
        problem_headers: Callable[[Request], dict[str, str]] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register handler as an HTTP trigger for route (no leading slash, no `api/` prefix).

        `body_format` is how the body may be sent: "json", "form" (form-encoded) or "json_or_form" (either, by
        its Content-Type; a website's plain <form> post or its script's JSON); the document lists each.
        A webhook (auth="webhook") names its `verify` hook: it runs before the query and body are read and
        raises Forbidden for a request its sender did not sign; what it returns is `request.verified`.
        `problem_headers` adds headers to any problem answer once the request is made (its transaction still
        open): a public form's CORS headers, so the business's own site can read why it was refused.
        `starts_app=False` answers without loading settings or opening the database (liveness).
        """
        if auth not in _HOST_AUTH:
            raise ValueError(f"unknown auth kind {auth!r}")
        if body_format not in BODY_MEDIA_TYPES:
            raise ValueError(f"unknown body format {body_format!r}")
        if (auth == "webhook") != (verify is not None):
            raise ValueError("a webhook route needs a verify hook, and only a webhook route takes one")

        def decorate(handler: Handler) -> Handler:
            spec = RouteSpec(
                name=name or f"{self.module}_{handler.__name__}",
                module=self.module,
                route=route,
                methods=[m.upper() for m in methods],
                auth=auth,
                summary=summary,
                status=status,
                permission=permission,
                feature=self.feature,
                query_model=query,
                body_model=body,
                response_model=response,
                body_format=body_format,
                max_body_bytes=max_body_bytes,
                idempotent=idempotent,
                responses=dict(responses or {}),
                content_type=content_type,
                verify=verify,
                starts_app=starts_app,
                problem_headers=problem_headers,
            )

            def http_trigger(req: func.HttpRequest) -> func.HttpResponse:
                return dispatch(spec, handler, req)

            http_trigger.__name__ = spec.name
            http_trigger.__qualname__ = spec.name
            http_trigger.__doc__ = summary
            self.blueprint.function_name(name=spec.name)(
                self.blueprint.route(route=route, methods=spec.methods, auth_level=_HOST_AUTH[auth])(http_trigger)
            )
            REGISTRY.append(spec)
            return handler

        return decorate

    def get(self, route: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        """A GET route."""
        return self.route(route, methods=["GET"], **kwargs)

    def post(self, route: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        """A POST route (201 unless status says otherwise); signed-in users' POSTs honour Idempotency-Key."""
        kwargs.setdefault("status", 201)
        kwargs.setdefault("idempotent", kwargs.get("auth", "user") == "user")
        return self.route(route, methods=["POST"], **kwargs)

    def patch(self, route: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        """A PATCH route."""
        return self.route(route, methods=["PATCH"], **kwargs)

    def put(self, route: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        """A PUT route."""
        return self.route(route, methods=["PUT"], **kwargs)

    def delete(self, route: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        """A DELETE route (204)."""
        kwargs.setdefault("status", 204)
        return self.route(route, methods=["DELETE"], **kwargs)
