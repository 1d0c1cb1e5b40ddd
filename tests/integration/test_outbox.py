"""Queue messages produced in a transaction leave only when it commits, and none is lost."""

from __future__ import annotations

import json
import uuid

import pytest
from azure.storage.queue import QueueClient, TextBase64DecodePolicy
from sqlalchemy import func, select, text

from shared import storage
from shared.db import session_scope
from shared.models import OutboxMessage
from tests.conftest import Database


def _queue(name: str) -> QueueClient:
    import os

    return QueueClient.from_connection_string(
        os.environ["AzureWebJobsStorage"], name, message_decode_policy=TextBase64DecodePolicy()
    )


def _messages(name: str) -> list[dict]:
    return [json.loads(m.content) for m in _queue(name).peek_messages(max_messages=32)]


def _stored(queue: str) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.queue == queue))


@pytest.fixture
def queue_name(database: Database) -> str:
    return f"outbox-{uuid.uuid4().hex[:12]}"


def test_a_committed_transaction_sends_its_message_once(queue_name: str) -> None:
    # when
    with session_scope() as session:
        storage.enqueue(session, queue_name, {"appointment": "A-1"})
    # then it is on the queue, base64 as the Functions trigger expects, and no longer stored
    assert _messages(queue_name) == [{"appointment": "A-1"}]
    assert _stored(queue_name) == 0


def test_a_rolled_back_transaction_sends_nothing(queue_name: str) -> None:
    with pytest.raises(RuntimeError), session_scope() as session:
        storage.enqueue(session, queue_name, {"appointment": "A-2"})
        raise RuntimeError("the business rule failed")
    storage.queue_client(queue_name)  # the queue exists, and it is empty
    assert _messages(queue_name) == []
    assert _stored(queue_name) == 0


def test_a_message_stranded_by_a_failed_send_is_delivered_by_the_sweeper(queue_name: str) -> None:
    # given a message committed while storage was unreachable (stored, not sent)
    with session_scope() as session:
        session.add(OutboxMessage(id=uuid.uuid4(), queue=queue_name, body='{"lead": "L-9"}'))
        session.execute(text("SELECT 1"))
    assert _stored(queue_name) == 1
    # when the sweeper runs
    delivered = storage.deliver(older_than_seconds=0)
    # then
    assert delivered >= 1
    assert _messages(queue_name) == [{"lead": "L-9"}]
    assert _stored(queue_name) == 0


def test_a_delayed_message_stays_invisible_until_due(queue_name: str) -> None:
    with session_scope() as session:
        storage.enqueue(session, queue_name, {"reminder": 1}, delay_seconds=3600)
    assert _messages(queue_name) == []  # peek sees only visible messages
    assert _queue(queue_name).get_queue_properties().approximate_message_count == 1
