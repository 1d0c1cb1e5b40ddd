"""Outbound messaging through the dev host: 1,000 texts to 50 customers, from enqueue to provider acceptance.

The script starts its own embedded PostgreSQL, Azurite, fake Twilio Messages server (all loopback) and a
dev host serving function_app. Five businesses with ten consenting customers each get 200 texts per
business (20 per customer), exactly the default limits, so none is deferred; each customer's zone is
one where it is mid-afternoon now, so quiet hours never interfere. Messages are queued through
`messaging.service.send` (row + outbox, delivered to the queue after commit) and timed from that
commit to the moment the fake accepted them; the fake's own round trip through the twilio library
is measured in the same run for comparison.

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

TENANTS, CUSTOMERS_PER_TENANT, MESSAGES_PER_CUSTOMER = 5, 10, 20
ROUND_TRIPS = 200
ENQUEUE_THREADS = 8  # callers queueing at once (the shop's timers, users): the host, not one caller, is measured
TIMEOUT_SECONDS = 300


def _businesses() -> list[tuple[uuid.UUID, list[uuid.UUID]]]:
    """Five tenants with a texting number and ten customers each who agreed to transactional texts."""
    from blueprints.messaging import service
    from blueprints.messaging.models import MessagingSettings
    from shared.db import session_scope
    from tests.builders import create_customer, create_tenant, create_user, unique_phone

    made = []
    for n in range(TENANTS):
        with session_scope() as session:
            tenant = create_tenant(session, name=f"Bench Shop {n}")
            owner = create_user(session, tenant=tenant)
            session.add(
                MessagingSettings(
                    tenant_id=tenant.id,
                    sms_from_number=unique_phone(),
                    sms_footer="Reply STOP to opt out.",
                    help_text="Call us.",
                )
            )
            customers = [
                create_customer(
                    session,
                    tenant=tenant,
                    owner=owner,
                    name=f"Customer {n}.{c}",
                    phone=unique_phone(),
                    timezone=harness.afternoon_zone(),
                )
                for c in range(CUSTOMERS_PER_TENANT)
            ]
            for customer in customers:
                service.record_consent(
                    session=session,
                    tenant_id=tenant.id,
                    customer_id=customer.id,
                    channel="sms",
                    purpose="transactional",
                    granted=True,
                    source="bench",
                )
            made.append((tenant.id, [c.id for c in customers]))
    return made


def _enqueue(businesses: list[tuple[uuid.UUID, list[uuid.UUID]]]) -> dict[str, float]:
    """Queue every message from ENQUEUE_THREADS callers (one transaction each); id -> time its commit queued it."""
    from concurrent.futures import ThreadPoolExecutor

    from blueprints.messaging import service
    from shared.db import session_scope

    def send(round_: int, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> tuple[str, float]:
        with session_scope(tenant_id=tenant_id) as session:
            message = service.send(
                session=session,
                tenant_id=tenant_id,
                customer_id=customer_id,
                channel="sms",
                body=f"Update {round_}",
                purpose="transactional",
            )
        return str(message.id), time.time()

    work = [(r, t, c) for r in range(MESSAGES_PER_CUSTOMER) for t, customers in businesses for c in customers]
    with ThreadPoolExecutor(ENQUEUE_THREADS) as pool:
        return dict(pool.map(lambda item: send(*item), work))


def _message_id(sent: object) -> str:
    return parse_qs(urlsplit(sent.status_callback or "").query).get("message_id", [""])[0]  # type: ignore[attr-defined]


def _accepted(fake: object, expected: int) -> tuple[dict[str, float], int]:
    """Wait until the fake accepted `expected` distinct messages; returns (message id -> its first acceptance
    time, how many acceptances were a second or later copy of a message)."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline and len({_message_id(m) for m in list(fake.sent)}) < expected:  # type: ignore[attr-defined]
        time.sleep(0.05)
    first: dict[str, float] = {}
    duplicates = 0
    for sent in sorted(list(fake.sent), key=lambda m: m.received_at):  # type: ignore[attr-defined]
        message_id = _message_id(sent)
        if message_id in first:
            duplicates += 1  # a copy: the latency stays the first acceptance's
        else:
            first[message_id] = sent.received_at
    return first, duplicates


def main() -> None:
    """Run the benchmark and print the figures."""
    from tests.fakes.twilio_messaging import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioMessaging

    with harness.services("bench_messaging") as bench:
        fake = bench.closing(FakeTwilioMessaging().start())
        bench.add_env(
            {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_API_BASE_URL": fake.base_url}
        )
        # this process's pool, for the enqueueing callers; the dev host inherits them (it always has)
        os.environ.update(DB_POOL_SIZE=str(ENQUEUE_THREADS), DB_MAX_OVERFLOW="2")
        round_trips = harness.twilio_round_trips(fake, ROUND_TRIPS)
        businesses = _businesses()
        bench.start_host()
        started = time.time()
        queued = _enqueue(businesses)
        enqueue_seconds = time.time() - started
        accepted, duplicates = _accepted(fake, len(queued))
        latencies = [(accepted[m] - t) * 1000 for m, t in queued.items() if m in accepted]
        span = max(accepted.values()) - started if accepted else float("nan")
    figures = {
        "benchmark": "messaging_outbound",
        "messages": len(queued),
        "customers": TENANTS * CUSTOMERS_PER_TENANT,
        "tenants": TENANTS,
        "enqueue_threads": ENQUEUE_THREADS,
        "accepted": len(latencies),
        "enqueue_seconds": round(enqueue_seconds, 2),
        "enqueue_to_provider_ms": harness.spread(latencies, with_max=True),
        "messages_per_second": round(len(latencies) / span, 1) if latencies else 0,
        "provider_round_trip_ms": harness.spread(round_trips),
        "duplicates_at_provider": duplicates,
    }
    print(f"queued {len(queued)} in {enqueue_seconds:.1f} s; accepted {len(latencies)}")
    harness.print_figures(figures)


if __name__ == "__main__":
    main()
