"""Inputs of the sandbox's product edits: ``productUpdate`` (UPDATE_PRODUCT) and ``productVariantsBulkCreate``
(CREATE_VARIANTS), parsed as GraphQL coerces variables (a bad shape is a top-level error) and checked as Shopify
answers them (``userErrors``, nothing applied when there is one: the stricter reading).

Facts: SD-REF ``ProductUpdateInput`` (fields), ``productVariantsBulkCreate`` and
``ProductVariantsBulkCreateUserErrorCode`` (codes NEED_TO_ADD_OPTION_VALUES,
OPTION_VALUES_FOR_NUMBER_OF_UNKNOWN_OPTIONS, NEGATIVE_PRICE_VALUE, PRODUCT_DOES_NOT_EXIST,
TRACKED_VARIANT_LOCATION_NOT_FOUND, NO_KEY_ON_CREATE), ``InventoryLevelInput`` (``locationId``,
``availableQuantity``). UNCONFIRMED: the messages' wording, VARIANT_ALREADY_EXISTS for a repeated option combination,
LIMIT_EXCEEDED past 2048 variants, and that a new value of an existing option is accepted (the reference lists
"creating variants with custom option values"; no code refuses an unknown value).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nfsync.connectors.base.sandbox import SbListing
from nfsync.connectors.shopify.sandbox import gql as g

Json = dict[str, Any]
MAX_VARIANTS = 2048  # variants per product (SD-REF productVariantsBulkCreate note, 2026-01 and later)

PRODUCT_UPDATE_FIELDS = frozenset(
    {
        "id",
        "title",
        "descriptionHtml",
        "handle",
        "status",
        "vendor",
        "productType",
        "tags",
        "seo",
        "category",
        "templateSuffix",
        "collectionsToJoin",
        "collectionsToLeave",
        "metafields",
        "redirectNewHandle",
        "requiresSellingPlan",
        "giftCardTemplateSuffix",
        "deleteConflictingConstrainedMetafields",
    }
)
"""SD-REF ProductUpdateInput (2025-10 and later); any other field is refused as GraphQL refuses undefined input
fields. Of these the sandbox applies ``title`` and ``descriptionHtml`` and keeps the rest unapplied."""
BULK_VARIANT_FIELDS = frozenset(
    {
        "optionValues",
        "price",
        "compareAtPrice",
        "barcode",
        "inventoryItem",
        "inventoryQuantities",
        "inventoryPolicy",
        "taxable",
        "mediaId",
        "mediaSrc",
        "metafields",
        "requiresComponents",
    }
)
"""SD-REF ProductVariantsBulkInput as productVariantsBulkCreate takes it (no ``id``: NO_KEY_ON_CREATE)."""


@dataclass(frozen=True)
class ProductUpdate:
    product_id: str
    title: str | None
    description: str | None


def product_update(variables: Json) -> ProductUpdate:
    data = variables.get("product")
    if not isinstance(data, dict):
        raise g.variable_error("product", "ProductUpdateInput!", data, "Expected an input object")
    unknown = sorted(set(data) - PRODUCT_UPDATE_FIELDS)
    if unknown:
        raise g.variable_error("product", "ProductUpdateInput!", data, f"Field is not defined: {unknown[0]}")
    product_id = g.gid_value(data.get("id"), "product.id", "Product")
    return ProductUpdate(
        product_id,
        g.string_var(data, "title", required=False),
        g.string_var(data, "descriptionHtml", required=False),
    )


def update_errors(update: ProductUpdate, listing: SbListing | None) -> list[Json]:
    """userErrors of ``productUpdate`` (UserError: field and message only, as the document selects)."""
    if listing is None:
        return [g.user_error(["id"], "Product does not exist")]
    if update.title is not None and not update.title.strip():
        return [g.user_error(["title"], "Title can't be blank")]
    return []


@dataclass(frozen=True)
class NewVariant:
    index: int
    options: dict[str, str]
    sku: str
    price: Decimal
    barcode: str | None
    levels: dict[str, int]  # location number -> available
    has_id: bool  # an ``id`` was sent (NO_KEY_ON_CREATE)


def new_variants(variables: Json) -> tuple[str, list[NewVariant]]:
    product_id = g.id_var(variables, "productId", "Product")
    raw = g.input_list(variables.get("variants"), "variants", "[ProductVariantsBulkInput!]!")
    return product_id, [_new_variant(item, i) for i, item in enumerate(raw)]


def _new_variant(raw: Any, i: int) -> NewVariant:
    where = f"variants.{i}"
    if not isinstance(raw, dict):
        raise g.variable_error(where, "ProductVariantsBulkInput!", raw, "Expected an object")
    unknown = sorted(set(raw) - BULK_VARIANT_FIELDS - {"id"})
    if unknown:
        raise g.variable_error(where, "ProductVariantsBulkInput!", raw, f"Field is not defined: {unknown[0]}")
    options: dict[str, str] = {}
    for value in g.input_list(raw.get("optionValues") or [], f"{where}.optionValues", "[VariantOptionValueInput!]"):
        if not isinstance(value, dict) or not isinstance(value.get("optionName"), str):
            raise g.variable_error(f"{where}.optionValues", "VariantOptionValueInput!", value, "Expected optionName")
        options[value["optionName"]] = str(value.get("name"))
    found = raw.get("inventoryItem")
    item: Json = found if isinstance(found, dict) else {}
    levels: dict[str, int] = {}
    for j, level in enumerate(
        g.input_list(raw.get("inventoryQuantities") or [], f"{where}.inventoryQuantities", "[InventoryLevelInput!]")
    ):
        at = f"{where}.inventoryQuantities.{j}"
        if not isinstance(level, dict) or set(level) != {"locationId", "availableQuantity"}:
            raise g.variable_error(at, "InventoryLevelInput!", level, "Expected {locationId, availableQuantity}")
        location = g.gid_value(level["locationId"], f"{at}.locationId", "Location")
        levels[location] = int(g.int_value(level["availableQuantity"], f"{at}.availableQuantity") or 0)
    price = g.money(raw["price"], f"{where}.price") if raw.get("price") is not None else Decimal(0)
    barcode = raw.get("barcode")
    sku = item.get("sku")
    return NewVariant(
        i,
        options,
        "" if sku is None else str(sku),
        price,
        None if barcode is None else str(barcode),
        levels,
        "id" in raw,
    )


def variant_errors(listing: SbListing, variants: list[NewVariant], known_location: Callable[[str], bool]) -> list[Json]:
    """userErrors of ``productVariantsBulkCreate`` for a product's option names (those of its variants) and
    combinations; ``known_location(number)`` says whether a location exists."""
    names = set(dict.fromkeys(n for v in listing.variants for n in v.options)) or {"Title"}
    taken = {tuple(sorted(v.options.items())) for v in listing.variants}
    errors: list[Json] = []
    if len(listing.variants) + len(variants) > MAX_VARIANTS:
        return [g.user_error(["variants"], f"A product can have at most {MAX_VARIANTS} variants.", "LIMIT_EXCEEDED")]
    for variant in variants:
        where = ["variants", str(variant.index)]
        sent = set(variant.options)
        if variant.has_id:
            errors.append(g.user_error([*where, "id"], "On create, this key cannot be used.", "NO_KEY_ON_CREATE"))
        if sent - names:
            message = "Variant options are more than the product options."
            errors.append(
                g.user_error([*where, "optionValues"], message, "OPTION_VALUES_FOR_NUMBER_OF_UNKNOWN_OPTIONS")
            )
        elif names - sent:
            errors.append(
                g.user_error([*where, "optionValues"], "Variant options are not enough.", "NEED_TO_ADD_OPTION_VALUES")
            )
        combination = tuple(sorted(variant.options.items()))
        if combination in taken:
            message = f"The variant '{' / '.join(variant.options.values())}' already exists."
            errors.append(g.user_error([*where, "optionValues"], message, "VARIANT_ALREADY_EXISTS"))
        taken.add(combination)
        if variant.price < 0:
            errors.append(
                g.user_error([*where, "price"], "Price cannot take a negative value.", "NEGATIVE_PRICE_VALUE")
            )
        if any(not known_location(location) for location in variant.levels):
            message = "Quantity could not be set. The location was not found."
            errors.append(g.user_error([*where, "inventoryQuantities"], message, "TRACKED_VARIANT_LOCATION_NOT_FOUND"))
    return errors
