"""Lazada's stock model for the sandbox: per SKU and warehouse, the sellable stock, and the units open orders hold.

Sources (github lazykern/ecommerce-api-docs, data/processed/lazada/guides/api-best-practice/product-operation/
product-inventory-management/inventory-calculation-logic.md and inventory-management-api.md; data/processed/lazada/
guides/overview/lazop-2-0-overview.md):

- ``sellableQuantity`` is what buyers can buy; an order takes its units out of it when it is placed: into
  ``withholdQuantity`` while unpaid, into ``occupyQuantity`` from payment ("pending") to "packed"; ready-to-ship
  takes them out of stock; a cancellation gives them back to sellable.
- ``totalQuantity`` = sellable + withhold + occupy (per warehouse); UpdatePriceQuantity sets it and refuses a total
  below withhold + occupy; UpdateSellableQuantity and UpdateProduct set the sellable stock.
- A multi-warehouse seller has a stock per warehouse for every SKU; the read APIs leave out the warehouses without
  stock ("the field does not respond to information from other warehouses when those warehouses are not in stock").

Choices where the sources are silent (UNCONFIRMED): ``ready_to_ship_pending`` still occupies (the guide names
ready-to-ship as the moment units leave); an order placed in the sandbox holds at most the sellable units of one
warehouse (the one with most), since Lazada would not sell more; an unpaid order is not released after 30 minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nfsync.connectors.base.sandbox import SbOrder, SbShop, SbVariant

DROPSHIPPING = "dropshipping"
WITHHOLDING = frozenset({"unpaid"})
OCCUPYING = frozenset({"pending", "topack", "packed", "repacked", "toship", "ready_to_ship_pending"})
RELEASING = frozenset({"canceled"})


@dataclass(frozen=True)
class Levels:
    """One SKU's stock in one warehouse."""

    sellable: int
    withhold: int = 0
    occupy: int = 0

    @property
    def total(self) -> int:
        return self.sellable + self.withhold + self.occupy


@dataclass
class Hold:
    """Units one order line took out of a warehouse's sellable stock."""

    shop_id: str
    order_id: str
    variant_id: str
    warehouse: str
    units: int
    settled: bool = False


@dataclass
class StockBook:
    """The per-warehouse split of multi-warehouse SKUs and the holds of open orders. A SKU without a split has one
    warehouse, ``dropshipping``, whose sellable stock is ``SbVariant.stock``; with a split, ``SbVariant.stock`` is
    kept equal to the sum of its warehouses' sellable stock."""

    split: dict[str, dict[str, int]] = field(default_factory=dict)
    holds: list[Hold] = field(default_factory=list)
    seller_warehouses: dict[str, list[str]] = field(default_factory=dict)

    def warehouses_of(self, shop: SbShop) -> list[str]:
        """The seller's warehouse codes (GetMultiWarehouseBySeller); ``dropshipping`` first."""
        return self.seller_warehouses.get(shop.shop_id, [DROPSHIPPING])

    def add_warehouse(self, shop: SbShop, code: str) -> None:
        codes = self.warehouses_of(shop)
        if warehouse_code(codes, code) is None:
            self.seller_warehouses[shop.shop_id] = [*codes, code]

    def sellable(self, variant: SbVariant) -> dict[str, int]:
        return dict(self.split.get(variant.variant_id) or {DROPSHIPPING: variant.stock})

    def set_sellable(self, variant: SbVariant, code: str, units: int) -> None:
        current = self.sellable(variant)
        current[warehouse_code(current, code) or code] = units
        if set(current) != {DROPSHIPPING}:
            self.split[variant.variant_id] = current
        variant.stock = sum(current.values())

    def levels(self, shop: SbShop, variant: SbVariant) -> dict[str, Levels]:
        """Sellable, withheld and occupied units per warehouse, after settling the orders that moved on."""
        self.settle(shop)
        held: dict[str, list[int]] = {}
        for hold in self._open(shop, variant):
            status = shop.orders[hold.order_id].status
            counts = held.setdefault(hold.warehouse, [0, 0])
            counts[0 if status in WITHHOLDING else 1] += hold.units
        sellable = self.sellable(variant)
        codes = list(dict.fromkeys([*sellable, *held]))
        return {c: Levels(sellable.get(c, 0), *held.get(c, [0, 0])) for c in codes}

    def _open(self, shop: SbShop, variant: SbVariant) -> Iterable[Hold]:
        return (
            h for h in self.holds if h.shop_id == shop.shop_id and h.variant_id == variant.variant_id and not h.settled
        )

    def settle(self, shop: SbShop) -> None:
        """Holds of cancelled orders go back to sellable; holds of orders past packing leave the stock."""
        for hold in self.holds:
            order = shop.orders.get(hold.order_id) if hold.shop_id == shop.shop_id else None
            if hold.settled or order is None or order.status in WITHHOLDING | OCCUPYING:
                continue
            hold.settled = True
            if order.status in RELEASING:
                self._give_back(shop, hold)

    def _give_back(self, shop: SbShop, hold: Hold) -> None:
        variant = _variant(shop, hold.variant_id)
        if variant is not None:
            self.set_sellable(variant, hold.warehouse, self.sellable(variant).get(hold.warehouse, 0) + hold.units)

    def place(self, shop: SbShop, order: SbOrder) -> None:
        """A new order takes its units out of sellable stock: held while open, gone when already shipped."""
        if order.status in RELEASING:
            return
        for line in order.lines:
            variant = _variant(shop, line.variant_id or "")
            if variant is not None:
                self._take(shop, order, variant, line.quantity)

    def _take(self, shop: SbShop, order: SbOrder, variant: SbVariant, units: int) -> None:
        sellable = self.sellable(variant)
        code = max(sellable, key=lambda c: (sellable[c], c == DROPSHIPPING))
        taken = min(units, sellable[code])
        self.set_sellable(variant, code, sellable[code] - taken)
        settled = order.status not in WITHHOLDING | OCCUPYING
        self.holds.append(Hold(shop.shop_id, order.order_id, variant.variant_id, code, taken, settled))


def warehouse_code(codes: Iterable[str], wanted: str) -> str | None:
    """The code as the seller has it; codes compare case-insensitively (the docs write both ``dropshipping`` and
    ``Dropshipping``: UNCONFIRMED)."""
    return next((code for code in codes if code.lower() == wanted.strip().lower()), None)


def _variant(shop: SbShop, variant_id: str) -> SbVariant | None:
    for listing in shop.listings.values():
        for variant in listing.variants:
            if variant.variant_id == variant_id:
                return variant
    return None


def inventories(levels: Mapping[str, Levels]) -> list[dict[str, object]]:
    """``multiWarehouseInventories`` as the read APIs answer it: warehouses without stock left out, except
    dropshipping."""
    return [
        {
            "warehouseCode": code,
            "sellableQuantity": level.sellable,
            "withholdQuantity": level.withhold,
            "occupyQuantity": level.occupy,
            "totalQuantity": level.total,
            "quantity": level.sellable,
        }
        for code, level in levels.items()
        if level.total or code == DROPSHIPPING
    ]


class SkuRefused(Exception):
    """One SKU of a stock write is refused; the others of the call go on (``501`` with a ``detail`` entry)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name, self.message = field_name, message


def locate(shop: SbShop, sku: Mapping[str, object]) -> SbVariant:
    """The SKU an inventory write names. ``ItemId`` and ``SkuId`` are both required: every documented payload of
    UpdatePriceQuantity and UpdateSellableQuantity carries them, ``SellerSku`` is optional (stricter reading,
    UNCONFIRMED)."""
    item_id, sku_id = str(sku.get("ItemId") or "").strip(), str(sku.get("SkuId") or "").strip()
    for name, value in (("ItemId", item_id), ("SkuId", sku_id)):
        if not value:
            raise SkuRefused(name, f"{name} is mandatory")
    listing = shop.listings.get(item_id)
    variant = next((v for v in listing.variants if v.variant_id == sku_id), None) if listing else None
    if listing is None or listing.status == "deleted" or variant is None:
        raise SkuRefused("SkuId", "SKU not exist")
    return variant


def units(value: object, name: str) -> int:
    """A stock figure: a whole number, not negative ("Quantity cannot be negative")."""
    raw = str(value if value is not None else "").strip()
    if not raw.isdigit():
        raise SkuRefused(name, f"THD_INVENTORY_ERR_INV_PARAM_ILLEGAL:illegal parameter:{name}")
    return int(raw)


def per_warehouse(book: StockBook, shop: SbShop, sku: Mapping[str, object], name: str) -> dict[str, int] | None:
    """``MultiWarehouseInventories.MultiWarehouseInventory[]`` as {seller's warehouse code: units}, None when the
    SKU uses the single-warehouse form. Single-warehouse sellers may not use the multi-warehouse form ("otherwise
    an error may be reported": refused here, UNCONFIRMED message)."""
    node = sku.get("MultiWarehouseInventories")
    if node is None:
        return None
    entries = node.get("MultiWarehouseInventory") if isinstance(node, Mapping) else None
    rows = entries if isinstance(entries, list) else [entries] if entries else []
    codes = book.warehouses_of(shop)
    if len(codes) < 2:
        raise SkuRefused("MultiWarehouseInventories", "a single-warehouse seller cannot use MultiWarehouseInventories")
    found: dict[str, int] = {}
    for row in rows:
        wanted = str(row.get("WarehouseCode") or "") if isinstance(row, Mapping) else ""
        code = warehouse_code(codes, wanted)
        if code is None:
            raise SkuRefused("WarehouseCode", f"warehouse {wanted!r} does not belong to this seller")
        found[code] = units(row.get(name), name)
    if not found:
        raise SkuRefused("MultiWarehouseInventories", "MultiWarehouseInventory is empty")
    return found


def write_sellable(book: StockBook, shop: SbShop, sku: Mapping[str, object]) -> SbVariant:
    """UpdateSellableQuantity for one SKU: the sellable stock is overwritten (single form: dropshipping only)."""
    variant = locate(shop, sku)
    split = per_warehouse(book, shop, sku, "SellableQuantity")
    if split is None:
        split = {DROPSHIPPING: units(sku.get("SellableQuantity"), "SellableQuantity")}
    for code, count in split.items():
        book.set_sellable(variant, code, count)
    return variant


def write_total(book: StockBook, shop: SbShop, sku: Mapping[str, object]) -> SbVariant | None:
    """The ``Quantity`` half of UpdatePriceQuantity: the TOTAL stock, never below withhold + occupy; None when the
    SKU carries no quantity (a price-only row). Validated before anything is written."""
    variant = locate(shop, sku)
    split = per_warehouse(book, shop, sku, "Quantity")
    if split is None and sku.get("Quantity") is None:
        return None
    if split is None:
        split = {DROPSHIPPING: units(sku.get("Quantity"), "Quantity")}
    levels = book.levels(shop, variant)
    for code, total in split.items():
        held = levels.get(code, Levels(0))
        if total < held.withhold + held.occupy:
            raise SkuRefused(
                "Quantity",
                f"the quantity {total} is below the withheld and occupied stock "
                f"({held.withhold + held.occupy}) of warehouse {code}",
            )
    for code, total in split.items():
        held = levels.get(code, Levels(0))
        book.set_sellable(variant, code, total - held.withhold - held.occupy)
    return variant
