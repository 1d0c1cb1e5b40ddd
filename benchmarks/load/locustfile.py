"""Locust users of Tradeops: one class per kind of person, each a weighted set of tasks with think times.

Run by `benchmarks/load/run.py` (`make load`), which builds the businesses (LOAD_WORLD) and reads what
this file records (LOAD_RESULTS): every response's status and time per endpoint. Adding a module to the
mix is adding one `TradeopsUser` subclass here: give it a `kind` (the people of the world it signs in as,
or `kind = "owner"` and its own data made in `prepare`) and its `@task`s.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, ClassVar

import gevent
from locust import HttpUser, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
# the repository root first: locust loads this file by path
from benchmarks.load.rooms import room

WORLD: dict[str, Any] = json.loads(Path(os.environ["LOAD_WORLD"]).read_text()) if os.environ.get("LOAD_WORLD") else {}
RESULTS = os.environ.get("LOAD_RESULTS", "")
STEADY_SECONDS = int(os.environ.get("LOAD_SECONDS", "0"))
# Moves an advisor makes on the floor, and the ones a tech may make (techs never complete a car).
ROOMS_PER_WALK_THROUGH = 40  # then the estimator starts the next house
# An office pulls its pricebook a few times a day, not every few seconds: in a 3-minute load, about twice per
# owner or admin (the first run pulled every ~10 s: 19 pulls, each an orchestration in the host).
PULL_EVERY_SECONDS = 90
NEXT_STATUS = {"SCHEDULED": "IN_PROGRESS", "IN_PROGRESS": "READY", "READY": "IN_PROGRESS"}
TECH_NEXT = {"SCHEDULED": "IN_PROGRESS", "IN_PROGRESS": "READY"}
FINDINGS = ["ok", "ok", "ok", "attention", "urgent", "not_applicable"]

# Requests while users are still signing in ("ramp") are kept apart from the steady load ("steady").
_phase = {"name": "ramp"}
_times: dict[str, dict[str, list[float]]] = {"ramp": defaultdict(list), "steady": defaultdict(list)}
_statuses: dict[str, dict[str, Counter[int]]] = {"ramp": defaultdict(Counter), "steady": defaultdict(Counter)}
_addresses = itertools.count(1)


def _people(kind: str) -> itertools.cycle[tuple[dict[str, str], dict[str, Any]]]:
    pairs = [(p, b) for b in WORLD.get("businesses", []) for p in b["people"] if p["kind"] == kind]
    return itertools.cycle(pairs or [({}, {})])


_CAST: dict[str, itertools.cycle[tuple[dict[str, str], dict[str, Any]]]] = {}


# Every answer with its time (for a fault's window) and the ids of acknowledged writes (to look up after).
_answers: list[tuple[float, str, int]] = []
_acknowledged: list[str] = []
_texts: list[str] = []


@events.request.add_listener
def _record(name: str, response_time: float, response: Any = None, **_: Any) -> None:
    status = getattr(response, "status_code", 0) or 0
    _times[_phase["name"]][name].append(response_time)
    _statuses[_phase["name"]][name][status] += 1
    _answers.append((time.time(), name, status))


_signed_in = itertools.count(1)


def _one_more_signed_in(environment: Any) -> None:
    """Once every user has signed in, the steady load starts and lasts LOAD_SECONDS."""
    runner = environment.runner
    if next(_signed_in) < runner.target_user_count or _phase["name"] == "steady":
        return
    _phase["name"] = "steady"
    _phase["since"] = time.time()
    if RESULTS:  # tells the runner when to inject its fault
        Path(RESULTS + ".steady").write_text(str(_phase["since"]))
    if STEADY_SECONDS:
        gevent.spawn_later(STEADY_SECONDS, runner.quit)


@events.quitting.add_listener
def _write_results(**_: Any) -> None:
    if RESULTS:
        payload = {
            phase: {
                "times_ms": _times[phase],
                "statuses": {name: dict(counts) for name, counts in _statuses[phase].items()},
            }
            for phase in ("ramp", "steady")
        }
        payload["steady_seconds"] = time.time() - _phase.get("since", time.time())  # type: ignore[assignment]
        payload["answers"] = _answers  # type: ignore[assignment]
        payload["acknowledged_customers"] = _acknowledged  # type: ignore[assignment]
        payload["acknowledged_texts"] = _texts  # type: ignore[assignment]
        Path(RESULTS).write_text(json.dumps(payload))


class TradeopsUser(HttpUser):
    """A signed-in person of one business; subclasses add the tasks of their trade."""

    abstract = True
    kind: ClassVar[str] = "owner"
    wait_time = between(1, 4)

    def on_start(self) -> None:
        """Take the next person of this kind, sign in from an address of their own, then prepare."""
        cast = _CAST.setdefault(self.kind, _people(self.kind))
        self.person, self.business = next(cast)
        n = next(_addresses)
        self.address = {"X-Forwarded-For": f"198.18.{n // 250}.{n % 250 + 1}"}
        self.user_id: str | None = None
        self.etag: str | None = None  # of the last 2xx answer
        self.sign_in()
        self.prepare()
        _one_more_signed_in(self.environment)

    def prepare(self) -> None:
        """Data of this user's own (a module's class makes what its tasks need here)."""

    def sign_in(self) -> None:
        """POST /v1/auth/login, then who am I."""
        password = self.person.get("password") or WORLD.get("password", "")
        with self.client.post(
            "/api/v1/auth/login",
            json={"email": self.person.get("email"), "password": password},
            headers=self.address,
            name="POST /v1/auth/login",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"sign-in {response.status_code}")
                self.headers = dict(self.address)
                return
            self.headers = {**self.address, "Authorization": f"Bearer {response.json()['access_token']}"}
        me = self.call("GET", "/api/v1/me", "GET /v1/me")
        self.user_id = me.get("user", {}).get("id") if isinstance(me, dict) else None

    def call(self, method: str, path: str, name: str, *, expected: tuple[int, ...] = (), **kwargs: Any) -> Any:
        """One request; 2xx and the statuses in `expected` (races the app answers by design) are successes."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        with self.client.request(method, path, name=name, headers=headers, catch_response=True, **kwargs) as response:
            if response.status_code == 401:  # the 15-minute access token ran out: sign in again
                response.success()
                self.sign_in()
                return None
            if response.status_code in expected:
                response.success()
                return None
            if response.status_code >= 300:
                response.failure(f"{response.status_code} {response.text[:200]}")
                return None
            response.success()
            self.etag = response.headers.get("ETag")
            if "json" not in response.headers.get("content-type", "") or not response.content:
                return None
            return response.json()

    @property
    def window(self) -> str:
        """The board window of today's bookings."""
        return f"from={self.business['day_from']}&to={self.business['day_to']}"

    def idempotency(self) -> dict[str, str]:
        """A fresh Idempotency-Key, as the PWA sends with every POST."""
        return {"Idempotency-Key": uuid.uuid4().hex}


class ShopUser(TradeopsUser):
    """Someone on the shop floor: reads the board of today and moves cards along the status machine."""

    abstract = True

    def prepare(self) -> None:
        """No board read yet."""
        self.cards: list[dict[str, Any]] = []

    def read_board(self, query: str = "") -> None:
        """GET the board of today (optionally filtered) and remember its cards."""
        board = self.call("GET", f"/api/v1/shop/board?{self.window}{query}", "GET /v1/shop/board")
        self.cards = board["cards"] if board else self.cards

    def move_card(self, moves: dict[str, str], **body: Any) -> None:
        """Move a card to its next column (409 when another move won the race for it)."""
        movable = [c for c in self.cards if c["status"] in moves]
        if not movable:
            return
        card = random.choice(movable)
        self.call(
            "PATCH",
            f"/api/v1/shop/appointments/{card['id']}/move?{self.window}",
            "PATCH /v1/shop/appointments/{id}/move",
            json={"status": moves[card["status"]], **body},
            expected=(409,),
        )
        card["status"] = moves[card["status"]]


class ShopAdvisor(ShopUser):
    """The service advisor: reads the board all day, opens drawers, moves cards, glances at stats."""

    kind = "advisor"
    weight = 3

    @task(6)
    def board(self) -> None:
        """The whole board of today."""
        self.read_board()

    @task(5)
    def drawer(self) -> None:
        """Open one card's drawer."""
        appointment = random.choice(self.business["appointments"])
        self.call("GET", f"/api/v1/shop/appointments/{appointment}", "GET /v1/shop/appointments/{id}")

    @task(2)
    def move(self) -> None:
        """Drag a card to its next column, at a drop position."""
        self.move_card(NEXT_STATUS, position=random.randint(0, 3))

    @task(1)
    def stats(self) -> None:
        """The dashboard figures."""
        self.call("GET", "/api/v1/shop/stats", "GET /v1/shop/stats")

    @task(1)
    def customers(self) -> None:
        """The customer list (crm)."""
        self.call("GET", "/api/v1/crm/customers?limit=20", "GET /v1/crm/customers")


class ShopTech(ShopUser):
    """The technician at the bay: their own cards, the inspection on the tablet, a move now and then."""

    kind = "tech"
    weight = 4

    @task(2)
    def my_board(self) -> None:
        """The board filtered to this tech."""
        self.read_board(f"&tech_id={self.user_id}" if self.user_id else "")

    @task(3)
    def open_inspection(self) -> None:
        """Read one inspection."""
        inspection = random.choice(self.business["inspections"])
        self.call("GET", f"/api/v1/shop/inspections/{inspection['id']}", "GET /v1/shop/inspections/{id}")

    @task(4)
    def record_finding(self) -> None:
        """Record a finding on one point (If-Match: * as the tablet overwrites its own point)."""
        inspection = random.choice(self.business["inspections"])
        item = random.choice(inspection["items"])
        status = random.choice(FINDINGS)
        self.call(
            "PATCH",
            f"/api/v1/shop/inspections/{inspection['id']}/items/{item}",
            "PATCH /v1/shop/inspections/{id}/items/{item_id}",
            json={"status": status, "notes": f"checked {status}", "recommended": status == "urgent"},
            headers={"If-Match": "*"},
        )

    @task(1)
    def move_own_card(self) -> None:
        """Start or finish one of this tech's cars."""
        self.move_card(TECH_NEXT)


class FrontDesk(TradeopsUser):
    """The front desk: texts customers, reads threads, looks people up and adds walk-ins."""

    kind = "desk"
    weight = 2

    @task(3)
    def text_customer(self) -> None:
        """Send a transactional text (202: queued through the outbox)."""
        customer = random.choice(self.business["customers"])
        queued = self.call(
            "POST",
            "/api/v1/messages",
            "POST /v1/messages",
            json={"customer_id": customer, "channel": "sms", "purpose": "transactional", "body": "Your car is in."},
            headers=self.idempotency(),
        )
        if queued:
            _texts.append(queued["id"])

    @task(2)
    def read_thread(self) -> None:
        """One customer's thread."""
        customer = random.choice(self.business["customers"])
        self.call("GET", f"/api/v1/messages?customer_id={customer}&limit=20", "GET /v1/messages")

    @task(1)
    def look_up(self) -> None:
        """The customer list."""
        self.call("GET", "/api/v1/crm/customers?limit=20", "GET /v1/crm/customers")

    @task(1)
    def walk_in(self) -> None:
        """A new customer at the counter (its id kept: it must be in the database afterwards)."""
        made = self.call(
            "POST",
            "/api/v1/crm/customers",
            "POST /v1/crm/customers",
            json={"name": f"Walk-in {uuid.uuid4().hex[:6]}", "phone": f"+1512{random.randint(2000000, 9999999)}"},
            headers=self.idempotency(),
        )
        if made:
            _acknowledged.append(made["id"])


class Manufacturer(TradeopsUser):
    """The manufacturer's salesperson: configures products, saves them and asks for renders."""

    kind = "manufacturer"
    weight = 1

    def prepare(self) -> None:
        """Nothing saved yet."""
        self.saved: list[str] = []

    def _config(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The defaults with one choice changed: a handful of variants, as customers ask for the same ones."""
        config = {name: option.get("default") for name, option in schema["properties"].items()}
        choices = [(n, o["enum"]) for n, o in schema["properties"].items() if o.get("enum")]
        if choices:
            name, values = random.choice(choices)
            config[name] = random.choice(values)
        return config

    @task(1)
    def catalogue(self) -> None:
        """The product list."""
        self.call("GET", "/api/v1/configurator/products", "GET /v1/configurator/products")

    @task(3)
    def save_configuration(self) -> None:
        """Save a configuration (validated against the product's schema, priced)."""
        if not self.business.get("products"):
            return
        product = random.choice(self.business["products"])
        saved = self.call(
            "POST",
            "/api/v1/configurator/configurations",
            "POST /v1/configurator/configurations",
            json={"product_id": product["id"], "name": "Quote", "config_data": self._config(product["schema"])},
            headers=self.idempotency(),
        )
        if saved:
            self.saved.append(saved["id"])

    @task(2)
    def render(self) -> None:
        """Ask for the GLB of a saved configuration, then look at the job."""
        if not self.saved:
            return
        job = self.call(
            "POST",
            "/api/v1/configurator/jobs",
            "POST /v1/configurator/jobs",
            json={"configuration_id": random.choice(self.saved[-20:])},
            headers=self.idempotency(),
        )
        if job:
            self.call("GET", f"/api/v1/configurator/jobs/{job['id']}", "GET /v1/configurator/jobs/{id}")


class Estimator(TradeopsUser):
    """The painting estimator: their estimate list, the whole-house estimate, rooms added on a walk-through and
    the proposal's PDF link."""

    kind = "estimator"
    weight = 2

    def prepare(self) -> None:
        """This estimator's estimates (the world's), and a walk-through of this user's own to add rooms to."""
        mine = self.business.get("estimates", {}).get(self.person.get("email"), {})
        self.forty_rooms: str | None = mine.get("forty_rooms")
        self.customer: str | None = mine.get("customer")
        self.products: list[str] = self.business.get("paint_products", [])
        self.draft: str | None = None
        self.rooms = 0
        self.start_walk_through()

    def start_walk_through(self) -> None:
        """A new draft estimate for the next house."""
        if not self.customer:
            return
        draft = self.call(
            "POST",
            "/api/v1/estimates",
            "POST /v1/estimates",
            json={"customer_id": self.customer, "title": "Walk-through"},
            headers=self.idempotency(),
        )
        self.draft, self.rooms = (draft["id"] if draft else None), 0

    @task(3)
    def estimates(self) -> None:
        """The estimate list (own and shared, newest change first)."""
        self.call("GET", "/api/v1/estimates?limit=20", "GET /v1/estimates")

    @task(4)
    def read_forty_rooms(self) -> None:
        """The whole-house estimate: 40 rooms, three options, priced in the request."""
        if self.forty_rooms:
            self.call("GET", f"/api/v1/estimates/{self.forty_rooms}", "GET /v1/estimates/{id}")

    @task(2)
    def add_room(self) -> None:
        """Measure one more room of the walk-through (the estimate comes back priced)."""
        if not self.draft or not self.products:
            return
        self.rooms += 1
        self.call(
            "POST",
            f"/api/v1/estimates/{self.draft}/rooms",
            "POST /v1/estimates/{id}/rooms",
            json=room(f"Room {self.rooms}", self.products, self.rooms),
            headers=self.idempotency(),
        )
        if self.rooms >= ROOMS_PER_WALK_THROUGH:
            self.start_walk_through()

    @task(1)
    def pdf_link(self) -> None:
        """The sent proposal's PDF link (a short-lived read URL)."""
        if self.forty_rooms:
            self.call("GET", f"/api/v1/estimates/{self.forty_rooms}/pdf", "GET /v1/estimates/{id}/pdf")


class BidEstimator(TradeopsUser):
    """The plumbing estimator: the projects to bid and the takeoff of an analysed plan set."""

    kind = "plumber"
    weight = 1

    @task(3)
    def projects(self) -> None:
        """The project list."""
        self.call("GET", "/api/v1/bids/projects?limit=20", "GET /v1/bids/projects")

    @task(1)
    def project(self) -> None:
        """One project."""
        if self.business.get("bid_projects"):
            project = random.choice(self.business["bid_projects"])
            self.call("GET", f"/api/v1/bids/projects/{project}", "GET /v1/bids/projects/{id}")

    @task(3)
    def takeoff(self) -> None:
        """Counts by type and sheet, fixture units, the schedule and what to check."""
        if self.business.get("takeoffs"):
            document = random.choice(self.business["takeoffs"])
            self.call("GET", f"/api/v1/bids/documents/{document}/takeoff", "GET /v1/bids/documents/{id}/takeoff")


class BidDesk(TradeopsUser):
    """The plumbing office: priced bids and their price book, and the leads the website and texts bring in."""

    kind = "plumber"
    weight = 1

    @task(3)
    def leads(self) -> None:
        """The newest leads with their first answers."""
        self.call("GET", "/api/v1/leads?limit=20", "GET /v1/leads")

    @task(1)
    def lead_stats(self) -> None:
        """This week's time to first answer by source."""
        self.call("GET", "/api/v1/leads/stats", "GET /v1/leads/stats")

    @task(2)
    def bids(self) -> None:
        """The bids list, then one bid priced with every step."""
        page = self.call("GET", "/api/v1/bids?limit=20", "GET /v1/bids")
        items = page.get("items", []) if isinstance(page, dict) else []
        if items:
            self.call("GET", f"/api/v1/bids/{random.choice(items)['id']}", "GET /v1/bids/{id}")

    @task(1)
    def price_book(self) -> None:
        """The plumbing price book the bids are priced from."""
        self.call("GET", "/api/v1/bids/price-book", "GET /v1/bids/price-book")


class WebsiteVisitor(HttpUser):
    """A homeowner filling the plumbing business's website form (anonymous): a few leads a minute in all."""

    weight = 1
    wait_time = between(20, 60)

    def on_start(self) -> None:
        n = next(_addresses)
        self.address = {"X-Forwarded-For": f"198.19.{n // 250}.{n % 250 + 1}"}
        _one_more_signed_in(self.environment)

    @task
    def ask_for_a_plumber(self) -> None:
        """POST the form: 202 at once; its first answer goes out by text within the minute (outside quiet hours)."""
        body = {
            "name": "Load Homeowner",
            "phone": f"+1512555{random.randint(0, 9999):04d}",
            "message": "Water heater leaking in the garage",
            "consent": True,
            "consent_text": "Text me about my request",
        }
        slug = WORLD.get("lead_slug", "demo-plumbing")
        with self.client.post(
            f"/api/v1/leads/intake/{slug}",
            json=body,
            headers=self.address,
            name="POST /v1/leads/intake/{slug}",
            catch_response=True,
        ) as response:
            if response.status_code in (202, 429):  # 429: this address's limit, by design
                response.success()
            else:
                response.failure(f"{response.status_code} {response.text[:200]}")


class PricebookAdmin(TradeopsUser):
    """The office of a ServiceTitan business: browses materials, overrides a price, now and then pulls."""

    kind = "pricebook"
    weight = 1

    def prepare(self) -> None:
        """No page read yet; this user's first pull due some time in the first minute."""
        self.cursor: str | None = None
        self.next_pull = time.monotonic() + random.uniform(0, 60)

    @task(6)
    def browse_materials(self) -> None:
        """A page of materials, the next one after the last (from the start again at the end)."""
        cursor = f"&cursor={self.cursor}" if self.cursor else ""
        page = self.call("GET", f"/api/v1/pricebook/materials?limit=50{cursor}", "GET /v1/pricebook/materials")
        self.cursor = page.get("next_cursor") if page else None

    @task(3)
    def edit_override(self) -> None:
        """Read one material, then override its price locally (If-Match; 412 when someone changed it first)."""
        materials = self.business.get("materials") or []
        if not materials:
            return
        st_id = random.choice(materials)
        item = self.call("GET", f"/api/v1/pricebook/materials/{st_id}", "GET /v1/pricebook/materials/{st_id}")
        if not item or not self.etag:
            return
        self.call(
            "PATCH",
            f"/api/v1/pricebook/materials/{st_id}",
            "PATCH /v1/pricebook/materials/{st_id}",
            json={"price_cents": random.randint(100, 100_000)},
            headers={"If-Match": self.etag},
            expected=(412,),
        )

    @task(1)
    def pull(self) -> None:
        """An incremental pull from ServiceTitan (owner and admin, at most every PULL_EVERY_SECONDS each; 409
        while one is running)."""
        if self.person.get("role") in ("owner", "admin") and time.monotonic() >= self.next_pull:
            self.next_pull = time.monotonic() + PULL_EVERY_SECONDS
            self.call(
                "POST",
                "/api/v1/pricebook/syncs",
                "POST /v1/pricebook/syncs",
                json={"mode": "incremental"},
                headers=self.idempotency(),
                expected=(409,),
            )
