"""Lazada stock is written and read as SELLABLE stock (issue #14), against the sandbox's total / withhold / occupy /
sellable model, over real HTTP.

Documented facts (tests/contracts/lazada.json, LAZ-GUIDE inventory-calculation-logic.md, inventory-management-api.md):
UpdatePriceQuantity ``Quantity`` is the TOTAL stock (sellable + withhold + occupy, never below withhold + occupy);
UpdateSellableQuantity sets what buyers can buy; open orders hold units (withhold while unpaid, occupy from pending
to packed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from nfsync.connectors.base.models import PriceUpdate, StockUpdate
from nfsync.connectors.lazada import stock
from nfsync.connectors.lazada.sandbox.emulator import LzCall, Sandbox
from tests.connectors.test_lazada import Env, env, running

__all__ = ["env"]


def _listing(env: Env, sku: str, units: int) -> tuple[str, str]:
    listing = env.sandbox.add_listing(env.shop, f"Item {sku}", [{"sku": sku, "price": "1000", "stock": units}])
    return listing.item_id, listing.variants[0].variant_id


def _levels(env: Env, sku: str, warehouse: str = "dropshipping") -> tuple[int, int, int, int]:
    found = env.sandbox.find_variant(env.shop, sku)
    assert found is not None
    level = env.sandbox.stock.levels(env.shop, found[1])[warehouse]
    return level.sellable, level.withhold, level.occupy, level.total


async def _reported(env: Env, item_id: str) -> int:
    [listing] = await env.client.get_listings([item_id])
    return listing.variants[0].stock


async def test_an_open_order_is_not_subtracted_twice(env: Env) -> None:
    """10 units, an open order holds 3, the CRM says 7 are available. Before: the client wrote Quantity=7 (the
    TOTAL), leaving 4 sellable, and read back ``quantity`` (the total) so reconcile pushed again."""
    item_id, sku_id = _listing(env, "HELD-1", 10)
    env.sandbox.add_order(env.shop, [{"sku": "HELD-1", "quantity": 3}], status="pending")
    assert _levels(env, "HELD-1") == (7, 0, 3, 10)
    results = await env.client.update_stock(
        [StockUpdate(platform_item_id=item_id, platform_variant_id=sku_id, sku="HELD-1", quantity=7)]
    )
    assert [r.ok for r in results] == [True]
    assert _levels(env, "HELD-1") == (7, 0, 3, 10), "sellable 7, the order's 3 still occupied"
    assert await _reported(env, item_id) == 7, "a re-read reports the sellable 7: nothing to push again"
    [listed] = [listing async for listing in env.client.iter_listings()]
    assert listed.variants[0].stock == 7 and listed.variants[0].warehouses == {"dropshipping": 7}


async def test_orders_move_stock_between_sellable_withhold_and_occupy(env: Env) -> None:
    item_id, _ = _listing(env, "FLOW-1", 10)
    unpaid = env.sandbox.add_order(env.shop, [{"sku": "FLOW-1", "quantity": 2}], status="unpaid")
    paid = env.sandbox.add_order(env.shop, [{"sku": "FLOW-1", "quantity": 3}], status="pending")
    assert _levels(env, "FLOW-1") == (5, 2, 3, 10)
    unpaid.status = "canceled"
    assert _levels(env, "FLOW-1") == (7, 0, 3, 10), "a cancellation gives the units back"
    paid.status = "ready_to_ship"
    assert _levels(env, "FLOW-1") == (7, 0, 0, 7), "ready to ship: the units leave the stock"
    assert await _reported(env, item_id) == 7


async def test_a_total_below_the_held_stock_is_refused(env: Env) -> None:
    item_id, sku_id = _listing(env, "TOTAL-1", 10)
    env.sandbox.add_order(env.shop, [{"sku": "TOTAL-1", "quantity": 3}], status="packed")
    row = {"ItemId": item_id, "SkuId": sku_id, "SellerSku": "TOTAL-1", "Quantity": "2"}
    refused = await env.raw("POST", "/product/price_quantity/update", {"payload": stock.payload_xml([row])})
    assert refused["code"] == "501" and refused["detail"][0]["seller_sku"] == "TOTAL-1"
    assert _levels(env, "TOTAL-1") == (7, 0, 3, 10)
    accepted = await env.raw(
        "POST", "/product/price_quantity/update", {"payload": stock.payload_xml([{**row, "Quantity": "12"}])}
    )
    assert accepted["code"] == "0" and _levels(env, "TOTAL-1") == (9, 0, 3, 12), "Quantity is the total"


async def test_a_price_update_sends_no_quantity(env: Env) -> None:
    seen: list[str] = []

    class Recording(Sandbox):
        async def _price_quantity_update(self, call: LzCall) -> Any:
            seen.append(call.params["payload"])
            return await super()._price_quantity_update(call)

    async with running(Recording) as rec:
        item_id, sku_id = _listing(rec, "PRICE-1", 10)
        rec.sandbox.add_order(rec.shop, [{"sku": "PRICE-1", "quantity": 4}], status="unpaid")
        results = await rec.client.update_prices(
            [PriceUpdate(platform_item_id=item_id, platform_variant_id=sku_id, sku="PRICE-1", price=Decimal("12.5"))]
        )
        assert [r.ok for r in results] == [True] and _levels(rec, "PRICE-1") == (6, 4, 0, 10)
    assert len(seen) == 1 and "<Price>12.5</Price>" in seen[0] and "Quantity" not in seen[0]


async def test_the_sku_id_is_looked_up_when_the_update_lacks_it(env: Env) -> None:
    """Every documented inventory payload carries ItemId and SkuId; the sandbox refuses a row without SkuId."""
    item_id, _ = _listing(env, "NOID-1", 1)
    bare = await env.raw(
        "POST",
        "/product/stock/sellable/update",
        {"payload": stock.payload_xml([{"ItemId": item_id, "SellerSku": "NOID-1", "SellableQuantity": "5"}])},
    )
    assert bare["code"] == "501" and bare["detail"][0]["field"] == "SkuId"
    results = await env.client.update_stock(
        [
            StockUpdate(platform_item_id=item_id, platform_variant_id=None, sku="NOID-1", quantity=5),
            StockUpdate(platform_item_id=item_id, platform_variant_id=None, sku="NOWHERE", quantity=5),
        ]
    )
    assert [r.ok for r in results] == [True, False] and "no SKU NOWHERE" in (results[1].error_message or "")
    assert _levels(env, "NOID-1")[0] == 5


async def test_a_sku_in_several_warehouses_needs_a_split_and_fails_alone(env: Env) -> None:
    multi_item, multi_id = _listing(env, "MULTI-1", 0)
    env.sandbox.set_warehouses(env.shop, "MULTI-1", {"dropshipping": 4, "VN-WH-2": 6})
    one_item, one_id = _listing(env, "ONE-1", 3)
    updates = [
        StockUpdate(platform_item_id=multi_item, platform_variant_id=multi_id, sku="MULTI-1", quantity=8),
        StockUpdate(platform_item_id=one_item, platform_variant_id=one_id, sku="ONE-1", quantity=9),
    ]
    results = await env.client.update_stock(updates)
    assert [r.ok for r in results] == [False, True], "the multi-warehouse SKU fails, the other goes on"
    assert "several warehouses" in (results[0].error_message or "")
    assert _levels(env, "MULTI-1") == (4, 0, 0, 4) and _levels(env, "MULTI-1", "VN-WH-2")[0] == 6
    assert _levels(env, "ONE-1")[0] == 9
    split = updates[0].model_copy(update={"warehouses": {"dropshipping": 5, "vn-wh-2": 3}})
    assert [r.ok for r in await env.client.update_stock([split])] == [True]
    assert _levels(env, "MULTI-1")[0] == 5 and _levels(env, "MULTI-1", "VN-WH-2")[0] == 3
    [listing] = await env.client.get_listings([multi_item])
    assert listing.variants[0].stock == 8 and listing.variants[0].warehouses == {"dropshipping": 5, "VN-WH-2": 3}


async def test_a_split_must_add_up_and_name_the_sellers_warehouses(env: Env) -> None:
    item_id, sku_id = _listing(env, "SPLIT-1", 2)
    update = StockUpdate(platform_item_id=item_id, platform_variant_id=sku_id, sku="SPLIT-1", quantity=5)
    cases = [({"dropshipping": 4}, "add up"), ({"dropshipping": 2, "ELSEWHERE": 3}, "no warehouse")]
    for warehouses, why in cases:
        [result] = await env.client.update_stock([update.model_copy(update={"warehouses": warehouses})])
        assert not result.ok and why in (result.error_message or ""), (warehouses, result)
    [single] = await env.client.update_stock([update.model_copy(update={"warehouses": {"Dropshipping": 5}})])
    assert single.ok and _levels(env, "SPLIT-1")[0] == 5


async def test_the_multi_warehouse_form_is_refused_for_a_single_warehouse_seller(env: Env) -> None:
    item_id, sku_id = _listing(env, "FORM-1", 2)
    row = {
        "ItemId": item_id,
        "SkuId": sku_id,
        "SellerSku": "FORM-1",
        "MultiWarehouseInventories": [{"WarehouseCode": "dropshipping", "SellableQuantity": "4"}],
    }
    refused = await env.raw("POST", "/product/stock/sellable/update", {"payload": stock.payload_xml([row])})
    assert refused["code"] == "501" and refused["detail"][0]["field"] == "MultiWarehouseInventories"
    negative = {"ItemId": item_id, "SkuId": sku_id, "SellableQuantity": "-1"}
    refused = await env.raw("POST", "/product/stock/sellable/update", {"payload": stock.payload_xml([negative])})
    assert refused["code"] == "501" and _levels(env, "FORM-1")[0] == 2


@pytest.mark.parametrize(
    ("path", "code"), [("/product/stock/sellable/update", "204"), ("/product/price_quantity/update", "4171")]
)
async def test_more_than_50_skus_are_refused(env: Env, path: str, code: str) -> None:
    rows = [{"ItemId": "1", "SkuId": str(i), "SellableQuantity": "1"} for i in range(51)]
    assert (await env.raw("POST", path, {"payload": stock.payload_xml(rows)}))["code"] == code


async def test_the_breakdown_comes_with_options_1_only(env: Env) -> None:
    _listing(env, "OPT-1", 3)
    plain = await env.raw("GET", "/products/get", {"filter": "all"})
    detailed = await env.raw("GET", "/products/get", {"filter": "all", "options": "1"})
    assert "multiWarehouseInventories" not in plain["data"]["products"][0]["skus"][0]
    assert detailed["data"]["products"][0]["skus"][0]["multiWarehouseInventories"][0]["sellableQuantity"] == 3
