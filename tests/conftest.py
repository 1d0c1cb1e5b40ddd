"""Test services: one embedded PostgreSQL and one Azurite per run, one migrated database per worker.

The controller process starts the services once and exports where they are; pytest-xdist workers
inherit that environment, each creates its own database, and each test rolls back its transaction.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from devhost import services
from devhost.services import MigratedDatabase

ROOT = Path(__file__).resolve().parent.parent
TEST_FUNCTION_KEY = "test-function-key"
TEST_MASTER_KEY = "test-master-key"
_started: dict[str, object] = {}
# Where start_host keeps each host's log: under pytest's basetemp in a test run (pytest keeps the last three runs'),
# the system temp folder otherwise (benchmarks remove theirs).
_host_logs: list[Path] = []

# Settings every test process runs with; real secrets never appear in tests.
os.environ.setdefault("APP_ENV", "test")
os.environ.setdefault("JWT_SIGNING_KEY", "test-signing-key-0123456789abcdef0123456789abcdef")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# The voice agent's webhook and tool secrets (test values), so hosts accept what the tests sign.
os.environ.setdefault("ELEVENLABS_WEBHOOK_SECRET", "test-elevenlabs-webhook-secret-0123456789")
os.environ.setdefault("ELEVENLABS_TOOL_SECRET", "test-elevenlabs-tool-secret-0123456789")


def pytest_configure(config: pytest.Config) -> None:
    """Start PostgreSQL and Azurite once, in the controller, unless the environment already names them."""
    if hasattr(config, "workerinput"):
        return
    from devhost.services import EmbeddedPostgres, free_azurite

    if not os.environ.get("TEST_DATABASE_ADMIN_URL"):
        data_dir = Path(tempfile.mkdtemp(prefix="tradeops-test-pg-"))
        postgres = EmbeddedPostgres(data_dir, database="postgres").start()
        _started["postgres"] = postgres
        _started["pg_dir"] = data_dir
        os.environ["TEST_DATABASE_ADMIN_URL"] = postgres.url("postgres")
    if not os.environ.get("AzureWebJobsStorage"):
        azurite = free_azurite().start()
        _started["azurite"] = azurite
        os.environ["AzureWebJobsStorage"] = azurite.connection_string


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop whatever pytest_configure started."""
    if "azurite" in _started:
        _started.pop("azurite").stop()  # type: ignore[attr-defined]
    if "postgres" in _started:
        _started.pop("postgres").stop()  # type: ignore[attr-defined]
        shutil.rmtree(_started.pop("pg_dir"), ignore_errors=True)  # type: ignore[arg-type]


Database = MigratedDatabase


def create_database(name: str) -> Database:
    """A fresh database on the test server, migrated to every head, with the non-owner app role ready."""
    return services.create_database(os.environ["TEST_DATABASE_ADMIN_URL"], name)


@pytest.fixture(scope="session")
def database(worker_id: str) -> Iterator[Database]:
    """This worker's migrated database, installed as the app's DATABASE_URL."""
    from shared import db as shared_db
    from shared import runtime, storage
    from shared.config import reset_settings_cache

    database = create_database(f"tradeops_test_{worker_id}")
    os.environ["DATABASE_URL"] = database.app_url
    os.environ["DATABASE_MIGRATION_URL"] = database.owner_url
    reset_settings_cache()
    shared_db.dispose_engine()
    storage.reset_clients()
    runtime.reset()
    yield database
    shared_db.dispose_engine()


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """gw0, gw1, ... under xdist; "main" otherwise."""
    workerinput = getattr(request.config, "workerinput", None)
    return workerinput["workerid"] if workerinput else "main"


@pytest.fixture
def db_session(database: Database) -> Iterator[object]:
    """A session as the app role inside a transaction that is rolled back after the test."""
    from sqlalchemy.orm import Session

    from shared.db import get_engine

    connection = get_engine().connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@dataclass
class RunningHost:
    """A dev host subprocess serving one app."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    function_key: str = TEST_FUNCTION_KEY
    master_key: str = TEST_MASTER_KEY
    env: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> str:
        """The API root (with the route prefix)."""
        return f"{self.base_url}/api"

    def client(self, **kwargs: object) -> httpx.Client:
        """An HTTP client for this host."""
        return httpx.Client(base_url=self.base_url, timeout=30, **kwargs)  # type: ignore[arg-type]

    def fire(self, function: str, payload: object = None) -> httpx.Response:
        """Run a non-HTTP function now through the host's admin API and wait for it."""
        return httpx.post(
            f"{self.base_url}/admin/functions/{function}?wait=true",
            json={"input": payload},
            headers={"x-functions-key": self.master_key},
            timeout=60,
        )

    def log_tail(self, lines: int = 60) -> str:
        """The end of the host's output (for failure messages)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_host(
    app: str,
    *,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 60,
    settings: Path | str = os.devnull,
    unset: tuple[str, ...] = (),
    data_dir: Path | None = None,
) -> RunningHost:
    """Start `python -m devhost --app app` on a free port and wait until it answers.

    `settings` is the local settings file it reads; `unset` names variables of this process it does not inherit.
    With `data_dir` it starts the services the environment does not name (the catchers of mail and texts:
    the tests' database and storage are named) and keeps their data there.
    """
    from devhost.services import free_port

    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="devhost-", dir=_host_logs[0] if _host_logs else None)) / "host.log"
    full_env = {name: value for name, value in os.environ.items() if name not in unset}
    full_env.update(
        {
            "DEVHOST_FUNCTION_KEY": TEST_FUNCTION_KEY,
            "DEVHOST_MASTER_KEY": TEST_MASTER_KEY,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "PYTHONPATH": str(ROOT),
        }
    )
    full_env.update(env or {})
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devhost",
                "--app",
                app,
                "--port",
                str(port),
                *(["--data-dir", str(data_dir)] if data_dir else ["--no-services"]),
                "--no-migrate",
                "--settings",
                str(settings),
            ],
            cwd=cwd,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    host = RunningHost(base_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path, env=full_env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dev host exited with {process.returncode}:\n{host.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            status = httpx.get(
                f"{host.base_url}/admin/host/status", headers={"x-functions-key": TEST_MASTER_KEY}, timeout=1
            )
            if status.status_code == 200:
                return host
        time.sleep(0.1)
    host.stop()
    raise TimeoutError(f"dev host did not answer within {timeout} s:\n{host.log_tail()}")


@pytest.fixture(scope="session", autouse=True)
def _host_logs_in_basetemp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    _host_logs.append(tmp_path_factory.mktemp("devhost-logs"))
    yield
    _host_logs.clear()


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A new folder every local user may enter, removed after the test: as root, pgserver runs PostgreSQL as an
    unprivileged user, which cannot enter pytest's private tmp_path."""
    folder = Path(tempfile.mkdtemp(prefix="tradeops-shared-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def app_host(database: Database) -> Iterator[RunningHost]:
    """The Tradeops function app served by the dev host against this worker's database."""
    host = start_host("function_app:app")
    yield host
    host.stop()
