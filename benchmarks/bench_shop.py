"""The shop's hot reads through the dev host: board, drawer and stats, each next to its raw SQL.

The script starts its own embedded PostgreSQL, Azurite and a dev host serving function_app (all on
loopback), and bulk-inserts (executemany) one business with 200 customers, 5 technicians and 10,000
appointments: 200 on today's board, 9,800 over the previous 392 days, with two services each and
payments. It then times REQUESTS calls of each endpoint through the host, and the raw SQL that fetches
the same data (psycopg, one transaction per fetch as the app role, tenant bound) in the same run: for
the drawer, one plain select per part, as a hand-written implementation would fetch it (the endpoint
itself sends one statement with each collection as a JSON column; that statement's raw time is
reported next to it as raw_same_statement, and is the drawer's baseline).

Stats are cached per process until the next committed write, so they are reported twice: `stats` is
repeated reads (cache hits), `stats_uncached` is a read after a write each time (the write, a bump of
shop_stats_versions as every shop mutation does, is not timed), both next to the raw aggregate.

Timed HTTP calls go through the harness's TimingClient (http.client on one kept-alive connection), not httpx,
whose own ~0.2 ms per call would be counted as the host's in each ratio to the raw SQL.

Targets: board p95 < 40 ms, drawer p95 < 25 ms, stats p95 < 20 ms (cached and uncached), each within 5x
its baseline: the raw SQL, for the drawer its own single statement timed raw.
Last line: one JSON object with the figures.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

APPOINTMENTS, ON_BOARD, CUSTOMERS, TECHS = 10_000, 200, 200, 5
REQUESTS, WARMUP = 300, 30
TARGETS_MS = {"board": 40.0, "drawer": 25.0, "stats": 20.0, "stats_uncached": 20.0}
DAY0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
WINDOW = f"from={DAY0:%Y-%m-%dT%H:%M:%SZ}&to={DAY0 + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
PASSWORD = "bench-password-0123"


def _appointment_rows(
    tenant_id: uuid.UUID, customers: list[tuple[uuid.UUID, uuid.UUID]], techs: list[uuid.UUID]
) -> list[dict]:
    """Today's 200 cards (each tech every 35 minutes) and 9,800 earlier ones (each tech every 250 minutes)."""
    rng = random.Random(6)
    rows = []
    statuses = ["SCHEDULED"] * 5 + ["IN_PROGRESS"] * 3 + ["READY"] * 2 + ["COMPLETED", "NO_SHOW", "CANCELED"]
    for i in range(APPOINTMENTS):
        if i < ON_BOARD:
            start, status = DAY0 + timedelta(minutes=7 * i), statuses[i % len(statuses)]
        else:
            j = i - ON_BOARD
            start = DAY0 - timedelta(days=1 + j // 25) + timedelta(minutes=50 * (j % 25))
            status = "COMPLETED" if j % 10 else rng.choice(["CANCELED", "NO_SHOW"])
        customer, vehicle = customers[i % len(customers)]
        done = status in ("IN_PROGRESS", "READY", "COMPLETED")
        rows.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "customer_id": customer,
                "vehicle_id": vehicle,
                "tech_id": techs[i % len(techs)],
                "starts_at": start,
                "ends_at": start + timedelta(minutes=30),
                "status": status,
                "position": start.timestamp() / 60,
                "currency": "USD",
                "version": 1,
                "total_cents": 0,
                "paid_cents": 0,
                "title": "Service",
                "check_in_at": start if done else None,
                "check_out_at": start + timedelta(minutes=95) if status == "COMPLETED" else None,
            }
        )
    return rows


def _seed() -> tuple[uuid.UUID, str, list[uuid.UUID]]:
    """The business, bulk-inserted; returns (tenant id, owner email, the board's appointment ids)."""
    from sqlalchemy import insert

    from blueprints.crm.models import Customer, Vehicle
    from blueprints.shop.models import Appointment, AppointmentService, InspectionChecklist, InspectionItem, Payment
    from shared.db import session_scope
    from tests.builders import create_tenant, create_user, unique_email

    email = unique_email("bench-owner")
    with session_scope() as session:
        tenant = create_tenant(session, name="Bench Auto")
        tenant.timezone = "UTC"
        owner = create_user(session, tenant=tenant, email=email, password=PASSWORD, name="Bench Owner")
        techs = [
            create_user(session, tenant=tenant, role="tech", name=f"Tech {n}", password=None).id for n in range(TECHS)
        ]
        tid = tenant.id
        people = [
            {
                "id": uuid.uuid4(),
                "tenant_id": tid,
                "owner_id": owner.id,
                "name": f"Customer {n}",
                "phone": f"+1512555{n:04d}",
                "version": 1,
            }
            for n in range(CUSTOMERS)
        ]
        session.execute(insert(Customer), people)
        cars = [
            {
                "id": uuid.uuid4(),
                "tenant_id": tid,
                "customer_id": p["id"],
                "year": 2010 + n % 15,
                "make": "Toyota",
                "model": "Corolla",
                "version": 1,
            }
            for n, p in enumerate(people)
        ]
        session.execute(insert(Vehicle), cars)
        rows = _appointment_rows(tid, [(p["id"], c["id"]) for p, c in zip(people, cars, strict=True)], techs)
        services, payments = [], []
        for row in rows:
            for name, cents in (("Labour", 9_000), ("Parts", 6_500)):
                services.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tid,
                        "appointment_id": row["id"],
                        "name": name,
                        "price_cents": cents,
                        "version": 1,
                    }
                )
            row["total_cents"] = 15_500
            if row["status"] == "COMPLETED" or row["status"] == "READY":
                row["paid_cents"] = 15_500
                payments.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tid,
                        "appointment_id": row["id"],
                        "kind": "payment",
                        "amount_cents": 15_500,
                        "currency": "USD",
                        "method": "card",
                        "created_at": row["starts_at"] + timedelta(minutes=90),
                    }
                )
        session.execute(insert(Appointment), rows)
        session.execute(insert(AppointmentService), services)
        session.execute(insert(Payment), payments)
        checklists = [
            {"id": uuid.uuid4(), "tenant_id": tid, "appointment_id": r["id"], "title": "Multi-point"}
            for r in rows[:ON_BOARD]
        ]
        session.execute(insert(InspectionChecklist), checklists)
        session.execute(
            insert(InspectionItem),
            [
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tid,
                    "checklist_id": c["id"],
                    "position": k,
                    "label": f"Point {k}",
                    "status": "ok",
                    "photo_paths": [],
                    "recommended": k == 0,
                    "version": 1,
                }
                for c in checklists
                for k in range(6)
            ],
        )
    return tid, email, [r["id"] for r in rows[:ON_BOARD]]


STATUS_ORDER = "array_position(ARRAY['SCHEDULED','IN_PROGRESS','READY','COMPLETED','NO_SHOW','CANCELED'], a.status)"
RAW_BOARD = f"""
SELECT a.id, a.status, a.position, a.title, a.customer_id, c.name, a.vehicle_id,
       concat_ws(' ', v.year, v.make, v.model), a.tech_id, u.name, a.starts_at, a.ends_at, a.check_in_at,
       a.check_out_at, a.currency, a.total_cents, a.paid_cents,
       (SELECT count(*) FROM appointment_services s WHERE s.tenant_id = a.tenant_id AND s.appointment_id = a.id)
FROM appointments a JOIN customers c ON c.id = a.customer_id LEFT JOIN vehicles v ON v.id = a.vehicle_id
LEFT JOIN users u ON u.id = a.tech_id
WHERE a.tenant_id = %(t)s AND a.deleted_at IS NULL AND a.starts_at < %(to)s AND a.ends_at > %(from)s
ORDER BY {STATUS_ORDER}, a.position, a.id LIMIT 1000
"""
RAW_DRAWER = (
    "SELECT * FROM appointments WHERE id = %(a)s AND tenant_id = %(t)s AND deleted_at IS NULL",
    "SELECT * FROM appointment_services WHERE tenant_id = %(t)s AND appointment_id = %(a)s ORDER BY created_at, id",
    "SELECT * FROM payments WHERE tenant_id = %(t)s AND appointment_id = %(a)s ORDER BY created_at, id",
    "SELECT * FROM inspection_checklists WHERE tenant_id = %(t)s AND appointment_id = %(a)s ORDER BY created_at, id",
    "SELECT i.* FROM inspection_items i JOIN inspection_checklists c ON c.id = i.checklist_id"
    " WHERE c.tenant_id = %(t)s AND c.appointment_id = %(a)s ORDER BY i.position, i.id",
    "SELECT c.* FROM customers c JOIN appointments a ON a.customer_id = c.id WHERE a.id = %(a)s",
    "SELECT v.* FROM vehicles v JOIN appointments a ON a.vehicle_id = v.id WHERE a.id = %(a)s",
    "SELECT u.id, u.name FROM users u JOIN appointments a ON a.tech_id = u.id WHERE a.id = %(a)s",
    "SELECT * FROM audit_logs WHERE tenant_id = %(t)s AND entity = 'appointment' AND entity_id = %(e)s"
    " ORDER BY created_at DESC, id DESC LIMIT 20",
    "SELECT m.* FROM messages m JOIN appointments a ON a.customer_id = m.customer_id WHERE a.id = %(a)s"
    " ORDER BY m.created_at DESC, m.id DESC LIMIT 20",
)
RAW_STATS = """
SELECT count(*) FILTER (WHERE status IN ('IN_PROGRESS','READY')),
       count(*) FILTER (WHERE starts_at >= %(day)s AND starts_at < %(day)s + interval '1 day' AND status <> 'CANCELED'),
       count(*) FILTER (WHERE status = 'COMPLETED' AND check_out_at >= %(week)s),
       coalesce(sum(CASE WHEN status NOT IN ('CANCELED','NO_SHOW') THEN greatest(total_cents - paid_cents, 0)
                    ELSE 0 END), 0),
       avg(extract(epoch FROM check_out_at - check_in_at) / 60) FILTER (WHERE status = 'COMPLETED'),
       (SELECT coalesce(sum(amount_cents), 0) FROM payments WHERE tenant_id = %(t)s AND created_at >= %(day)s),
       (SELECT coalesce(sum(amount_cents), 0) FROM payments WHERE tenant_id = %(t)s AND created_at >= %(week)s),
       (SELECT coalesce(sum(amount_cents), 0) FROM payments WHERE tenant_id = %(t)s AND created_at >= %(month)s)
FROM appointments WHERE tenant_id = %(t)s AND deleted_at IS NULL
"""


def _time(call: Callable[[int], float]) -> list[float]:
    return harness.samples(call, REQUESTS, WARMUP)


def _measure(
    client: harness.TimingClient, raw: harness.RawSql, tenant_id: uuid.UUID, board_ids: list[uuid.UUID]
) -> dict[str, dict[str, list[float]]]:
    def get(path: str) -> float:
        return client.get(path).ms

    run_raw = raw.time
    week = DAY0 - timedelta(days=DAY0.weekday())
    stats_params = {"day": DAY0, "week": week, "month": DAY0.replace(day=1)}
    board_params = {"from": DAY0, "to": DAY0 + timedelta(days=1)}
    return {
        "floor": {
            "http": _time(lambda n: get("/api/health")),
            "raw": _time(lambda n: run_raw([("SELECT 1", {})])),
            "authed": _time(lambda n: get("/api/v1/tenant")),
        },
        "board": {
            "http": _time(lambda n: get(f"/api/v1/shop/board?{WINDOW}")),
            "raw": _time(lambda n: run_raw([(RAW_BOARD, board_params)])),
        },
        "drawer": {
            "http": _time(lambda n: get(f"/api/v1/shop/appointments/{board_ids[n % len(board_ids)]}")),
            "raw": _time(
                lambda n: run_raw(
                    [
                        (sql, {"a": board_ids[n % len(board_ids)], "e": str(board_ids[n % len(board_ids)])})
                        for sql in RAW_DRAWER
                    ]
                )
            ),
        },
        "drawer_statement": {"raw": _time(lambda n: run_raw([_drawer_statement(tenant_id, board_ids[n % ON_BOARD])]))},
        "stats": {
            "http": _time(lambda n: get("/api/v1/shop/stats")),
            "raw": _time(lambda n: run_raw([(RAW_STATS, stats_params)])),
        },
        "stats_uncached": {
            "http": _time(lambda n: (run_raw([(BUMP_STATS, {})]), get("/api/v1/shop/stats"))[1]),
            "raw": _time(lambda n: run_raw([(RAW_STATS, stats_params)])),
        },
    }


# What every shop mutation does in its transaction (common.bump_stats_version): the next stats read misses.
BUMP_STATS = (
    "INSERT INTO shop_stats_versions (tenant_id, version) VALUES (%(t)s, 1) "
    "ON CONFLICT (tenant_id) DO UPDATE SET version = shop_stats_versions.version + 1 RETURNING version"
)


def _drawer_statement(tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> tuple[str, dict]:
    """The one statement the drawer endpoint runs, as SQL text and parameters for the raw runner."""
    from sqlalchemy.dialects.postgresql import psycopg as dialect

    from blueprints.shop.drawer import drawer_statement

    compiled = drawer_statement().compile(dialect=dialect.dialect())
    return str(compiled), {
        **compiled.params,
        "tenant_id": tenant_id,
        "appointment_id": appointment_id,
        "entity_id": str(appointment_id),
    }


def _report(samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    floor = samples.pop("floor")
    same = samples.pop("drawer_statement")["raw"]
    figures: dict[str, Any] = {
        "host_floor_health_p50_ms": harness.percentile(floor["http"], 0.5),
        "host_floor_signed_in_get_tenant_p50_ms": harness.percentile(floor["authed"], 0.5),
        "raw_floor_select1_p50_ms": harness.percentile(floor["raw"], 0.5),
    }
    print(
        f"floor: GET /api/health p50 {figures['host_floor_health_p50_ms']} ms; signed-in GET /api/v1/tenant "
        f"p50 {figures['host_floor_signed_in_get_tenant_p50_ms']} ms; "
        f"raw SELECT 1 transaction p50 {figures['raw_floor_select1_p50_ms']} ms"
    )
    for name, runs in samples.items():
        http_p95, raw_p95 = harness.percentile(runs["http"], 0.95), harness.percentile(runs["raw"], 0.95)
        # the baseline: the raw SQL; for the drawer, the endpoint's own single statement timed raw
        baseline_p95 = harness.percentile(same, 0.95) if name == "drawer" else raw_p95
        figures[name] = {
            "p50_ms": harness.percentile(runs["http"], 0.5),
            "p95_ms": http_p95,
            "raw_sql_p50_ms": harness.percentile(runs["raw"], 0.5),
            "raw_sql_p95_ms": raw_p95,
            "ratio_p95": round(http_p95 / raw_p95, 2) if raw_p95 else None,
            "baseline_p95_ms": baseline_p95,
            "ratio_to_baseline_p95": round(http_p95 / baseline_p95, 2) if baseline_p95 else None,
            "target_p95_ms": TARGETS_MS[name],
            "meets_target": http_p95 < TARGETS_MS[name] and http_p95 <= 5 * baseline_p95,
            "requests": len(runs["http"]),
        }
        if name == "drawer":  # raw_sql_* above is one plain select per part, for reference
            figures[name].update(
                {
                    "baseline": "raw_same_statement",
                    "raw_same_statement_p50_ms": harness.percentile(same, 0.5),
                    "raw_same_statement_p95_ms": baseline_p95,
                }
            )
        if name.startswith("stats"):
            figures[name]["cache"] = "hit" if name == "stats" else "miss (a write before each read)"
        print(
            f"{name:14s} http p50 {figures[name]['p50_ms']:7.2f} ms  p95 {http_p95:7.2f} ms   "
            f"raw SQL p50 {figures[name]['raw_sql_p50_ms']:7.2f} ms  p95 {raw_p95:7.2f} ms"
        )
    return figures


def main() -> None:
    """Start the services, seed, measure, print the table and the JSON line."""
    with harness.services("bench_shop") as bench:
        started = time.perf_counter()
        tenant_id, email, board_ids = _seed()
        seed_seconds = time.perf_counter() - started
        harness.analyze(bench.owner_url)
        bench.start_host()
        client = bench.timing_client(bench.login(email, PASSWORD))
        samples = _measure(client, bench.raw_sql(tenant_id), tenant_id, board_ids)
        board = client.get(f"/api/v1/shop/board?{WINDOW}").json()
        print(f"seeded {APPOINTMENTS} appointments in {seed_seconds:.1f} s; {len(board['cards'])} cards on the board")
        figures = {
            "benchmark": "shop_reads",
            "appointments": APPOINTMENTS,
            "board_cards": len(board["cards"]),
            "seed_seconds": round(seed_seconds, 1),
            "load_average_1m": harness.load_average_1m(),
            **_report(samples),
        }
    harness.print_figures(figures, meets_targets=all(figures[n]["meets_target"] for n in TARGETS_MS))


if __name__ == "__main__":
    main()
