"""The pure parts of the syncs: stock rules, content hashes, order status ranks and stock moves."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.models import ListingDraft, VariantDraft
from nfsync.workers.crm import stock_transition
from nfsync.workers.sync.catalog import content_hash
from nfsync.workers.sync.orders import crm_status
from nfsync.workers.sync.rules import StockRules


def test_stock_rules_buffer_allocation_and_threshold() -> None:
    assert StockRules().quantity(10) == 10
    assert StockRules(safety_buffer=3).quantity(10) == 7
    assert StockRules(safety_buffer=3).quantity(2) == 0
    assert StockRules(allocation_percent=50).quantity(7) == 3
    assert StockRules(safety_buffer=2, allocation_percent=50, zero_below=3).quantity(7) == 0
    assert StockRules(safety_buffer=2, allocation_percent=50, zero_below=3).quantity(9) == 3
    with pytest.raises(PermanentError, match="allocation_percent"):
        StockRules.parse({"allocation_percent": 150})
    with pytest.raises(PermanentError, match="invalid"):
        StockRules.parse({"safety_buffer": "lots"})


def _draft(**changes: object) -> ListingDraft:
    variants = [
        VariantDraft(sku=f"S-{n}", price=Decimal(10), stock=1, options={"size": size})
        for n, size in ((1, "S"), (2, "M"))
    ]
    values: dict[str, object] = {"name": "Shirt", "description": "Cotton", "category_id": "100", "variants": variants}
    values.update(changes)
    return ListingDraft.model_validate(values)


def test_content_hash_follows_catalog_content_not_values() -> None:
    base = content_hash(_draft())
    assert content_hash(_draft(variants=list(reversed(_draft().variants)))) == base  # order does not matter
    priced = [v.model_copy(update={"price": Decimal(99), "stock": 50}) for v in _draft().variants]
    assert content_hash(_draft(variants=priced)) == base
    assert content_hash(_draft(name="Shirt 2")) != base
    assert content_hash(_draft(category_id="200")) != base
    renamed = [_draft().variants[0].model_copy(update={"options": {"size": "L"}}), _draft().variants[1]]
    assert content_hash(_draft(variants=renamed)) != base


def test_platform_statuses_map_to_crm_statuses() -> None:
    assert crm_status("shopee", "READY_TO_SHIP") == "CONFIRMED"
    assert crm_status("lazada", "canceled") == "CANCELLED"
    assert crm_status("tiktok", "IN_TRANSIT") == "SHIPPED"
    assert crm_status("woocommerce", "refunded") == "RETURNED"
    assert crm_status("shopee", "SOMETHING_NEW") is None


def test_stock_follows_the_order() -> None:
    lines = [("v1", Decimal(2))]
    assert stock_transition([], "none", lines, "reserved") == [("v1", Decimal(2), Decimal(0))]
    assert stock_transition(lines, "reserved", lines, "consumed") == [
        ("v1", Decimal(-2), Decimal(0)),
        ("v1", Decimal(0), Decimal(-2)),
    ]
    assert stock_transition(lines, "reserved", lines, "none") == [("v1", Decimal(-2), Decimal(0))]
    assert stock_transition(lines, "consumed", lines, "none") == []  # returned: no restock
    assert stock_transition(lines, "reserved", lines, "reserved") == []
