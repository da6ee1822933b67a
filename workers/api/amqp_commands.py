"""The enqueue command over AMQP: JSON on exchange ``nfsync.commands``, routing key ``sync-task.create``.

Every command carries a credential: an API token with the ``tasks:write`` scope in the message header
``authorization`` (``Bearer nfs_...``), verified like an HTTP call. The task is enqueued for the token's
organization; the body is the HTTP body of ``POST /v1/sync-tasks`` and never names an organization. A valid command
enqueues (an ``idempotency_key`` makes redelivery harmless) and, when the message has ``reply_to``, the result is
published there with its ``correlation_id``. Every command that cannot run - no or a bad credential, invalid JSON,
invalid values, a target of another organization, or anything unexpected - is published, with its reason in the
``x-nfsync-error`` header and without its credential, to the dead-letter queue ``nfsync.commands.dead``
(confirmed), answered when it has ``reply_to`` with an error reply (same ``correlation_id``; the service's one error
body, ``{"error": {"code", "message", "details"}}``, as over HTTP) and then acked: it never stops the consumer. When
the database is down the command is requeued; the queue's delivery limit dead-letters it if that lasts.

These messages (and the events) are documented at ``/asyncapi.json`` (workers/api/asyncapi.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage, AbstractQueue
from pydantic import BaseModel, ValidationError

from nfsync.connectors.base.errors import NfsyncError
from nfsync.workers.api.auth import Principal
from nfsync.workers.api.framework import ErrorBody, ErrorInfo, classify_error, status_code
from nfsync.workers.api.tasks import SyncTaskCreate
from nfsync.workers.command_queues import COMMANDS_EXCHANGE, COMMANDS_QUEUE, CREATE_KEY, DEAD_EXCHANGE, DEAD_QUEUE
from nfsync.workers.config import Settings
from nfsync.workers.engine.models import EnqueueRequest, EnqueueResult
from nfsync.workers.engine.service import TaskService
from nfsync.workers.errors import DependencyUnavailable
from nfsync.workers.logs import get_logger

log = get_logger(__name__)
ERROR_HEADER = "x-nfsync-error"
AUTH_HEADER = "authorization"
REQUIRED_SCOPE = "tasks:write"
REPLY_TYPE = "sync-task.create.result"  # the AMQP ``type`` of a reply: the EnqueueResult
ERROR_TYPE = "error"  # the AMQP ``type`` of an error reply: the error body
Resolver = Callable[[str], Awaitable[Principal | None]]


class Unauthenticated(NfsyncError):
    """The command carries no valid credential (an API token with tasks:write in the authorization header)."""


class Forbidden(Unauthenticated):
    """The command's token may not enqueue (it lacks the tasks:write scope, or is an operator's)."""


async def declare_commands(channel: AbstractChannel, settings: Settings) -> tuple[AbstractExchange, AbstractQueue]:
    exchange = await channel.declare_exchange(COMMANDS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    dead_exchange = await channel.declare_exchange(DEAD_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    dead = await channel.declare_queue(DEAD_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    await dead.bind(dead_exchange)
    queue = await channel.declare_queue(
        COMMANDS_QUEUE,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": settings.queue_delivery_limit,
            "x-dead-letter-exchange": DEAD_EXCHANGE,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )
    await queue.bind(exchange, routing_key=CREATE_KEY)
    return dead_exchange, queue


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())[:1000]
    return str(exc)[:1000]


def error_reply(exc: Exception) -> ErrorBody:
    """The error reply to a command that cannot run, in the taxonomy of the HTTP API (workers/api/framework.py): the
    same codes, messages and detail paths (``body.<field>``) as ``POST /v1/sync-tasks`` would answer. It never
    carries the credential: pydantic's messages name no input, and the credential errors are fixed texts."""
    if isinstance(exc, Unauthenticated):
        return ErrorBody(
            error=ErrorInfo(code=status_code(403 if isinstance(exc, Forbidden) else 401), message=exc.message)
        )
    if isinstance(exc, ValidationError) and any(e["type"] == "json_invalid" for e in exc.errors()):
        return ErrorBody(error=ErrorInfo(code="validation_failed", message="the body is not valid JSON"))
    _, error, _ = classify_error(exc, "body")
    return ErrorBody(error=error)


class CommandConsumer:
    def __init__(
        self,
        settings: Settings,
        connection: aio_pika.abc.AbstractRobustConnection,
        service: TaskService,
        resolve: Resolver,
    ) -> None:
        self._settings = settings
        self._connection = connection
        self._service = service
        self._resolve = resolve
        self.handled = {"created": 0, "dead_lettered": 0}

    async def start(self) -> None:
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=20)
        self._dead, self._queue = await declare_commands(self._channel, self._settings)
        self._tag = await self._queue.consume(self._on_message)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self._queue.cancel(self._tag)
            await self._channel.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        """Every delivery is settled: acked after its effect, dead-lettered, or requeued when it cannot be either."""
        try:
            await self._handle(message)
        except Exception:
            log.exception("command.unsettled")
            with contextlib.suppress(Exception):
                await message.reject(requeue=True)  # the queue's delivery limit dead-letters a message that loops

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        try:
            result = await self._enqueue(message)
        except DependencyUnavailable as exc:
            log.warning("command.retry_later", error=str(exc))
            await message.reject(requeue=True)
            return
        except (ValidationError, NfsyncError, ValueError) as exc:
            await self._refuse(message, _reason(exc), exc)
            return
        except Exception as exc:  # an input nothing above foresaw: never a stalled consumer
            log.exception("command.crashed")
            await self._refuse(message, f"internal error ({type(exc).__name__})", exc)
            return
        await self._reply_and_ack(message, result)

    async def _enqueue(self, message: AbstractIncomingMessage) -> EnqueueResult:
        principal = await self._principal(message)
        body = SyncTaskCreate.model_validate_json(message.body)
        request = EnqueueRequest(organization_id=principal.organization_id, **body.model_dump())
        return await self._service.enqueue(request)

    async def _principal(self, message: AbstractIncomingMessage) -> Principal:
        value = (message.headers or {}).get(AUTH_HEADER)
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        scheme, _, token = text.partition(" ") if isinstance(text, str) else ("", "", "")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or not token.isascii() or len(token) > 200:
            raise Unauthenticated()
        principal = await self._resolve(token)
        if principal is None:
            raise Unauthenticated("the command's token is unknown, revoked, or expired")
        if principal.organization_id is None or not principal.allows(REQUIRED_SCOPE):
            raise Forbidden("the command's token lacks the tasks:write scope, or is an operator's (no organization)")
        return principal

    async def _reply_and_ack(self, message: AbstractIncomingMessage, result: EnqueueResult) -> None:
        self.handled["created"] += 1
        if message.reply_to:
            await self._reply(message, result, REPLY_TYPE)
        await message.ack()

    async def _reply(self, message: AbstractIncomingMessage, body: BaseModel, kind: str) -> None:
        """Publish ``body`` to the command's ``reply_to`` queue (through the default exchange), correlated."""
        assert message.reply_to
        reply = aio_pika.Message(
            body.model_dump_json().encode(),
            correlation_id=message.correlation_id,
            content_type="application/json",
            type=kind,
        )
        await self._channel.default_exchange.publish(
            reply, routing_key=message.reply_to, timeout=self._settings.publish_timeout
        )

    async def _refuse(self, message: AbstractIncomingMessage, reason: str, exc: Exception) -> None:
        """Dead-letter the command (confirmed), then answer its ``reply_to`` with the error, then ack. The dead letter
        is the record: an error reply that cannot be published is logged, and the command is not retried for it."""
        await self._dead_letter(message, reason)
        if message.reply_to:
            try:
                await self._reply(message, error_reply(exc), ERROR_TYPE)
            except Exception as failure:
                log.warning("command.error_reply_failed", error=str(failure) or type(failure).__name__)
        await message.ack()

    async def _dead_letter(self, message: AbstractIncomingMessage, reason: str) -> None:
        headers = {k: v for k, v in (message.headers or {}).items() if k.lower() != AUTH_HEADER}  # no credential kept
        headers[ERROR_HEADER] = reason
        copy = aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            correlation_id=message.correlation_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._dead.publish(copy, routing_key=COMMANDS_QUEUE, timeout=self._settings.publish_timeout)
        self.handled["dead_lettered"] += 1
        log.warning("command.dead_lettered", reason=reason[:300])
