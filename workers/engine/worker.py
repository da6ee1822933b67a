"""The worker: consumes wake-ups per platform, claims due tasks in batches under a lease, runs their handlers,
and writes their outcomes in batches, fenced by owner and attempt.

Life of a task here: a wake-up arrives (or the idle poll fires) -> ``claim_tasks`` takes up to ``claim_batch``
due tasks in one statement and commits -> the wake-up messages taken before the claim are acked -> each task
runs as an asyncio task under its lease (renewed by the heartbeat loop) -> its outcome joins the completion
buffer -> one ``finish_tasks`` statement writes the buffer. Progress and cancellation flags travel once a
second per worker, not per item.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustChannel, AbstractRobustConnection
from pydantic import ValidationError

from nfsync.connectors.base.errors import PermanentError, RetryableError
from nfsync.workers.config import Settings
from nfsync.workers.engine.backoff import retry_delay
from nfsync.workers.engine.broker import declare_topology, queue_name
from nfsync.workers.engine.handlers import HandlerRegistry, LeaseLost, ShutdownRequested, TaskCancelled, TaskContext
from nfsync.workers.engine.models import ClaimedTask, Wakeup
from nfsync.workers.engine.repository import OutcomeRecord, Repository
from nfsync.workers.logs import get_logger

log = get_logger(__name__)
_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError)
_FLUSH_DELAY = 0.005
_PREFETCH = 20


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass
class _PlatformState:
    platform: str
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    messages: list[AbstractIncomingMessage] = field(default_factory=list)
    running: int = 0

    def take_messages(self) -> list[AbstractIncomingMessage]:
        taken, self.messages = self.messages, []
        return taken


@dataclass
class _Running:
    ctx: TaskContext
    job: asyncio.Task[None]


class Worker:
    def __init__(
        self,
        settings: Settings,
        registry: HandlerRegistry,
        platforms: Sequence[str],
        *,
        pool: asyncpg.Pool,
        connection: AbstractRobustConnection | None,
        concurrency: int | None = None,
        worker_id: str | None = None,
        resources: object = None,
    ) -> None:
        self.settings = settings
        self.resources = resources
        self.registry = registry
        self.id = worker_id or new_worker_id()
        self.concurrency = concurrency or settings.worker_concurrency
        self._repo = Repository(pool, self.id)
        self._connection = connection
        self._states = {p: _PlatformState(p) for p in platforms}
        self._running: dict[uuid.UUID, _Running] = {}
        self._outcomes: list[OutcomeRecord] = []
        self._outcome_ready = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._channels: list[AbstractRobustChannel] = []
        self._queues: list[tuple[AbstractQueue, str]] = []
        self.stats = {"claims": 0, "claimed": 0, "finished": 0, "stale": 0}

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        await self._repo.register(socket.gethostname(), os.getpid(), list(self._states), self.concurrency)
        if self._connection is not None:
            for state in self._states.values():
                await self._consume(state)
        for state in self._states.values():
            self._spawn(self._claim_loop(state), f"claim-{state.platform}")
        self._spawn(self._flush_loop(), "flush")
        self._spawn(self._heartbeat_loop(), "heartbeat")
        self._spawn(self._progress_loop(), "progress")
        log.info("worker.started", worker_id=self.id, platforms=list(self._states), concurrency=self.concurrency)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._loop_ended)
        self._loops.append(task)

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("worker.loop_crashed", loop=task.get_name(), error=repr(task.exception()))
            self._stopping.set()  # a supervisor rule: a dead background loop stops the worker

    def request_stop(self) -> None:
        if not self._stopping.is_set():
            log.info("worker.stopping", worker_id=self.id, running=len(self._running))
            self._stopping.set()
        for state in self._states.values():
            state.wake.set()

    async def run(self) -> None:
        """Start, work until a stop is requested, then shut down gracefully."""
        await self.start()
        await self._stopping.wait()
        await self.shutdown()

    async def shutdown(self) -> None:
        """Stop consuming and claiming, give in-flight tasks the grace period, release the rest, close."""
        self.request_stop()
        claim_loops = [t for t in self._loops if t.get_name().startswith("claim-")]
        await asyncio.wait(claim_loops, timeout=self.settings.db_command_timeout)
        await self._stop_consuming()
        for running in self._running.values():
            running.ctx.shutdown_requested = True
        jobs = [r.job for r in self._running.values()]
        if jobs:
            _, late = await asyncio.wait(jobs, timeout=self.settings.shutdown_grace)
            for job in late:
                job.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await asyncio.shield(self._flush_all())
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        with contextlib.suppress(*_DB_ERRORS):
            await self._repo.unregister()
        log.info("worker.stopped", worker_id=self.id, **self.stats)

    # ---------------------------------------------------------------- wake-ups

    async def _consume(self, state: _PlatformState) -> None:
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=_PREFETCH)
        await declare_topology(channel, self.settings)
        queue = await channel.get_queue(queue_name(state.platform))

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._on_message(state, message)

        tag = await queue.consume(on_message)
        self._channels.append(channel)  # strong references: robust objects are held weakly
        self._queues.append((queue, tag))

    async def _on_message(self, state: _PlatformState, message: AbstractIncomingMessage) -> None:
        try:
            wakeup = Wakeup.model_validate_json(message.body)
            if wakeup.platform != state.platform:
                raise ValueError(f"wake-up for {wakeup.platform} on the {state.platform} queue")
        except (ValidationError, ValueError) as exc:
            log.warning("wakeup.invalid", platform=state.platform, error=str(exc)[:300])
            with contextlib.suppress(Exception):
                await message.reject(requeue=False)  # dead-lettered with its reason in x-death
            return
        state.messages.append(message)
        state.wake.set()

    async def _stop_consuming(self) -> None:
        for queue, tag in self._queues:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(queue.cancel(tag), self.settings.publish_timeout)
        for state in self._states.values():
            for message in state.take_messages():
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)
        for channel in self._channels:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(channel.close(), self.settings.publish_timeout)

    @staticmethod
    async def _ack(messages: list[AbstractIncomingMessage]) -> None:
        for message in messages:
            with contextlib.suppress(Exception):  # a delivery from before a reconnect cannot be acked: harmless
                await message.ack()

    # ---------------------------------------------------------------- claiming

    def _claim_size(self, state: _PlatformState) -> int:
        free = self.concurrency - state.running
        wanted = min(free, self.settings.claim_batch)
        threshold = max(1, min(self.settings.claim_batch, self.concurrency) // 2)
        return wanted if state.running == 0 or wanted >= threshold else 0

    async def _claim_loop(self, state: _PlatformState) -> None:
        while not self._stopping.is_set():
            size = self._claim_size(state)
            if size == 0:
                await self._sleep_until_woken(state, self.settings.idle_poll_seconds)
                continue
            state.wake.clear()
            messages = state.take_messages()
            try:
                tasks = await self._repo.claim(state.platform, size, self.settings.lease_seconds, self._task_types)
            except asyncpg.UniqueViolationError:
                state.messages[:0] = messages  # raced another claimer for one shop: try again
                continue
            except _DB_ERRORS as exc:
                state.messages[:0] = messages
                log.warning("task.claim_failed", platform=state.platform, error=str(exc) or type(exc).__name__)
                await self._sleep_until_woken(state, 1.0)
                continue
            self.stats["claims"] += 1
            await self._ack(messages)
            for task in tasks:
                self._start_task(state, task)
            if len(tasks) < size:
                await self._sleep_until_woken(state, self.settings.idle_poll_seconds)

    @property
    def _task_types(self) -> list[str]:
        return self.registry.task_types

    async def _sleep_until_woken(self, state: _PlatformState, seconds: float) -> None:
        if self._stopping.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.wake.wait(), seconds)

    # ---------------------------------------------------------------- running

    def _start_task(self, state: _PlatformState, task: ClaimedTask) -> None:
        ctx = TaskContext(task, self.resources)
        state.running += 1
        self.stats["claimed"] += 1
        job = asyncio.create_task(self._run(state, ctx))
        self._running[task.id] = _Running(ctx, job)

    async def _run(self, state: _PlatformState, ctx: TaskContext) -> None:
        try:
            record = await self._execute(ctx)
        finally:
            self._running.pop(ctx.task.id, None)
            state.running -= 1
            state.wake.set()
        if record is not None:
            self._outcomes.append(record)
            self._outcome_ready.set()

    async def _execute(self, ctx: TaskContext) -> OutcomeRecord | None:
        task = ctx.task
        try:
            result = await self.registry.get(task.task_type)(ctx)
            summary = result.pop("error_message", None) if result else None  # items failed, the task completed
            return self._record(ctx, "completed", summary, result)
        except TaskCancelled:
            return self._record(ctx, "cancelled", "cancelled on request")
        except (ShutdownRequested, asyncio.CancelledError):
            return self._record(ctx, "release", None)
        except LeaseLost:
            log.warning("task.lease_lost", task_id=str(task.id), attempt=task.attempt)
            return None
        except PermanentError as exc:
            return self._record(ctx, "failed", str(exc))
        except Exception as exc:
            delay = retry_delay(
                task.retry_count,
                base=self.settings.retry_base_seconds,
                cap=self.settings.retry_max_seconds,
                retry_after=exc.retry_after if isinstance(exc, RetryableError) else None,
            )
            log.info("task.transient_failure", task_id=str(task.id), error=str(exc)[:500], retry_in=round(delay, 2))
            return self._record(ctx, "retry", f"{type(exc).__name__}: {exc}"[:2000], delay=delay)

    @staticmethod
    def _record(
        ctx: TaskContext,
        outcome: Any,
        error: str | None,
        result: dict[str, Any] | None = None,
        *,
        delay: float = 0.0,
    ) -> OutcomeRecord:
        touched = ctx.progress.dirty or ctx.progress.total > 0
        return OutcomeRecord(
            ctx.task.id, ctx.task.attempt, outcome, error, ctx.progress if touched else None, result, delay
        )

    # ---------------------------------------------------------------- outcomes

    async def _flush_loop(self) -> None:
        while True:
            await self._outcome_ready.wait()
            if len(self._outcomes) < self.settings.claim_batch and not self._stopping.is_set():
                await asyncio.sleep(_FLUSH_DELAY)  # let a batch gather: one statement for many outcomes
            await self._flush_all()

    async def _flush_all(self) -> None:
        async with self._flush_lock:  # one writer at a time; shutdown waits for an in-flight write
            await self._drain_outcomes()

    async def _drain_outcomes(self) -> None:
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            self._outcome_ready.clear()
            try:
                written = await self._repo.finish(batch)
            except _DB_ERRORS as exc:
                log.warning("task.outcome_write_failed", count=len(batch), error=str(exc) or type(exc).__name__)
                self._outcomes[:0] = batch
                await asyncio.sleep(1.0)
                continue
            self._after_finish(batch, written)

    def _after_finish(self, batch: list[OutcomeRecord], written: dict[uuid.UUID, tuple[str, str]]) -> None:
        self.stats["finished"] += len(written)
        for record in batch:
            if record.task_id not in written:
                self.stats["stale"] += 1
                log.warning("task.stale_outcome_refused", task_id=str(record.task_id), attempt=record.attempt)
        for state in self._states.values():
            state.wake.set()  # a finished task may unblock its shop's next task

    # ---------------------------------------------------------------- heartbeat, progress, cancellation

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            held = [(task_id, r.ctx.task.attempt) for task_id, r in self._running.items()]
            try:
                if held:
                    alive = await self._repo.heartbeat(held, self.settings.lease_seconds)
                    self._mark_lost(held, alive)
                await self._repo.worker_heartbeat(len(self._running), self._stopping.is_set())
            except _DB_ERRORS as exc:
                log.warning("worker.heartbeat_failed", error=str(exc) or type(exc).__name__)

    def _mark_lost(self, held: list[tuple[uuid.UUID, int]], alive: dict[uuid.UUID, bool]) -> None:
        for task_id, _ in held:
            running = self._running.get(task_id)
            if running is None:
                continue
            if task_id not in alive:
                running.ctx.lease_lost = True
            elif alive[task_id]:
                running.ctx.cancel_requested = True

    async def _progress_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.progress_interval)
            try:
                await self._sync_progress()
            except _DB_ERRORS as exc:
                log.warning("task.progress_write_failed", error=str(exc) or type(exc).__name__)

    async def _sync_progress(self) -> None:
        if not self._running:
            return
        dirty = [(tid, r.ctx.task.attempt, r.ctx.progress) for tid, r in self._running.items() if r.ctx.progress.dirty]
        if dirty:
            await self._repo.save_progress(dirty)
            for _, _, progress in dirty:
                progress.dirty = False
        for task_id in await self._repo.cancel_requested(list(self._running)):
            if task_id in self._running:
                self._running[task_id].ctx.cancel_requested = True
