"""One error hierarchy: services raise these; shared/http.py renders them as RFC 9457 problems."""

from __future__ import annotations

from typing import Any

from shared.schema import BaseModel  # built on first use (defer_build), not at import


class FieldError(BaseModel):
    """One entry of a problem's `errors` (what the OpenAPI document promises): where the input is wrong and why."""

    loc: str  # dotted path from where the input came: body.items.0.name, query.limit, path.name
    msg: str
    type: str
    path: str | None = None  # a JSON path inside a free-form document (configurations, options schemas)


class AppError(Exception):
    """An error the caller can act on: an HTTP status, a stable code and a human detail."""

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.detail = detail or self.title
        if code:
            self.code = code
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(self.detail)

    def to_problem(self, *, instance: str | None = None, request_id: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        problem: dict[str, Any] = {
            "type": f"https://tradeops.dev/problems/{self.code.replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            problem["instance"] = instance
        if request_id:
            problem["request_id"] = request_id
        if self.errors:
            problem["errors"] = self.errors
        problem.update(self.extra)
        return problem


class BadRequest(AppError):
    status, code, title = 400, "bad_request", "Bad Request"


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="tradeops"')


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not Found"


class MethodNotAllowed(AppError):
    status, code, title = 405, "method_not_allowed", "Method Not Allowed"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class Gone(AppError):
    status, code, title = 410, "gone", "Gone"


class PreconditionFailed(AppError):
    status, code, title = 412, "precondition_failed", "Precondition Failed"


class PayloadTooLarge(AppError):
    status, code, title = 413, "payload_too_large", "Payload Too Large"


class UnsupportedMediaType(AppError):
    status, code, title = 415, "unsupported_media_type", "Unsupported Media Type"


class Unprocessable(AppError):
    status, code, title = 422, "validation_failed", "Unprocessable Content"


class PreconditionRequired(AppError):
    status, code, title = 428, "precondition_required", "Precondition Required"


class RateLimited(AppError):
    status, code, title = 429, "rate_limited", "Too Many Requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = max(1, int(retry_after))
        self.headers["Retry-After"] = str(self.retry_after)


class ServiceUnavailable(AppError):
    status, code, title = 503, "service_unavailable", "Service Unavailable"


class BadGateway(AppError):
    status, code, title = 502, "bad_gateway", "Bad Gateway"


def validation_errors(exc: Any, *, location: str) -> list[dict[str, Any]]:
    """Pydantic errors as [{loc, msg, type}] with dotted paths prefixed by where the input came from."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(p) for p in (location, *err.get("loc", ())))
        out.append({"loc": path, "msg": err.get("msg", ""), "type": err.get("type", "")})
    return out
