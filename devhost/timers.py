"""Timer triggers on six-field NCRONTAB schedules, evaluated in UTC (or WEBSITE_TIME_ZONE)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from azure.functions.timer import TimerRequest
from croniter import croniter

from devhost.indexing import IndexedFunction
from devhost.invoke import Invoker

log = logging.getLogger("devhost.timers")
_SETTING = re.compile(r"^%([^%]+)%$")


def resolve_schedule(schedule: str) -> str:
    """A schedule given as %AppSetting% is read from that setting."""
    match = _SETTING.match(schedule.strip())
    if match:
        value = os.environ.get(match.group(1))
        if not value:
            raise RuntimeError(f"timer schedule setting {match.group(1)} is not set")
        return value
    return schedule


def next_fire(schedule: str, after: datetime) -> datetime:
    """The next time a six-field NCRONTAB expression fires after a moment (aware datetimes)."""
    fields = schedule.split()
    if len(fields) != 6:
        raise ValueError(f"NCRONTAB needs six fields (sec min hour day month dow): {schedule!r}")
    zone = ZoneInfo(os.environ["WEBSITE_TIME_ZONE"]) if os.environ.get("WEBSITE_TIME_ZONE") else UTC
    local = after.astimezone(zone)
    return croniter(schedule, local, second_at_beginning=True).get_next(datetime).astimezone(UTC)


class TimerScheduler:
    """Fires one timer function on its schedule; a failure is logged and the schedule goes on."""

    def __init__(self, function: IndexedFunction, invoker: Invoker) -> None:
        self.function = function
        self.invoker = invoker
        self.schedule = resolve_schedule(function.trigger.schedule)
        next_fire(self.schedule, datetime.now(UTC))  # validate now, not at the first tick
        self._stopping = asyncio.Event()

    async def fire(self, *, past_due: bool = False) -> None:
        """Invoke the timer function once."""
        arg = self.function.trigger.name
        await self.invoker.call(self.function, {arg: TimerRequest(past_due=past_due)})

    async def run(self) -> None:
        """Sleep until each due time and fire, until stopped."""
        if self.function.trigger.run_on_startup:
            await self._safe_fire()
        while not self._stopping.is_set():
            due = next_fire(self.schedule, datetime.now(UTC))
            wait = max(0.0, (due - datetime.now(UTC)).total_seconds())
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
                return
            except TimeoutError:
                pass
            late = (datetime.now(UTC) - due).total_seconds() > 5
            await self._safe_fire(past_due=late)

    async def _safe_fire(self, past_due: bool = False) -> None:
        try:
            await self.fire(past_due=past_due)
        except Exception:
            log.exception("timer %s failed", self.function.name)

    def stop(self) -> None:
        """Stop the schedule."""
        self._stopping.set()
