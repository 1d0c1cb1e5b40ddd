"""The host.json settings the dev host honours."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def timespan_seconds(value: str | int | float | None, default: float) -> float:
    """A .NET TimeSpan ("00:00:02", "1.00:00:00") in seconds."""
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    days = 0
    text = value.strip()
    if "." in text.split(":")[0]:
        day_part, text = text.split(".", 1)
        days = int(day_part)
    hours, minutes, seconds = text.split(":")
    return days * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@dataclass(frozen=True)
class HostConfig:
    """What host.json says about routes, queues and durable functions."""

    route_prefix: str = "api"
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0
    max_polling_interval: float = 2.0
    hub_name: str = "TestHubName"
    function_timeout: float = 600.0
    max_concurrent_activities: int = 8

    @classmethod
    def load(cls, path: Path) -> HostConfig:
        """Read host.json (missing file: the host's defaults)."""
        data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        ext = data.get("extensions", {})
        http = ext.get("http", {})
        queues = ext.get("queues", {})
        durable = ext.get("durableTask", {})
        batch = min(int(queues.get("batchSize", 16)), 32)
        return cls(
            route_prefix=str(http.get("routePrefix", "api")).strip("/"),
            batch_size=batch,
            new_batch_threshold=int(queues.get("newBatchThreshold", batch // 2)),
            max_dequeue_count=int(queues.get("maxDequeueCount", 5)),
            visibility_timeout=timespan_seconds(queues.get("visibilityTimeout"), 0.0),
            # Locally the real host polls at least every 2 s whatever host.json says.
            max_polling_interval=min(timespan_seconds(queues.get("maxPollingInterval"), 2.0), 2.0),
            hub_name=str(durable.get("hubName", "TestHubName")),
            function_timeout=timespan_seconds(data.get("functionTimeout"), 600.0),
            max_concurrent_activities=int(durable.get("maxConcurrentActivityFunctions", 8)),
        )
