"""Customers from order imports (issue #18): one customer per buyer under concurrent imports, masked values kept
flagged and never over a real one, personal data encrypted at rest (and rotated), erasure and retention."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from nfsync.connectors.base.models import Buyer, Order, OrderLine
from nfsync.workers import crm_customers
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring, SecretField, generate_key_entry
from nfsync.workers.keys import rotate_keys
from nfsync.workers.sync.item_log import ItemLog
from nfsync.workers.sync.orders import OrderStore
from tests.sync.conftest import SyncEnv, sync_env

NAME, EMAIL, PHONE = "Nguyễn Văn An", "An.Nguyen@Example.vn", "+84901234567"


@pytest.fixture(params=["shopee", "woocommerce"])
async def cenv(request: pytest.FixtureRequest, sync_settings: Settings) -> AsyncIterator[SyncEnv]:
    async with sync_env(sync_settings, request.param, variants=4) as made:
        yield made


async def _store(env: SyncEnv) -> OrderStore:
    session = await env.session("order_sync", "marketplace_to_crm")
    return OrderStore(session, ItemLog(session.ctx, env.pool, env.shop.shop_id), env.catalog.merchant_id)


def _order(env: SyncEnv, number: int, buyer: Buyer, *, minutes: int = 0) -> Order:
    sku = env.catalog.skus[env.catalog.variant_ids[0]]
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)
    raw = {"name": buyer.name, "email": buyer.email, "phone": buyer.phone}
    return Order(
        platform_order_id=f"C-{number}",
        status="x",
        created_at=now,
        updated_at=now,
        currency="VND",
        total=Decimal(100000),
        buyer={k: v for k, v in raw.items() if v},
        lines=[OrderLine(platform_line_id="1", sku=sku, quantity=1, unit_price=Decimal(100000))],
        customer=buyer,
    )


def _buyer(env: SyncEnv, number: int = 0, **fields: str) -> Buyer:
    """Shopee: a buyer id; WooCommerce: a guest (customer_id 0) with the e-mail spelled differently each time."""
    values = {"name": NAME, "phone": PHONE, **fields}
    if env.shop.platform == "woocommerce":
        email = EMAIL.upper() if number % 2 else f"  {EMAIL.lower()} "
        buyer = Buyer.seen(None, email=email, **values)
    else:
        buyer = Buyer.seen("9193214", email=EMAIL, **values)
    assert buyer is not None
    return buyer


async def test_twenty_concurrent_imports_of_one_buyer_make_one_customer(cenv: SyncEnv) -> None:
    store = await _store(cenv)
    await asyncio.gather(*(store.save(_order(cenv, n, _buyer(cenv, n))) for n in range(20)))
    customers = await cenv.pool.fetch('SELECT id FROM "Customer" WHERE "deletedAt" IS NULL')
    assert len(customers) == 1
    linked = await cenv.pool.fetch(
        'SELECT DISTINCT "customerId" FROM "SalesOrder" WHERE "externalOrderId" LIKE $1', "C-%"
    )
    assert [r["customerId"] for r in linked] == [customers[0]["id"]]
    count = await cenv.pool.fetchval('SELECT count(*) FROM "SalesOrder" WHERE "customerId" = $1', customers[0]["id"])
    assert count == 20


def _keyring(env: SyncEnv) -> Keyring:
    return Keyring.from_secret(env.settings.secret_keys)


async def _plain(env: SyncEnv, customer_id: str, column: str) -> str | None:
    row = await env.pool.fetchrow(
        'SELECT "merchantId", ' + f'"{column}"' + ' FROM "Customer" WHERE id = $1', customer_id
    )
    assert row is not None
    if row[column] is None:
        return None
    where = SecretField("Customer", column, row["merchantId"], customer_id)
    return _keyring(env).decrypt(row[column], where).reveal()


async def test_personal_data_is_encrypted_at_rest(cenv: SyncEnv) -> None:
    store = await _store(cenv)
    await store.save(_order(cenv, 1, _buyer(cenv)))
    raw = await cenv.pool.fetchval('SELECT to_jsonb(c)::text FROM "Customer" c')
    orders = await cenv.pool.fetchval('SELECT buyer::text FROM "SalesOrder" WHERE "externalOrderId" = $1', "C-1")
    for plaintext in (NAME, "Nguy", EMAIL, EMAIL.lower(), PHONE, "901234567"):
        assert plaintext not in raw
        assert plaintext not in orders
    assert json.loads(orders) and all(v.startswith("enc:v1:k1:") for v in json.loads(orders).values())
    customer = await cenv.pool.fetchval('SELECT id FROM "Customer"')
    assert await _plain(cenv, customer, "name") == NAME
    assert await _plain(cenv, customer, "phone") == PHONE


async def test_masked_values_are_flagged_and_never_replace_real_ones(cenv: SyncEnv) -> None:
    store = await _store(cenv)
    await store.save(_order(cenv, 1, _buyer(cenv, 1, name="P******n")))  # first seen masked
    customer = await cenv.pool.fetchval('SELECT id FROM "Customer"')
    row = await cenv.pool.fetchrow('SELECT "maskedFields" FROM "Customer" WHERE id = $1', customer)
    assert row["maskedFields"] == ["name"]
    assert await _plain(cenv, customer, "name") == "P******n"  # kept as masked, flagged
    await store.save(_order(cenv, 2, _buyer(cenv, 2), minutes=1))  # the real name arrives
    assert await _plain(cenv, customer, "name") == NAME
    assert await cenv.pool.fetchval('SELECT "maskedFields" FROM "Customer" WHERE id = $1', customer) == []
    await store.save(_order(cenv, 3, _buyer(cenv, 3, name="N***", phone="******67"), minutes=2))  # newer, masked
    assert await _plain(cenv, customer, "name") == NAME
    assert await _plain(cenv, customer, "phone") == PHONE
    assert await cenv.pool.fetchval('SELECT "maskedFields" FROM "Customer" WHERE id = $1', customer) == []


async def test_keys_rotate_re_encrypts_customers_and_order_buyers(cenv: SyncEnv) -> None:
    store = await _store(cenv)
    await store.save(_order(cenv, 1, _buyer(cenv)))
    await cenv.pool.execute(  # an order imported before schema 17: plaintext buyer
        'UPDATE "SalesOrder" SET buyer = $1 WHERE "externalOrderId" = $2', {"email": EMAIL}, "C-1"
    )
    new = generate_key_entry("k2")
    ring = Keyring.parse(f"{new},{cenv.settings.secret_keys.reveal()}")
    conn = await asyncpg.connect(cenv.settings.database_url)
    try:
        report = await rotate_keys(conn, ring)
    finally:
        await conn.close()
    assert report.errors == []
    assert set(report.after) == {"k2"}, report.after
    raw = await cenv.pool.fetchval('SELECT to_jsonb(c)::text FROM "Customer" c')
    assert "enc:v1:k1:" not in raw and EMAIL not in raw
    buyer = await cenv.pool.fetchval('SELECT buyer FROM "SalesOrder" WHERE "externalOrderId" = $1', "C-1")
    assert EMAIL not in json.dumps(buyer) and all(v.startswith("enc:v1:k2:") for v in buyer.values())
    if cenv.shop.platform == "woocommerce":  # the guest is keyed under the new key, and still found by its e-mail
        key = await cenv.pool.fetchval('SELECT "platformBuyerId" FROM "Customer"')
        assert key.startswith("email:k2:")


async def test_erasure_anonymises_the_customer_and_its_orders_and_records_it(cenv: SyncEnv) -> None:
    store = await _store(cenv)
    for n in range(3):
        await store.save(_order(cenv, n, _buyer(cenv, n)))
    customer = await cenv.pool.fetchval('SELECT id FROM "Customer"')
    async with cenv.pool.acquire() as conn:
        erasure = await crm_customers.erase(conn, customer, organization_id=None, requested_by="cli", reason="cli")
        assert erasure is not None and erasure.orders == 3
        assert await crm_customers.erase(conn, customer, organization_id=None, requested_by="cli", reason="cli") is None
    row = await cenv.pool.fetchrow('SELECT * FROM "Customer" WHERE id = $1', customer)
    assert row["status"] == "ERASED" and row["deletedAt"] is not None
    assert (row["name"], row["email"], row["phone"], row["address"]) == (None, None, None, None)
    buyers = await cenv.pool.fetch('SELECT buyer FROM "SalesOrder" WHERE "customerId" = $1', customer)
    assert [b["buyer"] for b in buyers] == [{"erased": True}] * 3
    record = await cenv.pool.fetchrow("SELECT * FROM customer_erasures WHERE customer_id = $1", customer)
    assert (record["orders"], record["reason"], record["organization_id"]) == (3, "cli", cenv.org)


async def test_an_erased_order_seen_again_stays_erased(cenv: SyncEnv) -> None:
    """The next poll (or a status change) of an order whose buyer was erased brings no personal data back."""
    store = await _store(cenv)
    await store.save(_order(cenv, 1, _buyer(cenv)))
    customer = await cenv.pool.fetchval('SELECT id FROM "Customer"')
    async with cenv.pool.acquire() as conn:
        assert await crm_customers.erase(conn, customer, organization_id=None, requested_by="cli", reason="cli")
    await store.save(_order(cenv, 1, _buyer(cenv), minutes=5))  # the same order, updated on the platform
    row = await cenv.pool.fetchrow('SELECT buyer, "customerId" FROM "SalesOrder" WHERE "externalOrderId" = $1', "C-1")
    assert row["buyer"] == {"erased": True} and row["customerId"] == customer
    assert await cenv.pool.fetchval('SELECT count(*) FROM "Customer" WHERE "deletedAt" IS NULL') == 0
    await store.save(_order(cenv, 2, _buyer(cenv, 2), minutes=6))  # a new order of the same buyer: a new customer
    assert await cenv.pool.fetchval('SELECT count(*) FROM "Customer" WHERE "deletedAt" IS NULL') == 1


def _cli(env: SyncEnv, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    clean.update({"NFSYNC_DATABASE_URL": env.settings.database_url, "NFSYNC_LOG_LEVEL": "error"})
    command = [sys.executable, "-m", "nfsync.workers", *args]
    return subprocess.run(command, capture_output=True, text=True, env=clean, timeout=60, check=False)


async def test_the_erase_command_refuses_another_organization_then_erases(cenv: SyncEnv) -> None:
    store = await _store(cenv)
    await store.save(_order(cenv, 1, _buyer(cenv)))
    customer = await cenv.pool.fetchval('SELECT id FROM "Customer"')
    other = str(uuid.uuid4())
    refused = await asyncio.to_thread(_cli, cenv, "customers", "erase", customer, "--org", other)
    assert refused.returncode != 0 and f"no live customer {customer} in organization {other}" in refused.stderr
    assert await cenv.pool.fetchval('SELECT status FROM "Customer" WHERE id = $1', customer) != "ERASED"
    done = await asyncio.to_thread(_cli, cenv, "customers", "erase", customer, "--org", str(cenv.org))
    assert done.returncode == 0, done.stderr
    assert f"customer {customer}: erased with 1 order(s)" in done.stdout
    assert NAME not in done.stdout + done.stderr and EMAIL not in done.stdout + done.stderr
    record = await cenv.pool.fetchrow("SELECT * FROM customer_erasures WHERE customer_id = $1", customer)
    assert (record["requested_by"], record["orders"]) == ("cli", 1)
    again = await asyncio.to_thread(_cli, cenv, "customers", "erase", customer)
    assert again.returncode != 0 and "no live customer" in again.stderr


async def test_retention_erases_buyers_without_a_recent_order(cenv: SyncEnv) -> None:
    store = await _store(cenv)
    await store.save(_order(cenv, 1, _buyer(cenv)))
    other = Buyer.seen("555", email="other@example.vn") if cenv.shop.platform == "shopee" else None
    other = other or Buyer.seen(None, email="other@example.vn")
    assert other is not None
    await store.save(_order(cenv, 2, other))
    old = await cenv.pool.fetchval('SELECT "customerId" FROM "SalesOrder" WHERE "externalOrderId" = $1', "C-1")
    await cenv.pool.execute('UPDATE "Customer" SET "lastOrderAt" = now() - interval \'40 days\' WHERE id = $1', old)
    async with cenv.pool.acquire() as conn:
        assert await crm_customers.erase_past_retention(conn, 30, 100) == 1
    live = await cenv.pool.fetch('SELECT id FROM "Customer" WHERE "deletedAt" IS NULL')
    assert old not in {r["id"] for r in live} and len(live) == 1
    assert await cenv.pool.fetchval("SELECT reason FROM customer_erasures WHERE customer_id = $1", old) == "retention"


async def test_upkeep_applies_the_retention_setting(cenv: SyncEnv) -> None:
    from nfsync.workers.upkeep import upkeep_for

    store = await _store(cenv)
    await store.save(_order(cenv, 1, _buyer(cenv)))
    await cenv.pool.execute('UPDATE "Customer" SET "lastOrderAt" = now() - interval \'10 days\'')
    async with upkeep_for(cenv.settings, cenv.pool) as upkeep:
        assert (await upkeep.run()).customers_erased == 0  # retention off by default
    settings = cenv.settings.model_copy(update={"customer_retention_days": 7})
    async with upkeep_for(settings, cenv.pool) as upkeep:
        assert (await upkeep.run()).customers_erased == 1
    assert await cenv.pool.fetchval('SELECT count(*) FROM "Customer" WHERE "deletedAt" IS NULL') == 0


@pytest.fixture
async def woo(sync_settings: Settings) -> AsyncIterator[SyncEnv]:
    async with sync_env(sync_settings, "woocommerce", variants=2) as made:
        yield made


async def test_customer_sync_pages_the_woocommerce_customers_api(woo: SyncEnv) -> None:
    sandbox = woo.sandbox
    for n in range(105):  # two pages of 100
        sandbox.add_customer(woo.shop.sb_shop, f"buyer{n}@example.vn", "Buyer", f"N{n}", phone="+8490000{n:04d}")  # type: ignore[attr-defined]
    task = await woo.run("customer_sync", "marketplace_to_crm")
    assert task["status"] == "completed", task["error_message"]
    assert task["result"]["customers"] == 105
    assert await woo.pool.fetchval('SELECT count(*) FROM "Customer" WHERE "deletedAt" IS NULL') == 105
    again = await woo.run("customer_sync", "marketplace_to_crm")  # nothing duplicated
    assert again["status"] == "completed"
    assert await woo.pool.fetchval('SELECT count(*) FROM "Customer"') == 105
    raw = await woo.pool.fetchval("SELECT string_agg(to_jsonb(c)::text, '') FROM \"Customer\" c")
    assert "buyer1@example.vn" not in raw and "+8490000" not in raw


async def test_the_sandbox_refuses_bad_customer_paging_as_woocommerce_does(woo: SyncEnv) -> None:
    from nfsync.connectors.base.errors import TaskError
    from nfsync.connectors.woocommerce.client import API
    from nfsync.connectors.woocommerce.sandbox.customers import list_customers
    from nfsync.connectors.woocommerce.sandbox.payloads import WcFailure

    for params in ({"per_page": "0"}, {"per_page": "101"}, {"page": "0"}, {"offset": "-1"}, {"orderby": "date"}):
        with pytest.raises(WcFailure) as refused:
            list_customers([], params)
        assert refused.value.status == 400, params
    session = await woo.session("customer_sync", "marketplace_to_crm")  # over HTTP, signed: the same refusal
    with pytest.raises(TaskError) as refused_over_http:
        await session.client.call("GET", f"{API}/customers", params={"per_page": 101})
    assert "per_page" in str(refused_over_http.value)


async def test_customer_sync_re_derives_customers_from_stored_orders(cenv: SyncEnv) -> None:
    if cenv.shop.platform != "shopee":
        pytest.skip("WooCommerce reads its customers API")
    store = await _store(cenv)
    for n in range(3):
        await store.save(_order(cenv, n, _buyer(cenv, n)))
    await cenv.pool.execute('UPDATE "SalesOrder" SET "customerId" = NULL')
    await cenv.pool.execute('DELETE FROM "Customer"')
    task = await cenv.run("customer_sync", "marketplace_to_crm")
    assert task["status"] == "completed", task["error_message"]
    assert task["result"]["orders"] == 3
    customer = await cenv.pool.fetchval('SELECT id FROM "Customer"')
    assert await cenv.pool.fetchval('SELECT count(*) FROM "SalesOrder" WHERE "customerId" = $1', customer) == 3
    assert await _plain(cenv, customer, "name") == NAME
