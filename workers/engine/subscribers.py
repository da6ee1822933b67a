"""HTTP delivery of the events to the organizations' subscribers (issue #17).

Every event written to ``event_outbox`` writes, in the same transaction, a delivery per active subscription of its
organization that takes its type (a trigger). This loop POSTs them: the body is the CloudEvent (the same JSON as on
RabbitMQ), signed like Standard Webhooks (https://www.standardwebhooks.com/): ``webhook-id`` = the event id (the same
on every retry: deduplicate by it), ``webhook-timestamp`` = Unix seconds of the attempt, ``webhook-signature`` =
``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` under the subscription's secret (``whsec_`` + base64).

A 2xx answer delivers; anything else - another status, a timeout, a refused connection, a redirect - is retried with
capped exponential backoff (full jitter) until the delivery is ``subscriber_retry_window`` old, then it is ``failed``
(kept: replayable). A subscription whose delivery fails for good with no success within that window is disabled and
``subscription.disabled`` is written. Each subscription has at most ``_PER_SUBSCRIPTION`` requests in flight and each
request a timeout, and the loop never waits for a request before claiming others: a slow or dead subscriber delays
neither the other subscribers nor the syncs. Claims hold a delivery by moving its due time past the request timeout,
so any number of processes may run the loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import random
import secrets
import time
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
from yarl import URL

from nfsync.connectors.base.outbound import GuardedResolver, OutboundRefused, check_connect_target
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring, SecretField
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.events import CloudEvent
from nfsync.workers.logs import get_logger

log = get_logger(__name__)
SECRET_PREFIX = "whsec_"  # noqa: S105 - a format marker, not a password
SECRET_BYTES = 32
_PER_SUBSCRIPTION = 4
_CLAIM = 64
_IDLE_SECONDS = 0.5
_ERROR_WIDTH = 500


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (ValueError when it is not one)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a signing secret starts with {SECRET_PREFIX}")
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    if not 24 <= len(key) <= 64:
        raise ValueError("a signing secret holds 24 to 64 bytes, base64-encoded")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value (Standard Webhooks, version v1)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def secret_field(organization_id: object, subscription_id: object) -> SecretField:
    return SecretField("event_subscriptions", "secret", str(organization_id), str(subscription_id))


def event_body(row: asyncpg.Record) -> bytes:
    data = row["data"]
    event = CloudEvent(
        id=row["event_id"],
        source=f"/organizations/{row['organization_id']}",
        type=row["type"],
        subject=row["subject"],
        time=row["event_time"],
        data=json.loads(data) if isinstance(data, str) else data,  # a pool with or without the jsonb codec
    )
    return event.model_dump_json().encode()


class SubscriberDelivery:
    def __init__(self, settings: Settings, pool: asyncpg.Pool, keyring: Keyring | None) -> None:
        self._settings = settings
        self._pool = pool
        self._keyring = keyring
        self._stopping = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self.delivered = 0
        self.failed_attempts = 0

    @classmethod
    def from_settings(cls, settings: Settings, pool: asyncpg.Pool) -> SubscriberDelivery:
        return cls(settings, pool, Keyring.from_secret(settings.secret_keys) if settings.secret_keys else None)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SubscriberDelivery]:
        job = asyncio.create_task(self.run())
        try:
            yield self
        finally:
            self._stopping.set()
            await job

    async def run(self) -> None:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._settings.outbound_policy), limit=256)
        async with aiohttp.ClientSession(connector=connector) as session:
            self._session = session
            while not self._stopping.is_set():
                claimed = await self._claim_and_send()
                if not claimed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), _IDLE_SECONDS)
            for task in list(self._in_flight):
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _claim_and_send(self) -> int:
        room = self._settings.subscriber_concurrency - len(self._in_flight)
        if room <= 0:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
            return 1
        try:
            rows = await self._pool.fetch(
                QUERIES["deliveries_claim"],
                min(room, _CLAIM),
                _PER_SUBSCRIPTION,
                self._settings.subscriber_timeout + 5.0,
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.warning("subscribers.claim_failed", error=str(exc) or type(exc).__name__)
            return 0
        for row in rows:
            task = asyncio.create_task(self._deliver(row))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(rows)

    async def _deliver(self, row: asyncpg.Record) -> None:
        status, error = await self._post(row)
        try:
            if status is not None and 200 <= status < 300:
                await self._pool.execute(QUERIES["delivery_succeeded"], row["id"], status)
                self.delivered += 1
            else:
                self.failed_attempts += 1
                await self._failed(row, status, error)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:  # due again after the hold
            log.warning("subscribers.record_failed", delivery=row["id"], error=str(exc) or type(exc).__name__)

    async def _post(self, row: asyncpg.Record) -> tuple[int | None, str | None]:
        assert self._session is not None
        try:
            body = event_body(row)
            headers = self._headers(row, body)
            check_connect_target(URL(row["url"]).host or "", self._settings.outbound_policy)
            timeout = aiohttp.ClientTimeout(total=self._settings.subscriber_timeout)
            async with self._session.post(
                row["url"], data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                await response.content.read(4096)
                error = None if response.status < 300 else f"HTTP {response.status}"
                return response.status, error
        except (aiohttp.ClientError, OSError, TimeoutError, OutboundRefused, ValueError) as exc:
            return None, (str(exc) or type(exc).__name__)[:_ERROR_WIDTH]

    def _headers(self, row: asyncpg.Record, body: bytes) -> dict[str, str]:
        if self._keyring is None:
            raise ValueError("NFSYNC_SECRET_KEYS is not set: the signing secret cannot be read")
        secret = self._keyring.decrypt(row["secret"], secret_field(row["organization_id"], row["subscription_id"]))
        timestamp = int(time.time())
        message_id = str(row["event_id"])
        return {
            "content-type": "application/cloudevents+json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret.reveal(), message_id, timestamp, body),
            "user-agent": "nfsync-webhooks/1",
        }

    def _backoff(self, attempts: int) -> float:
        cap = min(self._settings.subscriber_backoff_max, self._settings.subscriber_backoff_base * 2 ** (attempts - 1))
        return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not a secret

    async def _failed(self, row: asyncpg.Record, status: int | None, error: str | None) -> None:
        window = self._settings.subscriber_retry_window
        outcome = await self._pool.fetchrow(
            QUERIES["delivery_failed"], row["id"], status, error, self._backoff(row["attempts"]), window
        )
        log.info("subscribers.attempt_failed", delivery=row["id"], status=status, error=error)
        if outcome is not None and outcome["status"] == "failed":
            reason = f"deliveries failed for {int(window)} s with no success (last: {error})"
            disabled = await self._pool.fetch(
                QUERIES["subscription_disable_failing"], row["subscription_id"], window, reason
            )
            if disabled:
                log.warning("subscribers.disabled", subscription_id=str(row["subscription_id"]), reason=reason)
