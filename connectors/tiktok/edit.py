"""Editing an existing TikTok Shop product from a CRM draft (content mode ``crm``): a read-modify-write.

Facts (lazykern/ecommerce-api-docs@eba059e ``data/raw/tiktok/api-reference/products``):

- Edit Product (``edit-product.spec.json``, ``PUT /product/202509/products/{product_id}``) replaces the whole
  product: every property sent, blanks included, overwrites; a property left out is cleared; SKU ids left out of
  ``skus`` are deleted; only ``skus[].price`` and ``skus[].inventory`` keep their value when left out (also
  ``data/processed/tiktok/guides/changelog/products/price-and-inventory-is-optional-when-editing-products.md``).
  For active, KYC-complete sellers only. Required: title, description, category_id, main_images, skus,
  package_weight.
- Partial Edit Product (``partial-edit-product.spec.json``, ``POST .../{product_id}/partial_edit``) replaces only
  the top-level properties sent (an object or list sent is replaced whole: its omitted nested fields are blanked);
  everything else is left as it is. Open to all sellers. It has NO ``category_id`` (the category cannot change
  there) and its SKUs have no ``combined_skus`` (virtual bundles).

Choice: Partial Edit, sending only ``title``, ``description`` and ``skus`` (every SKU of the product, each complete
as read), so brand, attributes, images, certifications, size chart, video, package data, delivery options and any
property nfsync does not know stay exactly as they are, including those Get Product does not return at all
(``listing_platforms``, ``replicated_products``, ``category_version``), which a full replacement would clear.
Edit Product only when Partial Edit cannot do it: the draft moves the product to another category, or a SKU is a
virtual bundle; then the body is the product as read, converted from Get Product's shape to Edit Product's
(``FULL_FIELDS``; ``brand.id`` -> ``brand_id``, ``delivery_options[].id`` -> ``delivery_option_ids``, image
objects -> ``{uri}``, ...).

Either way: title from the draft; description from the draft when it has one; for the draft's SKUs the price
(``amount`` + ``currency``); every other SKU is sent back as read so it is kept; ``price`` of other SKUs and every
existing SKU's ``inventory`` are left out so TikTok keeps them (stock has its own call, Update Inventory, with the
warehouse rules of ``connectors.tiktok.inventory``); a draft SKU the product lacks is added with the shop's default
warehouse. Sales attributes are sent back as read (ids included), never rewritten from the CRM's option names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nfsync.connectors.base.models import Listing, ListingDraft, ListingVariant, VariantDraft
from nfsync.connectors.tiktok import mapping
from nfsync.connectors.tiktok.mapping import as_dict, as_list

Schema = Mapping[str, "Schema | None"]
"""The fields of an edit request: a nested field has its own schema, a plain value None."""

IMAGE: Schema = {"uri": None}
SKU_FIELDS: Schema = {
    "id": None,
    "seller_sku": None,
    "external_sku_id": None,
    "sku_unit_count": None,
    "external_urls": None,
    "extra_identifier_codes": None,
    "sales_attributes": {
        "id": None,
        "name": None,
        "value_id": None,
        "value_name": None,
        "sku_img": IMAGE,
        "supplementary_sku_images": IMAGE,
    },
    "identifier_code": {"code": None, "type": None},
    "list_price": {"amount": None, "currency": None},
    "external_list_prices": {"source": None, "amount": None, "currency": None},
    "pre_sale": {"type": None, "fulfillment_type": {"handling_duration_days": None, "release_date": None}},
    "fees": {"type": None, "amount": None, "additional_attribute": None},
}
"""SKU properties both edits take and Get Product returns (edit-product.spec.json and partial-edit-product.spec.json
``skus[]``, get-product.spec.json ``data.skus[]``), ``price`` and ``inventory`` aside."""
BUNDLE_FIELDS: Schema = {**SKU_FIELDS, "combined_skus": {"product_id": None, "sku_id": None, "sku_count": None}}
"""Edit Product's SKU: Partial Edit's plus ``combined_skus``."""
FULL_FIELDS: Schema = {
    "title": None,
    "description": None,
    "main_images": IMAGE,
    "is_cod_allowed": None,
    "external_product_id": None,
    "certifications": {
        "id": None,
        "images": IMAGE,
        "files": {"id": None, "name": None, "format": None},
        "expiration_date": None,
    },
    "package_weight": {"value": None, "unit": None},
    "package_dimensions": {"length": None, "width": None, "height": None, "unit": None},
    "product_attributes": {"id": None, "values": {"id": None, "name": None}},
    "size_chart": {"image": IMAGE, "template": {"id": None}},
    "video": {"id": None},
    "manufacturer_ids": None,
    "responsible_person_ids": None,
    "shipping_insurance_requirement": None,
    "is_pre_owned": None,
    "minimum_order_quantity": None,
    "shipping_template_id": None,
}
"""Edit Product properties Get Product returns under the same name (renamed ones: ``full_body``)."""


def project(value: Any, schema: Schema | None) -> Any:
    """``value`` reduced to the fields of ``schema`` (lists item by item); absent or null fields stay absent."""
    if schema is None:
        return value
    if isinstance(value, list):
        return [project(item, schema) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: project(value[key], schema[key]) for key in schema if value.get(key) is not None}


@dataclass(frozen=True)
class Edit:
    full: bool
    body: dict[str, Any]
    adds_skus: bool
    stock: dict[str, int] = field(default_factory=dict)
    """Draft SKUs already on the product whose one warehouse should get the draft's stock (seller SKU -> stock)."""


def leaf_category(product: Mapping[str, Any]) -> str | None:
    return mapping.listing(product).category_id


def plan(product: Mapping[str, Any], draft: ListingDraft, currency: str, warehouse: str, region: str) -> Edit:
    """The edit call for ``draft`` over the product as Get Product returned it."""
    skus = [as_dict(sku) for sku in as_list(product.get("skus"))]
    moves = bool(draft.category_id) and draft.category_id != leaf_category(product)
    full = moves or any(sku.get("combined_skus") for sku in skus)
    body = full_body(product, draft, region) if full else partial_body(product, draft)
    body["skus"] = sku_bodies(skus, draft, currency, warehouse, BUNDLE_FIELDS if full else SKU_FIELDS)
    known = {str(sku.get("seller_sku") or "") for sku in skus}
    return Edit(full, body, any(v.sku not in known for v in draft.variants), _stock_to_write(skus, draft))


def partial_body(product: Mapping[str, Any], draft: ListingDraft) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if draft.name != product.get("title"):
        body["title"] = draft.name
    if draft.description and draft.description != product.get("description"):
        body["description"] = draft.description
    return body | mapping.content_fields(draft)  # partial: each top-level field whole, what is not set stays


def full_body(product: Mapping[str, Any], draft: ListingDraft, region: str) -> dict[str, Any]:
    """The product as read, in Edit Product's shape, with the draft's title, description and category."""
    body: dict[str, Any] = project(dict(product), FULL_FIELDS)
    body.update(title=draft.name, category_id=draft.category_id or leaf_category(product) or "")
    if draft.description:
        body["description"] = draft.description
    brand = as_dict(product.get("brand")).get("id")
    if brand:
        body["brand_id"] = str(brand)
    options = [str(as_dict(o).get("id")) for o in as_list(product.get("delivery_options")) if as_dict(o).get("id")]
    if options:
        body["delivery_option_ids"] = options
    if region == "US":
        body["category_version"] = "v2"  # US shops use the v2 category tree (edit-product.spec.json category_id)
    return body | mapping.content_fields(draft)


def sku_bodies(
    skus: list[dict[str, Any]], draft: ListingDraft, currency: str, warehouse: str, schema: Schema
) -> list[dict[str, Any]]:
    """Every SKU of the product as read (price and inventory left out), the draft's prices on its own SKUs, and
    the draft's SKUs the product lacks added."""
    wanted = {v.sku: v for v in draft.variants}
    bodies = []
    for sku in skus:
        body = project(sku, schema)
        variant = wanted.pop(str(sku.get("seller_sku") or ""), None)
        if variant is not None:
            body["price"] = {"amount": mapping.amount(variant.price), "currency": currency}
        bodies.append(body)
    return bodies + [new_sku(variant, currency, warehouse) for variant in wanted.values()]


def new_sku(variant: VariantDraft, currency: str, warehouse: str) -> dict[str, Any]:
    return {
        "seller_sku": variant.sku,
        "price": {"amount": mapping.amount(variant.price), "currency": currency},
        "inventory": [{"warehouse_id": warehouse, "quantity": variant.stock}],
        "sales_attributes": mapping.sales_attributes(variant),
    }


def _stock_to_write(skus: list[dict[str, Any]], draft: ListingDraft) -> dict[str, int]:
    """The draft's SKUs on the product whose stock differs from the draft's."""
    stock = {str(sku.get("seller_sku") or ""): mapping.sku_stock(sku) for sku in skus}
    return {v.sku: v.stock for v in draft.variants if v.sku in stock and stock[v.sku] != v.stock}


def edited_listing(
    product: Mapping[str, Any], draft: ListingDraft, answer: list[Any], stock: Mapping[str, int], warehouse: str
) -> Listing:
    """The product after the edit: as read, with the draft's title, description, category and prices, the stock
    written (``stock``: seller SKU -> quantity) and the added SKUs with the ids of the answer (``data.skus``)."""
    current = mapping.listing(product)
    wanted = {v.sku: v for v in draft.variants}
    variants = [_edited_variant(v, wanted.pop(v.sku, None), stock) for v in current.variants]
    ids = {str(s.get("seller_sku")): str(s.get("id")) for s in map(as_dict, answer) if s.get("id")}
    variants += [
        ListingVariant(
            platform_variant_id=ids.get(v.sku),
            sku=v.sku,
            price=v.price,
            stock=v.stock,
            options=dict(v.options),
            warehouses={warehouse: v.stock},
        )
        for v in wanted.values()
    ]
    return current.model_copy(
        update={
            "name": draft.name,
            "description": draft.description or current.description,
            "category_id": draft.category_id or current.category_id,
            "variants": variants,
            "updated_at": datetime.now(UTC),
        }
    )


def _edited_variant(variant: ListingVariant, wanted: VariantDraft | None, stock: Mapping[str, int]) -> ListingVariant:
    if wanted is None:
        return variant
    if variant.sku not in stock:
        return variant.model_copy(update={"price": wanted.price})
    warehouses = dict.fromkeys(variant.warehouses, stock[variant.sku])
    return variant.model_copy(update={"price": wanted.price, "stock": stock[variant.sku], "warehouses": warehouses})
