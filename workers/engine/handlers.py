"""Handlers, the registry they live in, and the context a running task sees.

A handler is ``async def handler(ctx: TaskContext) -> dict | None``. It reports progress through ``ctx.report``
and calls ``await ctx.checkpoint()`` between pages or batches: that is where cancellation, shutdown and a lost
lease stop it. It raises ``PermanentError`` for failures retrying cannot fix; any other exception is transient.
A result's ``error_message`` key (items failed, the task still completed) becomes the task's ``error_message``.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from nfsync.connectors.base.errors import ConfigError
from nfsync.workers.config import Settings
from nfsync.workers.engine.models import TASK_TYPES, ClaimedTask

Handler = Callable[["TaskContext"], Awaitable[dict[str, Any] | None]]
ResourceFactory = Callable[[Settings, asyncpg.Pool], contextlib.AbstractAsyncContextManager[object]]
"""Opens what a registry's handlers share for a worker's lifetime; the handlers check its type (the engine cannot
know it: e.g. workers/sync/session.py SyncResources)."""
"""(settings, pool) -> an async context manager yielding what the handlers share (clients, keyring, limiter)."""


class TaskCancelled(Exception):
    """Cancellation was requested; the task ends as cancelled."""


class ShutdownRequested(Exception):
    """The worker is stopping; the task is released back to pending without counting an attempt."""


class LeaseLost(Exception):
    """Another owner took the task over (our lease expired); stop without writing anything."""


@dataclass
class Progress:
    total: int = 0
    processed: int = 0
    successful: int = 0
    failed: int = 0
    dirty: bool = False


@dataclass
class TaskContext:
    task: ClaimedTask
    resources: object = None  # what the registry's resource factory yielded (None without one)
    progress: Progress = field(default_factory=Progress)
    cancel_requested: bool = False
    shutdown_requested: bool = False
    lease_lost: bool = False

    def report(
        self,
        *,
        total: int | None = None,
        processed: int = 0,
        successful: int = 0,
        failed: int = 0,
    ) -> None:
        """Set the total, and add to the processed / successful / failed counters."""
        if total is not None:
            self.progress.total = total
        self.progress.processed += processed
        self.progress.successful += successful
        self.progress.failed += failed
        self.progress.dirty = True

    async def checkpoint(self) -> None:
        """Stop here if the task was cancelled, the worker is stopping, or the lease was lost."""
        if self.lease_lost:
            raise LeaseLost
        if self.cancel_requested:
            raise TaskCancelled
        if self.shutdown_requested:
            raise ShutdownRequested


class HandlerRegistry:
    """Handlers keyed by task type. Workers claim only the task types their registry handles."""

    def __init__(self, resources: ResourceFactory | None = None) -> None:
        self._handlers: dict[str, Handler] = {}
        self._resources = resources

    @contextlib.asynccontextmanager
    async def open_resources(self, settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[object]:
        """The shared resources for the lifetime of a worker (None when the registry declares none)."""
        if self._resources is None:
            yield None
            return
        async with self._resources(settings, pool) as resources:
            yield resources

    def register(self, task_type: str, handler: Handler) -> None:
        if task_type not in TASK_TYPES:
            raise ConfigError(f"unknown task type {task_type!r}")
        self._handlers[task_type] = handler

    def handler(self, *task_types: str) -> Callable[[Handler], Handler]:
        def decorate(func: Handler) -> Handler:
            for task_type in task_types:
                self.register(task_type, func)
            return func

        return decorate

    def get(self, task_type: str) -> Handler:
        return self._handlers[task_type]

    @property
    def task_types(self) -> list[str]:
        return sorted(self._handlers)

    def __iter__(self) -> Iterator[str]:
        return iter(self._handlers)


def load_registry(spec: str) -> HandlerRegistry:
    """Import ``module:attribute`` holding a HandlerRegistry."""
    module_name, _, attribute = spec.partition(":")
    try:
        registry = getattr(importlib.import_module(module_name), attribute or "REGISTRY")
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load handler registry {spec!r}: {exc}") from None
    if not isinstance(registry, HandlerRegistry):
        raise ConfigError(f"{spec!r} is not a HandlerRegistry")
    return registry
