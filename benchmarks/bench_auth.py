"""What authentication plus tenant context cost per request: the same handler dispatched in-process
through shared/http.py as a signed-in user (JWT check, session/user/tenant lookup, RLS tenant bound on
the request's transaction) and anonymously (no auth, no tenant), against an embedded PostgreSQL this
script starts itself (loopback/unix socket only) unless BENCH_DATABASE_ADMIN_URL names one.

No HTTP client is involved (the requests are dispatched in-process), so none of the client's cost is in these
figures. Last line: one JSON object with the figures (target: under 2 ms added per request).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

REQUESTS = 2000
WARMUP = 200
TARGET_MS = 2.0


def _routes() -> tuple[object, object]:
    """Two routes with one handler (a one-row query on the request's session): signed-in and anonymous."""
    import azure.durable_functions as df
    from sqlalchemy import text

    import blueprints.identity.functions  # noqa: F401  (registers the authenticator)
    from shared.http import REGISTRY, Router, dispatch

    api = Router(df.Blueprint(), module="bench")

    def handler(req: object) -> dict[str, int]:
        return {"one": req.session.execute(text("SELECT 1")).scalar_one()}  # type: ignore[attr-defined]

    api.get("bench/user", summary="signed in")(handler)
    api.get("bench/anonymous", auth="anonymous", summary="anonymous")(handler)
    user_spec, anonymous_spec = REGISTRY[-2], REGISTRY[-1]
    return (lambda raw: dispatch(user_spec, handler, raw)), (lambda raw: dispatch(anonymous_spec, handler, raw))


def _access_token() -> str:
    from blueprints.identity import sessions
    from blueprints.identity.schemas import RegisterIn
    from shared import audit
    from shared.db import session_scope

    register_in = RegisterIn(
        tenant_name="Bench Shop",
        name="Bench",
        email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
        password="bench-password-123",
        timezone="UTC",
    )
    with session_scope() as session:
        pair = sessions.register(session=session, register_in=register_in, actor=audit.Actor(ip="127.0.0.1"))
    assert not isinstance(pair, Exception), pair
    return pair.access_token


def _timings(call: object, raw: object, count: int) -> list[float]:
    out = []
    for _ in range(count):
        started = time.perf_counter()
        response = call(raw)  # type: ignore[operator]
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_body()
    return out


def main() -> int:
    """Measure and print the figures; the last line is JSON."""
    # an embedded PostgreSQL, or a database on BENCH_DATABASE_ADMIN_URL's server
    with harness.services("bench_auth", azurite=False):
        import azure.functions as func

        user_route, anonymous_route = _routes()
        token = _access_token()
        signed_in = func.HttpRequest(
            "GET", "http://127.0.0.1/api/bench/user", body=b"", headers={"authorization": f"Bearer {token}"}
        )
        anonymous = func.HttpRequest("GET", "http://127.0.0.1/api/bench/anonymous", body=b"", headers={})
        _timings(user_route, signed_in, WARMUP)
        _timings(anonymous_route, anonymous, WARMUP)
        user_ms, anonymous_ms = [], []
        for _ in range(REQUESTS):  # alternate request by request, so load from elsewhere hits both sides alike
            user_ms += _timings(user_route, signed_in, 1)
            anonymous_ms += _timings(anonymous_route, anonymous, 1)
    return _report(user_ms, anonymous_ms)


def _report(user_ms: list[float], anonymous_ms: list[float]) -> int:
    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1]

    pairs = [u - a for u, a in zip(user_ms, anonymous_ms, strict=True)]
    added = statistics.median(pairs)
    # Other processes on the machine inflate both sides; the quietest batch of 200 pairs shows the floor.
    quietest = min(statistics.median(pairs[i : i + 200]) for i in range(0, len(pairs), 200))
    figures = {
        "benchmark": "auth",
        "requests_each": len(user_ms),
        "anonymous_median_ms": round(statistics.median(anonymous_ms), 3),
        "anonymous_p95_ms": round(p95(anonymous_ms), 3),
        "signed_in_median_ms": round(statistics.median(user_ms), 3),
        "signed_in_p95_ms": round(p95(user_ms), 3),
        "added_median_ms": round(added, 3),
        "added_quietest_batch_ms": round(quietest, 3),
        "target_added_ms": TARGET_MS,
        "within_target": added < TARGET_MS,
        "load_average_1m": harness.load_average_1m(),
        "cpus": os.cpu_count(),
    }
    print(f"anonymous request: median {figures['anonymous_median_ms']} ms, p95 {figures['anonymous_p95_ms']} ms")
    print(f"signed-in request: median {figures['signed_in_median_ms']} ms, p95 {figures['signed_in_p95_ms']} ms")
    print(
        f"authentication + tenant context add {figures['added_median_ms']} ms per request "
        f"(median of paired differences; quietest batch {figures['added_quietest_batch_ms']} ms; "
        f"target < {TARGET_MS} ms; load average {figures['load_average_1m']} on {figures['cpus']} CPUs)"
    )
    harness.print_figures(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
