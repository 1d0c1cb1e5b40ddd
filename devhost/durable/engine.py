"""The durable engine: runs episodes of orchestrations, activities on a bounded pool, and timers on time."""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import os
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from devhost.durable import replay
from devhost.durable.api import DurableHttpApi
from devhost.durable.client import ClientBindingInvoker
from devhost.durable.history import Event, EventType, event, execution_started, iso, task_failed, utcnow
from devhost.durable.shim import Decision, ShimState, batch
from devhost.durable.store import Followups, Instance, Store, Tx, WorkItem, database_url, dumps

log = logging.getLogger("devhost.durable")
EPISODE_WORKERS = 4
# How often a running engine also looks for orchestrations whose engine is gone (another dev host on the database
# that died, or whose lock PostgreSQL had not yet released when this one started); 0, the default: only at start.
# Off unless asked for: hosts that share a database in the tests run with settings of their own (keys, fake
# services' addresses), and one must not finish what another started.
ADOPT_EVERY_SECONDS = float(os.environ.get("DEVHOST_DURABLE_ADOPT_SECONDS", "0"))
_ONE_SECOND = timedelta(seconds=1)


class DurableEngine:
    """Durable Functions for the dev host: state in PostgreSQL, the SDK's replay protocol, the HTTP API."""

    def __init__(self, host: Any) -> None:
        self.host = host
        self.hub_name: str = host.config.hub_name
        # Apps served by dev hosts share host.json's hub name; the app reference keeps their state apart.
        self.store = Store(database_url(), hub=f"{self.hub_name}|{host.app_reference}")
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._running: set[str] = set()
        self._dirty: set[str] = set()
        self._timers: list[tuple[datetime, int, str]] = []
        self._timer_changed = asyncio.Event()
        self._timer_seq = 0
        self._slots = asyncio.Semaphore(max(1, host.config.max_concurrent_activities))
        self._tasks: list[asyncio.Task[None]] = []
        self._activities: set[asyncio.Task[None]] = set()
        self._orchestrator_pool = ThreadPoolExecutor(max_workers=EPISODE_WORKERS, thread_name_prefix="orch")
        self.rpc_port = 0
        self._rpc_runner: web.AppRunner | None = None
        self.api = DurableHttpApi(self)

    # ---- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store, start the local RPC endpoint, resume pending work and start the workers."""
        await self.store.open()
        await self._start_rpc()
        for _ in range(EPISODE_WORKERS):
            self._tasks.append(asyncio.create_task(self._episode_worker(), name="durable:episodes"))
        self._tasks.append(asyncio.create_task(self._timer_loop(), name="durable:timers"))
        await self._recover()
        if ADOPT_EVERY_SECONDS > 0:
            self._tasks.append(asyncio.create_task(self._adopt_loop(), name="durable:adopt"))
        log.info("durable task hub %s ready (rpc %s)", self.hub_name, self.rpc_base_url)

    async def stop(self) -> None:
        """Stop workers; an activity still running after 5 s is abandoned and runs again after a restart."""
        if self._activities:
            await asyncio.wait(self._activities, timeout=5)
        for task in [*self._tasks, *self._activities]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._activities, return_exceptions=True)
        if self._rpc_runner is not None:
            await self._rpc_runner.cleanup()
        self._orchestrator_pool.shutdown(wait=False, cancel_futures=True)
        await self.store.close()

    async def _start_rpc(self) -> None:
        # Like the extension's local RPC listener: loopback only, no key, for the SDK client's calls.
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_route("*", "/durabletask/{tail:.*}", lambda r: self.api.handle(r, "/durabletask/"))
        self._rpc_runner = web.AppRunner(app, access_log=None)
        await self._rpc_runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # a free port, known before the site starts
        self.rpc_port = int(sock.getsockname()[1])
        await web.SockSite(self._rpc_runner, sock).start()

    @property
    def rpc_base_url(self) -> str:
        """The SDK client's base URL (ends with a slash)."""
        return f"http://127.0.0.1:{self.rpc_port}/durabletask/"

    async def _recover(self) -> None:
        adopted = await self.store.adopt_orphans()
        if adopted:
            log.info("took over %d unfinished orchestration(s) of a stopped dev host", len(adopted))
        await self._resume()

    async def _adopt_loop(self) -> None:
        """Take over, while running, what an engine that died since leaves; only that is scheduled (what this
        engine already runs is not started twice).

        After a server restart every engine's lock is gone: each takes its own again on its next round and skips
        adopting in that round, so a live engine has had a whole round to take its lock back before another one
        looks at its instances."""
        while True:
            await asyncio.sleep(ADOPT_EVERY_SECONDS)
            try:
                if await self.store.hold_lock():
                    log.info("took this engine's lock again after the database came back")
                    continue
                adopted = await self.store.adopt_orphans()
                if adopted:
                    log.info("took over %d unfinished orchestration(s) of a dev host that stopped", len(adopted))
                    await self._resume(adopted)
            except Exception:  # the database is away: look again next time
                log.warning("could not look for orchestrations of stopped dev hosts", exc_info=True)

    async def _resume(self, only: set[str] | None = None) -> None:
        """Schedule the pending episodes and activities of this engine's instances (or only of those named)."""
        async with self.store.transaction() as tx:
            pending = await tx.pending_instances()
            work = await tx.all_work()
        if only is not None:
            pending = [(instance_id, due) for instance_id, due in pending if instance_id in only]
            work = [item for item in work if item.instance_id in only]
        for instance_id, due in pending:
            self.schedule(instance_id, due)
        for item in work:
            self.run_activity(item)
        if pending or work:
            instances = len({instance_id for instance_id, _ in pending} | {item.instance_id for item in work})
            log.info("resumed %d orchestration(s) with %d activity(ies) from the store", instances, len(work))

    # ---- the host's hooks ---------------------------------------------------------------------

    def wrap_invoker(self, invoker: Any) -> Any:
        """The host's invoker, giving durableClient bindings to functions of every trigger type."""
        return ClientBindingInvoker(invoker, self.client_binding_json)

    def client_binding_json(self) -> str:
        """The `durableClient` binding value: URLs and the RPC base the SDK client uses."""
        return self.api.client_binding_json()

    async def handle_http(self, request: web.Request) -> web.StreamResponse:
        """The public webhooks under /runtime/webhooks/durabletask/ (system key required, as in Azure)."""
        if not self.api.authorised(request):
            return web.Response(status=401)
        return await self.api.handle(request, "/runtime/webhooks/durabletask/")

    # ---- scheduling -------------------------------------------------------------------------

    def wake(self, instance_id: str) -> None:
        """Run an episode of this instance soon (once, even if woken many times)."""
        if instance_id in self._running:
            self._dirty.add(instance_id)
        elif instance_id not in self._queued:
            self._queued.add(instance_id)
            self._queue.put_nowait(instance_id)

    def schedule(self, instance_id: str, when: datetime) -> None:
        """Wake an instance at a time (timers, retry delays)."""
        if when <= utcnow():
            self.wake(instance_id)
            return
        self._timer_seq += 1
        heapq.heappush(self._timers, (when, self._timer_seq, instance_id))
        self._timer_changed.set()

    async def _timer_loop(self) -> None:
        while True:
            self._timer_changed.clear()
            now = utcnow()
            while self._timers and self._timers[0][0] <= now:
                self.wake(heapq.heappop(self._timers)[2])
            delay = (self._timers[0][0] - now).total_seconds() if self._timers else 3600.0
            try:
                await asyncio.wait_for(self._timer_changed.wait(), timeout=max(delay, 0.001))
            except TimeoutError:
                pass

    async def _episode_worker(self) -> None:
        while True:
            instance_id = await self._queue.get()
            self._queued.discard(instance_id)
            self._running.add(instance_id)
            again = False
            try:
                again = await self._episode(instance_id)
            except Exception:
                # An engine error in one instance must not stop the others; retry it a little later.
                log.exception("episode of %s failed; retrying in 1 s", instance_id)
                self.schedule(instance_id, utcnow() + _ONE_SECOND)
            finally:
                self._running.discard(instance_id)
            if again or instance_id in self._dirty:
                self._dirty.discard(instance_id)
                self.wake(instance_id)

    def _follow_up(self, followups: Followups) -> None:
        for item in followups.activities:
            self.run_activity(item)
        for instance_id, when in followups.timers:
            self.schedule(instance_id, when)
        for instance_id in followups.wake:
            self.wake(instance_id)

    # ---- episodes ---------------------------------------------------------------------------

    async def _episode(self, instance_id: str) -> bool:
        """Deliver the next batch of messages to one instance; True when more are waiting."""
        now = utcnow()
        followups = Followups()
        async with self.store.transaction() as tx:
            inst, messages, history = await tx.episode_state(instance_id, now)
            if inst is None or inst.is_terminal:
                await tx.delete_messages([m[0] for m in messages])
                return False
            if inst.runtime_status == "Suspended":
                return False
            stale = [m[0] for m in messages if m[1] is not None and m[1] != inst.execution_id]
            live = [m for m in messages if m[0] not in stale]
            shim = ShimState.load(inst.shim)
            taken = batch([m[2] for m in live], shim)
            await tx.delete_messages(stale + [m[0] for m in live[: len(taken)]])
            if not taken:
                return False
            await self._run_episode(tx, inst, shim, history, taken, now, followups)
        self._follow_up(followups)
        return len(live) > len(taken)

    async def _run_episode(
        self,
        tx: Tx,
        inst: Instance,
        shim: ShimState,
        old: list[Event],
        taken: list[Event],
        now: datetime,
        followups: Followups,
    ) -> None:
        new = [event(EventType.ORCHESTRATOR_STARTED, now), *taken]
        # The retry wrapper's ids come first: the SDK takes them while processing the batch's head.
        retry_decisions = [d for message in taken for d in shim.on_event(message, now)]
        outcome = await self._invoke(inst, old, new)
        if outcome.state.get("customStatus") is not None:
            inst.custom_status = dumps(outcome.state["customStatus"])
        decisions = [] if outcome.error else retry_decisions + shim.on_actions(outcome.actions)
        unsupported = [d.name for d in decisions if d.kind == "unsupported"]
        if unsupported:
            outcome.error = f"{', '.join(unsupported)} is not supported by the dev host"
        if not outcome.error:
            new += await self._apply(tx, inst, decisions, now, followups)
        new.append(event(EventType.ORCHESTRATOR_COMPLETED, now))
        inst.shim, inst.updated_at = shim.dump(), now
        inst.runtime_status = "Running" if inst.runtime_status == "Pending" else inst.runtime_status
        await self._settle(tx, inst, old, new, outcome, decisions, now, followups)

    async def _invoke(self, inst: Instance, old: list[Event], new: list[Event]) -> replay.Outcome:
        """Run the orchestrator on a worker thread (user code must not block the host's loop)."""
        function = self.host.index.get(inst.name)
        if function is None or function.trigger_type != "orchestrationTrigger":
            return replay.Outcome(
                error=f"The function '{inst.name}' doesn't exist, is disabled, or is not an orchestrator function."
            )
        context = replay.context_json(inst, old, new)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._orchestrator_pool, replay.invoke, function.user_function, context)

    async def _settle(
        self,
        tx: Tx,
        inst: Instance,
        old: list[Event],
        new: list[Event],
        outcome: replay.Outcome,
        decisions: list[Decision],
        now: datetime,
        followups: Followups,
    ) -> None:
        """Write the episode: failed, continued as new, completed, or still running."""
        continue_as_new = next((d for d in decisions if d.kind == "continue_as_new"), None)
        if outcome.error:
            output = replay.failure_output(inst.name, outcome.error)
            await self._finish(tx, inst, old, new, "Failed", output, now, followups)
        elif continue_as_new is not None:
            await self._continue_as_new(tx, inst, old, new, continue_as_new.input, now, followups)
        elif outcome.is_done:
            await self._finish(tx, inst, old, new, "Completed", dumps(outcome.state.get("output")), now, followups)
        else:
            await tx.append_history(inst.instance_id, inst.execution_id, len(old), new)
            await tx.put_instance(inst)

    async def _apply(
        self, tx: Tx, inst: Instance, decisions: list[Decision], now: datetime, followups: Followups
    ) -> list[Event]:
        """Turn decisions into history events and work: activities, timers, sub-orchestrations."""
        events: list[Event] = []
        for decision in decisions:
            if decision.kind == "activity":
                events.append(
                    event(EventType.TASK_SCHEDULED, now, decision.task_id, Name=decision.name, Input=decision.input)
                )
                item = WorkItem(inst.instance_id, inst.execution_id, decision.task_id, decision.name, decision.input)
                await tx.add_work(item)
                followups.activities.append(item)
            elif decision.kind == "timer" and decision.fire_at is not None:
                fire_at = iso(decision.fire_at)
                events.append(event(EventType.TIMER_CREATED, now, decision.task_id, FireAt=fire_at))
                fired = event(EventType.TIMER_FIRED, decision.fire_at, TimerId=decision.task_id, FireAt=fire_at)
                await tx.send(inst.instance_id, inst.execution_id, fired, decision.fire_at)
                followups.timers.append((inst.instance_id, decision.fire_at))
            elif decision.kind == "cancel_timer":
                await tx.delete_timer(inst.instance_id, inst.execution_id, decision.task_id)
            elif decision.kind == "suborchestration":
                events.append(await self._create_child(tx, inst, decision, now, followups))
        return events

    async def _create_child(
        self, tx: Tx, parent: Instance, decision: Decision, now: datetime, followups: Followups
    ) -> Event:
        # DTFx names an unnamed sub-orchestration after the parent's execution id and the task id.
        child_id = decision.instance_id or f"{parent.execution_id}:{decision.task_id}"
        # The extension passes the action's input (JSON text) on as a JSON string.
        input_text = None if decision.input is None else json.dumps(decision.input)
        await self.create_instance(
            tx,
            decision.name,
            child_id,
            input_text,
            decision.version or "",
            now,
            parent=(parent.instance_id, decision.task_id),
        )
        followups.wake.append(child_id)
        return event(
            EventType.SUB_ORCHESTRATION_CREATED,
            now,
            decision.task_id,
            Name=decision.name,
            InstanceId=child_id,
            Input=decision.input,
        )

    async def _finish(
        self,
        tx: Tx,
        inst: Instance,
        old: list[Event],
        new: list[Event],
        status: str,
        output: str,
        now: datetime,
        followups: Followups,
    ) -> None:
        """End the execution: ExecutionCompleted, the final status, and the parent's notification."""
        new.append(replay.completed(now, status, output))
        await tx.append_history(inst.instance_id, inst.execution_id, len(old), new)
        inst.runtime_status = status
        inst.output = output if status != "Failed" else dumps(output)
        await tx.put_instance(inst)
        await tx.clear_pending(inst.instance_id)
        await self._notify_parent(tx, inst, status, now, followups)

    async def _notify_parent(self, tx: Tx, inst: Instance, status: str, now: datetime, followups: Followups) -> None:
        if inst.parent_instance_id is None or inst.parent_task_id is None:
            return
        if status == "Completed":
            message = event(
                EventType.SUB_ORCHESTRATION_COMPLETED, now, TaskScheduledId=inst.parent_task_id, Result=inst.output
            )
        else:
            reason = json.loads(inst.output) if inst.output else status
            message = event(
                EventType.SUB_ORCHESTRATION_FAILED, now, TaskScheduledId=inst.parent_task_id, Reason=reason, Details=""
            )
        await tx.send(inst.parent_instance_id, None, message, now)
        followups.wake.append(inst.parent_instance_id)

    async def _continue_as_new(
        self,
        tx: Tx,
        inst: Instance,
        old: list[Event],
        new: list[Event],
        input_text: str | None,
        now: datetime,
        followups: Followups,
    ) -> None:
        """Close this execution with ContinueAsNew and start a fresh one; raised events carry over."""
        new.append(event(EventType.CONTINUE_AS_NEW, now, Result=input_text))
        await tx.append_history(inst.instance_id, inst.execution_id, len(old), new)
        await tx.clear_pending(inst.instance_id, keep_events=True)
        inst.execution_id = str(uuid.uuid4())
        inst.input = None if input_text is None else json.dumps(input_text)
        inst.shim = {}
        inst.custom_status = None
        await tx.put_instance(inst)
        started = execution_started(now, inst.name, inst.version or "", inst.input)
        await tx.send(inst.instance_id, inst.execution_id, started, now)
        followups.wake.append(inst.instance_id)

    # ---- operations the HTTP API uses ------------------------------------------------------

    async def create_instance(
        self,
        tx: Tx,
        name: str,
        instance_id: str,
        input_text: str | None,
        version: str,
        now: datetime,
        parent: tuple[str, int] | None = None,
    ) -> None:
        """(Re)create an instance in Pending with its ExecutionStarted message."""
        await tx.delete_instance(instance_id)
        inst = Instance(
            instance_id=instance_id,
            execution_id=str(uuid.uuid4()),
            name=name,
            version=version,
            runtime_status="Pending",
            input=input_text,
            output=None,
            custom_status=None,
            parent_instance_id=parent[0] if parent else None,
            parent_task_id=parent[1] if parent else None,
            shim={},
            created_at=now,
            updated_at=now,
        )
        await tx.put_instance(inst)
        await tx.send(instance_id, inst.execution_id, execution_started(now, name, version, input_text), now)

    async def terminate(self, tx: Tx, inst: Instance, reason: str | None, followups: Followups) -> None:
        """End a running instance now: ExecutionTerminated, status Terminated, output the reason."""
        now = utcnow()
        old = await tx.history(inst.instance_id, inst.execution_id)
        new = [
            event(EventType.ORCHESTRATOR_STARTED, now),
            event(EventType.EXECUTION_TERMINATED, now, Input=dumps(reason)),
            replay.completed(now, "Terminated", dumps(reason)),
            event(EventType.ORCHESTRATOR_COMPLETED, now),
        ]
        await tx.append_history(inst.instance_id, inst.execution_id, len(old), new)
        inst.runtime_status, inst.output, inst.updated_at = "Terminated", dumps(reason), now
        await tx.put_instance(inst)
        await tx.clear_pending(inst.instance_id)
        await self._notify_parent(tx, inst, "Terminated", now, followups)

    async def mark(self, tx: Tx, inst: Instance, status: str, kind: EventType, reason: str | None) -> None:
        """Suspend or resume: the status and the history event."""
        now = utcnow()
        old = await tx.history(inst.instance_id, inst.execution_id)
        await tx.append_history(inst.instance_id, inst.execution_id, len(old), [event(kind, now, Reason=reason)])
        inst.runtime_status, inst.updated_at = status, now
        await tx.put_instance(inst)

    def after_commit(self, followups: Followups) -> None:
        """Run the in-memory follow-ups of an API transaction."""
        self._follow_up(followups)

    # ---- activities -------------------------------------------------------------------------

    def run_activity(self, item: WorkItem) -> None:
        """Run an activity on the bounded pool, then deliver its result to the orchestration."""
        task = asyncio.create_task(self._activity(item), name=f"activity:{item.name}")
        self._activities.add(task)
        task.add_done_callback(self._activities.discard)

    async def _activity(self, item: WorkItem) -> None:
        async with self._slots:
            outcome = await self._call_activity(item)
        async with self.store.transaction() as tx:
            # The result and the removal of the work item commit together: a recorded result is never re-run.
            await tx.complete_work(item, outcome, utcnow())
        self.wake(item.instance_id)

    async def _call_activity(self, item: WorkItem) -> Event:
        function = self.host.index.get(item.name)
        if function is None or function.trigger_type != "activityTrigger":
            error = f"The function '{item.name}' doesn't exist, is disabled, or is not an activity function."
            return task_failed(utcnow(), item.task_id, item.name, error)
        try:
            value = replay.activity_input(item.input)
            result, _ = await self.host.invoker.call(function, {function.trigger.name: value})
            return event(
                EventType.TASK_COMPLETED, utcnow(), TaskScheduledId=item.task_id, Result=replay.activity_result(result)
            )
        except Exception as exc:
            log.warning("activity %s of %s failed: %s: %s", item.name, item.instance_id, type(exc).__name__, exc)
            return task_failed(utcnow(), item.task_id, item.name, exc)
