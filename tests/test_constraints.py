"""Constraints bite: bad enum values, ranges, uniqueness, and the CRM's soft-delete partial unique indexes."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import make_integration, make_organization


async def test_unknown_platform_and_status_rejected(conn: asyncpg.Connection) -> None:
    org = await make_organization(conn)
    with pytest.raises(asyncpg.CheckViolationError, match="marketplace_integrations_platform_check"):
        await make_integration(conn, org, platform="amazon")
    integration = await make_integration(conn, org)
    with pytest.raises(asyncpg.CheckViolationError, match="marketplace_integrations_status_check"):
        await conn.execute("UPDATE marketplace_integrations SET status = 'broken' WHERE id = $1", integration)


async def _task(conn: asyncpg.Connection, **values: object) -> None:
    org = await make_organization(conn)
    integration = await make_integration(conn, org)
    row = {
        "organization_id": org,
        "integration_id": integration,
        "task_type": "product_sync",
        "direction": "crm_to_marketplace",
        **values,
    }
    columns = ", ".join(row)
    placeholders = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f"INSERT INTO sync_tasks ({columns}) VALUES ({placeholders})", *row.values())


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"priority": 11}, "sync_tasks_priority_check"),
        ({"priority": 0}, "sync_tasks_priority_check"),
        ({"progress": 101}, "sync_tasks_progress_check"),
        ({"status": "done"}, "sync_tasks_status_check"),
        ({"task_type": "refund_sync"}, "sync_tasks_task_type_check"),
        ({"direction": "sideways"}, "sync_tasks_direction_check"),
    ],
)
async def test_task_checks(conn: asyncpg.Connection, values: dict[str, object], constraint: str) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match=constraint):
        await _task(conn, **values)


async def test_valid_task_accepted_with_platform_filled(conn: asyncpg.Connection) -> None:
    await _task(conn, priority=10, progress=100)
    assert await conn.fetchval("SELECT platform FROM sync_tasks") == "shopee"


async def test_integration_name_unique_per_organization(conn: asyncpg.Connection) -> None:
    org, other = await make_organization(conn), await make_organization(conn, "Other")
    await make_integration(conn, org, name="Shopee VN")
    await make_integration(conn, other, name="Shopee VN")
    with pytest.raises(asyncpg.UniqueViolationError, match="marketplace_integrations_organization_name_idx"):
        await make_integration(conn, org, name="Shopee VN")


async def test_sync_status_check(conn: asyncpg.Connection) -> None:
    org = await make_organization(conn)
    integration = await make_integration(conn, org)
    account = await conn.fetchval(
        "INSERT INTO marketplace_accounts (organization_id, integration_id, name, platform, platform_account_id)"
        " VALUES ($1, $2, 'a', 'shopee', '1') RETURNING id",
        org,
        integration,
    )
    with pytest.raises(asyncpg.CheckViolationError, match="marketplace_shops_sync_status_check"):
        await conn.execute(
            "INSERT INTO marketplace_shops (organization_id, account_id, platform, shop_id, shop_name, sync_status)"
            " VALUES ($1, $2, 'shopee', '9', 's', 'lost')",
            org,
            account,
        )


async def _merchant(conn: asyncpg.Connection) -> str:
    return str(await conn.fetchval("""INSERT INTO "Merchant" (slug, name) VALUES ('m', '{"vi": "M"}') RETURNING id"""))


async def test_product_slug_unique_among_live_rows_only(conn: asyncpg.Connection) -> None:
    merchant = await _merchant(conn)
    insert = """INSERT INTO "Product" (slug, "merchantId") VALUES ('ao-thun', $1) RETURNING id"""
    first = await conn.fetchval(insert, merchant)
    with pytest.raises(asyncpg.UniqueViolationError, match="Product_merchantId_slug_key"):
        await conn.fetchval(insert, merchant)
    await conn.execute("""UPDATE "Product" SET "deletedAt" = now() WHERE id = $1""", first)
    second = await conn.fetchval(insert, merchant)
    assert second != first
    assert await conn.fetchval("""SELECT count(*) FROM "Product" WHERE slug = 'ao-thun'""") == 2


async def test_configuration_unique_with_null_principal(conn: asyncpg.Connection) -> None:
    insert = """INSERT INTO "Configuration" (code, "group") VALUES ('payment:momo:charge:apiKey', 'INTEGRATION')"""
    await conn.execute(insert)
    with pytest.raises(asyncpg.UniqueViolationError, match="Configuration_group_code_principal_environment_key"):
        await conn.execute(insert)


async def test_bundler_unique_per_type_lead_related(conn: asyncpg.Connection) -> None:
    merchant = await _merchant(conn)
    product = await conn.fetchval(
        """INSERT INTO "Product" (slug, "merchantId") VALUES ('p', $1) RETURNING id""", merchant
    )
    lead, related = [
        await conn.fetchval("""INSERT INTO "ProductVariant" ("productId") VALUES ($1) RETURNING id""", product)
        for _ in range(2)
    ]
    insert = """INSERT INTO "ProductBundler" ("leadVariantId", "relatedVariantId") VALUES ($1, $2)"""
    await conn.execute(insert, lead, related)
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute(insert, lead, related)
    assert await conn.fetchval("""SELECT type FROM "ProductBundler" """) == "000_COMBO"


async def test_crm_defaults_and_modified_at_trigger(conn: asyncpg.Connection) -> None:
    merchant = await conn.fetchrow(
        """INSERT INTO "Merchant" (slug, name) VALUES ('shop', '{"vi": "Shop"}') RETURNING *"""
    )
    assert (merchant["currency"], merchant["businessType"], merchant["industry"]) == (
        "VND",
        "HOUSEHOLD",
        "FNB",
    )
    assert merchant["status"] == "ACTIVATED" and merchant["isHeadquarter"] is False
    assert merchant["id"].isdigit(), "Snowflake-style text id"
    await conn.execute("""UPDATE "Merchant" SET "modifiedAt" = '2000-01-01' WHERE id = $1""", merchant["id"])
    modified = await conn.fetchval("""SELECT "modifiedAt" FROM "Merchant" WHERE id = $1""", merchant["id"])
    assert modified.year > 2000, "the trigger overrides a stale modifiedAt"


async def test_updated_at_trigger(conn: asyncpg.Connection) -> None:
    org = await make_organization(conn)
    integration = await make_integration(conn, org)
    await conn.execute("UPDATE marketplace_integrations SET updated_at = '2000-01-01' WHERE id = $1", integration)
    updated = await conn.fetchval("SELECT updated_at FROM marketplace_integrations WHERE id = $1", integration)
    assert updated.year > 2000, "the trigger overrides a stale updated_at"


@pytest.mark.parametrize(
    "table",
    [
        '"Product"',
        '"ProductVariant"',
        '"ProductInfo"',
        '"ProductIdentifier"',
        '"ProductOption"',
        '"ProductOptionValue"',
        '"ProductVariantOption"',
        '"ProductBundler"',
        '"Merchant"',
        '"Organizer"',
        '"SaleChannel"',
        '"SaleChannelProduct"',
        '"Category"',
        '"Configuration"',
        '"Device"',
        '"DiscriminationType"',
        '"ReceiptTemplate"',
        '"Setting"',
        'allocation."AllocationLayout"',
        'allocation."AllocationZone"',
        'allocation."AllocationUnit"',
    ],
)
async def test_crm_tables_have_common_columns(conn: asyncpg.Connection, table: str) -> None:
    columns = {
        row["attname"]: row["type"]
        for row in await conn.fetch(
            "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
            " WHERE attrelid = $1::regclass AND attnum > 0",
            table,
        )
    }
    expected = {
        "id": "text",
        "identifier": "text",
        "createdAt": "timestamp with time zone",
        "modifiedAt": "timestamp with time zone",
        "createdBy": "text",
        "modifiedBy": "text",
        "deletedAt": "timestamp with time zone",
        "metadata": "jsonb",
    }
    assert {k: columns.get(k) for k in expected} == expected
    trigger = await conn.fetchval(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname LIKE '%touch_modified_at'",
        table,
    )
    assert trigger == 1
