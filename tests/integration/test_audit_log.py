"""The audit log is append-only for the app: it can add and read rows, never change or remove them."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from shared import audit
from shared.pagination import PageQuery
from tests.builders import create_tenant, create_user


def test_app_role_may_insert_and_read_but_not_update_or_delete(db_session: Session) -> None:
    # given an audit row written by the app
    tenant = create_tenant(db_session)
    user = create_user(db_session, tenant=tenant)
    row = audit.record(
        db_session,
        tenant_id=tenant.id,
        actor=audit.Actor(user_id=user.id, ip="203.0.113.9"),
        action="users.role_changed",
        entity="user",
        entity_id=user.id,
        before={"role": "tech"},
        after={"role": "advisor"},
    )
    entries, _ = audit.list_entries(db_session, tenant_id=tenant.id, query=PageQuery(), entity="user")
    assert [e.id for e in entries] == [row.id]
    # when the app tries to rewrite or erase it, then the database refuses
    for statement in ("UPDATE audit_logs SET action = 'nothing'", "DELETE FROM audit_logs"):
        with pytest.raises(ProgrammingError, match="permission denied"), db_session.begin_nested():
            db_session.execute(text(statement))
    with pytest.raises(ProgrammingError, match="permission denied"), db_session.begin_nested():
        db_session.execute(text("TRUNCATE audit_logs"))
