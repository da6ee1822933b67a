"""Tenancy below the API: organization B cannot point its shops at organization A's sale channels, and the sync
handlers refuse a channel that is not the shop's organization's even when a row says otherwise (issue #13).

Each test here failed on the code before the fix: the shop write answered 200 and the handlers read A's catalog.
"""

from __future__ import annotations

import asyncpg
import pytest

from nfsync.connectors.base.errors import NotFound, PermanentError, ValidationFailed
from nfsync.workers import crm
from nfsync.workers.engine.service import init_connection
from nfsync.workers.lab.demo_data import seed_catalog
from tests.api.conftest import LiveApi


async def _catalog_of(live_api: LiveApi, org: object) -> str:
    conn = await asyncpg.connect(live_api.settings.database_url)
    await init_connection(conn)
    try:
        return (await seed_catalog(conn, organization_id=org, variants=2, name="Tenant catalog")).sale_channel_id
    finally:
        await conn.close()


async def _account_of(live_api: LiveApi, shop: object) -> str:
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        return str(await conn.fetchval("SELECT account_id FROM marketplace_shops WHERE id = $1", shop))
    finally:
        await conn.close()


async def test_a_shop_cannot_name_another_organizations_sale_channel(live_api: LiveApi) -> None:
    channel_a = await _catalog_of(live_api, live_api.a.org)
    shop_b = live_api.b.shops[0]
    status, body = await live_api.call(
        "PATCH", f"/v1/shops/{shop_b}", live_api.b.token, json={"sale_channel_id": channel_a}
    )
    assert status == 404, body
    _, missing = await live_api.call(
        "PATCH", f"/v1/shops/{shop_b}", live_api.b.token, json={"sale_channel_id": "no-such-channel"}
    )
    assert body["error"]["message"].replace(channel_a, "X") == missing["error"]["message"].replace(
        "no-such-channel", "X"
    ), "a foreign channel and a missing one get the same answer (no existence oracle)"
    account_b = await _account_of(live_api, shop_b)
    status, created = await live_api.call(
        "POST",
        f"/v1/accounts/{account_b}/shops",
        live_api.b.token,
        json={"shop_id": "990001", "shop_name": "Grab", "sale_channel_id": channel_a},
    )
    assert status == 404, created
    _, shop = await live_api.call("GET", f"/v1/shops/{shop_b}", live_api.b.token)
    assert shop["sale_channel_id"] is None, "nothing was written"


async def test_a_shop_may_name_its_own_organizations_channel(live_api: LiveApi) -> None:
    channel_a = await _catalog_of(live_api, live_api.a.org)
    shop_a = live_api.a.shops[0]
    status, body = await live_api.call(
        "PATCH", f"/v1/shops/{shop_a}", live_api.a.token, json={"sale_channel_id": channel_a}
    )
    assert status == 200 and body["sale_channel_id"] == channel_a
    status, body = await live_api.call("PATCH", f"/v1/shops/{shop_a}", live_api.a.token, json={"shop_name": "Kept"})
    assert status == 200, "an unchanged channel is not checked again"


async def test_the_database_refuses_a_foreign_channel_for_any_writer(live_api: LiveApi) -> None:
    """Below the API: even the owner role writing SQL cannot attach B's shop to A's channel."""
    channel_a = await _catalog_of(live_api, live_api.a.org)
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        with pytest.raises(asyncpg.ForeignKeyViolationError, match="not a channel of this organization"):
            await conn.execute(
                "UPDATE marketplace_shops SET sale_channel_id = $2 WHERE id = $1", live_api.b.shops[0], channel_a
            )
    finally:
        await conn.close()


async def test_handlers_read_the_crm_only_through_the_shops_organization(live_api: LiveApi) -> None:
    """The handlers' own boundary, crm.channel_merchant, which every handler calls before it reads or writes the CRM
    through a shop's channel: it holds for rows written before the shop check existed."""
    channel_a = await _catalog_of(live_api, live_api.a.org)
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:
        merchant, _ = await crm.channel_merchant(conn, channel_a, live_api.a.org)
        with pytest.raises(PermanentError, match="not a live channel of this organization's merchants"):
            await crm.channel_merchant(conn, channel_a, live_api.b.org)
        with pytest.raises(ValidationFailed, match="belongs to another organization"):
            await crm.link_merchant(conn, live_api.b.org, merchant)
        with pytest.raises(ValidationFailed, match="shop"):
            await conn.execute(
                "UPDATE marketplace_shops SET sale_channel_id = $2 WHERE id = $1", live_api.a.shops[0], channel_a
            )
            await crm.unlink_merchant(conn, merchant)
        with pytest.raises(NotFound):
            await crm.link_merchant(conn, live_api.b.org, "no-such-merchant")
    finally:
        await conn.close()
