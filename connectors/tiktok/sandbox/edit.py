"""How the TikTok Shop sandbox judges and applies Edit Product (a full replacement) and Partial Edit Product (per
top-level property), and how it shows the properties nfsync does not model in Get Product.

Facts (lazykern/ecommerce-api-docs@eba059e ``data/raw/tiktok/api-reference/products/edit-product.spec.json`` and
``partial-edit-product.spec.json``, version 202509; ``get-product.spec.json``):

- Edit Product: every property sent overwrites, a property left out is cleared, SKU ids left out are deleted,
  SKUs without id are created; ``skus[].price`` and ``skus[].inventory`` left out keep their value (changelog
  ``price-and-inventory-is-optional-when-editing-products.md``). Required: title, description (``12052015``),
  category_id (``12052023``), main_images 1-9 (``12052028``), skus (``12052902``), package_weight.
- Partial Edit: only the top-level properties sent change; a SKU list sent follows the same SKU rules; it has no
  ``category_id``, ``delivery_option_ids`` or ``combined_skus`` (sent anyway, they are ignored here: UNCONFIRMED).
- Both: a SKU id must belong to the product (``12052557``); a new SKU needs a price (``12052571``); an inventory
  list sent for an existing SKU names exactly its warehouses (``12052516`` Edit / ``12052533``); at least one
  sales attribute stays on a SKU that had some (``12052910``, code UNCONFIRMED).
- Get Product shows ``brand {id, name}`` for ``brand_id``, ``delivery_options[{id, name, is_available}]`` for
  ``delivery_option_ids``, images with ``urls``/``thumb_urls``/``height``/``width`` next to ``uri``, and does not
  return ``listing_platforms``, ``replicated_products``, ``subscribe_info_edit`` or ``category_version``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from nfsync.connectors.base.sandbox import SbListing, SbShop, SbVariant
from nfsync.connectors.tiktok import errors as e
from nfsync.connectors.tiktok.mapping import as_dict, as_list
from nfsync.connectors.tiktok.sandbox import checks as c
from nfsync.connectors.tiktok.sandbox import render as r
from nfsync.connectors.tiktok.sandbox.store import Store

MODELLED = frozenset({"title", "description", "category_id", "skus", "save_mode", "idempotency_key"})
FULL_PROPERTIES = frozenset(
    {
        "brand_id",
        "main_images",
        "is_cod_allowed",
        "certifications",
        "package_weight",
        "product_attributes",
        "size_chart",
        "package_dimensions",
        "external_product_id",
        "delivery_option_ids",
        "video",
        "category_version",
        "manufacturer_ids",
        "responsible_person_ids",
        "listing_platforms",
        "shipping_insurance_requirement",
        "is_pre_owned",
        "minimum_order_quantity",
        "replicated_products",
        "subscribe_info_edit",
        "shipping_template_id",
    }
)
"""Edit Product's top-level properties other than title, description, category_id, skus and save_mode."""
PARTIAL_PROPERTIES = FULL_PROPERTIES - {
    "delivery_option_ids",
    "category_version",
    "shipping_insurance_requirement",
    "is_pre_owned",
    "minimum_order_quantity",
    "shipping_template_id",
}
SKU_MODELLED = frozenset({"id", "seller_sku", "price", "inventory", "identifier_code"})


# ------------------------------------------------------------------------------------------------- checks


def check_edit(
    store: Store, shop: SbShop, listing: SbListing, body: Mapping[str, Any], *, full: bool
) -> web.Response | None:
    problem = c.check_content(store, shop, body, full=full)
    if problem is None and (full or "skus" in body):
        problem = check_skus(store, shop, listing, [as_dict(sku) for sku in as_list(body.get("skus"))], full=full)
    return problem


def check_skus(
    store: Store, shop: SbShop, listing: SbListing, skus: list[dict[str, Any]], *, full: bool
) -> web.Response | None:
    problem = c.check_sku_list(skus) or c.check_sku_ids(listing, skus)
    known = {v.variant_id: v for v in listing.variants}
    for sku in skus:
        variant = known.get(str(sku.get("id") or ""))
        problem = problem or (
            check_new_sku(store, shop, sku) if variant is None else check_old_sku(store, shop, variant, sku, full=full)
        )
    return problem


def check_new_sku(store: Store, shop: SbShop, sku: Mapping[str, Any]) -> web.Response | None:
    if not as_dict(sku.get("price")):
        return r.error(400, e.PRICE_MISSING, "A new SKU needs a price.")
    return c.check_price(shop, as_dict(sku["price"])) or c.check_inventory(store, shop, sku)


def check_old_sku(
    store: Store, shop: SbShop, variant: SbVariant, sku: Mapping[str, Any], *, full: bool
) -> web.Response | None:
    if variant.options and not as_list(sku.get("sales_attributes")):
        return r.error(400, e.INPUT_INVALID, "Invalid input parameters: a SKU must keep its sales attributes.")
    if "price" in sku and (problem := c.check_price(shop, as_dict(sku["price"]))) is not None:
        return problem
    if "inventory" not in sku:
        return None
    assigned = store.stock_of(shop, variant)
    rows = c.given_rows(assigned, [as_dict(row) for row in as_list(sku["inventory"])])
    missing = e.WAREHOUSE_DETAILS_MISSING if full else e.WAREHOUSES_CHANGED
    found = c.warehouse_problem(store, shop, assigned, rows, missing)
    if found is not None:
        return r.error(400, found[0], f"{found[1]} (warehouse {found[2]})")
    if any(not c.quantity_ok(row.get("quantity")) for row in rows):
        return r.error(400, e.INVENTORY_OUT_OF_RANGE, "The SKU inventory quantity is out of range.")
    return None


# ------------------------------------------------------------------------------------------------ applying


def content_after(current: Mapping[str, Any], body: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
    """The product's unmodelled properties after an edit: the body's alone (full), or the current ones with the
    body's top-level properties replacing theirs (partial)."""
    if full:
        return {key: value for key, value in body.items() if key in FULL_PROPERTIES}
    return {**current, **{key: value for key, value in body.items() if key in PARTIAL_PROPERTIES}}


def sku_fields(sku: Mapping[str, Any]) -> dict[str, Any]:
    """A SKU's unmodelled properties as sent (sales attributes included): they replace the stored ones."""
    return {key: value for key, value in sku.items() if key not in SKU_MODELLED}


def options_of(sku: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, str]:
    """Option name -> value from ``sales_attributes``; an id the product knows wins over a name (the docs: "if both
    are provided, the ID takes priority")."""
    options = {}
    for attribute in map(as_dict, as_list(sku.get("sales_attributes"))):
        name = names.get(str(attribute.get("id"))) or str(attribute.get("name") or "")
        options[name] = names.get(str(attribute.get("value_id"))) or str(attribute.get("value_name") or "")
    return options


def attribute_names(listing: SbListing) -> dict[str, str]:
    """Attribute and value id -> name for the product's current options (the ids the sandbox shows)."""
    names = {}
    for variant in listing.variants:
        for name, value in variant.options.items():
            names[r.attribute_id(name)], names[r.attribute_id(name, value)] = name, value
    return names
