"""The enqueue command over AMQP: JSON on exchange ``nfsync.commands``, routing key ``sync-task.create``.

The body is the Python ``EnqueueRequest`` (organization_id, integration_id, shop_id, task_type, direction, ...),
validated the same way as HTTP. A valid command enqueues (an ``idempotency_key`` makes redelivery harmless) and,
when the message has ``reply_to``, the result is published there with its ``correlation_id``. An invalid command is
published, with its reason in the ``x-nfsync-error`` header, to the dead-letter queue ``nfsync.commands.dead``
(confirmed) and then acked: it never stops the consumer. When the database is down the command is requeued; the
queue's delivery limit dead-letters it if that lasts.
"""

from __future__ import annotations

import contextlib

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage, AbstractQueue
from pydantic import ValidationError

from connectors.base.errors import DependencyUnavailable, NfsyncError
from workers.config import Settings
from workers.engine.models import EnqueueRequest
from workers.engine.service import TaskService
from workers.logs import get_logger

log = get_logger(__name__)
COMMANDS_EXCHANGE = "nfsync.commands"
CREATE_KEY = "sync-task.create"
COMMANDS_QUEUE = "nfsync.commands.sync-task.create"
DEAD_EXCHANGE = "nfsync.commands.dlx"
DEAD_QUEUE = "nfsync.commands.dead"
ERROR_HEADER = "x-nfsync-error"


async def declare_commands(channel: AbstractChannel, settings: Settings) -> tuple[AbstractExchange, AbstractQueue]:
    exchange = await channel.declare_exchange(COMMANDS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    dead_exchange = await channel.declare_exchange(DEAD_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    dead = await channel.declare_queue(DEAD_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    await dead.bind(dead_exchange)
    queue = await channel.declare_queue(COMMANDS_QUEUE, durable=True, arguments={
        "x-queue-type": "quorum", "x-delivery-limit": settings.queue_delivery_limit,
        "x-dead-letter-exchange": DEAD_EXCHANGE, "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    })  # fmt: skip
    await queue.bind(exchange, routing_key=CREATE_KEY)
    return dead_exchange, queue


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())[:1000]
    return str(exc)[:1000]


class CommandConsumer:
    def __init__(
        self, settings: Settings, connection: aio_pika.abc.AbstractRobustConnection, service: TaskService
    ) -> None:
        self._settings = settings
        self._connection = connection
        self._service = service
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
        try:
            request = EnqueueRequest.model_validate_json(message.body)
            result = await self._service.enqueue(request)
        except DependencyUnavailable as exc:
            log.warning("command.retry_later", error=str(exc))
            await message.reject(requeue=True)
            return
        except (ValidationError, NfsyncError, ValueError) as exc:
            await self._dead_letter(message, _reason(exc))
            return
        self.handled["created"] += 1
        if message.reply_to:
            reply = aio_pika.Message(result.model_dump_json().encode(), correlation_id=message.correlation_id,
                                     content_type="application/json")  # fmt: skip
            await self._channel.default_exchange.publish(reply, routing_key=message.reply_to,
                                                         timeout=self._settings.publish_timeout)  # fmt: skip
        await message.ack()

    async def _dead_letter(self, message: AbstractIncomingMessage, reason: str) -> None:
        headers = {**(message.headers or {}), ERROR_HEADER: reason}
        copy = aio_pika.Message(
            message.body, headers=headers, content_type=message.content_type, correlation_id=message.correlation_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )  # fmt: skip
        await self._dead.publish(copy, routing_key=COMMANDS_QUEUE, timeout=self._settings.publish_timeout)
        await message.ack()
        self.handled["dead_lettered"] += 1
        log.warning("command.dead_lettered", reason=reason[:300])
