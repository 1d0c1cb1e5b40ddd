"""Keeps a queue message invisible while its job runs, so no other worker picks it up."""

from __future__ import annotations

import logging
import threading

from azure.core.exceptions import AzureError, HttpResponseError
from azure.storage.queue import QueueClient, QueueMessage

log = logging.getLogger(__name__)


class MessageLease:
    """Background renewal of a message's visibility timeout; the latest pop receipt deletes the message."""

    def __init__(self, queue: QueueClient, message: QueueMessage, visibility_seconds: int) -> None:
        self._queue = queue
        self._message_id = message.id
        self._pop_receipt: str = message.pop_receipt or ""
        self._visibility = visibility_seconds
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._renew_until_stopped, name="message-lease", daemon=True)
        self.lost = False

    def __enter__(self) -> MessageLease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join()

    @property
    def pop_receipt(self) -> str:
        """The receipt from the latest renewal; the original one is void after an update."""
        with self._lock:
            return self._pop_receipt

    def _renew_until_stopped(self) -> None:
        # Renew at a third of the timeout: two renewals can fail or be slow before the message reappears.
        interval = max(self._visibility / 3, 0.2)
        while not self._stopped.wait(interval):
            try:
                with self._lock:
                    updated = self._queue.update_message(
                        self._message_id, pop_receipt=self._pop_receipt, visibility_timeout=self._visibility
                    )
                    self._pop_receipt = updated.pop_receipt or self._pop_receipt
            except HttpResponseError as exc:
                if exc.status_code == 404 or exc.error_code == "PopReceiptMismatch":
                    # The message reappeared and someone else holds it now; renewing again cannot succeed.
                    log.warning("lost the lease on message %s", self._message_id)
                    self.lost = True
                    return
                log.warning("could not renew message %s; retrying", self._message_id, exc_info=True)
            except AzureError:
                log.warning("could not renew message %s; retrying", self._message_id, exc_info=True)

    def delete(self) -> None:
        """Delete the message with the current receipt (stop renewing first)."""
        self._queue.delete_message(self._message_id, self.pop_receipt)
