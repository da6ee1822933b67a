"""TikTok Shop multi-warehouse stock (issue #14).

Update Inventory must list every warehouse assigned to a SKU, none omitted and none added (lazykern/ecommerce-api-docs
@eba059e ``data/raw/tiktok/api-reference/products/update-inventory.spec.json``: codes 12019028, 12052533, 12052097);
Get Product and Search Products list a SKU's stock per warehouse; Get Warehouse List lists the shop's warehouses.
The sandbox refuses what TikTok refuses; the client writes every assigned warehouse (the split's quantity, or the
quantity it read for a warehouse the split leaves out), fails only the item whose SKU has several warehouses and no
split, and the listing parser reports the stock per warehouse. Real HTTP against the in-process sandbox."""

from __future__ import annotations

from typing import Any

from nfsync.connectors.base.models import StockUpdate
from nfsync.connectors.tiktok import errors as codes
from tests.connectors.test_tiktok import Env, env

__all__ = ["env"]
WAREHOUSES = "/logistics/202309/warehouses"


def _products(env: Env) -> tuple[str, str, str]:
    """A second warehouse; product A with SKU W-1 in both warehouses and W-2 in the default one only; product B
    with SKU W-3 in the second warehouse only. Returns (product A, product B, the second warehouse)."""
    second = env.sandbox.add_warehouse(env.shop, "Hanoi")
    first = env.shop.extra["warehouse_id"]
    a = env.sandbox.add_listing(env.shop, "Two warehouses", [{"sku": "W-1", "stock": 0}, {"sku": "W-2", "stock": 4}])
    b = env.sandbox.add_listing(env.shop, "Second warehouse only", [{"sku": "W-3", "stock": 0}])
    env.sandbox.set_stock(env.shop, "W-1", {first: 5, second: 7})
    env.sandbox.set_stock(env.shop, "W-3", {second: 2})
    return a.item_id, b.item_id, second


def _split(env: Env, sku: str) -> dict[str, int]:
    found = env.sandbox.find_variant(env.shop, sku)
    assert found is not None
    return env.sandbox.store.stock_of(env.shop, found[1])


def _update(item_id: str, sku: str, quantity: int, warehouses: dict[str, int] | None = None) -> StockUpdate:
    return StockUpdate(
        platform_item_id=item_id, platform_variant_id=None, sku=sku, quantity=quantity, warehouses=warehouses or {}
    )


async def _inventory(env: Env, item_id: str, sku: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    found = env.sandbox.find_variant(env.shop, sku)
    assert found is not None
    path = f"/product/202309/products/{item_id}/inventory/update"
    status, body = await env.raw(
        "POST",
        path,
        params={"shop_cipher": env.cipher()},
        body={"skus": [{"id": found[1].variant_id, "inventory": rows}]},
    )
    assert (status, body["code"]) == (200, 0), body
    return body["data"]


async def test_warehouse_list_reports_every_warehouse_of_the_shop(env: Env) -> None:
    second = env.sandbox.add_warehouse(env.shop, "Hanoi")
    status, body = await env.raw("GET", WAREHOUSES, params={"shop_cipher": env.cipher()})
    assert status == 200
    rows = body["data"]["warehouses"]
    assert [(w["id"], w["is_default"], w["type"]) for w in rows] == [
        (env.shop.extra["warehouse_id"], True, "SALES_WAREHOUSE"),
        (second, False, "SALES_WAREHOUSE"),
    ]


async def test_sandbox_refuses_an_omitted_an_unassigned_and_an_unknown_warehouse(env: Env) -> None:
    """Update Inventory: every assigned warehouse, none omitted (12019028), none added (12052533), none unknown
    (12052097); the refusal is per SKU in ``data.errors`` and nothing of that SKU is written."""
    item, other, second = _products(env)
    first = env.shop.extra["warehouse_id"]
    cases = [
        ("W-1", [{"warehouse_id": first, "quantity": 9}], codes.MULTI_WAREHOUSE, second),
        ("W-2", [{"warehouse_id": second, "quantity": 9}], codes.WAREHOUSES_CHANGED, second),
        (
            "W-2",
            [{"warehouse_id": first, "quantity": 1}, {"warehouse_id": second, "quantity": 1}],
            codes.WAREHOUSES_CHANGED,
            second,
        ),
        (
            "W-1",
            [{"warehouse_id": "7000000000000000009", "quantity": 9}],
            codes.WAREHOUSE_NOT_FOUND,
            "7000000000000000009",
        ),
    ]
    for sku, rows, code, warehouse in cases:
        data = await _inventory(env, item, sku, rows)
        [error] = data["errors"]
        [extra] = error["detail"]["extra_errors"]
        assert (error["code"], str(extra["code"]), extra["warehouse_id"]) == (12052990, code, warehouse), sku
    assert _split(env, "W-1") == {first: 5, second: 7} and _split(env, "W-2") == {first: 4}
    assert (
        await _inventory(
            env, item, "W-1", [{"warehouse_id": second, "quantity": 1}, {"warehouse_id": first, "quantity": 2}]
        )
        == {}
    )
    assert _split(env, "W-1") == {first: 2, second: 1}
    assert await _inventory(env, other, "W-3", [{"quantity": 6}]) == {}  # one warehouse: its id may be omitted
    assert _split(env, "W-3") == {second: 6}


async def test_a_sku_with_several_warehouses_and_no_split_fails_alone(env: Env) -> None:
    """Before: every SKU got ``[{default warehouse, quantity}]``: W-1 was refused by TikTok (12019028) and W-3
    (stocked only in the second warehouse) too (12052533)."""
    item, other, second = _products(env)
    first = env.shop.extra["warehouse_id"]
    results = await env.client.update_stock(
        [_update(item, "W-1", 9), _update(item, "W-2", 3), _update(other, "W-3", 8)]
    )
    assert [(r.sku, r.ok, r.error_code) for r in results] == [
        ("W-1", False, codes.WAREHOUSE_SPLIT_REQUIRED),
        ("W-2", True, None),
        ("W-3", True, None),
    ]
    assert "2 TikTok Shop warehouses" in (results[0].error_message or "")
    assert _split(env, "W-1") == {first: 5, second: 7}, "the refused item must not be written"
    assert _split(env, "W-2") == {first: 3} and _split(env, "W-3") == {second: 8}


async def test_a_split_writes_its_warehouses_and_keeps_the_others_as_read(env: Env) -> None:
    """A split naming one of the SKU's two warehouses: the other keeps the quantity Get Product reported (never
    zeroed); a split naming a warehouse the SKU is not in fails that item before any call."""
    item, other, second = _products(env)
    first = env.shop.extra["warehouse_id"]
    results = await env.client.update_stock(
        [
            _update(item, "W-1", 3, {second: 3}),
            _update(other, "W-3", 1, {first: 1}),
        ]
    )
    assert [(r.sku, r.ok, r.error_code) for r in results] == [
        ("W-1", True, None),
        ("W-3", False, codes.WAREHOUSE_NOT_ASSIGNED),
    ]
    assert first in (results[1].error_message or "") and second in (results[1].error_message or "")
    assert _split(env, "W-1") == {first: 5, second: 3}
    assert _split(env, "W-3") == {second: 2}
    full = await env.client.update_stock([_update(item, "W-1", 10, {first: 4, second: 6})])
    assert full[0].ok and _split(env, "W-1") == {first: 4, second: 6}


async def test_a_one_warehouse_shop_writes_without_reading_the_product(env: Env) -> None:
    """The common case stays one call per product: with one sales warehouse, every SKU is in it."""
    listing = env.sandbox.add_listing(env.shop, "One", [{"sku": "O-1", "stock": 1}])
    variant = listing.variants[0]
    await env.client.update_stock(
        [StockUpdate(platform_item_id=listing.item_id, platform_variant_id=variant.variant_id, sku="O-1", quantity=2)]
    )
    calls = env.client.stats["calls"]
    results = await env.client.update_stock(
        [StockUpdate(platform_item_id=listing.item_id, platform_variant_id=variant.variant_id, sku="O-1", quantity=6)]
    )
    assert results[0].ok and variant.stock == 6 and env.client.stats["calls"] - calls == 1


async def test_listings_report_the_stock_of_each_warehouse(env: Env) -> None:
    item, other, second = _products(env)
    first = env.shop.extra["warehouse_id"]
    by_sku = {v.sku: v for listing in await env.client.get_listings([item, other]) for v in listing.variants}
    assert by_sku["W-1"].warehouses == {first: 5, second: 7} and by_sku["W-1"].stock == 12
    assert by_sku["W-2"].warehouses == {first: 4} and by_sku["W-3"].warehouses == {second: 2}
    pulled = {v.sku: v for listing in [x async for x in env.client.iter_listings()] for v in listing.variants}
    assert pulled["W-1"].warehouses == {first: 5, second: 7} and pulled["W-1"].stock == 12
