"""Embedded PostgreSQL (pgserver) and Azurite, started for local work and tests and stopped with the host."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("devhost.services")

ROOT = Path(__file__).resolve().parent.parent
APP_ROLE = "tradeops_app"
# The well-known development account of the storage emulator; public, not a secret.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, *, timeout: float = 30.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@dataclass
class EmbeddedPostgres:
    """PostgreSQL 16 from the pgserver wheel, its data in a folder of ours (deleted on stop when `throwaway`)."""

    data_dir: Path
    database: str = "tradeops"
    throwaway: bool = False
    _server: Any = None
    _resumed: bool = False

    def start(self) -> EmbeddedPostgres:
        """Start (or join, or adopt) the server and make sure the database and the app role exist."""
        import pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        adopted = _forget_dead_holders(self.data_dir / ".handle_pids.json")
        self._server = pgserver.get_server(str(self.data_dir), cleanup_mode="delete" if self.throwaway else "stop")
        if adopted:
            log.warning(
                "adopted the PostgreSQL a dev host that died left running (%s); it stops with this one", self.data_dir
            )
        self.ensure_database(self.database)
        return self

    @property
    def socket_dir(self) -> str:
        """Where the server's unix socket lives."""
        uri = self._server.get_uri()
        return uri.split("host=", 1)[1].split("&", 1)[0]

    def url(self, database: str | None = None, *, role: str = "postgres") -> str:
        """A SQLAlchemy URL for a database as a role, over the unix socket."""
        return f"postgresql+psycopg://{role}@/{database or self.database}?host={self.socket_dir}"

    def ensure_database(self, database: str, *, fresh: bool = False) -> None:
        """Create the database (dropping it first when fresh) and the non-owner app role."""
        import psycopg

        with psycopg.connect(f"host={self.socket_dir} dbname=postgres user=postgres", autocommit=True) as conn:
            if fresh:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{database}"')
            ensure_app_role(conn)

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", *args], pgdata=self._server.pgdata, user=self._server.system_user, timeout=30)

    def halt(self) -> None:
        """Stop the server process (fast shutdown: sessions are cut), keeping data and socket (faults)."""
        self._pg_ctl("-m", "fast", "stop")

    def resume(self) -> None:
        """Start a halted server again on the same data folder and unix socket."""
        socket_dir = self.socket_dir
        self._pg_ctl("-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self._server.log), "start")
        self._resumed = True

    def stop(self) -> None:
        """Stop the server if this process started it (or resumed it: pgserver only knows its first process)."""
        if self._server is not None and self._resumed:
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                self.halt()
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _forget_dead_holders(handles: Path) -> bool:
    """Drop processes that no longer exist from pgserver's list of a server's holders.

    pgserver stops a server when its last holder lets go; a holder killed with SIGKILL never does, so
    without this the next dev host would join the server and leave it running when it stops. Answers
    whether a dead holder was dropped (the server, if still up, is now ours to stop).
    """
    if not handles.exists():
        return False
    holders = json.loads(handles.read_text() or "[]")
    alive = [pid for pid in holders if _alive(pid)]
    if alive != holders:
        handles.write_text(json.dumps(alive))
    return len(alive) < len(holders)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_ROLE_LOCK = 7_310_001  # advisory lock id: several test workers or hosts may prepare the role at once


def ensure_app_role(conn: Any) -> None:
    """The login role the app uses: no superuser, owns nothing, so row-level security applies to it."""
    conn.execute("SELECT pg_advisory_lock(%s)", (_ROLE_LOCK,))
    try:
        row = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
        if not row:
            conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
        elif not row[0]:
            # Migrations create the role NOLOGIN where none exists; locally it must be able to sign in.
            conn.execute(f"ALTER ROLE {APP_ROLE} LOGIN")
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_ROLE_LOCK,))


class _SaveToFiles:
    """aiosmtpd handler: each accepted email becomes one .eml file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import uuid

        path = self.directory / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        log.info("email caught: %s", path)  # the file, never the address
        return "250 Message accepted for delivery"


@dataclass
class MailCatcher:
    """A loopback SMTP server for `make dev`: the app's emails are saved as .eml files and go nowhere else."""

    directory: Path
    port: int = 0
    _controller: Any = None

    def start(self) -> MailCatcher:
        """Listen on a free loopback port."""
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd narrates each SMTP command
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self._controller = Controller(_SaveToFiles(self.directory), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def env(self) -> dict[str, str]:
        """Settings that point the app at this server (plain SMTP on loopback, no sign-in)."""
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.port),
            "SMTP_TLS": "none",
            "SMTP_USERNAME": "",
            "SMTP_PASSWORD": "",
        }

    def stop(self) -> None:
        """Stop listening."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class Azurite:
    """The Azure Storage emulator from the project's npm packages."""

    location: Path | None = None
    blob_port: int = 10000
    queue_port: int = 10001
    table_port: int = 10002
    _process: subprocess.Popen[bytes] | None = None
    _adopted: int | None = None

    @property
    def _pid_file(self) -> Path | None:
        return self.location / "azurite.pid" if self.location is not None else None

    def start(self) -> Azurite:
        """Start Azurite in its own process group (or adopt the one a killed host left) and wait for it."""
        left = self._left_running()
        if left is not None:
            self._adopted = left
            log.warning("adopted the Azurite a dev host that died left running (pid %d); it stops with this one", left)
            for port in (self.blob_port, self.queue_port):
                wait_for_port(port)
            return self
        binary = ROOT / "node_modules" / ".bin" / "azurite"
        if not binary.exists():
            raise RuntimeError("Azurite is not installed: run `npm install` (make dev and make test do)")
        args = [
            str(binary),
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
            "--blobHost",
            "127.0.0.1",
            "--queueHost",
            "127.0.0.1",
            "--tableHost",
            "127.0.0.1",
            "--blobPort",
            str(self.blob_port),
            "--queuePort",
            str(self.queue_port),
            "--tablePort",
            str(self.table_port),
        ]
        if self.location is None:
            args.append("--inMemoryPersistence")
        else:
            self.location.mkdir(parents=True, exist_ok=True)
            args += ["--location", str(self.location)]
        self._process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT
        )
        if self._pid_file is not None:
            ports = [self.blob_port, self.queue_port, self.table_port]
            self._pid_file.write_text(json.dumps({"pid": self._process.pid, "ports": ports}))
        for port in (self.blob_port, self.queue_port):
            wait_for_port(port)
        return self

    @classmethod
    def in_folder(cls, location: Path) -> Azurite:
        """An Azurite keeping its data in location: on the ports of the one left running there, else the
        default ports, else free ones (another emulator already has the defaults)."""
        pid_file = location / "azurite.pid"
        if pid_file.exists():
            recorded = json.loads(pid_file.read_text() or "{}")
            if recorded.get("ports"):
                blob, queue, table = recorded["ports"]
                return cls(location=location, blob_port=blob, queue_port=queue, table_port=table)
        if all(_port_free(port) for port in (10000, 10001, 10002)):
            return cls(location=location)
        return free_azurite(location)

    def _left_running(self) -> int | None:
        """The pid of an Azurite still serving this data folder for a host that is gone, if any."""
        if self._pid_file is None or not self._pid_file.exists():
            return None
        pid = int(json.loads(self._pid_file.read_text() or "{}").get("pid") or 0)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return None
        return pid if "azurite" in cmdline and str(self.location) in cmdline else None

    @property
    def connection_string(self) -> str:
        """The AzureWebJobsStorage connection string for this emulator."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.blob_port}/{AZURITE_ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{AZURITE_ACCOUNT};"
            f"TableEndpoint=http://127.0.0.1:{self.table_port}/{AZURITE_ACCOUNT};"
        )

    def stop(self) -> None:
        """Stop Azurite and every process it started."""
        if self._adopted is not None:
            _stop_group(self._adopted)
            self._adopted = None
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=5)
        self._process = None


def _stop_group(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM a process group we did not start as a child (so cannot wait on), then SIGKILL it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def free_azurite(location: Path | None = None) -> Azurite:
    """An Azurite on free ports (tests, several at once)."""
    return Azurite(location=location, blob_port=free_port(), queue_port=free_port(), table_port=free_port())


def run_migrations(migration_url: str, revision: str = "heads") -> None:
    """Bring a database to a revision (every branch head by default) with Alembic, as the owner role."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", migration_url.replace("%", "%%"))
    config.attributes["skip_logging"] = True  # keep the caller's logging configuration
    command.upgrade(config, revision)


@dataclass(frozen=True)
class MigratedDatabase:
    """A database at a migration revision: the app role's URL and the owner's."""

    name: str
    app_url: str
    owner_url: str


def _database_url(admin_url: str, database: str, *, role: str) -> str:
    head, _, query = admin_url.partition("?")
    base = head.rsplit("/", 1)[0]
    if role != "postgres":
        base = base.replace("postgres@", f"{role}@", 1)
    return f"{base}/{database}?{query}" if query else f"{base}/{database}"


def create_database(admin_url: str, name: str, *, revision: str = "heads", fresh: bool = True) -> MigratedDatabase:
    """A new database on the server an admin URL names, migrated to revision, with the app role able to sign in."""
    import psycopg

    with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        ensure_app_role(conn)
    database = MigratedDatabase(
        name=name,
        app_url=_database_url(admin_url, name, role=APP_ROLE),
        owner_url=_database_url(admin_url, name, role="postgres"),
    )
    run_migrations(database.owner_url, revision)
    return database


def embedded_database(name: str, *, revision: str = "heads") -> tuple[EmbeddedPostgres, MigratedDatabase]:
    """A throwaway embedded server in a temporary folder with one migrated database (benchmarks)."""
    server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix=f"{name}-pg-")), database="postgres", throwaway=True).start()
    return server, create_database(server.url("postgres"), name, revision=revision)
