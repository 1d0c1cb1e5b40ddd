"""Queue triggers: poll Azurite with host.json's batch size, retries, visibility timeout and poison queue."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import os
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage
from azure.storage.queue.aio import QueueClient

from devhost.hostjson import HostConfig
from devhost.indexing import IndexedFunction
from devhost.invoke import Invoker

log = logging.getLogger("devhost.queues")

# How long a fetched message stays invisible while its function runs (the host's lease); fault tests
# shorten it so the messages a killed host held come back within the test.
LEASE_SECONDS = int(os.environ.get("DEVHOST_QUEUE_LEASE_SECONDS", "600"))
MIN_POLL_SECONDS = 0.1


def connection_string(setting: str | None) -> str:
    """The storage connection string an app setting names (AzureWebJobsStorage by default)."""
    name = setting or "AzureWebJobsStorage"
    value = os.environ.get(name) or os.environ.get(f"AzureWebJobs{name}")
    if not value:
        raise RuntimeError(f"storage connection setting {name!r} is not set")
    return value


async def ensure_queue(client: QueueClient) -> None:
    """Create a queue if it does not exist yet."""
    with contextlib.suppress(ResourceExistsError):
        await client.create_queue()


async def send_base64(queue_name: str, text: str | bytes, setting: str | None = None) -> None:
    """Send a message the way the Functions queue output binding does (base64)."""
    raw = text.encode() if isinstance(text, str) else text
    async with QueueClient.from_connection_string(connection_string(setting), queue_name) as client:
        await ensure_queue(client)
        await client.send_message(base64.b64encode(raw).decode())


class QueueListener:
    """One queue trigger's poll loop."""

    def __init__(self, function: IndexedFunction, config: HostConfig, invoker: Invoker, outputs: Any) -> None:
        self.function = function
        self.config = config
        self.invoker = invoker
        self.outputs = outputs
        self.queue_name = function.trigger.queue_name
        self.setting = function.trigger.connection
        self._stopping = asyncio.Event()
        self.in_flight: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Poll until stopped, backing off to maxPollingInterval while the queue is empty."""
        conn = connection_string(self.setting)
        async with (
            QueueClient.from_connection_string(conn, self.queue_name) as queue,
            QueueClient.from_connection_string(conn, f"{self.queue_name}-poison") as poison,
        ):
            await ensure_queue(queue)
            delay = MIN_POLL_SECONDS
            while not self._stopping.is_set():
                got = await self._poll_once(queue, poison)
                delay = MIN_POLL_SECONDS if got else min(delay * 2, self.config.max_polling_interval)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=0 if got else delay)
            if self.in_flight:
                await asyncio.gather(*self.in_flight, return_exceptions=True)

    async def _poll_once(self, queue: QueueClient, poison: QueueClient) -> int:
        # Fetch a new batch only when the running ones drop to newBatchThreshold, as the host does.
        room = self.config.batch_size + self.config.new_batch_threshold - len(self.in_flight)
        if room <= self.config.new_batch_threshold:
            return 1
        count = 0
        try:
            pager = queue.receive_messages(
                messages_per_page=min(self.config.batch_size, 32, room),
                visibility_timeout=LEASE_SECONDS,
                max_messages=min(self.config.batch_size, room),
            )
            async for message in pager:
                task = asyncio.create_task(self._process(queue, poison, message))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                count += 1
        except ResourceNotFoundError:
            await ensure_queue(queue)
        except Exception:
            log.exception("polling %s failed", self.queue_name)
        return count

    async def _process(self, queue: QueueClient, poison: QueueClient, message: Any) -> None:
        try:
            body = base64.b64decode(message.content, validate=True)
        except (binascii.Error, ValueError, TypeError):
            log.error("message %s on %s is not base64; moved to poison", message.id, self.queue_name)
            await self._to_poison(queue, poison, message)
            return
        trigger_message = QueueMessage(
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )
        arg = self.function.trigger.name
        try:
            _, outputs = await self.invoker.call(self.function, {arg: trigger_message})
            await self.outputs.deliver(self.function, outputs)
        except Exception as exc:
            await self._failed(queue, poison, message, exc)
            return
        with contextlib.suppress(ResourceNotFoundError):
            await queue.delete_message(message.id, message.pop_receipt)

    async def _failed(self, queue: QueueClient, poison: QueueClient, message: Any, exc: Exception) -> None:
        log.warning(
            "%s failed on message %s (try %s of %s): %s",
            self.function.name,
            message.id,
            message.dequeue_count,
            self.config.max_dequeue_count,
            exc,
        )
        if message.dequeue_count >= self.config.max_dequeue_count:
            await self._to_poison(queue, poison, message)
            return
        with contextlib.suppress(ResourceNotFoundError):
            await queue.update_message(
                message.id, message.pop_receipt, visibility_timeout=int(self.config.visibility_timeout)
            )

    async def _to_poison(self, queue: QueueClient, poison: QueueClient, message: Any) -> None:
        await ensure_queue(poison)
        await poison.send_message(message.content)
        with contextlib.suppress(ResourceNotFoundError):
            await queue.delete_message(message.id, message.pop_receipt)
        log.error("message %s moved to %s-poison", message.id, self.queue_name)

    def stop(self) -> None:
        """Stop polling; messages in flight finish."""
        self._stopping.set()
