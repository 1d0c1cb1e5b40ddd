"""Which database errors are an outage (503 with Retry-After) and which are bugs or bad input (not)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import exc

from shared.db import is_outage


def _wrapped(kind: type[exc.DBAPIError], orig: Exception, *, invalidated: bool = False) -> exc.DBAPIError:
    return kind("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (_wrapped(exc.OperationalError, psycopg.OperationalError("connection refused")), True),
        (_wrapped(exc.OperationalError, errors.AdminShutdown()), True),
        (_wrapped(exc.OperationalError, errors.CannotConnectNow()), True),
        (_wrapped(exc.OperationalError, errors.ConnectionFailure()), True),
        (_wrapped(exc.InterfaceError, psycopg.InterfaceError("the connection is closed")), True),
        (_wrapped(exc.DBAPIError, psycopg.DatabaseError("gone"), invalidated=True), True),
        (exc.TimeoutError("QueuePool limit of size 3 overflow 2 reached"), True),
        (_wrapped(exc.IntegrityError, errors.UniqueViolation()), False),
        (_wrapped(exc.ProgrammingError, errors.UndefinedTable()), False),
        (_wrapped(exc.ProgrammingError, psycopg.ProgrammingError("wrong number of parameters")), False),
        (_wrapped(exc.OperationalError, errors.DeadlockDetected()), False),
        (ValueError("not a database error"), False),
    ],
    ids=lambda value: type(getattr(value, "orig", value)).__name__ if not isinstance(value, bool) else str(value),
)
def test_only_an_unreachable_database_is_an_outage(error: BaseException, outage: bool) -> None:
    assert is_outage(error) is outage
