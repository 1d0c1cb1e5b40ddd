"""Database engine, declarative base, the trigger-owned session scope and the tenant context."""

from __future__ import annotations

import select as _select
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any, Literal, Protocol, cast

from psycopg.rows import dict_row
from sqlalchemy import (
    Connection,
    CursorResult,
    DateTime,
    Dialect,
    Engine,
    MetaData,
    ScalarSelect,
    Select,
    create_engine,
    event,
    func,
    literal_column,
    make_url,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import DBAPIError, InterfaceError, InvalidatePoolError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from shared.config import get_settings
from shared.credentials import azure_credential
from shared.telemetry import tenant_id_var

# The login role the app runs as. It owns no table, so row-level security binds it.
APP_ROLE = "tradeops_app"
TENANT_SETTING = "app.tenant_id"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table; Alembic compares against its metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def affected(session: Session, statement: Any) -> int:
    """Run an UPDATE or DELETE and answer how many rows it changed."""
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount or 0)


def created_at_column() -> Mapped[datetime]:
    """A UTC creation time set by the database."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


_engine: Engine | None = None

# Azure Database for PostgreSQL accepts a Microsoft Entra access token for this scope as the password.
ENTRA_TOKEN_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
# Entra access tokens live at least an hour (a managed identity's up to a day). A token is checked only
# when a connection opens, so a pooled connection is closed and reopened, with a fresh token, well before
# the shortest-lived one it could have been opened with expires.
POOL_RECYCLE_SECONDS = 600
# A pooled connection given back less than this long ago is handed out without a ping (a round trip on every
# request): a server that shut down or restarted since has already said so on the socket, which is checked
# without a round trip. One idle longer is pinged, for what leaves no trace on the socket (a silent drop).
IDLE_PING_SECONDS = 5.0

DatabaseAuth = Literal["password", "entra"]


class TokenCredential(Protocol):
    """What azure-identity credentials offer: get_token(scope) -> an object with .token and .expires_on."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...


def make_engine(
    url: str,
    *,
    pool_size: int = 3,
    max_overflow: int = 2,
    statement_timeout_ms: int = 0,
    auth: DatabaseAuth = "password",
    credential: TokenCredential | None = None,
    pooled: bool = True,
    recycle_seconds: int = POOL_RECYCLE_SECONDS,
    idle_ping_seconds: float = IDLE_PING_SECONDS,
) -> Engine:
    """An engine sized for serverless: a small pool, dead connections dropped on checkout, recycled connections.

    auth="entra" signs every new connection in with a fresh Entra token from `credential` (the app's
    managed identity in Azure) over TLS; the URL then names the role and no password.
    """
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if statement_timeout_ms:
        connect_args["options"] = f"-c statement_timeout={statement_timeout_ms}"
    if auth == "entra":
        if credential is None:
            raise ValueError("DATABASE_AUTH=entra needs a token credential")
        if make_url(url).password:
            raise ValueError("DATABASE_AUTH=entra takes the password from Entra ID: remove it from the URL")
        connect_args["sslmode"] = "require"
    pool_args: dict[str, Any] = (
        {
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "pool_recycle": recycle_seconds,
            "pool_timeout": 10,
        }
        if pooled
        else {"poolclass": NullPool}
    )
    engine = create_engine(url, connect_args=connect_args, **pool_args)
    if pooled:
        _drop_dead_connections_on_checkout(engine, idle_ping_seconds)
    if auth == "entra":
        _sign_in_with_entra_tokens(engine, credential)  # type: ignore[arg-type]
    return engine


def _drop_dead_connections_on_checkout(engine: Engine, idle_ping_seconds: float) -> None:
    """What pool_pre_ping does, without its round trip on every checkout.

    A connection is pinged only when it sat idle longer than idle_ping_seconds, or when the server has sent
    something while it was idle: a backend that is shut down (a restart, `pg_terminate_backend`, a failover)
    writes its FATAL notice and closes the socket, so the socket is readable. A failed ping raises
    InvalidatePoolError: the pool then drops every connection opened before now and hands out a new one, as
    pre-ping does.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")  # cleared with the DBAPI connection: a new one is not pinged
        if idle_since is None:
            return
        if time.monotonic() - idle_since < idle_ping_seconds and not _server_has_spoken(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise InvalidatePoolError(f"pooled connection failed its ping: {exc}") from exc


def _server_has_spoken(dbapi_connection: Any) -> bool:
    """Whether an idle connection's socket has something to read (a notice, EOF) or is closed: no round trip."""
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        return True
    try:
        fd = dbapi_connection.pgconn.socket
    except Exception:  # closed, or not a psycopg connection: only a ping can tell
        return True
    if hasattr(_select, "poll"):
        poller = _select.poll()
        poller.register(fd, _select.POLLIN | _select.POLLERR | _select.POLLHUP)
        return bool(poller.poll(0))
    return bool(_select.select([fd], [], [fd], 0)[0])


def _sign_in_with_entra_tokens(engine: Engine, credential: TokenCredential) -> None:
    @event.listens_for(engine, "do_connect")
    def _fresh_token(dialect: Any, connection_record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        # Asked for every new DBAPI connection; azure-identity serves its cached token until it nears expiry.
        cparams["password"] = credential.get_token(ENTRA_TOKEN_SCOPE).token


def engine_for_settings(url: str, settings: Any, **kwargs: Any) -> Engine:
    """make_engine with the authentication the settings ask for (DATABASE_AUTH, AZURE_CLIENT_ID)."""
    credential = None
    if settings.database_auth == "entra":
        credential = azure_credential(settings.azure_client_id)
    return make_engine(url, auth=settings.database_auth, credential=credential, **kwargs)


# SQLSTATEs of a server that is gone or going: connection exceptions (08), admin/crash shutdown, starting up.
_OUTAGE_STATES = ("08", "57P01", "57P02", "57P03")
OUTAGE_RETRY_AFTER_SECONDS = 5


def is_outage(exc: BaseException) -> bool:
    """Whether exc means the database cannot be reached (down, restarting, no free connection), not a bad query.

    SQLAlchemy has already invalidated the pooled connection such an error came from; the checkout check
    (_drop_dead_connections_on_checkout) discards the rest on their next checkout, so requests answer again
    as soon as the server is back.
    """
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    state = getattr(exc.orig, "sqlstate", None)
    if state is None:  # no answer from a server at all: refused, reset, closed
        return exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))
    return exc.connection_invalidated or state.startswith(_OUTAGE_STATES)


def get_engine() -> Engine:
    """The process-wide engine for the app role, created on first use."""
    global _engine
    if _engine is None:
        settings = get_settings()
        _engine = engine_for_settings(
            settings.database_url,
            settings,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
    return _engine


def dispose_engine() -> None:
    """Close every pooled connection (tests, shutdown)."""
    global _engine
    if _engine is not None:
        _engine.dispose()
        _engine = None


class DriverQuery:
    """A read run on every request of a hot path, compiled by SQLAlchemy once and then handed to the driver.

    session.execute of a cached statement still does, on every call, work that is a good part of a short read:
    the cache lookup, the parameters built, result metadata, a Row per row. A DriverQuery gives psycopg the
    SQL compiled once, on the session's own connection and transaction (its checkout, its tenant binding, what
    it has written: pending changes are flushed first, as execute's autoflush does), and answers the rows as plain
    dicts (what pydantic validates fastest).

    Only for statements SQLAlchemy converts nothing for: compiling refuses a parameter whose type converts
    values (a bind processor), an expanding IN parameter, or positional parameters; columns come back as
    psycopg loads them (uuid, Decimal, timestamptz...). A driver error is raised as SQLAlchemy's (DBAPIError and
    its subclasses), a lost connection invalidated first, so is_outage and the pool behave as for execute.
    SQLAlchemy's engine events (before_cursor_execute...) do not see these statements: nothing of ours listens
    to them outside tests, and the app instruments no SQL (shared.telemetry.INSTRUMENTATIONS_USED).
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: tuple[str, dict[str, Any]] | None = None  # the SQL and the parameters it binds itself

    def compiled(self, dialect: Dialect) -> tuple[str, dict[str, Any]]:
        """The SQL for dialect, and the values of the parameters the statement carries (OFFSET 0, LIMIT 1...)."""
        if self._compiled is None:
            compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))  # a statement's: SQL
            if compiled.positional:
                raise ValueError(f"DriverQuery takes named parameters; {dialect.paramstyle} is positional")
            defaults: dict[str, Any] = {}
            for bind, name in compiled.bind_names.items():
                if bind.expanding:
                    raise ValueError(f"parameter {name}: an expanding (IN) parameter; use session.execute")
                if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                    raise ValueError(f"parameter {name}: {bind.type!r} converts values; use session.execute")
                if not bind.required:
                    defaults[name] = bind.effective_value
            self._compiled = (str(compiled), defaults)
        return self._compiled

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row, as a dict keyed by column name."""
        return self._run(session, params, lambda cursor: cursor.fetchall())

    def first(self, session: Session, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row, or None."""
        return self._run(session, params, lambda cursor: cursor.fetchone())

    def _run(self, session: Session, params: Mapping[str, Any], fetch: Callable[[Any], Any]) -> Any:
        if session.autoflush:
            session.flush()  # nothing to do (and no round trip) when the session has no pending change
        connection = session.connection()
        sql, defaults = self.compiled(connection.dialect)
        values = {**defaults, **params}
        dbapi_connection = connection.connection.dbapi_connection
        try:
            with dbapi_connection.cursor(row_factory=dict_row) as cursor:  # type: ignore[union-attr]
                cursor.execute(sql, values)
                return fetch(cursor)
        except connection.dialect.loaded_dbapi.Error as exc:
            raise _sqlalchemy_error(connection, sql, values, exc) from exc


def _sqlalchemy_error(connection: Connection, sql: str, params: Mapping[str, Any], exc: Exception) -> DBAPIError:
    """What SQLAlchemy raises for a driver error on `connection`, which is invalidated when the server is gone."""
    dialect = connection.dialect
    invalidated = dialect.is_disconnect(cast(Any, exc), connection.connection.dbapi_connection, None)
    if invalidated:
        connection.invalidate(exc)
    error = DBAPIError.instance(
        sql, dict(params), exc, dialect.loaded_dbapi.Error, connection_invalidated=invalidated, dialect=dialect
    )
    return cast(DBAPIError, error)  # a driver Error always becomes a DBAPIError


def json_rows(query: Select, *order_by: str) -> ScalarSelect:
    """query's rows as one JSON array column, ordered by the named output columns ("-name": descending).

    Embedding each collection of a read as such a column lets one statement answer a whole screen, so
    its cost stays one round trip however many collections it shows.
    """
    rows = query.subquery()
    keys = [rows.c[name.lstrip("-")].desc() if name.startswith("-") else rows.c[name] for name in order_by]
    aggregated = func.json_agg(aggregate_order_by(rows.table_valued(), *keys) if keys else rows.table_valued())
    return select(func.coalesce(aggregated, literal_column("'[]'::json")).label("rows")).scalar_subquery()


def set_tenant(session: Session, tenant_id: uuid.UUID | str | None) -> None:
    """Bind the current transaction to one tenant: row-level security then shows only its rows."""
    value = str(tenant_id) if tenant_id else ""
    session.execute(text("SELECT set_config(:name, :value, true)"), {"name": TENANT_SETTING, "value": value})
    session.info["tenant_id"] = value or None
    tenant_id_var.set(value or None)


def set_tenant_with(
    session: Session, tenant_id: uuid.UUID | str, query: str, params: dict[str, Any]
) -> dict[str, Any] | None:
    """Run a first query whose answer does not depend on the tenant, binding the transaction to it in the same
    round trip: the transaction is bound when the query answers a row (its first row is returned), else not.

    For the request's first statement (the authenticator's session check), where a separate set_config would cost
    its own round trip. `query` is trusted SQL with :named parameters; it must not use app.tenant_id itself.
    """
    value = str(tenant_id)
    row = _tenant_bound(query).first(session, {**params, "_tenant_setting": TENANT_SETTING, "_tenant_value": value})
    if row is not None:
        session.info["tenant_id"] = value
        tenant_id_var.set(value)
    return row


@cache
def _tenant_bound(query: str) -> DriverQuery:
    return DriverQuery(
        text(f"SELECT set_config(:_tenant_setting, :_tenant_value, true) AS _tenant, q.* FROM ({query}) AS q")
    )


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run callback after the session's transaction commits; a rollback drops it."""
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop("after_commit", [])
    session.info["committed_callbacks"] = callbacks


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)


def _run_committed_callbacks(session: Session) -> None:
    # Runs outside the flush/commit machinery so a callback may open its own session.
    for callback in session.info.pop("committed_callbacks", []):
        callback()


@contextmanager
def session_scope(*, tenant_id: uuid.UUID | str | None = None, bind: Any = None) -> Iterator[Session]:
    """One transaction owned by the trigger: commit on success, roll back on error, then run after-commit work.

    Who may open one (ARCHITECTURE rule 2): the trigger boundaries (shared.http.dispatch for HTTP, queue
    handlers, shared.jobs.for_each_tenant and the job a timer runs); and a queue pipeline that calls an outside
    provider between two short transactions of its own (claim, call, record the outcome: blueprints/messaging
    pipeline, password-link emails, the render job's after-commit mark), which says so in its docstring. Every
    other service takes the caller's session: webhooks, texts and reminders run on their trigger's transaction.
    """
    session = Session(bind=bind or get_engine(), expire_on_commit=False, autoflush=True)
    try:
        if tenant_id:
            set_tenant(session, tenant_id)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    _run_committed_callbacks(session)


def rls_statements(table: str, column: str = "tenant_id") -> list[str]:
    """SQL that forces row-level security on a tenant-owned table (for migrations)."""
    name = table.split(".")[-1]
    predicate = f"{column} = NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {name}_tenant_isolation ON {table} USING ({predicate}) WITH CHECK ({predicate})",
    ]


def drop_rls_statements(table: str) -> list[str]:
    """The reverse of rls_statements (for downgrades)."""
    name = table.split(".")[-1]
    return [
        f"DROP POLICY IF EXISTS {name}_tenant_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]
