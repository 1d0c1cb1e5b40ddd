"""The dev host is killed with SIGKILL and started again: on the same data folder the new one adopts the
PostgreSQL and Azurite the dead one left running, serves with them, and stops them when it stops; the
texts and emails the dead one was sending or had fetched from the queue are each handled once, none sent
twice; a pricebook push (a Durable orchestration) it was running finishes on the next host with one ServiceTitan PATCH
per item; a pricebook pull (another) resumes there with every item stored once; a bids analysis (another) it was
running finishes there with its takeoff made once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from devhost.services import ROOT, Azurite, free_port
from tests.builders import Account, register, unique_email, unique_phone
from tests.conftest import Database, start_host
from tests.e2e.test_devhost_lifecycle import _processes_mentioning
from tests.fakes import twilio_messaging as twilio_fake
from tests.fakes.servicetitan import FakeServiceTitan, settings_for
from tests.faults.test_slow_provider import SlowSmtp, SlowTwilio, _until


def _devhost(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    ours = ("DATABASE_URL", "DATABASE_MIGRATION_URL", "AzureWebJobsStorage")
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(DEVHOST_MASTER_KEY="k", PYTHONPATH=str(ROOT))
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devhost",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--settings",
                os.devnull,
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _ready(process: subprocess.Popen[bytes], port: int, log: Path) -> httpx.Response:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/ready", timeout=5)
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"the dev host did not answer:\n{log.read_text()[-3000:]}")


def test_a_restarted_devhost_adopts_the_services_a_killed_one_left_and_stops_them(
    tmp_path: Path, shared_tmp: Path
) -> None:
    # given a dev host running its own PostgreSQL and Azurite (in shared_tmp: PostgreSQL runs unprivileged)
    data_dir = shared_tmp / "data"
    log = tmp_path / "host.log"
    port = free_port()
    first = _devhost(data_dir, port, log)
    second = None
    try:
        assert _ready(first, port, log).status_code == 200, log.read_text()[-3000:]
        # when it is killed outright, its services live on
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert _processes_mentioning(str(data_dir)), "PostgreSQL and Azurite should outlive a SIGKILL"
        # then a new host on the same folder serves with them, saying it adopted both
        second = _devhost(data_dir, port, log)
        ready = _ready(second, port, log)
        assert ready.status_code == 200, ready.text
        text = log.read_text()
        assert "adopted the PostgreSQL" in text and "adopted the Azurite" in text, text[-3000:]
    finally:
        for process in (second, first):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    # and stopping it stops what it adopted
    time.sleep(0.5)
    assert _processes_mentioning(str(data_dir)) == []


def test_texts_in_flight_when_the_host_is_killed_are_each_handled_and_none_sent_twice(
    database: Database, private_azurite: Azurite
) -> None:
    # given a business texting four customers, and a Twilio that holds every send until released
    twilio = SlowTwilio().start()
    env = {
        "AzureWebJobsStorage": private_azurite.connection_string,
        "TWILIO_ACCOUNT_SID": twilio_fake.ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": twilio_fake.AUTH_TOKEN,
        "TWILIO_API_BASE_URL": twilio.base_url,
        "TWILIO_TIMEOUT_SECONDS": "8",  # under the send lease, as the defaults (15 s, 120 s) are
        "MESSAGING_SEND_LEASE_SECONDS": "10",
        "DEVHOST_QUEUE_LEASE_SECONDS": "5",
    }
    first = start_host("function_app:app", env=env)
    second = None
    try:
        client = first.client()
        owner = register(client, tenant_name="Crash Auto")
        client.put("/api/v1/messaging/settings", headers=owner.headers, json={"sms_from_number": unique_phone()})
        customers = [_consenting_customer(client, owner) for _ in range(4)]
        texts = [
            client.post(
                "/api/v1/messages",
                headers=owner.headers,
                json={"customer_id": c, "channel": "sms", "purpose": "transactional", "body": f"Update {n}"},
            ).json()["id"]
            for n in range(5)
            for c in customers
        ]
        # when the host dies with sends in flight at Twilio and messages fetched from the queue
        assert _until(lambda: len(twilio.arrived) >= 8), first.log_tail()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        twilio.release.set()  # Twilio finishes what the dead host asked for
        second = start_host("function_app:app", env=env)
        client = second.client()
        # then the next host handles every text: each ends sent, or failed as "may have gone out" when it
        # was in flight (outcome_unknown) or Twilio did not answer in time, and Twilio never got one twice
        statuses = {}
        assert _until(lambda: _all_final(client, owner, texts, statuses), bound=90), (statuses, second.log_tail())
        delivered = Counter(
            parse_qs(urlsplit(sent.status_callback or "").query)["message_id"][0] for sent in twilio.sent
        )
        assert max(delivered.values()) == 1, delivered
        for text_id, (status, code) in statuses.items():
            assert status == "sent" or code in ("outcome_unknown", "provider_timeout"), str(
                client.get(f"/api/v1/messages/{text_id}", headers=owner.headers).json()
            )
            assert status != "sent" or delivered[text_id] == 1
    finally:
        twilio.release.set()
        for host in (second, first):
            if host is not None:
                host.stop()
        twilio.stop()


def _consenting_customer(client: httpx.Client, owner: Account, channel: str = "sms") -> str:
    contact = {"name": "Ada", "phone": unique_phone(), "email": unique_email("crash")}
    customer = client.post("/api/v1/crm/customers", headers=owner.headers, json=contact)
    client.post(
        f"/api/v1/messaging/customers/{customer.json()['id']}/consents",
        headers=owner.headers,
        json={"channel": channel, "purpose": "transactional", "granted": True, "source": "counter"},
    )
    return customer.json()["id"]


def _all_final(client: httpx.Client, owner: Account, texts: list[str], statuses: dict) -> bool:
    for text_id in texts:
        message = client.get(f"/api/v1/messages/{text_id}", headers=owner.headers).json()
        statuses[text_id] = (message["status"], message["error_code"] or message["reason"])
    return all(status in ("sent", "failed") for status, _ in statuses.values())


class HoldingSmtp(SlowSmtp):
    """The slow relay, also noting which message each held DATA carried (its X-Tradeops-Message-Id)."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[tuple[str, float]] = []  # (message id, when its DATA arrived)

    def start(self) -> HoldingSmtp:
        """Serve, noting each DATA's message before holding it."""
        super().start()
        assert self._controller is not None
        handler = self._controller.handler
        slow = handler.handle_DATA

        async def noted(server: Any, session: Any, envelope: Any) -> str:
            content = envelope.original_content or envelope.content or b""
            header = message_from_bytes(content, policy=policy.default)["X-Tradeops-Message-Id"]
            with self.lock:
                self.held.append((str(header), time.monotonic()))
            return await slow(server, session, envelope)

        handler.handle_DATA = noted
        return self


def test_emails_in_flight_when_the_host_is_killed_are_each_handled_and_none_delivered_twice(
    database: Database, private_azurite: Azurite
) -> None:
    # given a business emailing four customers, and a relay that holds every DATA until released
    smtp = HoldingSmtp().start()
    env = {
        "AzureWebJobsStorage": private_azurite.connection_string,
        "SMTP_FROM": "desk@crash-paint.example.com",
        "SMTP_TIMEOUT_SECONDS": "8",  # under the send lease, as the defaults (15 s, 120 s) are
        "MESSAGING_SEND_LEASE_SECONDS": "10",
        "DEVHOST_QUEUE_LEASE_SECONDS": "5",
        **smtp.env(),
    }
    first = start_host("function_app:app", env=env)
    second = None
    try:
        client = first.client()
        owner = register(client, tenant_name="Crash Paint")
        customers = [_consenting_customer(client, owner, channel="email") for _ in range(4)]

        def send(n: int) -> str:
            body = {"customer_id": customers[n % 4], "channel": "email", "purpose": "transactional", "body": "Hi"}
            sent = client.post("/api/v1/messages", headers=owner.headers, json={**body, "subject": f"Estimate {n}"})
            assert sent.status_code == 202, sent.text
            return sent.json()["id"]

        # more than the host's 16 function threads, so some wait on the queue; asked for at once, so the
        # first held sends are not timed out (and retried) before the host dies
        with ThreadPoolExecutor(max_workers=8) as pool:
            emails = list(pool.map(send, range(24)))

        # when the host dies with emails mid-DATA at the relay and others fetched from the queue: one held DATA at
        # least arrived within 3 s (under load the posts can take longer than the send timeout to be answered, and
        # the first held sends have then timed out on the host's side; it sends the next ones)
        def fresh_hold() -> bool:
            with smtp.lock:
                return smtp.data_attempts >= 4 and any(at > time.monotonic() - 3 for _, at in smtp.held)

        assert _until(fresh_hold), first.log_tail()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        killed_at = time.monotonic()
        with smtp.lock:  # held when the host died: arrived less than the send timeout before (older ones timed out)
            held = {email_id for email_id, at in smtp.held if at > killed_at - 7}
        smtp.release.set()  # the relay finishes (or drops) what the dead host handed it
        second = start_host("function_app:app", env=env)
        client = second.client()
        # then the next host handles every email: each ends sent, or failed as "may have gone out"
        statuses: dict = {}
        assert _until(lambda: _all_final(client, owner, emails, statuses), bound=90), (statuses, second.log_tail())
        time.sleep(1)  # a late copy would have reached the relay by now
        with smtp.lock:
            delivered = Counter(str(m.message["X-Tradeops-Message-Id"]) for m in smtp.messages)
        # and the relay never got one twice
        assert max(delivered.values(), default=1) == 1, (delivered, statuses)
        for email_id, (status, code) in statuses.items():
            assert status == "sent" or code in ("outcome_unknown", "provider_timeout"), str(
                client.get(f"/api/v1/messages/{email_id}", headers=owner.headers).json()
            )
            assert status != "sent" or delivered[email_id] == 1
        # the ones held mid-send when the host died are failed outcome_unknown (never sent again); the rest went
        assert held and held <= set(emails), (held, emails)
        assert {statuses[e] for e in held} == {("failed", "outcome_unknown")}, {e: statuses[e] for e in held}
        assert held < set(emails) and any(statuses[e] == ("sent", None) for e in set(emails) - held), statuses
    finally:
        smtp.release.set()
        for host in (second, first):
            if host is not None:
                host.stop()
        smtp.stop()


EDITED = 12  # materials with a local price, pushed one PATCH each


def test_a_pricebook_push_in_flight_when_the_host_is_killed_finishes_with_one_patch_per_item(
    database: Database, private_azurite: Azurite
) -> None:
    # given a business connected to a ServiceTitan that takes half a second over each PATCH, its pricebook
    # pulled, and a local price on twelve materials
    fake = FakeServiceTitan().start()
    fake.seed(categories=4, materials=EDITED + 8, services=2, equipment=1)
    fake.state.before_patch = lambda kind, item: time.sleep(0.5)
    env = {"AzureWebJobsStorage": private_azurite.connection_string, **settings_for(fake)}
    first = start_host("function_app:app", env=env)
    second = None
    try:
        client = first.client()
        owner = register(client, tenant_name="Crash Home Services")
        client_id, secret = next(iter(fake.state.clients.items()))
        body = {"st_tenant_id": fake.state.st_tenant_id, "client_id": client_id, "client_secret": secret}
        assert client.put("/api/v1/pricebook/connection", headers=owner.headers, json=body).status_code == 200
        pulled = _run(
            client, owner, client.post("/api/v1/pricebook/syncs", headers=owner.headers, json={"mode": "full"})
        )
        assert pulled["status"] == "completed", pulled
        prices = {st_id: 1_000 + st_id % 1_000 for st_id in sorted(fake.state.items["materials"])[:EDITED]}
        for st_id, price in prices.items():
            item = client.get(f"/api/v1/pricebook/materials/{st_id}", headers=owner.headers)
            patched = client.patch(
                f"/api/v1/pricebook/materials/{st_id}",
                headers={**owner.headers, "If-Match": item.headers["ETag"]},
                json={"price_cents": price},
            )
            assert patched.status_code == 200, patched.text
        # when the host dies with the push's orchestration part way through its PATCHes (one of them perhaps
        # held at ServiceTitan, applied there after the host is gone)
        push = client.post("/api/v1/pricebook/pushes", headers=owner.headers, json={})
        assert push.status_code == 202, push.text
        assert _until(lambda: len(_patches(fake)) >= 4, bound=60), first.log_tail()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        assert len(_patches(fake)) < EDITED, "the push finished before the host was killed"
        # then the next host resumes the orchestration from its history and finishes the push
        second = start_host("function_app:app", env=env)
        client = second.client()
        pushed = _run(client, owner, push)
        assert pushed["status"] == "completed", pushed
        # and ServiceTitan got exactly one PATCH per edited item, with the local price, and nothing is pending
        assert Counter(_patches(fake)) == {f"materials/{st_id}": 1 for st_id in prices}, _patches(fake)
        for st_id, price in prices.items():
            assert round(fake.state.items["materials"][st_id]["price"] * 100) == price
            after = client.get(f"/api/v1/pricebook/materials/{st_id}", headers=owner.headers).json()
            assert (after["price_cents"], after["pending_push"]) == (price, False), after
    finally:
        for host in (second, first):
            if host is not None:
                host.stop()
        fake.stop()


PULLED = {"categories": 6, "materials": 48, "services": 12, "equipment": 6}  # five items an export page
HELD_PAGE = 4  # the materials page ServiceTitan holds while the host is killed


def test_a_pricebook_pull_in_flight_when_the_host_is_killed_finishes_with_every_item_stored_once(
    database: Database, private_azurite: Azurite
) -> None:
    # given a business connected to a ServiceTitan that answers five items an export page and holds the fourth
    # materials page (three written by then) until the test lets it go
    fake = FakeServiceTitan().start()
    fake.seed(**PULLED)
    fake.state.export_page_size = 5
    exports: Counter[str] = Counter()
    held, release = threading.Event(), threading.Event()

    def hold(kind: str, token: str | None) -> None:
        exports[kind] += 1
        if kind == "materials" and exports[kind] == HELD_PAGE:
            held.set()
            release.wait(60)

    fake.state.before_export = hold
    env = {"AzureWebJobsStorage": private_azurite.connection_string, **settings_for(fake)}
    first = start_host("function_app:app", env=env)
    second = None
    try:
        client = first.client()
        owner = register(client, tenant_name="Crash Pull Home Services")
        client_id, secret = next(iter(fake.state.clients.items()))
        body = {"st_tenant_id": fake.state.st_tenant_id, "client_id": client_id, "client_secret": secret}
        assert client.put("/api/v1/pricebook/connection", headers=owner.headers, json=body).status_code == 200
        # when the host dies with a full pull's page activity waiting on ServiceTitan
        pull = client.post("/api/v1/pricebook/syncs", headers=owner.headers, json={"mode": "full"})
        assert pull.status_code == 202, pull.text
        assert held.wait(60), first.log_tail()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        release.set()  # ServiceTitan answers a connection nobody reads any more
        at_kill = pricebook_rows(database, owner.tenant_id)
        assert at_kill["raw"]["materials"] == (HELD_PAGE - 1) * 5, at_kill
        assert at_kill["raw"]["services"] == 0, at_kill
        # then the next host resumes the orchestration from its history and finishes the pull
        second = start_host("function_app:app", env=env)
        client = second.client()
        pulled = _run(client, owner, pull, bound=120)
        assert pulled["status"] == "completed", (pulled, second.log_tail())
        # resumed, not restarted: pages written before the kill were not fetched again, the held one was
        # fetched once more (48 materials are ten pages)
        assert exports == {"categories": 2, "materials": 11, "services": 3, "equipment": 2}, exports
        # and every item is stored once, in raw and in master, as ServiceTitan has it
        after = pricebook_rows(database, owner.tenant_id)
        for kind in PULLED:
            ids = set(fake.state.items[kind])
            assert after["raw_ids"][kind] == after["master_ids"][kind] == ids, kind
            assert after["raw"][kind] == after["master"][kind] == len(ids) == PULLED[kind], (kind, after)
            progress = pulled["progress"][kind]
            assert (progress["written"], progress["received"], progress["done"]) == (PULLED[kind], PULLED[kind], True)
        prices = {st_id: round(item["price"] * 100) for st_id, item in fake.state.items["materials"].items()}
        assert after["material_prices"] == prices
        links = {
            (service["id"], kind, link["skuId"])
            for service in fake.state.items["services"].values()
            for kind, key in (("material", "serviceMaterials"), ("equipment", "serviceEquipment"))
            for link in service.get(key) or []
        }
        assert after["service_links"] == len(links), after
    finally:
        release.set()
        for host in (second, first):
            if host is not None:
                host.stop()
        fake.stop()


def pricebook_rows(database: Database, tenant_id: str) -> dict[str, Any]:
    """What the database holds of one business's pricebook, as its owner (no row-level security): rows and
    distinct ids per kind in raw and master, the materials' prices, and the services' links."""
    import psycopg

    url = database.owner_url.replace("postgresql+psycopg://", "postgresql://", 1)
    out: dict[str, Any] = {"raw": {}, "master": {}, "raw_ids": {}, "master_ids": {}}
    with psycopg.connect(url) as conn:
        for kind in PULLED:
            for layer, table in (("raw", f"raw.st_pricebook_{kind}"), ("master", f"master.pricebook_{kind}")):
                ids = [row[0] for row in conn.execute(f"SELECT st_id FROM {table} WHERE tenant_id = %s", (tenant_id,))]
                out[layer][kind], out[f"{layer}_ids"][kind] = len(ids), set(ids)
        prices = conn.execute(
            "SELECT st_id, price_cents FROM master.pricebook_materials WHERE tenant_id = %s", (tenant_id,)
        ).fetchall()
        out["material_prices"] = dict(prices)
        (links,) = conn.execute(
            "SELECT count(*) FROM master.pricebook_service_links WHERE tenant_id = %s", (tenant_id,)
        ).fetchone() or (0,)
        out["service_links"] = links
    return out


def _patches(fake: FakeServiceTitan) -> list[str]:
    """The item of every PATCH ServiceTitan received, as kind/st_id."""
    return ["/".join(call["path"].split("/")[-2:]) for call in fake.api_calls() if call["method"] == "PATCH"]


def _run(client: httpx.Client, owner: Account, started: httpx.Response, bound: float = 90) -> dict:
    """Wait for a pull or push to end; its last state."""
    assert started.status_code == 202, started.text
    run: dict = {}

    def ended() -> bool:
        run.update(client.get(f"/api/v1/pricebook/syncs/{started.json()['id']}", headers=owner.headers).json())
        return run.get("status") in ("completed", "failed")

    assert _until(ended, bound=bound), run
    return run


def test_a_bids_analysis_in_flight_when_the_host_is_killed_finishes_with_its_takeoff_made_once(
    database: Database, private_azurite: Azurite
) -> None:
    # given a generated plan set of 26 sheets, uploaded and being analysed (two pages in flight at a time)
    from tests.e2e.test_bids_flow import _fixtures, _project, _upload
    from tests.plansets.generator import make_plan_set

    env = {"AzureWebJobsStorage": private_azurite.connection_string, "BIDS_PAGES_IN_FLIGHT": "2"}
    plan_set = make_plan_set(plan_sheets=24, seed=19)
    first = start_host("function_app:app", env=env)
    second = None
    try:
        client = first.client()
        owner = register(client, tenant_name="Crash Plumbing")
        document_id, commit = _upload(client, owner, _project(client, owner), plan_set.pdf)
        assert commit.status_code == 202, commit.text
        path = f"/api/v1/bids/documents/{document_id}"

        def document() -> dict:
            return client.get(path, headers=owner.headers).json()

        # when the host dies part way through the pages
        assert _until(lambda: (document()["progress"] or {}).get("pages_done", 0) >= 3, bound=120), first.log_tail()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        done_at_kill = document_rows(database, document_id)
        assert done_at_kill["pages"] < 26 and done_at_kill["analyzed_at"] is None, done_at_kill
        # then the next host resumes the orchestration from its history and finishes the analysis
        second = start_host("function_app:app", env=env)
        client = second.client()
        assert _until(lambda: document()["status"] in ("analyzed", "failed"), bound=180), second.log_tail()
        finished = document()
        assert finished["status"] == "analyzed", (finished, second.log_tail())
        assert finished["progress"]["pages_done"] == finished["progress"]["pages_total"] == 26, finished
        # and the takeoff is made once: the plan set's true counts, one row per page, no fixture twice
        takeoff = client.get(f"{path}/takeoff", headers=owner.headers).json()
        truth = {kind.lower().replace(" ", "_"): n for kind, n in plan_set.counts().items()}
        assert {c["fixture_type"]: c["count"] for c in takeoff["counts"]} == truth, takeoff["counts"]
        assert {row["tag"] for row in takeoff["schedule"]} == set(plan_set.schedule_tags)
        listed = _fixtures(client, owner, document_id, "")
        assert len(listed) == sum(truth.values()), len(listed)
        places = Counter((f["page_number"], tuple(sorted(f["box"].items()))) for f in listed)
        assert max(places.values()) == 1, [place for place, n in places.items() if n > 1]
        after = document_rows(database, document_id)
        # (the database also keeps the fixtures the detectors found below the hide threshold, each once too)
        assert (after["pages"], after["distinct_pages"]) == (26, 26), after
        assert after["fixtures"] == after["fixture_places"] >= len(listed), after
    finally:
        for host in (second, first):
            if host is not None:
                host.stop()


def document_rows(database: Database, document_id: str) -> dict:
    """What the database holds for one bids document, as its owner (no row-level security)."""
    import psycopg

    url = database.owner_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        pages, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT page_number) FROM bids_pages WHERE document_id = %s", (document_id,)
        ).fetchone() or (0, 0)
        fixtures, places = conn.execute(
            "SELECT count(*), count(DISTINCT (page_number, fixture_type, x0, top, x1, bottom)) FROM bids_fixtures"
            " WHERE document_id = %s",
            (document_id,),
        ).fetchone() or (0, 0)
        (analyzed_at,) = conn.execute(
            "SELECT analyzed_at FROM bids_documents WHERE id = %s", (document_id,)
        ).fetchone() or (None,)
    return {
        "pages": pages,
        "distinct_pages": distinct,
        "fixtures": fixtures,
        "fixture_places": places,
        "analyzed_at": analyzed_at,
    }
