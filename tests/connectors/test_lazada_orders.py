"""Lazada orders against the published reference (issue #14): every documented order-item status reaches a CRM
status (a shipped order is no longer PROCESSING), all-ended orders end, GetOrders pages within the stricter offset
cap, and order lines do not rely on the undocumented ``product_id`` of GetMultipleOrderItems.

The documented statuses are the project's own data in tests/contracts/lazada.json (``order_statuses``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nfsync.connectors.lazada import mapping
from nfsync.connectors.lazada.client import Client
from nfsync.connectors.lazada.sandbox.emulator import ORDER_STATUS_FILTERS, Sandbox
from nfsync.workers.sync.orders import crm_status
from tests.connectors.test_lazada import Env, env

__all__ = ["env"]
CONTRACT: dict[str, Any] = json.loads((Path(__file__).parents[1] / "contracts" / "lazada.json").read_text())
DOCUMENTED = CONTRACT["order_statuses"]["values"]


def test_the_known_statuses_are_exactly_the_documented_ones() -> None:
    """Before: 'confirmed' and 'damaged' (documented nowhere) were known; eight documented statuses were not."""
    assert set(mapping.ORDER_PROGRESSION) | set(mapping.ORDER_ENDED) == set(DOCUMENTED)
    assert not set(mapping.ORDER_PROGRESSION) & set(mapping.ORDER_ENDED)


@pytest.mark.parametrize("status", DOCUMENTED)
def test_every_documented_status_reaches_a_crm_status(status: str) -> None:
    """Before: shipping, repacked, lost, shipped_back*, package_scrapped had no CRM status (the order kept its old
    one: a shipped order stayed PROCESSING)."""
    assert crm_status("lazada", mapping.order_status([status])) is not None, status


@pytest.mark.parametrize(
    ("statuses", "crm"),
    [
        (["shipping"], "SHIPPED"),
        (["shipping", "delivered"], "SHIPPED"),
        (["repacked"], "PROCESSING"),
        (["lost_by_3pl", "package_scrapped"], "CANCELLED"),
        (["damaged_by_3pl"], "CANCELLED"),
        (["lost"], "CANCELLED"),
        (["shipped_back_success", "canceled"], "RETURNED"),
        (["failed_delivery", "shipped_back"], "RETURNED"),
        (["package_scrapped", "pending"], "CONFIRMED"),
        (["canceled", "lost_by_3pl"], "CANCELLED"),
    ],
)
def test_an_order_reports_its_slowest_live_item_or_its_end(statuses: list[str], crm: str) -> None:
    """Before: an order whose items were all lost_by_3pl / damaged_by_3pl / package_scrapped was never ended."""
    assert crm_status("lazada", mapping.order_status(statuses)) == crm, statuses


async def test_a_shipping_order_reads_as_shipped(env: Env) -> None:
    env.sandbox.add_listing(env.shop, "Shirt", [{"sku": "SHIP-1", "price": "100", "stock": 5}])
    order = env.sandbox.add_order(env.shop, [{"sku": "SHIP-1"}], status="packed")
    order.status = env.sandbox.next_order_status(env.sandbox.next_order_status("packed"))
    assert order.status == "shipping"
    [read] = await env.client.get_orders([order.order_id])
    assert read.status == "shipping" and crm_status("lazada", read.status) == "SHIPPED"


async def test_the_sandbox_filters_on_every_documented_status(env: Env) -> None:
    after = {"update_after": "2020-01-01T00:00:00+00:00"}
    for status in ORDER_STATUS_FILTERS:
        assert (await env.raw("GET", "/orders/get", {**after, "status": status}))["code"] == "0", status
    assert (await env.raw("GET", "/orders/get", {**after, "status": "confirmed"}))["code"] == "36"


def test_order_paging_stops_at_the_stricter_offset_cap() -> None:
    """getorders.json gives offset Max Size 4500 (get-order.md says 5000). Before: 5000 in client and sandbox."""
    assert Client.order_offset_cap == Sandbox.order_offset_cap == 4500
    assert Client.order_offset_cap + Client.order_page_size > 4500, "the last page starts at the cap, never beyond"


async def test_order_lines_need_no_product_id(env: Env) -> None:
    """GetMultipleOrderItems documents no product_id. Before: the sandbox invented one and the client read it."""
    listing = env.sandbox.add_listing(env.shop, "Cup", [{"sku": "CUP-1", "price": "100", "stock": 5}])
    order = env.sandbox.add_order(env.shop, [{"sku": "CUP-1", "quantity": 2}], status="pending")
    raw = await env.raw("GET", "/orders/items/get", {"order_ids": f"[{order.order_id}]"})
    assert all("product_id" not in item for item in raw["data"][0]["order_items"])
    [read] = await env.client.get_orders([order.order_id])
    assert [(ln.platform_item_id, ln.platform_variant_id, ln.sku) for ln in read.lines] == [
        (None, listing.variants[0].variant_id, "CUP-1")
    ] * 2
