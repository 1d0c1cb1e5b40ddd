"""What every benchmark shares: its services, its timing client, its samplers and its last line.

- `services(name, ...)`: a context manager that starts what a benchmark asks for (an embedded PostgreSQL with a
  migrated database, or one on BENCH_DATABASE_ADMIN_URL's server; an Azurite; the dev host serving function_app,
  at once or later with `bench.start_host(env)`) with the settings the dev host needs in os.environ, and stops all
  of it, newest first, when the block ends, on an error too. Anything else a benchmark starts (a fake provider, a
  raw connection) is stopped with it through `bench.closing(thing)` / `bench.on_exit(callback)`.
- `TimingClient`: the client for timed HTTP calls. One kept-alive `http.client` connection (reopened when the
  server closed it), a JSON helper and a status check; the clock runs from sending the request to the last byte
  of the answer, with the body encoded before and the answer decoded after. httpx costs ~0.22 ms more at p50
  (~0.40 ms at p95) per call on loopback than this for the same `/api/health`: the measuring client's cost, not
  the system's, which would inflate every "through the host vs raw SQL" ratio. httpx stays for seeding and
  set-up (`bench.client()`).
- `percentile`, `spread` (p50/p95/max), `samples` (a call that times itself, after warm-up), `stopwatch` (times a call),
  `time_in_turn` (each call once per round, each round starting one further along).
- `load_average_1m`, `print_figures` (the last line: one JSON object, which benchmarks/run.py keeps).
- For the texting benchmarks: `afternoon_zone` (no quiet hours now) and `twilio_round_trips` (the fake's own baseline).
"""

from __future__ import annotations

import http.client
import json as jsonlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    import httpx
    import psycopg

    from devhost.services import MigratedDatabase
    from tests.conftest import RunningHost

JWT_SIGNING_KEY = "bench-signing-key-0123456789abcdef0123456789abcdef"
T = TypeVar("T")


def percentile(values: list[float], q: float, digits: int = 2) -> float:
    """The q-quantile of values (nearest rank), rounded to digits."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], digits)


def spread(values: list[float], *, with_max: bool = False) -> dict[str, float] | None:
    """{"p50", "p95"} of values (and "max" when asked), None when there are none."""
    if not values:
        return None
    figures = {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95)}
    if with_max:
        figures["max"] = round(max(values), 2)
    return figures


def samples(call: Callable[[int], float], runs: int, warmup: int = 0) -> list[float]:
    """`warmup` calls, then `runs` calls kept: each call is given its index and answers its own time (ms)."""
    for n in range(warmup):
        call(n)
    return [call(n) for n in range(runs)]


def stopwatch(run: Callable[[], object], runs: int, warmup: int = 0) -> list[float]:
    """`warmup` runs, then the time (ms) of each of `runs` runs."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def time_in_turn(calls: Mapping[str, Callable[[int], float]], rounds: int, warmup: int = 0) -> dict[str, list[float]]:
    """Each call once per round, for `rounds` rounds kept after `warmup` rounds: the same load falls on all of them.

    Each call answers its own time (ms). Each round starts one further along: the call right after an HTTP request
    pays for waking its connection's server process (measured: 2-3x at p50 under load), so no series may always
    sit there.
    """
    kept: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for n in range(warmup + rounds):
        for name in names[n % len(names) :] + names[: n % len(names)]:
            elapsed = calls[name](n)
            if n >= warmup:
                kept[name].append(elapsed)
    return kept


def load_average_1m() -> float:
    """The machine's load average over the last minute, as the figures carry it."""
    return round(os.getloadavg()[0], 2)


def print_figures(
    figures: dict[str, Any], *, meets_targets: bool | None = None, load_average: bool = False
) -> dict[str, Any]:
    """Print the benchmark's last line: its figures as one JSON object (with `meets_targets` and
    `load_average_1m` added when given/asked); answers the figures printed."""
    if load_average:
        figures["load_average_1m"] = load_average_1m()
    if meets_targets is not None:
        figures["meets_targets"] = meets_targets
    print(jsonlib.dumps(figures, default=str), flush=True)
    return figures


def afternoon_zone() -> str:
    """A fixed-offset zone where it is about 14:00 now: texts to it meet no quiet hours."""
    from datetime import UTC, datetime

    offset = ((14 - datetime.now(UTC).hour + 12) % 24) - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def twilio_round_trips(fake: Any, count: int) -> list[float]:
    """The fake Twilio's own round trip through the twilio library (ms), `count` texts; the fake is reset after."""
    from shared.providers import twilio_messaging

    twilio_messaging.reset_client()
    send = {"to": "+15125550100", "body": "ping", "from_number": "+15125550199"}
    times = stopwatch(
        lambda: twilio_messaging.send_sms(**send, messaging_service_sid=None, status_callback=None), count
    )
    fake.reset()
    return times


def libpq(url: str) -> str:
    """A SQLAlchemy psycopg URL as libpq (psycopg.connect) takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def analyze(owner_url: str) -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would gather soon after."""
    import psycopg

    with psycopg.connect(libpq(owner_url), autocommit=True) as conn:
        conn.execute("ANALYZE")


@dataclass(frozen=True)
class Answer:
    """One timed HTTP answer: status, headers, the whole body and the call's time in ms."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes
    ms: float

    def json(self) -> Any:
        """The body parsed as JSON."""
        return jsonlib.loads(self.body)

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode(errors="replace")


class TimingClient:
    """Timed HTTP calls on one kept-alive `http.client` connection (reopened if the server closed it).

    `expect` is the status (or statuses) a call must answer, None for any; anything else raises AssertionError
    with the start of the body. Not thread-safe: one client per thread.
    """

    def __init__(self, base_url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 30) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or url.hostname is None:
            raise ValueError(f"a plain http:// base URL, not {base_url!r}")
        self.host, self.port, self.prefix = url.hostname, url.port or 80, url.path.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.connects = 0  # connections opened: 1 for a run on one kept-alive connection
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        expect: int | Collection[int] | None = 200,
    ) -> Answer:
        """Send one request and read its whole answer; the time covers the send and the read only."""
        body = jsonlib.dumps(json).encode() if json is not None else content
        sent = {**self.headers, **(headers or {})}
        if json is not None:
            sent.setdefault("Content-Type", "application/json")
        target = self.prefix + path
        while True:
            reused = self._conn is not None
            conn = self._connection()
            started = time.perf_counter()
            try:
                conn.request(method, target, body=body, headers=sent)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if not reused:
                    raise
                continue  # the server had closed the kept-alive connection: once more on a new one
            ms = (time.perf_counter() - started) * 1000
            break
        if response.will_close:
            self.close()
        answer = Answer(status=response.status, headers=response.headers, body=data, ms=ms)
        allowed = (expect,) if isinstance(expect, int) else expect
        if allowed is not None and answer.status not in allowed:
            raise AssertionError(f"{method} {path} answered {answer.status}, not {expect}: {answer.text[:300]}")
        return answer

    def get(self, path: str, **kwargs: Any) -> Answer:
        """GET path (see request)."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        """POST path (see request)."""
        return self.request("POST", path, **kwargs)

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._conn.connect()
            self.connects += 1
        return self._conn

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class RawSql:
    """A psycopg connection as the app role and timed transactions of statements on it, tenant bound."""

    def __init__(self, app_url: str, tenant_id: uuid.UUID) -> None:
        import psycopg

        self.conn: psycopg.Connection[Any] = psycopg.connect(libpq(app_url))
        self.tenant_id = tenant_id

    def time(self, statements: list[tuple[str, dict[str, Any]]]) -> float:
        """ms for one transaction: bind the tenant, run each statement (`t` is the tenant) and fetch its rows."""
        started = time.perf_counter()
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SELECT set_config('app.tenant_id', %s, true)", (str(self.tenant_id),))
            for sql, params in statements:
                cur.execute(sql, {"t": self.tenant_id, **params})  # type: ignore[arg-type]
                cur.fetchall()
        return (time.perf_counter() - started) * 1000

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


@dataclass
class Bench:
    """What `services` started, and the means to start and stop more with it."""

    stack: ExitStack
    env: dict[str, str] = field(default_factory=dict)
    database: MigratedDatabase | None = None
    azurite_connection_string: str | None = None
    host: RunningHost | None = None

    @property
    def app_url(self) -> str:
        """The app role's URL of the migrated database."""
        assert self.database is not None, "services(database=False)"
        return self.database.app_url

    @property
    def owner_url(self) -> str:
        """The owner role's URL of the migrated database."""
        assert self.database is not None, "services(database=False)"
        return self.database.owner_url

    def add_env(self, env: Mapping[str, str]) -> None:
        """More settings (a fake's URL, say) for os.environ and every dev host started from now on."""
        self.env.update(env)
        os.environ.update(env)

    def on_exit(self, callback: Callable[[], object]) -> None:
        """Call callback when the services stop (before what was started earlier)."""
        self.stack.callback(callback)

    def closing(self, thing: T, stop: str = "stop") -> T:
        """Stop thing (its `stop` method, or the one named) when the services stop; answers thing."""
        self.on_exit(getattr(thing, stop))
        return thing

    def start_host(self, env: Mapping[str, str] | None = None, *, app: str = "function_app:app") -> RunningHost:
        """A dev host serving app with the services' settings and `env` on top; stopped with the services."""
        from tests.conftest import start_host

        host = start_host(app, env={**self.env, **(env or {})})
        self.on_exit(lambda: shutil.rmtree(host.log_path.parent, ignore_errors=True))  # after the host stops
        self.host = self.closing(host)
        return self.host

    def _running_host(self) -> RunningHost:
        assert self.host is not None, "start_host() first"
        return self.host

    def client(self) -> httpx.Client:
        """An httpx client on the dev host, for seeding and set-up (not for timed calls)."""
        return self.closing(self._running_host().client(), "close")

    def timing_client(self, headers: Mapping[str, str] | None = None, *, timeout: float = 30) -> TimingClient:
        """A TimingClient on the dev host, sending headers with every call; closed with the services."""
        return self.closing(TimingClient(self._running_host().base_url, headers=headers, timeout=timeout), "close")

    def login(self, email: str, password: str) -> dict[str, str]:
        """Sign in through the dev host; answers the Authorization header."""
        client = TimingClient(self._running_host().base_url)
        try:
            tokens = client.post("/api/v1/auth/login", json={"email": email, "password": password}).json()
        finally:
            client.close()
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    def raw_sql(self, tenant_id: uuid.UUID) -> RawSql:
        """A RawSql on the database as the app role, bound to tenant_id; closed with the services."""
        return self.closing(RawSql(self.app_url, tenant_id), "close")


def _dispose_engine() -> None:
    """Close the pool of this process's engine (if it made one) before its server stops."""
    db = sys.modules.get("shared.db")
    if db is not None:
        db.dispose_engine()


@contextmanager
def services(
    name: str,
    *,
    database: bool = True,
    azurite: bool = True,
    host: bool = False,
    env: Mapping[str, str] | None = None,
    log_level: str = "ERROR",
    revision: str = "heads",
) -> Iterator[Bench]:
    """Start what a benchmark needs, put its settings in os.environ, and stop it all (newest first) at the end.

    database: a database named `name_<random>` migrated to `revision`, on BENCH_DATABASE_ADMIN_URL's server when
    set, else on an embedded PostgreSQL in a temporary folder. azurite: on free ports. host: the dev host serving
    function_app at once (else `bench.start_host(env)` when wanted). env: settings on top of the standard ones
    (APP_ENV=development, the database URLs, AzureWebJobsStorage, LOG_LEVEL, JWT_SIGNING_KEY). os.environ is put
    back as it was when the block ends.
    """
    from devhost.services import EmbeddedPostgres, create_database, free_azurite

    saved = dict(os.environ)
    with ExitStack() as stack:
        stack.callback(lambda: (os.environ.clear(), os.environ.update(saved)))
        bench = Bench(stack=stack)
        settings = {"APP_ENV": "development", "LOG_LEVEL": log_level, "JWT_SIGNING_KEY": JWT_SIGNING_KEY}
        if database:
            database_name = f"{name}_{uuid.uuid4().hex[:8]}"
            admin = os.environ.get("BENCH_DATABASE_ADMIN_URL")
            if admin is None:
                folder = Path(tempfile.mkdtemp(prefix=f"{database_name}-pg-"))
                server = bench.closing(EmbeddedPostgres(folder, database="postgres", throwaway=True).start())
                admin = server.url("postgres")
            bench.database = create_database(admin, database_name, revision=revision)
            bench.on_exit(_dispose_engine)
            # the dev host keeps its durable state in schema devhost, which the owner role creates
            settings.update(DATABASE_URL=bench.app_url, DATABASE_MIGRATION_URL=bench.owner_url)
        if azurite:
            storage = bench.closing(free_azurite().start())
            bench.azurite_connection_string = storage.connection_string
            settings["AzureWebJobsStorage"] = storage.connection_string
        bench.env = {**settings, **(env or {})}
        os.environ.update(bench.env)
        if host:
            bench.start_host()
        yield bench
