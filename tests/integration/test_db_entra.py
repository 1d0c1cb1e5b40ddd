"""DATABASE_AUTH=entra: every new pooled connection signs in with a fresh Entra token, over TLS, and recycles.

No Azure here: the embedded PostgreSQL plays Azure Database for PostgreSQL. A probe role signs in with
scram passwords, and the stand-in credential plays Entra ID: each token it issues becomes the role's
password at that moment, so an old token no longer opens a connection. The credential goes in through
make_engine's `credential` argument, the same seam production fills with the managed identity.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.db import ENTRA_TOKEN_SCOPE, POOL_RECYCLE_SECONDS, make_engine

PROBE_ROLE = "tradeops_entra_probe"
HBA_LINE = f"local all {PROBE_ROLE} scram-sha-256\n"


def _admin_dsn() -> str:
    return os.environ["TEST_DATABASE_ADMIN_URL"].replace("postgresql+psycopg://", "postgresql://")


@dataclass
class StandInEntra:
    """Issues a new token on every call and makes it, and only it, the probe role's password."""

    issued: list[str] = field(default_factory=list)
    scopes: list[tuple[str, ...]] = field(default_factory=list)

    def get_token(self, *scopes: str, **_kwargs: object) -> SimpleNamespace:
        self.scopes.append(scopes)
        token = "entra-" + secrets.token_urlsafe(24)
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f"ALTER ROLE {PROBE_ROLE} PASSWORD '{token}'")
        self.issued.append(token)
        return SimpleNamespace(token=token, expires_on=int(time.time()) + 3600)


@pytest.fixture(scope="module")
def probe_url() -> Iterator[str]:
    """A role that must present its password (the server's other local roles are trusted)."""
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        hba_file = conn.execute("SHOW hba_file").fetchone()[0]  # type: ignore[index]
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PROBE_ROLE,)).fetchone():
            conn.execute(f"CREATE ROLE {PROBE_ROLE} LOGIN")
        with open(hba_file) as f:
            original = f.read()
        if HBA_LINE not in original:
            with open(hba_file, "w") as f:
                f.write(HBA_LINE + original)
        conn.execute("SELECT pg_reload_conf()")
    admin = make_url(os.environ["TEST_DATABASE_ADMIN_URL"])
    try:
        yield admin.set(username=PROBE_ROLE, password=None).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            with open(hba_file) as f:
                current = f.read()
            with open(hba_file, "w") as f:
                f.write(current.replace(HBA_LINE, ""))
            conn.execute("SELECT pg_reload_conf()")


def test_a_stale_password_is_refused(probe_url: str) -> None:
    # given the probe role's password is a token issued earlier
    StandInEntra().get_token(ENTRA_TOKEN_SCOPE)
    engine = make_engine(make_url(probe_url).set(password="entra-stale").render_as_string(hide_password=False))
    # then the server checks it (the test proves something only if passwords are really checked)
    with pytest.raises(Exception, match="password authentication failed"):
        engine.connect().close()
    engine.dispose()


def test_each_new_connection_signs_in_with_a_fresh_token_over_tls(probe_url: str) -> None:
    entra = StandInEntra()
    engine = make_engine(probe_url, auth="entra", credential=entra)
    try:
        # when two connections are open at once
        with engine.connect() as first, engine.connect() as second:
            # then each asked for its own token for the PostgreSQL scope, and signed in as the role
            assert entra.scopes == [(ENTRA_TOKEN_SCOPE,), (ENTRA_TOKEN_SCOPE,)]
            assert len(set(entra.issued)) == 2
            assert first.execute(text("SELECT current_user")).scalar() == PROBE_ROLE
            assert second.execute(text("SELECT current_user")).scalar() == PROBE_ROLE
            # and required TLS (libpq skips it on this test's unix socket; over TCP to Azure it is enforced)
            assert first.connection.dbapi_connection.info.get_parameters()["sslmode"] == "require"
    finally:
        engine.dispose()


def test_recycled_connections_sign_in_again_with_a_new_token(probe_url: str) -> None:
    entra = StandInEntra()
    engine = make_engine(probe_url, auth="entra", credential=entra, pool_size=1, max_overflow=0, recycle_seconds=1)
    try:
        with engine.connect() as conn:
            first_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        # when the pooled connection outlives the recycle age (the first token is no longer the password)
        time.sleep(1.2)
        with engine.connect() as conn:
            second_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        # then the pool opened a new connection with a new token
        assert second_pid != first_pid
        assert len(entra.issued) == 2
    finally:
        engine.dispose()


def test_the_default_recycle_age_is_well_inside_a_token_lifetime() -> None:
    entra = StandInEntra()
    engine = make_engine(
        "postgresql+psycopg://tradeops_app@db.example.invalid/tradeops", auth="entra", credential=entra
    )
    assert engine.pool._recycle == POOL_RECYCLE_SECONDS  # type: ignore[attr-defined]
    assert POOL_RECYCLE_SECONDS < 3600 / 2  # Entra access tokens live at least an hour
    assert entra.issued == []  # no token until a connection opens


def test_entra_refuses_a_url_with_a_password() -> None:
    with pytest.raises(ValueError, match="remove it from the URL"):
        make_engine("postgresql+psycopg://app:pw@db.example.invalid/tradeops", auth="entra", credential=StandInEntra())
