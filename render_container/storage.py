"""Azure Storage clients for the worker: queues for jobs and results, blobs for templates and GLBs."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient, QueueServiceClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from render_container.settings import RenderSettings


@dataclass(frozen=True)
class StorageClients:
    """The worker's storage handles, built once per process."""

    blobs: BlobServiceClient
    jobs: QueueClient  # raw: the worker decodes itself so a bad message cannot break the receive call
    poison: QueueClient  # raw: a poisoned message is copied byte for byte
    results: QueueClient  # base64 JSON, as the Functions queue trigger expects


def identity_credential(settings: RenderSettings) -> Any:
    """The worker's managed identity (AZURE_CLIENT_ID) for Storage and Application Insights."""
    from azure.identity import DefaultAzureCredential  # only managed-identity deployments pay for the import

    if settings.azure_client_id:
        return DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id)
    return DefaultAzureCredential()


def _service_clients(settings: RenderSettings) -> tuple[QueueServiceClient, BlobServiceClient]:
    if settings.storage_connection_string:
        conn = settings.storage_connection_string
        return QueueServiceClient.from_connection_string(conn), BlobServiceClient.from_connection_string(conn)
    credential = identity_credential(settings)
    account = settings.storage_account_name
    return (
        QueueServiceClient(f"https://{account}.queue.core.windows.net", credential=credential),
        BlobServiceClient(f"https://{account}.blob.core.windows.net", credential=credential),
    )


def connect(settings: RenderSettings) -> StorageClients:
    """Build the queue and blob clients named in the settings."""
    queues, blobs = _service_clients(settings)
    results = queues.get_queue_client(
        settings.results_queue,
        message_encode_policy=TextBase64EncodePolicy(),
        message_decode_policy=TextBase64DecodePolicy(),
    )
    return StorageClients(
        blobs=blobs,
        jobs=queues.get_queue_client(settings.jobs_queue),
        poison=queues.get_queue_client(settings.poison_queue),
        results=results,
    )


def ensure_resources(clients: StorageClients, settings: RenderSettings) -> None:
    """Create the worker's queues and control container if missing (infra normally does this)."""
    for queue in (clients.jobs, clients.poison, clients.results):
        try:
            queue.create_queue()
        except ResourceExistsError:
            pass
    try:
        clients.blobs.create_container(settings.control_container)
    except ResourceExistsError:
        pass


def decode_message_text(content: str) -> str:
    """Undo the host's base64 encoding; raises ValueError when the content is not base64 UTF-8."""
    try:
        return base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"message is not base64 UTF-8: {exc}") from exc


def encode_message_text(text: str) -> str:
    """Encode a message the way TextBase64EncodePolicy does."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
