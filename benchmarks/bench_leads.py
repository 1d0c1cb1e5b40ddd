"""Leads through the dev host: 500 website-form leads posted over 60 s, from intake to the provider accepting
the first answer.

The script starts its own embedded PostgreSQL, Azurite, fake Twilio Messages server and SMTP server (all
loopback) and a dev host serving function_app. Five businesses (messaging allows a business 200 texts an
hour, so 500 answers from one would wait for the next hour by design) in a zone where it is mid-afternoon
now each get 100 leads with texting consent, posted over HTTP to `/api/v1/leads/intake/{slug}` at an even
pace by eight callers, each lead from an address of its own (the per-address limit is 10 per 10 minutes).

Measured per lead: from just before its POST is sent to the moment the fake Twilio accepted its text
(the dev host and the benchmark share one machine clock). The app's own figure, `first_response_at`
(messaging's `sent_at`, recorded when Twilio's 201 came back) minus the lead's arrival, is read from the
database and reported next to it. Baseline measured in the same run: the fake's round trip through the
twilio library alone. Duplicates: texts the fake accepted beyond one per lead.

The POSTs go through the harness's TimingClient (http.client, one kept-alive connection per caller), not httpx,
whose own cost per call would be counted as the host's.

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

BUSINESSES, LEADS_PER_BUSINESS = 5, 100
POST_SECONDS = 60.0
CALLERS = 8
ROUND_TRIPS = 200
TIMEOUT_SECONDS = 300
CONSENT = "I agree to receive texts about my request. Msg & data rates may apply. Reply STOP to opt out."


def _businesses() -> list[str]:
    """Five businesses with a texting number, lead settings and an owner; returns their slugs."""
    from blueprints.leads import schemas
    from blueprints.leads.models import LeadSettings
    from blueprints.messaging.models import MessagingSettings
    from shared import clock
    from shared.db import session_scope
    from tests.builders import create_tenant, create_user, unique_phone

    slugs = []
    for n in range(BUSINESSES):
        slug = f"bench-plumbing-{n}-{uuid.uuid4().hex[:6]}"
        with session_scope() as session:
            tenant = create_tenant(session, name=f"Bench Plumbing {n}", timezone=harness.afternoon_zone())
            create_user(session, tenant=tenant)
            session.add(
                MessagingSettings(
                    tenant_id=tenant.id,
                    sms_from_number=unique_phone(),
                    sms_footer="Reply STOP to opt out.",
                    help_text="Call us.",
                )
            )
            settings = schemas.LeadSettingsIn(slug=slug, follow_up_days=[])
            session.add(LeadSettings(tenant_id=tenant.id, updated_at=clock.now(), **settings.model_dump()))
        slugs.append(slug)
    return slugs


def _post_all(bench: harness.Bench, slugs: list[str]) -> tuple[dict[str, float], list[float], list[int]]:
    """POST every lead at an even pace; returns phone -> time its POST was sent, intake latencies (ms), statuses."""
    from tests.builders import unique_phone

    total = BUSINESSES * LEADS_PER_BUSINESS
    work = [(i, slugs[i % BUSINESSES], unique_phone()) for i in range(total)]
    posted: dict[str, float] = {}
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    local = threading.local()
    start = time.time() + 1

    def post(item: tuple[int, str, str]) -> None:
        index, slug, phone = item
        client = getattr(local, "client", None)
        if client is None:
            with lock:
                client = local.client = bench.timing_client(timeout=60)
        time.sleep(max(0.0, start + index * POST_SECONDS / total - time.time()))
        address = f"198.51.{index // 250}.{index % 250 + 1}"
        form = {"name": f"Lead {index}", "phone": phone, "consent": True, "consent_text": CONSENT}
        sent_at = time.time()
        answer = client.post(f"/api/v1/leads/intake/{slug}", json=form, headers={"client-ip": address}, expect=None)
        with lock:
            posted[phone] = sent_at
            latencies.append(answer.ms)
            statuses.append(answer.status)

    with ThreadPoolExecutor(CALLERS) as pool:
        list(pool.map(post, work))
    return posted, latencies, statuses


def _accepted(fake: object, phones: set[str]) -> tuple[dict[str, float], int]:
    """Wait until every lead's text was accepted; returns (phone -> first acceptance time, duplicate texts)."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline and len({m.to for m in list(fake.sent)} & phones) < len(phones):  # type: ignore[attr-defined]
        time.sleep(0.1)
    time.sleep(3)  # late copies, if any, would arrive now
    first: dict[str, float] = {}
    duplicates = 0
    for sent in sorted(list(fake.sent), key=lambda m: m.received_at):  # type: ignore[attr-defined]
        if sent.to not in phones:
            continue
        if sent.to in first:
            duplicates += 1
        else:
            first[sent.to] = sent.received_at
    return first, duplicates


def _recorded(owner_url: str) -> list[float]:
    """The app's own seconds to first answer (first_response_at - created_at) of every answered lead."""
    import psycopg

    with psycopg.connect(harness.libpq(owner_url)) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM first_response_at - created_at) FROM leads WHERE first_response_at IS NOT NULL"
        ).fetchall()
    return [float(r[0]) for r in rows]


def _wait_recorded(owner_url: str, expected: int) -> list[float]:
    deadline = time.monotonic() + 60
    recorded = _recorded(owner_url)
    while len(recorded) < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        recorded = _recorded(owner_url)
    return recorded


def main() -> None:
    """Run the benchmark and print the figures."""
    from tests.fakes.smtp import FakeSmtp
    from tests.fakes.twilio_messaging import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioMessaging

    with harness.services("bench_leads") as bench:
        fake, smtp = bench.closing(FakeTwilioMessaging().start()), bench.closing(FakeSmtp().start())
        bench.add_env(
            {
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "TWILIO_API_BASE_URL": fake.base_url,
                "SMTP_FROM": "leads@bench.example.com",
                **smtp.env(),
            }
        )
        round_trips = harness.twilio_round_trips(fake, ROUND_TRIPS)
        slugs = _businesses()
        bench.start_host()
        started = time.time()
        posted, intake_ms, statuses = _post_all(bench, slugs)
        post_seconds = time.time() - started
        accepted, duplicates = _accepted(fake, set(posted))
        latencies = [(accepted[p] - t) * 1000 for p, t in posted.items() if p in accepted]
        recorded = _wait_recorded(bench.owner_url, len(accepted))
    figures = {
        "benchmark": "leads_first_answer",
        "leads": len(posted),
        "businesses": BUSINESSES,
        "callers": CALLERS,
        "post_seconds": round(post_seconds, 1),
        "intake_202": statuses.count(202),
        "intake_ms": harness.spread(intake_ms),
        "answered": len(latencies),
        "intake_to_provider_ms": harness.spread(latencies, with_max=True),
        "recorded_first_response_s": {"leads": len(recorded), **(harness.spread(recorded) or {})} if recorded else None,
        "provider_round_trip_ms": harness.spread(round_trips),
        "duplicates_at_provider": duplicates,
        "target_p95_ms": 10_000,
        "limit_p95_ms": 60_000,
    }
    print(f"posted {len(posted)} in {post_seconds:.1f} s; answered {len(latencies)}; duplicates {duplicates}")
    harness.print_figures(figures)


if __name__ == "__main__":
    main()
