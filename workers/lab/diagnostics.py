"""Diagnostic handlers for every task type: the benchmark's no-op and the behaviours tests drive.

``filter_criteria`` may hold a ``diag`` object: ``{"sleep": seconds, "steps": n}`` works in n checkpointed steps;
``{"fail": "transient" | "permanent"}`` raises; ``{"fail_times": k}`` fails transiently on the first k attempts;
``{"crash_after_claim": true}`` kills the process (SIGKILL) once it holds the lease. Nothing here touches a
marketplace; the real handlers are registered by the sync module.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from nfsync.connectors.base.errors import PermanentError, RetryableError
from nfsync.workers.engine.filters import Diagnostics, TaskFilter
from nfsync.workers.engine.handlers import HandlerRegistry, TaskContext
from nfsync.workers.engine.models import TASK_TYPES

REGISTRY = HandlerRegistry()


async def diagnostic(ctx: TaskContext) -> dict[str, Any] | None:
    given = ctx.task.filters(TaskFilter).diag
    diag = given or Diagnostics()
    if diag.crash_after_claim and ctx.task.attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    if diag.fail == "permanent":
        raise PermanentError("diagnostic permanent failure")
    if diag.fail == "transient" or ctx.task.attempt <= diag.fail_times:
        raise RetryableError("diagnostic transient failure")
    steps = diag.steps if diag.steps is not None else (1 if diag.sleep else 0)
    ctx.report(total=steps)
    for _ in range(steps):
        await ctx.checkpoint()
        await asyncio.sleep(diag.sleep / steps)
        ctx.report(processed=1, successful=1)
    return {"attempt": ctx.task.attempt, "pid": os.getpid()} if given is not None else None


for _task_type in TASK_TYPES:
    REGISTRY.register(_task_type, diagnostic)
