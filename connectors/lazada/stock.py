"""Lazada stock and price writes: what each SKU row of UpdateSellableQuantity / UpdatePriceQuantity carries.

Sources (github lazykern/ecommerce-api-docs): data/raw/lazada/apis/product-api/updatesellablequantity.json and
updatepricequantity.json; data/processed/lazada/guides/api-best-practice/product-operation/
product-inventory-management/inventory-management-api.md and inventory-calculation-logic.md.

- Stock is written as SELLABLE stock (``/product/stock/sellable/update``, ``<SellableQuantity>``, absolute): what
  buyers can buy, the figure the CRM's *available* means. UpdatePriceQuantity's ``<Quantity>`` is the TOTAL stock
  (sellable + withheld + occupied by open orders) and is never sent: prices go alone.
- Every row carries ``ItemId`` and ``SkuId`` (every documented payload has both; stricter reading, UNCONFIRMED) and
  ``SellerSku`` (the API sample has it; it names the SKU in a failure's ``detail``).
- A single-warehouse seller writes the single form (the ``dropshipping`` warehouse); a multi-warehouse seller
  (GetMultiWarehouseBySeller lists more than one warehouse) writes ``MultiWarehouseInventories`` per warehouse code.
  Single-warehouse sellers must not use the multi-warehouse form. The read APIs leave out warehouses without stock,
  so a SKU that reports one warehouse holds nothing elsewhere: the quantity goes to that warehouse. A SKU that
  reports several needs ``StockUpdate.warehouses``; without it that item fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from nfsync.connectors.base.models import ListingVariant, PriceUpdate, StockUpdate

DROPSHIPPING = "dropshipping"

Row = dict[str, Any]
"""One ``<Sku>``: element name -> text, or for ``MultiWarehouseInventories`` a list of {name: text}."""


class NotWritable(Exception):
    """This one item cannot be written as asked (the message says why); the others of the batch go on."""


def seller_warehouses(body: Mapping[str, Any]) -> list[str]:
    """GetMultiWarehouseBySeller: the codes of ``result.module[]`` (inventory-calculation-logic.md sample)."""
    result = body.get("result")
    module = result.get("module") if isinstance(result, Mapping) else None
    codes = [str(entry.get("code") or "") for entry in module or [] if isinstance(entry, Mapping)]
    return [code for code in codes if code] or [DROPSHIPPING]


def sellable_row(update: StockUpdate, sku_id: str, reported: ListingVariant | None, seller: Sequence[str]) -> Row:
    """The UpdateSellableQuantity row of one update; NotWritable when it cannot be placed."""
    row: Row = ids(update.platform_item_id, sku_id, update.sku)
    split = _split(update, reported, seller)
    if set(split) == {DROPSHIPPING}:
        row["SellableQuantity"] = str(split[DROPSHIPPING])  # the single form: the dropshipping warehouse only
    else:
        row["MultiWarehouseInventories"] = [
            {"WarehouseCode": code, "SellableQuantity": str(units)} for code, units in split.items()
        ]
    return row


def _split(update: StockUpdate, reported: ListingVariant | None, seller: Sequence[str]) -> dict[str, int]:
    """{seller's warehouse code: sellable units} for one update."""
    if update.warehouses:
        return _given_split(update, seller)
    if len(seller) < 2:
        return {DROPSHIPPING: update.quantity}
    stocked = sorted(reported.warehouses) if reported else []
    if len(stocked) > 1:
        raise NotWritable(
            f"lazada reports {update.sku} in several warehouses ({', '.join(stocked)}): the stock "
            "must be given per warehouse (StockUpdate.warehouses)"
        )
    return {_code(seller, stocked[0]) if stocked else DROPSHIPPING: update.quantity}


def _given_split(update: StockUpdate, seller: Sequence[str]) -> dict[str, int]:
    total = sum(update.warehouses.values())
    if total != update.quantity:
        raise NotWritable(f"the warehouses of {update.sku} add up to {total}, not to its quantity {update.quantity}")
    split = {_code(seller, code): units for code, units in update.warehouses.items()}
    if len(seller) < 2 and set(split) != {DROPSHIPPING}:
        raise NotWritable(f"this seller has one warehouse ({DROPSHIPPING}); {update.sku} names others")
    return split


def _code(seller: Sequence[str], wanted: str) -> str:
    """The seller's spelling of a warehouse code (compared case-insensitively: the docs write both
    ``dropshipping`` and ``Dropshipping``, UNCONFIRMED); ``dropshipping`` stays the single form's name."""
    found = next((code for code in seller if code.lower() == wanted.strip().lower()), None)
    if found is None:
        raise NotWritable(f"the seller has no warehouse {wanted!r} (warehouses: {', '.join(seller)})")
    return DROPSHIPPING if found.lower() == DROPSHIPPING else found


def price_row(update: PriceUpdate, sku_id: str) -> Row:
    """UpdatePriceQuantity with ``Price`` only: no ``Quantity`` (that is the total stock)."""
    return {**ids(update.platform_item_id, sku_id, update.sku), "Price": format(update.price, "f")}


def ids(item_id: str, sku_id: str, seller_sku: str) -> Row:
    return {"ItemId": item_id, "SkuId": sku_id, "SellerSku": seller_sku}


def payload_xml(rows: Iterable[Row]) -> str:
    """``<Request><Product><Skus><Sku>...</Sku></Skus></Product></Request>``."""
    root = Element("Request")
    skus = SubElement(SubElement(root, "Product"), "Skus")
    for row in rows:
        sku = SubElement(skus, "Sku")
        for name, value in row.items():
            if isinstance(value, list):
                _inventories(SubElement(sku, name), value)
            else:
                SubElement(sku, name).text = str(value)
    return tostring(root, encoding="unicode")


def _inventories(parent: Element, entries: Sequence[Mapping[str, str]]) -> None:
    for entry in entries:
        node = SubElement(parent, "MultiWarehouseInventory")
        for name, value in entry.items():
            SubElement(node, name).text = value
