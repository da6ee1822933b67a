"""Names of the AMQP commands' broker objects. The consumer (``workers/api/amqp_commands.py``) declares them and
the operator views (``workers/ops_snapshot.py``: ``nfsync status``, ``/ops/queues``, the dashboard) count the
dead-letter queue, so the engine's command line needs no import of the HTTP service."""

from __future__ import annotations

COMMANDS_EXCHANGE = "nfsync.commands"
CREATE_KEY = "sync-task.create"
COMMANDS_QUEUE = "nfsync.commands.sync-task.create"
DEAD_EXCHANGE = "nfsync.commands.dlx"
DEAD_QUEUE = "nfsync.commands.dead"
