"""The scheduler's upkeep (issue #17): an idle account's token is refreshed ahead of expiry by the scheduler with no
task asking; a refused refresh marks the account and announces it once; lapsing authorizations are announced 7 days
and 1 day ahead, once each; a shop that stopped syncing is announced once per spell."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema_rs
import pytest

from nfsync.connectors.base.models import TokenPair
from nfsync.connectors.base.secret import Secret
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.engine.events import cloud_event, event_schema
from nfsync.workers.engine.scheduler import Scheduler
from nfsync.workers.tokens import store_pair
from nfsync.workers.upkeep import upkeep_for
from tests.engine.conftest import wait_until
from tests.sync.conftest import SyncEnv, sync_env


async def _events(env: SyncEnv, event_type: str) -> list[dict[str, Any]]:
    rows = await env.pool.fetch("SELECT * FROM event_outbox WHERE type = $1 ORDER BY seq", event_type)
    validator = jsonschema_rs.validator_for(event_schema(event_type))  # type: ignore[arg-type]
    for row in rows:  # each as published, against its documented schema
        validator.validate(cloud_event(row).model_dump(mode="json"))
    return [{"shop_id": r["shop_id"], **_json(r["data"])} for r in rows]


def _json(data: Any) -> dict[str, Any]:
    return dict(json.loads(data) if isinstance(data, str) else data)


async def _account(env: SyncEnv) -> Any:
    return await env.pool.fetchrow("SELECT * FROM marketplace_accounts WHERE id = $1", env.shop.account_id)


@pytest.mark.parametrize("platform", ["shopee", "lazada", "tiktok"])
async def test_the_scheduler_refreshes_an_idle_accounts_token_ahead_of_expiry(
    sync_settings: Settings, platform: str
) -> None:
    settings = sync_settings.model_copy(
        update={"upkeep_interval": 0.2, "token_refresh_lead": 3600.0, "lost_push_interval": 0.0}
    )
    async with sync_env(settings, platform, variants=2) as env:
        before = await _account(env)
        await env.pool.execute(
            "UPDATE marketplace_accounts SET token_expires_at = now() + interval '50 minutes' WHERE id = $1",
            env.shop.account_id,
        )

        async def refreshed() -> bool:
            return (await _account(env))["token_version"] > before["token_version"]

        async with (
            upkeep_for(settings, env.pool) as upkeep,
            Scheduler(settings, env.pool, env.rt.service, upkeep=upkeep).running(),
        ):
            await wait_until(refreshed, 20, "the idle account's token refreshed by the scheduler")
        after = await _account(env)
        assert after["token_expires_at"] > datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
        assert after["access_token"] != before["access_token"] and after["status"] == "active"
        assert env.sandbox.counters.refreshes >= 1
        assert await env.pool.fetchval("SELECT count(*) FROM sync_tasks") == 0, "no task was needed"
        info = await env.run("inventory_sync")  # the refreshed token works
        assert info["status"] == "completed", info["error_message"]


async def test_a_refused_refresh_needs_reauthorization_announced_once(sync_settings: Settings) -> None:
    async with sync_env(sync_settings, "shopee", variants=2) as env:
        keyring = Keyring.from_secret(sync_settings.secret_keys)
        async with env.pool.acquire() as conn:
            pair = TokenPair(
                access_token=Secret("acc-unknown"),
                refresh_token=Secret("ref-the-platform-never-issued"),
                access_expires_at=datetime.now(UTC) + timedelta(minutes=10),
            )
            await store_pair(conn, keyring, env.shop.account_id, str(env.org), pair)
        async with upkeep_for(sync_settings, env.pool) as upkeep:
            first = await upkeep.run()
            second = await upkeep.run()
        assert (first.refusals, second.refusals) == (1, 0)
        account = await _account(env)
        assert account["status"] == "error" and "re-authorization" in account["error_message"]
        events = await _events(env, "shop.reauthorization_needed")
        assert [str(e["shop_id"]) for e in events] == [str(env.shop.shop_id)], "once per shop, not once per attempt"
        assert "error_shop_refresh_token" in events[0]["reason"]


async def test_lapsing_authorization_is_announced_7_days_and_1_day_ahead(sync_settings: Settings) -> None:
    async with sync_env(sync_settings, "lazada", variants=2) as env:
        account = env.shop.account_id
        lapse = (
            "UPDATE marketplace_accounts SET refresh_token_expires_at = now() + $2::int * interval '1 hour'"
            " WHERE id = $1"
        )
        async with upkeep_for(sync_settings, env.pool) as upkeep:
            await env.pool.execute(lapse, account, 24 * 6 + 12)
            assert (await upkeep.run()).expiring_events == 1
            assert (await upkeep.run()).expiring_events == 0, "the 7-day warning is given once"
            await env.pool.execute(lapse, account, 20)
            assert (await upkeep.run()).expiring_events == 1
            assert (await upkeep.run()).expiring_events == 0, "the 1-day warning is given once"
        events = await _events(env, "shop.authorization_expiring")
        assert [e["days_left"] for e in events] == [6, 0]
        assert events[0]["reauthorize"] == f"/v1/integrations/{env.shop.integration_id}/authorize-url"
        assert events[1]["expires_at"].endswith("+00:00")
        # the merchant approves again: new tokens with a new lapse reset the warnings
        keyring = Keyring.from_secret(sync_settings.secret_keys)
        async with env.pool.acquire() as conn:
            pair = TokenPair(
                access_token=Secret("acc-new"),
                refresh_token=Secret("ref-new"),
                access_expires_at=datetime.now(UTC) + timedelta(days=7),
                refresh_expires_at=datetime.now(UTC) + timedelta(days=180),
            )
            await store_pair(conn, keyring, account, str(env.org), pair)
        assert (await _account(env))["expiry_warned_days"] is None


async def test_a_shop_that_stopped_syncing_is_announced_once_per_spell(sync_settings: Settings) -> None:
    async with sync_env(sync_settings, "woocommerce", variants=2) as env:
        await env.pool.execute(
            "UPDATE marketplace_integrations SET sync_interval = 5 WHERE id = $1", env.shop.integration_id
        )
        stale = "UPDATE marketplace_shops SET last_sync_at = now() - $2::int * interval '1 minute' WHERE id = $1"
        async with upkeep_for(sync_settings, env.pool) as upkeep:
            await env.pool.execute(stale, env.shop.shop_id, 10)
            assert (await upkeep.run()).stale_events == 0, "two intervals late is not stale"
            await env.pool.execute(stale, env.shop.shop_id, 16)
            assert (await upkeep.run()).stale_events == 1
            assert (await upkeep.run()).stale_events == 0
            await env.pool.execute(QUERIES["sync_shop_state"], env.shop.shop_id, "synced", None)  # a success
            await env.pool.execute(stale, env.shop.shop_id, 16)
            assert (await upkeep.run()).stale_events == 1, "a new spell is announced again"
        events = await _events(env, "shop.stale")
        assert events[0]["sync_interval_minutes"] == 5 and events[0]["last_success_at"] is not None
