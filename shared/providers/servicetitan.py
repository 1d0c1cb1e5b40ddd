"""ServiceTitan's documented HTTP API (Pricebook v2) through httpx, with a configurable base URL.

Auth is OAuth2 client credentials (`POST {auth}/connect/token`): the client id and secret belong to each
ServiceTitan tenant (a business's connection), the app key (`ST-App-Key`) is ours. Tokens last 900 s and
come with no refresh token, and token requests are throttled: each is cached per connection and asked for
again 60 s before it expires, one refresh at a time. Every call is paced by a per-ServiceTitan-tenant limiter
shared by all activities of the process (SERVICETITAN_MAX_RPS, under ServiceTitan's 60/s), honours
`Retry-After` on 429, backs off on 5xx and transport errors, and logs the method, path, status and the
vendor's trace id; never the secret or the token.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import httpx

from shared.config import Settings, get_settings

log = logging.getLogger("tradeops.providers.servicetitan")
KINDS = ("categories", "materials", "services", "equipment")
TOKEN_MARGIN_SECONDS = 60
MAX_429_RETRIES = 10
MAX_5XX_RETRIES = 4


@dataclass(frozen=True)
class Connection:
    """One business's ServiceTitan account: its tenant id there and its client credentials."""

    st_tenant_id: int
    client_id: str
    client_secret: str
    environment: str = "production"

    def __repr__(self) -> str:  # the secret never reaches a log line or a traceback
        return f"Connection(st_tenant_id={self.st_tenant_id}, client_id={self.client_id!r}, env={self.environment})"


class ServiceTitanError(Exception):
    """ServiceTitan refused or failed a call; `status` is its HTTP status (0: no answer at all)."""

    def __init__(self, status: int, title: str, *, trace_id: str | None = None, errors: Any = None) -> None:
        super().__init__(f"ServiceTitan {status}: {title}")
        self.status = status
        self.title = title[:300]
        self.trace_id = trace_id
        self.errors = errors

    @property
    def auth_refused(self) -> bool:
        """The credentials or the app's access were refused (not worth retrying)."""
        return isinstance(self, AuthError) or self.status in (401, 403)


class AuthError(ServiceTitanError):
    """The token endpoint refused the client credentials (400 invalid_client and friends)."""


class RateLimiter:
    """At most `rate` calls in any one-second window, across threads (ServiceTitan counts per second)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def acquire(self) -> None:
        """Wait until a call may go out."""
        capacity = max(1, int(self.rate))
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and now - self._sent[0] >= 1.0:
                    self._sent.popleft()
                wait = self._paused_until - now
                if wait <= 0 and len(self._sent) < capacity:
                    self._sent.append(now)
                    return
                if wait <= 0:
                    wait = 1.0 - (now - self._sent[0])
            self.waited_seconds += wait
            time.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Hold every caller of this bucket back (a 429's Retry-After applies to the app and tenant)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


_limiters: dict[tuple[str, int], RateLimiter] = {}
_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_token_locks: dict[tuple[str, str, str], threading.Lock] = {}
_registry_lock = threading.Lock()
_http: httpx.Client | None = None


def _client(settings: Settings) -> httpx.Client:
    global _http
    with _registry_lock:
        if _http is None:
            _http = httpx.Client(
                timeout=httpx.Timeout(settings.servicetitan_timeout_seconds, connect=10),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            )
        return _http


def limiter_for(api_base: str, st_tenant_id: int, rate: float) -> RateLimiter:
    """The process-wide limiter of one ServiceTitan tenant on one API."""
    with _registry_lock:
        key = (api_base, st_tenant_id)
        if key not in _limiters or _limiters[key].rate != rate:
            _limiters[key] = RateLimiter(rate)
        return _limiters[key]


def reset() -> None:
    """Forget cached tokens, limiters and the HTTP pool (tests, settings changes)."""
    global _http
    with _registry_lock:
        _limiters.clear()
        _tokens.clear()
        _token_locks.clear()
        if _http is not None:
            _http.close()
            _http = None


def _problem(response: httpx.Response) -> ServiceTitanError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    title = str(body.get("title") or body.get("error") or response.reason_phrase or "error")
    return ServiceTitanError(response.status_code, title, trace_id=body.get("traceId"), errors=body.get("errors"))


def _retry_after(response: httpx.Response) -> float:
    value = (response.headers.get("retry-after") or "").strip()
    try:
        return max(0.0, min(float(value), 60.0))
    except ValueError:
        return 1.0


class ServiceTitanClient:
    """The calls the pricebook makes, for one connection."""

    def __init__(self, connection: Connection, *, settings: Settings | None = None) -> None:
        self.connection = connection
        self.settings = settings or get_settings()
        integration = connection.environment == "integration"
        s = self.settings
        self.auth_url = (s.servicetitan_integration_auth_url if integration else s.servicetitan_auth_url).rstrip("/")
        self.api_base = (
            s.servicetitan_integration_api_base_url if integration else s.servicetitan_api_base_url
        ).rstrip("/")
        self.limiter = limiter_for(self.api_base, connection.st_tenant_id, s.servicetitan_max_rps)
        secret_hash = hashlib.sha256(connection.client_secret.encode()).hexdigest()
        self._token_key = (self.auth_url, connection.client_id, secret_hash)

    # --- auth --------------------------------------------------------------------------------------------

    def token(self, *, force: bool = False) -> str:
        """A bearer token of this connection: the cached one until 60 s before it expires."""
        with _registry_lock:
            lock = _token_locks.setdefault(self._token_key, threading.Lock())
        with lock:  # one refresh at a time: the others wait and take the new token
            cached = _tokens.get(self._token_key)
            if cached and not force and cached[1] - TOKEN_MARGIN_SECONDS > time.monotonic():
                return cached[0]
            token, expires_in = self._request_token()
            _tokens[self._token_key] = (token, time.monotonic() + expires_in)
            return token

    def _request_token(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.connection.client_id,
            "client_secret": self.connection.client_secret,
        }
        try:
            response = _client(self.settings).post(f"{self.auth_url}/connect/token", data=form)
        except httpx.HTTPError as exc:
            raise ServiceTitanError(0, f"token request failed: {type(exc).__name__}") from None
        log.info("servicetitan POST /connect/token -> %s", response.status_code, extra={"status": response.status_code})
        if response.status_code != 200:
            problem = _problem(response)
            raise AuthError(response.status_code, problem.title, trace_id=problem.trace_id)
        body = response.json()
        return str(body["access_token"]), float(body.get("expires_in") or 900)

    # --- calls -------------------------------------------------------------------------------------------

    def _path(self, path: str) -> str:
        return f"{self.api_base}/pricebook/v2/tenant/{self.connection.st_tenant_id}/{path.lstrip('/')}"

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> httpx.Response:
        """One API call with pacing, 429 and 5xx retries; raises ServiceTitanError for any other failure."""
        url, throttled, failures, refreshed = self._path(path), 0, 0, False
        while True:
            self.limiter.acquire()
            headers = {"Authorization": f"Bearer {self.token()}", "ST-App-Key": self.settings.servicetitan_app_key}
            try:
                response = _client(self.settings).request(method, url, params=params, json=json, headers=headers)
            except httpx.HTTPError as exc:
                failures += 1
                if failures > MAX_5XX_RETRIES:
                    raise ServiceTitanError(0, f"no answer: {type(exc).__name__}") from None
                time.sleep(min(0.25 * 2**failures, 8))
                continue
            log.info(
                "servicetitan %s /%s -> %s",
                method,
                path.split("?")[0],
                response.status_code,
                extra={"status": response.status_code, "vendor_request_id": response.headers.get("x-request-id")},
            )
            if response.status_code == 429 and throttled < MAX_429_RETRIES:
                throttled += 1
                self.limiter.pause(_retry_after(response))  # acquire() waits it out, for every thread
                continue
            if response.status_code >= 500 and failures < MAX_5XX_RETRIES:
                failures += 1
                time.sleep(min(0.25 * 2**failures, 8))
                continue
            if response.status_code == 401 and not refreshed:  # a token revoked early: ask once more
                refreshed = True
                self.token(force=True)
                continue
            if response.status_code >= 400 and response.status_code != 302:
                raise _problem(response)
            return response

    def export(self, kind: str, continue_from: str | None) -> dict[str, Any]:
        """One page of a kind's export feed: `{hasMore, continueFrom, data}` (inactive and deleted included)."""
        params = {"from": continue_from} if continue_from else None
        return self.request("GET", f"export/{kind}", params=params).json()

    def list_page(self, kind: str, *, page: int = 1, page_size: int = 50, **filters: Any) -> dict[str, Any]:
        """One page of a kind's list: `{page, pageSize, hasMore, totalCount, data}`."""
        params = {"page": page, "pageSize": page_size, **filters}
        return self.request("GET", kind, params=params).json()

    def get(self, kind: str, item_id: int) -> dict[str, Any]:
        """One item as ServiceTitan has it now."""
        return self.request("GET", f"{kind}/{item_id}").json()

    def patch(self, kind: str, item_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """A partial update (only the given fields); ServiceTitan answers the full item."""
        return self.request("PATCH", f"{kind}/{item_id}", json=fields).json()

    def create(self, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A new item; ServiceTitan answers it with its id."""
        return self.request("POST", kind, json=fields).json()

    def image(self, path: str) -> tuple[bytes, str] | None:
        """An image's bytes and content type, following the 302 to the file; None when there is none."""
        try:
            response = self.request("GET", "images", params={"path": path})
        except ServiceTitanError as exc:
            if exc.status == 404:
                return None
            raise
        if response.status_code == 302:
            location = response.headers.get("location")
            if not location:
                return None
            # The file lives elsewhere (storage): our bearer token and app key are not sent there.
            file = _client(self.settings).get(str(response.url.join(location)))
            if file.status_code == 404:
                return None
            if file.status_code >= 400:
                raise ServiceTitanError(file.status_code, "image download failed")
            response = file
        return response.content, response.headers.get("content-type", "application/octet-stream").split(";")[0]

    def check(self) -> None:
        """A connection test: a token, then the smallest read of the pricebook (raises on refusal)."""
        self.token(force=True)
        self.list_page("categories", page=1, page_size=1)
