"""Update Inventory rows for a stock write, from ``StockUpdate`` and the SKU's warehouses as TikTok lists them.

Platform rules (lazykern/ecommerce-api-docs@eba059e
``data/raw/tiktok/api-reference/products/update-inventory.spec.json``,
``skus[].inventory``): every warehouse assigned to the SKU must be listed with its quantity, none omitted and none
unrelated added (12019028, 12052037, 12052533); ``warehouse_id`` may be left out only when the SKU has one warehouse
(nfsync always sends it); ``quantity`` is absolute, per warehouse. A SKU's warehouses and quantities are read from Get
Product ``skus[].inventory[]`` (``get-product.spec.json``); a shop's warehouses from Get Warehouse List
(``logistics/get-warehouse-list.spec.json``: ``type`` SALES_WAREHOUSE or RETURN_WAREHOUSE, one ``is_default``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.models import ItemResult, StockUpdate
from nfsync.connectors.tiktok import errors, mapping
from nfsync.connectors.tiktok.mapping import as_dict, as_list

Rows = list[dict[str, Any]]
SALES = "SALES_WAREHOUSE"


def sales_warehouses(warehouses: list[Any]) -> list[dict[str, Any]]:
    """The shop's sales warehouses, whatever their ``effect_status`` (a SKU may sit in a disabled one)."""
    return [w for w in map(as_dict, warehouses) if w.get("id") and w.get("type", SALES) == SALES]


def default_warehouse(warehouses: list[Any]) -> str:
    """The enabled sales warehouse marked ``is_default``, else the first enabled one."""
    enabled = [w for w in sales_warehouses(warehouses) if w.get("effect_status", "ENABLED") == "ENABLED"]
    chosen = next((w for w in enabled if w.get("is_default")), enabled[0] if enabled else None)
    if chosen is None:
        raise PermanentError("tiktok: the shop has no enabled sales warehouse", code="12052115")
    return str(chosen["id"])


def sku_stock(product: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """SKU id -> {warehouse id: quantity} as a Get Product answer lists them."""
    return {str(sku.get("id") or ""): mapping.sku_warehouses(sku) for sku in map(as_dict, as_list(product.get("skus")))}


def rows_for(update: StockUpdate, assigned: Mapping[str, int] | None, default: str) -> Rows | ItemResult:
    """The ``inventory`` list for one SKU, or the failed item when it cannot be written.

    ``assigned`` is the SKU's quantity per warehouse as read, None when not read (the shop has one sales warehouse,
    so the SKU is in it). A split writes its warehouses and sends the others back with the quantity read, so they
    keep it; no split writes the SKU's one warehouse, and a SKU in several fails (nothing is guessed)."""
    if update.warehouses:
        return _split_rows(update, assigned or {})
    if not assigned:
        return [{"warehouse_id": default, "quantity": update.quantity}]
    if len(assigned) == 1:
        return [{"warehouse_id": next(iter(assigned)), "quantity": update.quantity}]
    return _refused(
        update,
        errors.WAREHOUSE_SPLIT_REQUIRED,
        (
            f"seller SKU {update.sku} is stocked in {len(assigned)} TikTok Shop warehouses ({', '.join(assigned)}): "
            "TikTok needs the quantity of each, and this update gives no per-warehouse split; nothing was written"
        ),
    )


def _split_rows(update: StockUpdate, assigned: Mapping[str, int]) -> Rows | ItemResult:
    if not assigned:  # a SKU with no warehouse yet: the split as given (TikTok judges it)
        return [{"warehouse_id": w, "quantity": q} for w, q in update.warehouses.items()]
    unknown = [warehouse for warehouse in update.warehouses if warehouse not in assigned]
    if unknown:
        return _refused(
            update,
            errors.WAREHOUSE_NOT_ASSIGNED,
            (
                f"seller SKU {update.sku} is not stocked in warehouse(s) {', '.join(unknown)} (it is in "
                f"{', '.join(assigned)}); TikTok refuses adding or changing a SKU's warehouses; nothing was written"
            ),
        )
    return [{"warehouse_id": w, "quantity": update.warehouses.get(w, current)} for w, current in assigned.items()]


def _refused(update: StockUpdate, code: str, message: str) -> ItemResult:
    return ItemResult(sku=update.sku, ok=False, error_code=code, error_message=message)
