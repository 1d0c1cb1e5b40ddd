"""Blob and queue clients (connection string or managed identity) and the after-commit outbox."""

from __future__ import annotations

import json
import logging
import math
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shared import tracing
from shared.config import get_settings
from shared.credentials import azure_credential
from shared.db import on_commit, session_scope
from shared.models import OutboxMessage

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient  # heavy SDK: loaded on first use (cold start)
    from azure.storage.queue import QueueClient  # heavy SDK: loaded on first use (cold start)

log = logging.getLogger(__name__)
Task = TypeVar("Task", bound=BaseModel)

# Azure caps a visibility timeout at 7 days; longer delays are re-deferred by their handler.
MAX_VISIBILITY_SECONDS = 7 * 24 * 3600
# A caller waits at most a few seconds on storage that is down (the SDK's default retries wait 15 s, 18 s,
# 24 s): a failed after-commit send leaves its message in the outbox, where the sweeper finds it.
FAIL_FAST: dict[str, Any] = {
    "retry_total": 2,
    "retry_connect": 1,
    "initial_backoff": 0.5,
    "increment_base": 2,
    "random_jitter_range": 0.5,
    "connection_timeout": 3,
}
_lock = threading.Lock()
_queues: dict[str, QueueClient] = {}
_blob_service: BlobServiceClient | None = None


def is_outage(exc: BaseException) -> bool:
    """Whether exc means storage could not be reached (refused, reset, timed out), not a bad request."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    return isinstance(exc, (ServiceRequestError, ServiceResponseError))


def _credential_kwargs(service: str) -> dict[str, Any]:
    settings = get_settings()
    if settings.storage_connection_string:
        return {"conn_str": settings.storage_connection_string}
    if settings.storage_account_name:
        # The app's managed identity (AZURE_CLIENT_ID); blob SAS URLs are then signed with user delegation keys.
        return {
            "account_url": f"https://{settings.storage_account_name}.{service}.core.windows.net",
            "credential": azure_credential(settings.azure_client_id),
        }
    raise RuntimeError("Storage is not configured: set AzureWebJobsStorage or AzureWebJobsStorage__accountName")


def queue_client(name: str) -> QueueClient:
    """A client for one queue, base64-encoding messages as the Functions queue trigger expects."""
    with _lock:
        client = _queues.get(name)
        if client is None:
            from azure.core.exceptions import ResourceExistsError
            from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

            kwargs = _credential_kwargs("queue")
            policies = {
                "message_encode_policy": TextBase64EncodePolicy(),
                "message_decode_policy": TextBase64DecodePolicy(),
                **FAIL_FAST,
            }
            if "conn_str" in kwargs:
                client = QueueClient.from_connection_string(kwargs["conn_str"], name, **policies)
            else:
                client = QueueClient(kwargs["account_url"], name, credential=kwargs["credential"], **policies)
            try:
                client.create_queue()
            except ResourceExistsError:
                pass
            _queues[name] = client
    return client


def blob_service() -> BlobServiceClient:
    """The account's blob service client."""
    global _blob_service
    with _lock:
        if _blob_service is None:
            from azure.storage.blob import BlobServiceClient

            kwargs = _credential_kwargs("blob")
            if "conn_str" in kwargs:
                _blob_service = BlobServiceClient.from_connection_string(kwargs["conn_str"], **FAIL_FAST)
            else:
                _blob_service = BlobServiceClient(kwargs["account_url"], credential=kwargs["credential"], **FAIL_FAST)
    return _blob_service


def queue_depths() -> dict[str, int]:
    """Every queue of the account with its approximate message count (for the queue-depth metric)."""
    from azure.storage.queue import QueueServiceClient  # heavy SDK: loaded on first use (cold start)

    kwargs = _credential_kwargs("queue")
    if "conn_str" in kwargs:
        service = QueueServiceClient.from_connection_string(kwargs["conn_str"])
    else:
        service = QueueServiceClient(kwargs["account_url"], credential=kwargs["credential"])
    with service:
        return {
            queue.name: service.get_queue_client(queue.name).get_queue_properties().approximate_message_count or 0
            for queue in service.list_queues()
        }


def reset_clients() -> None:
    """Forget cached clients (tests that switch accounts)."""
    global _blob_service
    with _lock:
        _queues.clear()
        _blob_service = None


def encode_payload(payload: BaseModel | dict[str, Any] | str) -> str:
    """The JSON text of a queue message, carrying the active trace's traceparent (text is sent as it is)."""
    if isinstance(payload, str):
        return payload
    text = payload.model_dump_json() if isinstance(payload, BaseModel) else json.dumps(payload, default=str)
    return tracing.with_traceparent(text)


def send_message(queue: str, payload: BaseModel | dict[str, Any] | str, *, delay_seconds: int = 0) -> None:
    """Put a message on a queue now, visible after delay_seconds (capped at Azure's 7 days)."""
    delay = max(0, min(int(delay_seconds), MAX_VISIBILITY_SECONDS))
    queue_client(queue).send_message(encode_payload(payload), visibility_timeout=delay or None)


def read_task(body: bytes, model: type[Task], *, queue: str, poison: bool = True) -> tuple[Task, str | None] | None:
    """A queue message as its model with the traceparent it carried, or None when malformed: logged, and moved
    to `<queue>-poison` unless it is already read from there (poison=False): retrying it can never help."""
    try:
        fields, traceparent = tracing.split_traceparent(json.loads(body))
        return model.model_validate(fields), traceparent
    except (ValueError, ValidationError) as exc:
        problems = exc.errors(include_input=False)[:3] if isinstance(exc, ValidationError) else "not JSON"
        log.error("malformed %s message%s: %s", queue, " moved to poison" if poison else " dropped", problems)
        if poison:
            send_message(f"{queue}-poison", body.decode("utf-8", "replace"))
        return None


def enqueue(
    session: Session, queue: str, payload: BaseModel | dict[str, Any] | str, *, delay_seconds: int = 0
) -> uuid.UUID:
    """Queue a message that is sent only if the session's transaction commits (transactional outbox)."""
    message = OutboxMessage(
        id=uuid.uuid4(), queue=queue, body=encode_payload(payload), delay_seconds=max(0, int(delay_seconds))
    )
    session.add(message)
    pending: list[uuid.UUID] | None = session.info.get("outbox_pending")
    if pending is None:
        pending = session.info["outbox_pending"] = []
        on_commit(session, lambda: _deliver_after_commit(session))
    pending.append(message.id)
    return message.id


def _deliver_after_commit(session: Session) -> None:
    ids = session.info.pop("outbox_pending", [])
    if ids:
        try:
            deliver(ids=ids)
        except Exception:  # the sweeper retries whatever stays in the table
            log.exception("outbox delivery after commit failed; the sweeper will retry")


def deliver(*, ids: list[uuid.UUID] | None = None, older_than_seconds: int = 0, limit: int = 500) -> int:
    """Send stored outbox messages and delete each one sent; returns how many went out."""
    sent = 0
    with session_scope() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.created_at).limit(limit)
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        else:
            now = datetime.now(UTC)
            # Old enough that its own after-commit send should have happened, or that send failed (attempts):
            # either way it is the sweeper's, once its backoff is due.
            query = query.where(
                (OutboxMessage.created_at <= now - timedelta(seconds=older_than_seconds))
                | (OutboxMessage.attempts > 0),
                (OutboxMessage.next_attempt_at.is_(None)) | (OutboxMessage.next_attempt_at <= now),
            )
        for message in session.scalars(query.with_for_update(skip_locked=True)).all():
            try:
                send_message(message.queue, message.body, delay_seconds=_remaining_delay(message))
            except Exception as exc:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message.id)
                    .values(
                        attempts=OutboxMessage.attempts + 1,
                        last_error=str(exc)[:500],
                        next_attempt_at=datetime.now(UTC) + timedelta(seconds=min(300, 2 ** (message.attempts + 1))),
                    )
                )
                continue
            session.execute(delete(OutboxMessage).where(OutboxMessage.id == message.id))
            sent += 1
    return sent


def _remaining_delay(message: OutboxMessage) -> int:
    if not message.delay_seconds:
        return 0
    due = message.created_at + timedelta(seconds=message.delay_seconds)
    # Round up: truncating made a 1 s delay sent a few ms after its transaction began go out with none.
    return max(0, math.ceil((due - datetime.now(UTC)).total_seconds()))
