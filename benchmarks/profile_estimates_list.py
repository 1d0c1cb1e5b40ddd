"""Where a signed-in request's time goes: the estimator's list page called in-process under cProfile.

Not a benchmark (`make bench` runs bench_*.py only): it seeds bench_estimates' business, calls the list route's
function as the Functions worker would (no HTTP server), REQUESTS times, and prints the cProfile table sorted
by cumulative time, then each phase's mean in ms: the whole call, token check, principal query, the request's
transaction (checkout, set_config, the page query, commit), serialisation.

    .venv/bin/python benchmarks/profile_estimates_list.py [--sort tottime] [--lines 40]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

REQUESTS = 2000


def main() -> None:
    """Seed, warm up, profile REQUESTS list calls and print where the time went."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=45)
    parser.add_argument("--requests", type=int, default=REQUESTS, help="calls timed (and as many profiled)")
    parser.add_argument("--no-profile", action="store_true", help="only the unprofiled mean and median")
    parser.add_argument("--callers", nargs="*", default=[], help="also print who calls these functions")
    parser.add_argument("--trace-sql", action="store_true", help="print what one request sends to PostgreSQL")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the bench's raw SQL of the page")
    parser.add_argument("--phases", action="store_true", help="print each phase's median per request, in ms")
    args = parser.parse_args()

    import bench_estimates as bench

    from benchmarks import harness

    with harness.services("bench_estimates") as services:
        import json

        import azure.functions as func

        from devhost.indexing import load_app

        app_url = services.app_url
        tenant_id, user_id, email, _ = bench._seed()
        harness.analyze(services.owner_url)
        if args.explain:
            _explain(app_url, tenant_id, user_id, bench.RAW_LIST)
        index = load_app("function_app:app")
        routes = {(f.trigger.route, m): f for f in index.of("httpTrigger") for m in (f.trigger.methods or [])}
        login = func.HttpRequest(
            method="POST",
            url="http://127.0.0.1:7071/api/v1/auth/login",
            headers={"content-type": "application/json"},
            params={},
            route_params={},
            body=json.dumps({"email": email, "password": bench.PASSWORD}).encode(),
        )
        answered = _route(routes, "v1/auth/login", "POST").user_function(login)
        token = json.loads(answered.get_body())["access_token"]
        request = func.HttpRequest(
            method="GET",
            url="http://127.0.0.1:7071/api/v1/estimates?limit=50",
            headers={"authorization": f"Bearer {token}"},
            params={"limit": "50"},
            route_params={},
            body=b"",
        )
        call = _route(routes, "v1/estimates", "GET").user_function
        if args.trace_sql:
            _trace_one(call, request)
        if args.phases:
            _phases(call, request, _route(routes, "health", "GET").user_function)
        for _ in range(200):
            assert call(request).status_code == 200
        timings = []
        for _ in range(args.requests):
            started = time.perf_counter()
            call(request)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        print(f"unprofiled: median {timings[len(timings) // 2]:.3f} ms, mean {sum(timings) / len(timings):.3f} ms")
        if args.no_profile:
            return
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            call(request)
        profile.disable()
        stats = pstats.Stats(profile).strip_dirs().sort_stats(args.sort)
        stats.print_stats(args.lines)
        if args.callers:
            stats.print_callers(*args.callers)


def _explain(app_url: str, tenant_id: object, user_id: object, sql: str) -> None:
    import psycopg

    from benchmarks import harness

    with psycopg.connect(harness.libpq(app_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        for _ in range(3):  # warm
            cur.execute(sql, {"t": tenant_id, "u": user_id})
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, {"t": tenant_id, "u": user_id})
        print("\n".join(row[0] for row in cur.fetchall()))
        # psycopg prepares a statement from its 5th execution: PostgreSQL may then plan it once, generically
        prepared = sql.replace("%(t)s", "$1").replace("%(u)s", "$2")
        cur.execute(f"PREPARE page(uuid, uuid) AS {prepared}")
        cur.execute("SET plan_cache_mode = force_generic_plan")
        cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE page('{tenant_id}', '{user_id}')")  # uuids: no quoting issue
        print("generic plan:\n" + "\n".join(row[0] for row in cur.fetchall()))


def _phases(call: object, request: object, health: object) -> None:
    """Each phase's median over REQUESTS calls, timed by wrapping the functions that do it (ms)."""
    import statistics

    import azure.functions as func
    from sqlalchemy.orm import Session

    from blueprints.estimates import estimates as service
    from blueprints.estimates import functions as routes
    from blueprints.identity import sessions, tokens
    from shared import http

    spent: dict[str, float] = {}
    wrapped = [
        (tokens, "verify_access_token", "token check (JWT, cached)"),
        (sessions, "set_tenant_with", "checkout + ping + BEGIN + principal and tenant binding"),
        (routes.service, "list_estimates", "the page: query, fetch, validate rows"),
        (service, "_page_statement", "statement lookup"),
        (http, "_render", "serialise the page (JSON)"),
        (Session, "commit", "COMMIT and return the connection"),
    ]
    originals = []
    for owner, name, label in wrapped:
        original = getattr(owner, name)
        originals.append((owner, name, original))
        spent[label] = 0.0

        def timed(*a, _original=original, _label=label, **k):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return _original(*a, **k)
            finally:
                spent[_label] += time.perf_counter() - started

        setattr(owner, name, timed)
    rows: dict[str, list[float]] = {label: [] for _, _, label in wrapped}
    rows["whole call"] = []
    try:
        for _ in range(REQUESTS):
            for label in spent:
                spent[label] = 0.0
            started = time.perf_counter()
            call(request)  # type: ignore[operator]
            rows["whole call"].append((time.perf_counter() - started) * 1000)
            for label, seconds in spent.items():
                rows[label].append(seconds * 1000)
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    probe = func.HttpRequest(method="GET", url="http://127.0.0.1:7071/api/health", headers={}, params={}, body=b"")
    health_ms = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        health(probe)  # type: ignore[operator]
        health_ms.append((time.perf_counter() - started) * 1000)
    rows["for comparison: /api/health in-process"] = health_ms
    print("phase medians over", REQUESTS, "calls (ms); nested phases overlap (the page includes its statement lookup)")
    for label, values in rows.items():
        print(f"  {statistics.median(values):7.3f}  {label}")


def _trace_one(call: object, request: object) -> None:
    """Print every command one request sends over the wire (psycopg's PQexec/PQsendQuery level)."""
    import psycopg

    sent: list[str] = []
    originals = {}
    for cls, name in ((psycopg.Connection, "_exec_command"), (psycopg.Cursor, "execute")):
        original = getattr(cls, name)
        originals[(cls, name)] = original

        def traced(self, query, *a, _original=original, _name=name, **k):  # type: ignore[no-untyped-def]
            text = query if isinstance(query, (str, bytes)) else getattr(query, "as_string", lambda _: str(query))(None)
            sent.append(f"{_name}: {' '.join(str(text).split())[:140]}")
            return _original(self, query, *a, **k)

        setattr(cls, name, traced)
    try:
        call(request)  # type: ignore[operator]
    finally:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)
    print(f"one request sends {len(sent)} commands:")
    for line in sent:
        print("  ", line)


def _route(routes: dict, route: str, method: str) -> object:
    return next(f for (r, m), f in routes.items() if r == route and str(getattr(m, "value", m)).upper() == method)


if __name__ == "__main__":
    main()
