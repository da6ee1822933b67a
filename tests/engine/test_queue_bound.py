"""The broker policies of deploy/rabbitmq/definitions.json on a real RabbitMQ (issue #13: queues get a length bound).

In a scratch virtual host: the policies import beside nfsync's own declarations (no argument conflict, so running
brokers take them without a redeclaration), every nfsync queue ends up bounded, and a full wake-up queue refuses a
publish (reject-publish: nothing is dropped) which the publisher reports as an unconfirmed wake-up, never an error.
Needs the management plugin (scripts/services.sh enables it); skipped without it."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
import pytest

from nfsync.workers.api.amqp_commands import COMMANDS_QUEUE, declare_commands
from nfsync.workers.api.amqp_commands import DEAD_QUEUE as COMMANDS_DEAD_QUEUE
from nfsync.workers.config import Settings
from nfsync.workers.engine.broker import DEAD_QUEUE, WakeupPublisher, connect_broker, queue_name
from nfsync.workers.engine.models import PLATFORMS

DEFINITIONS = Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq" / "definitions.json"
TIMEOUT = aiohttp.ClientTimeout(total=10)


class Management:
    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        amqp = urlsplit(settings.amqp_url)
        token = base64.b64encode(f"{amqp.username or 'guest'}:{amqp.password or 'guest'}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        self.base = settings.rabbitmq_management_url.rstrip("/") + "/api"
        self.session = session

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body)
        async with self.session.request(method, self.base + path, data=data, headers=self.headers) as response:
            assert response.status < 300, (method, path, response.status, await response.text())
            return await response.json() if response.status == 200 else None


@pytest.fixture
async def scratch(database: Settings) -> AsyncIterator[tuple[Settings, Management, str]]:
    vhost = f"nfsync-bound-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        management = Management(database, session)
        try:
            await management.call("GET", "/overview")
        except (aiohttp.ClientError, AssertionError, TimeoutError):
            pytest.skip("RabbitMQ management API not reachable (run scripts/services.sh)")
        user = urlsplit(database.amqp_url).username or "guest"
        await management.call("PUT", f"/vhosts/{vhost}")
        await management.call("PUT", f"/permissions/{vhost}/{user}", {"configure": ".*", "write": ".*", "read": ".*"})
        parts = urlsplit(database.amqp_url)
        amqp_url = urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))
        settings = database.model_copy(update={"amqp_url": amqp_url})
        try:
            yield settings, management, vhost
        finally:
            await management.call("DELETE", f"/vhosts/{vhost}")


def _policies(vhost: str, max_length: int | None = None) -> list[dict[str, Any]]:
    policies = copy.deepcopy(json.loads(DEFINITIONS.read_text())["policies"])
    for policy in policies:
        policy["vhost"] = vhost
        if max_length is not None:
            policy["definition"]["max-length"] = max_length
    return policies


async def _apply(management: Management, vhost: str, policies: list[dict[str, Any]]) -> None:
    for policy in policies:
        body = {key: policy[key] for key in ("pattern", "apply-to", "priority", "definition")}
        await management.call("PUT", f"/policies/{vhost}/{policy['name']}", body)


async def test_every_queue_nfsync_declares_is_bounded_by_the_deploy_policies(
    scratch: tuple[Settings, Management, str],
) -> None:
    settings, management, vhost = scratch
    connection = await connect_broker(settings, "test-bound", retry=False)
    try:
        publisher = WakeupPublisher(settings, connection)
        await publisher.start()  # declares the wake-up topology, as every process does
        await declare_commands(await connection.channel(), settings)
        await _apply(management, vhost, _policies(vhost))  # after the declarations: a running broker's upgrade
        names = [*(queue_name(p) for p in PLATFORMS), COMMANDS_QUEUE, DEAD_QUEUE, COMMANDS_DEAD_QUEUE]
        for name in names:
            queue = await _wait_for_policy(management, vhost, name)
            assert queue["effective_policy_definition"]["max-length"] > 0, name
            assert queue["effective_policy_definition"]["overflow"] == "reject-publish", name
        await publisher.start()  # and redeclaring with the code's arguments still works under the policies
        await publisher.close()
    finally:
        await connection.close()


async def _wait_for_policy(management: Management, vhost: str, name: str) -> dict[str, Any]:
    """The queue's management record once its effective policy shows (RabbitMQ applies policies asynchronously and
    refreshes statistics every few seconds)."""
    path = f"/queues/{vhost}/{quote(name, safe='')}"
    async with asyncio.timeout(30):
        while True:
            queue: dict[str, Any] = await management.call("GET", path)
            if queue.get("effective_policy_definition"):
                return queue
            await asyncio.sleep(0.2)


async def test_a_full_wakeup_queue_refuses_and_the_publisher_reports_it(
    scratch: tuple[Settings, Management, str],
) -> None:
    settings, management, vhost = scratch
    await _apply(management, vhost, _policies(vhost, max_length=2))
    connection = await connect_broker(settings, "test-bound", retry=False)
    try:
        publisher = WakeupPublisher(settings, connection)
        await publisher.start()
        await _wait_for_policy(management, vhost, queue_name("shopee"))
        # a quorum queue checks the bound before it appends, so it may end one message over it
        outcomes = [await publisher.wake("shopee", [uuid.uuid4()]) for _ in range(6)]
        confirmed = outcomes.count(True)
        assert 2 <= confirmed <= 3 and outcomes[confirmed:] == [False] * (6 - confirmed), outcomes
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name("shopee"), passive=True)
        assert queue.declaration_result.message_count == confirmed  # every confirmed one kept, none dropped
        await publisher.close()
    finally:
        await connection.close()
