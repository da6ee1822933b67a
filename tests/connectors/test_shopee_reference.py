"""Shopee against its published reference (issue #14): the documented error examples are classified as the docs
imply, the search cursor is the documented opaque string, and an item-level ``error_auth`` fails that item only.

The documented facts are the project's own data in tests/contracts/shopee.json, each with its public source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.models import StockUpdate, VariantDraft
from nfsync.connectors.base.policy import Action
from nfsync.connectors.shopee.errors import CALL_LEVEL_CODES, ERROR_TABLE, refine
from nfsync.connectors.shopee.mapping import tier_body
from tests.connectors.test_shopee import Env, env, raw, seed

__all__ = ["env"]
CONTRACT: dict[str, Any] = json.loads((Path(__file__).parents[1] / "contracts" / "shopee.json").read_text())
EXAMPLES = [(name, example) for name, call in CONTRACT["calls"].items() for example in call["errors"]]
EXPECTED = {
    "retryable": {Action.RETRY},
    "permanent": {Action.PERMANENT},
    "reauthorize": {Action.REFRESH, Action.REAUTHORIZE},  # an access token is refreshed first, then re-authorized
    "throttled": {Action.THROTTLE},
    "item": {Action.PERMANENT},
}


@pytest.mark.parametrize(("call", "example"), EXAMPLES, ids=[f"{c}:{e['response']['error']}" for c, e in EXAMPLES])
def test_each_documented_error_is_classified_as_the_docs_imply(call: str, example: dict[str, Any]) -> None:
    """Before: module-prefixed codes (product.error_server) matched no rule; item-level error_auth was call-level."""
    response = example["response"]
    code = refine(response["error"], response.get("message", ""))
    action = ERROR_TABLE.classify(200, code)  # Shopee's HTTP status of an error is UNCONFIRMED: the body decides
    assert action in EXPECTED[example["kind"]], (call, response, code, example["why"])
    if example["kind"] == "item":
        assert code not in CALL_LEVEL_CODES, (call, response)


def test_search_item_answers_with_the_documented_string_cursor() -> None:
    assert CONTRACT["calls"]["product.search_item"]["types"]["response.next_offset"] == "string"
    sample = CONTRACT["calls"]["product.search_item"]["response_sample"]["response"]
    assert isinstance(sample["next_offset"], str) and not sample["next_offset"].isdigit()


async def test_find_by_sku_follows_the_opaque_cursor_to_a_later_page(env: Env) -> None:
    """Before: ``int(next_offset)`` raised on the second page and aborted the product push."""
    for number in range(120):
        seed(env, f"Near {number}", [f"CUR-1-{number}"])  # every one matches the search for CUR-1 loosely
    target = seed(env, "Target", ["CUR-1"])
    found = await env.client.find_by_sku("CUR-1")
    assert found is not None and found.platform_item_id == target
    assert await env.client.find_by_sku("CUR-404") is None


async def test_a_stock_rule_error_fails_that_item_and_the_batch_goes_on(env: Env) -> None:
    """Shopee answers update_stock with ``error_auth`` "Total stock must be more than reserved stock." (documented
    error example). Before: error_auth was call-level, so one such item aborted the shop's whole inventory_sync."""
    held = seed(env, "Held", ["HELD-1"])
    free = seed(env, "Free", ["FREE-1"])
    env.sandbox.reserved["HELD-1"] = 5
    results = await env.client.update_stock(
        [
            StockUpdate(platform_item_id=held, platform_variant_id=None, sku="HELD-1", quantity=2),
            StockUpdate(platform_item_id=free, platform_variant_id=None, sku="FREE-1", quantity=9),
        ]
    )
    assert [(r.sku, r.ok) for r in results] == [("HELD-1", False), ("FREE-1", True)]
    assert "reserved" in (results[0].error_message or "")
    assert env.sandbox.find_variant(env.shop, "FREE-1")[1].stock == 9  # type: ignore[index]


@pytest.mark.parametrize("code", ["invalid_acceess_token", "invalid_access_token", "common.error_auth"])
def test_expired_token_codes_refresh_the_token(code: str) -> None:
    message = "Invalid access_token." if code == "common.error_auth" else "token expired"
    assert ERROR_TABLE.classify(200, refine(code, message)) is Action.REFRESH


def test_module_prefixed_server_errors_are_retried() -> None:
    assert ERROR_TABLE.classify(200, refine("product.error_server", "Something wrong")) is Action.RETRY
    assert ERROR_TABLE.classify(200, refine("ads.rate_limit.exceed_api", "")) is Action.THROTTLE
    assert ERROR_TABLE.classify(200, refine("order.order_list_invalid_time", "")) is Action.PERMANENT


async def test_a_multi_warehouse_shop_gets_stock_per_location(env: Env) -> None:
    """SHP-RAW update_stock: multi-warehouse shops need ``seller_stock[].location_id`` (error_auth "Lack of
    location_id"). Before: the client never sent one, so every stock write to such a shop failed."""
    item = seed(env, "Split", ["LOC-1"])
    env.sandbox.set_warehouses(env.shop, ["VNZ", "VNN"])
    split = StockUpdate(
        platform_item_id=item, platform_variant_id=None, sku="LOC-1", quantity=7, warehouses={"VNZ": 4, "VNN": 3}
    )
    assert [r.ok for r in await env.client.update_stock([split])] == [True]
    variant = env.sandbox.find_variant(env.shop, "LOC-1")[1]  # type: ignore[index]
    assert env.sandbox.location_stock(env.shop, variant) == {"VNZ": 4, "VNN": 3}
    listed = (await env.client.get_listings([item]))[0].variants[0]
    assert (listed.stock, listed.warehouses) == (7, {"VNZ": 4, "VNN": 3})


async def test_a_split_naming_some_locations_keeps_the_others(env: Env) -> None:
    item = seed(env, "Partial", ["LOC-2"])
    env.sandbox.set_warehouses(env.shop, ["VNZ", "VNN"])
    both = {"VNZ": 5, "VNN": 6}
    await env.client.update_stock(
        [StockUpdate(platform_item_id=item, platform_variant_id=None, sku="LOC-2", quantity=11, warehouses=both)]
    )
    await env.client.update_stock(
        [StockUpdate(platform_item_id=item, platform_variant_id=None, sku="LOC-2", quantity=2, warehouses={"VNZ": 2})]
    )
    variant = env.sandbox.find_variant(env.shop, "LOC-2")[1]  # type: ignore[index]
    assert env.sandbox.location_stock(env.shop, variant) == {"VNZ": 2, "VNN": 6}


async def test_several_locations_and_no_split_fail_that_item_only(env: Env) -> None:
    one, two = seed(env, "One", ["LOC-3"]), seed(env, "Two", ["LOC-4"])
    env.sandbox.set_warehouses(env.shop, ["VNZ", "VNN"])
    results = await env.client.update_stock(
        [
            StockUpdate(platform_item_id=one, platform_variant_id=None, sku="LOC-3", quantity=3),
            StockUpdate(platform_item_id=two, platform_variant_id=None, sku="LOC-4", quantity=3, warehouses={"VNN": 3}),
            StockUpdate(platform_item_id=two, platform_variant_id=None, sku="LOC-4", quantity=3, warehouses={"XX": 3}),
        ]
    )
    assert [r.ok for r in results] == [False, False, True]  # the refused ones first, then the written ones
    assert "config.inventory.warehouses" in (results[0].error_message or "")
    assert "XX" in (results[1].error_message or "")


async def test_one_location_takes_the_whole_quantity_and_single_warehouse_shops_send_none(env: Env) -> None:
    item = seed(env, "Solo", ["LOC-5"])
    assert await env.client.locations() == []  # warehouse.error_not_in_whitelist: a single-warehouse shop
    update = StockUpdate(platform_item_id=item, platform_variant_id=None, sku="LOC-5", quantity=8)
    assert [r.ok for r in await env.client.update_stock([update])] == [True]
    env.sandbox.set_warehouses(env.shop, ["VNZ"])
    env.client._locations = None  # a new task: the client reads the shop's warehouses again
    update = update.model_copy(update={"quantity": 9})
    assert [r.ok for r in await env.client.update_stock([update])] == [True]
    variant = env.sandbox.find_variant(env.shop, "LOC-5")[1]  # type: ignore[index]
    assert env.sandbox.location_stock(env.shop, variant) == {"VNZ": 9}


async def test_the_sandbox_refuses_a_write_without_location_on_a_multi_warehouse_shop(env: Env) -> None:
    item = seed(env, "Strict", ["LOC-6"])
    env.sandbox.set_warehouses(env.shop, ["VNZ", "VNN"])
    body = {"item_id": int(item), "stock_list": [{"model_id": 0, "seller_stock": [{"stock": 1}]}]}
    _, answer = await raw(env, "POST", "/api/v2/product/update_stock", body=body)
    assert (answer["error"], answer["message"]) == ("error_auth", "Lack of location_id, please double check.")


async def test_the_sandbox_refuses_the_deprecated_tier_variation_shape(env: Env) -> None:
    """Before: the client sent ``tier_variation`` (deprecated 2025-09-12) and the sandbox required it."""
    item = seed(env, "Plain", ["TIER-1"])
    body = {
        "item_id": int(item),
        "tier_variation": [{"name": "Size", "option_list": [{"option": "M"}]}],
        "model": [{"tier_index": [0], "original_price": 10, "seller_stock": [{"stock": 1}]}],
    }
    _, answer = await raw(env, "POST", "/api/v2/product/init_tier_variation", body=body)
    assert answer["error"] == "product.error_param" and "standardise_tier_variation" in answer["message"]


def test_more_models_or_options_than_shopee_allows_fail_before_any_call() -> None:
    many = [VariantDraft(sku=f"M-{n}", price=1, stock=1, options={"Size": str(n)}) for n in range(21)]
    with pytest.raises(PermanentError, match="20 models"):
        tier_body("1", many)
