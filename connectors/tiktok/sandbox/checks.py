"""How the TikTok Shop sandbox judges a request: filters, and the checks behind each error code it answers.
Codes and messages: TTS-DOC per-API error lists (``raw/tiktok/api-reference/products/*.spec.json``)."""

from __future__ import annotations

from collections.abc import Mapping
from email.parser import BytesParser
from email.policy import default
from typing import Any

from aiohttp import web

from nfsync.connectors.base import sandbox_categories as categories
from nfsync.connectors.base.sandbox import SbListing, SbOrder, SbShop, SbVariant, is_jpeg_or_png
from nfsync.connectors.tiktok import client as api
from nfsync.connectors.tiktok import errors as e
from nfsync.connectors.tiktok.mapping import as_dict, as_list
from nfsync.connectors.tiktok.sandbox import render as r
from nfsync.connectors.tiktok.sandbox.store import Store

MAX_SKUS = 100
MAX_IMAGES = 9
TITLE_RANGE = (25, 255)  # "other regions", which includes every SEA market (docs/platforms/listings/tiktok.md)
SHORT_TITLE_REGIONS = frozenset({"DE", "ES", "FR", "IE", "IT", "JP", "UK", "US"})  # [1, 255] there


def no_product() -> web.Response:
    return r.error(400, e.PRODUCT_NOT_FOUND, "The product does not exist")


def live(shop: SbShop, item_id: str) -> SbListing | None:
    listing = shop.listings.get(item_id)
    return listing if listing is not None and listing.status != "deleted" else None


def after(orders: list[SbOrder], cursor: tuple[int, int], field: str, *, descending: bool) -> list[SbOrder]:
    """The orders past a cursor in the page order (keyset paging: an order updated meanwhile moves, none is lost)."""
    if descending:
        return [o for o in orders if r.order_key(o, field) < cursor]
    return [o for o in orders if r.order_key(o, field) > cursor]


def in_range(value: float, body: Mapping[str, Any], low: str, high: str, *, inclusive: bool) -> bool:
    if body.get(low) is not None and int(value) < int(body[low]):
        return False
    if body.get(high) is None:
        return True
    return int(value) <= int(body[high]) if inclusive else int(value) < int(body[high])


def search_status(body: Mapping[str, Any]) -> str | None:
    """Search Products' ``status``: one documented value, ``ALL`` when not sent (an empty string counts as not sent:
    UNCONFIRMED); None for anything else (lazykern/ecommerce-api-docs@eba059e
    ``data/raw/tiktok/api-reference/products/search-products.spec.json``, body ``status``)."""
    status = body.get("status")
    if status is None or status == "":
        return "ALL"
    return status if isinstance(status, str) and status in api.SEARCH_STATUSES else None


def check_search(body: Mapping[str, Any]) -> web.Response | None:
    """The Search Products body filters: ``seller_skus`` and ``sku_ids`` ≤ 10, ``status`` one documented value."""
    if len(as_list(body.get("seller_skus"))) > api.SELLER_SKU_FILTER_CAP:
        return r.error(400, e.TOO_MANY_SELLER_SKUS, "The maximum count of “seller_skus” in the search filter is 10.")
    if len(as_list(body.get("sku_ids"))) > api.SELLER_SKU_FILTER_CAP:
        return r.error(400, e.TOO_MANY_SKU_IDS, "The number of SKU IDs exceeds the limit of 10")
    if search_status(body) is None:
        return r.error(400, e.INPUT_INVALID, "Invalid input parameters. Refer to the API documentation for details.")
    return None


def product_matches(listing: SbListing, body: Mapping[str, Any]) -> bool:
    """ALL (the default) is every product, DELETED and DRAFT ones included (search-products.spec.json: ``status``
    "Default: ALL", DELETED and DRAFT being values of the same list); any other value is that status only."""
    status = search_status(body)
    if status != "ALL" and status != r.LISTING_STATUS.get(listing.status, listing.status.upper()):
        return False
    skus, ids = set(as_list(body.get("seller_skus"))), set(as_list(body.get("sku_ids")))
    if skus and not any(v.sku in skus for v in listing.variants):
        return False
    if ids and not any(v.variant_id in ids for v in listing.variants):
        return False
    return in_range(listing.updated_at, body, "update_time_ge", "update_time_le", inclusive=True) and in_range(
        listing.created_at, body, "create_time_ge", "create_time_le", inclusive=True
    )


def order_matches(order: SbOrder, body: Mapping[str, Any]) -> bool:
    if body.get("order_status") and order.status != body["order_status"]:
        return False
    return in_range(order.updated_at, body, "update_time_ge", "update_time_lt", inclusive=False) and in_range(
        order.created_at, body, "create_time_ge", "create_time_lt", inclusive=False
    )


def variant_spec(sku: Mapping[str, Any]) -> dict[str, Any]:
    inventory = [as_dict(row) for row in as_list(sku.get("inventory"))]
    options = {
        str(a.get("name") or a.get("id") or ""): str(a.get("value_name") or a.get("value_id") or "")
        for a in map(as_dict, as_list(sku.get("sales_attributes")))
    }
    return {
        "sku": str(sku.get("seller_sku") or ""),
        "price": str(as_dict(sku.get("price")).get("amount")),
        "stock": sum(int(row.get("quantity") or 0) for row in inventory),
        "options": options,
    }


def check_product(store: Store, shop: SbShop, body: Mapping[str, Any]) -> web.Response | None:
    if not str(body.get("title") or "").strip():
        return r.error(400, e.INPUT_INVALID, "Invalid input parameters. The product title is required.")
    problem = check_category(body)  # an empty or non-numeric category does not exist
    if problem is not None:
        return problem
    skus = [as_dict(sku) for sku in as_list(body.get("skus"))]
    if not skus:
        return r.error(400, e.SKU_LIST_EMPTY, "The SKU list is empty.")
    if len(skus) > MAX_SKUS:
        return r.error(400, e.TOO_MANY_SKUS, "A single product cannot have more than 100 different SKUs")
    for sku in skus:
        problem = check_price(shop, as_dict(sku.get("price"))) or check_inventory(store, shop, sku)
        if problem is not None:
            return problem
    return None


def check_content(store: Store, shop: SbShop, body: Mapping[str, Any], *, full: bool) -> web.Response | None:
    """Create Product's and Edit Product's required properties (``full``), or the ones a Partial Edit sends: none
    blank, a title of 25 to 255 characters in SEA (12052051 above; below, 12052910: UNCONFIRMED code), 1 to 9
    main images (12052028, 12052306), each a uri Upload Product Image issued (12052300)."""
    if full:
        weight = as_dict(body.get("package_weight"))
        if not str(body.get("category_id") or "").strip():
            return r.error(400, e.CATEGORY_NOT_FOUND, "Category does not exist")
        if not weight.get("value") or not weight.get("unit"):
            return r.error(400, e.INPUT_INVALID, "Invalid input parameters: package_weight (value, unit) is required.")
    names = ("title", "description", "main_images")
    sent = {n: body.get(n) for n in names} if full else {n: body[n] for n in names if n in body}
    return _check_title(shop, sent) or _check_description(sent) or _check_images(store, sent)


def _check_title(shop: SbShop, sent: Mapping[str, Any]) -> web.Response | None:
    if "title" not in sent:
        return None
    title = str(sent["title"] or "").strip()
    low, high = (1, 255) if shop.region in SHORT_TITLE_REGIONS else TITLE_RANGE
    if len(title) > high:
        return r.error(400, e.TITLE_TOO_LONG, f"The product title exceeds the maximum of {high} characters.")
    if len(title) < low:
        return r.error(400, e.INPUT_INVALID, f"Invalid input parameters: the title needs {low} to {high} characters.")
    return None


def _check_description(sent: Mapping[str, Any]) -> web.Response | None:
    if "description" in sent and not str(sent["description"] or "").strip():
        return r.error(400, e.DESCRIPTION_REQUIRED, "The product description is required.")
    return None


def _check_images(store: Store, sent: Mapping[str, Any]) -> web.Response | None:
    if "main_images" not in sent:
        return None
    images = as_list(sent["main_images"])
    if not images:
        return r.error(400, e.MAIN_IMAGE_REQUIRED, "At least one main image is required.")
    if len(images) > MAX_IMAGES:
        return r.error(400, e.TOO_MANY_MAIN_IMAGES, f"A product takes at most {MAX_IMAGES} main images.")
    if not all(as_dict(i).get("uri") in store.images for i in images):
        return r.error(400, e.MAIN_IMAGE_URI_ILLEGAL, "The main image uri is illegal: upload the image first.")
    return None


def cleared_brand(content: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """An invalid ``brand_id`` is cleared and reported in ``warnings``, not refused (TikTok's changelog "changes to
    create product and edit product APIs", docs/platforms/listings/tiktok.md)."""
    brand = content.get("brand_id")
    if brand is None or categories.known_brand(brand):
        return content, []
    message = f"The [brand_id]:{brand} field is incorrect and has been automatically cleared."
    return {k: v for k, v in content.items() if k != "brand_id"}, [{"message": message}]


def check_price(shop: SbShop, price: Mapping[str, Any]) -> web.Response | None:
    if r.price_of(price.get("amount")) is None:
        return r.error(400, e.PRICE_INVALID, "The product price is invalid")
    if price.get("currency") != r.currency_of(shop):
        return r.error(400, e.CURRENCY_INVALID, "The provided currency is not available for this shop/region.")
    return None


def check_inventory(store: Store, shop: SbShop, sku: Mapping[str, Any]) -> web.Response | None:
    """A new SKU's inventory: at least one row, every warehouse a sales warehouse of the shop."""
    rows = [as_dict(row) for row in as_list(sku.get("inventory"))]
    if not rows or any(not store.known(shop, str(row.get("warehouse_id") or "")) for row in rows):
        return r.error(400, e.WAREHOUSE_NOT_FOUND, "The warehouse does not exist")
    if any(not quantity_ok(row.get("quantity")) for row in rows):
        return r.error(
            400, e.INVENTORY_OUT_OF_RANGE, "The SKU inventory quantity for the warehouse must be within allowed limits."
        )
    return None


def quantity_ok(value: Any) -> bool:
    """[0, 99,999]: the docs say [1, 99,999]; whether 0 is refused is UNCONFIRMED and a sync must set 0."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= r.MAX_QUANTITY


def check_prices(shop: SbShop, listing: SbListing, skus: list[dict[str, Any]]) -> web.Response | None:
    problem = check_sku_list(skus) or check_sku_ids(listing, skus, required=True)
    if problem is None and listing.status != "active":
        problem = r.error(
            400, e.PRODUCT_STATUS_INVALID, "The product in its current status is not available for this operation."
        )
    for sku in skus:
        problem = problem or check_price(shop, as_dict(sku.get("price")))
    return problem


def check_sku_list(skus: list[dict[str, Any]]) -> web.Response | None:
    if not skus:
        return r.error(
            400,
            e.SKU_LIST_EMPTY,
            "The SKU list is empty. Either omit the list entirely, or provide all required details.",
        )
    if len(skus) > MAX_SKUS:
        return r.error(400, e.TOO_MANY_SKUS, "A single product cannot have more than 100 different SKUs")
    ids = [str(sku.get("id") or "") for sku in skus]
    if len(set(ids)) != len(ids):
        return r.error(400, e.SKU_DUPLICATE, "Sku id duplicate")
    return None


def check_sku_ids(listing: SbListing, skus: list[Any], *, required: bool = False) -> web.Response | None:
    """Every SKU id a body names must belong to the product (price updates must name one for each SKU)."""
    known = {v.variant_id for v in listing.variants}
    for sku in map(as_dict, skus):
        sku_id = str(sku.get("id") or "")
        if (sku_id or required) and sku_id not in known:
            return r.error(400, e.SKU_NOT_IN_PRODUCT, "The SKU ID does not belong to the product.")
    return None


def given_rows(assigned: Mapping[str, int], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with ``warehouse_id`` filled in where the docs let it be omitted: a SKU with one warehouse
    (update-inventory.spec.json ``skus[].inventory[].warehouse_id``)."""
    if len(assigned) == 1 and len(rows) == 1 and not rows[0].get("warehouse_id"):
        return [{**rows[0], "warehouse_id": next(iter(assigned))}]
    return rows


def warehouse_problem(
    store: Store, shop: SbShop, assigned: Mapping[str, int], rows: list[dict[str, Any]], missing_code: str
) -> tuple[str, str, str] | None:
    """(code, message, warehouse id) when the rows are not exactly the SKU's assigned warehouses: every one of
    them, none unknown, none added (update-inventory.spec.json ``skus[].inventory``: all assigned warehouses, no
    omission, no unrelated one; codes 12019028, 12052533, 12052097; edit-product.spec.json: 12052516, 12052533).
    Whether TikTok answers these per SKU or for the whole call is UNCONFIRMED (the sandbox: per SKU on Update
    Inventory, for the call on Edit Product)."""
    if not rows:
        return e.NO_VALID_WAREHOUSE, "The SKU has no inventory row with a valid warehouse.", ""
    given = [str(row.get("warehouse_id") or "") for row in rows]
    for warehouse in given:
        if not store.known(shop, warehouse):
            return e.WAREHOUSE_NOT_FOUND, "The warehouse does not exist", warehouse
        if warehouse not in assigned or given.count(warehouse) > 1:
            return e.WAREHOUSES_CHANGED, "A SKU's warehouses cannot be added, removed or changed here.", warehouse
    missing = [warehouse for warehouse in assigned if warehouse not in given]
    if missing:
        return missing_code, "The SKU is stocked in several warehouses: list every one of them.", missing[0]
    return None


def inventory_failure(store: Store, shop: SbShop, by_id: Mapping[str, SbVariant], sku: Mapping[str, Any]) -> Any:
    """The ``data.errors`` entry for one SKU of an inventory update, or None when it can be applied."""
    sku_id = str(sku.get("id") or "")
    if sku_id not in by_id:
        return r.check_failed(sku_id, e.SKU_NOT_FOUND, "The SKU id not exist.")
    assigned = store.stock_of(shop, by_id[sku_id])
    rows = given_rows(assigned, [as_dict(row) for row in as_list(sku.get("inventory"))])
    problem = warehouse_problem(store, shop, assigned, rows, e.MULTI_WAREHOUSE)
    if problem is not None:
        return r.check_failed(sku_id, *problem)
    for row in rows:
        if not quantity_ok(row.get("quantity")):
            return r.check_failed(
                sku_id,
                e.INVENTORY_OUT_OF_RANGE,
                "The SKU inventory quantity for the warehouse must be within allowed limits.",
                str(row["warehouse_id"]),
            )
    return None


def stock_split(assigned: Mapping[str, int], sku: Mapping[str, Any]) -> dict[str, int]:
    """The quantities an accepted inventory list sets, per warehouse."""
    rows = given_rows(assigned, [as_dict(row) for row in as_list(sku.get("inventory"))])
    return {str(row["warehouse_id"]): int(row["quantity"]) for row in rows}


def check_category(body: Mapping[str, Any]) -> web.Response | None:
    found, problem = leaf_category(str(body.get("category_id")))
    if problem is None and found is not None:
        problem = check_attributes(found, body.get("product_attributes"))
    return problem


def leaf_category(category_id: str) -> tuple[categories.SbCategory | None, web.Response | None]:
    """A category the sandbox's tree holds must be a leaf (12052024); an id of digits it does not hold is accepted as a
    leaf without requirements; anything else does not exist (12052023)."""
    if not category_id.isdigit():
        return None, r.error(400, e.CATEGORY_NOT_FOUND, "Category does not exist")
    found = categories.category(category_id)
    if found is not None and not found.leaf:
        return None, r.error(400, e.NOT_LEAF_CATEGORY, "The category is not a leaf category.")
    return found, None


def attribute_json(attribute: categories.SbAttribute) -> dict[str, Any]:
    """Get Attributes' shape (``is_requried``: the reference's spelling)."""
    return {
        "id": str(attribute.id),
        "name": attribute.name,
        "type": "SALES_PROPERTY" if attribute.sale_property else "PRODUCT_PROPERTY",
        "is_requried": attribute.required,
        "is_customizable": attribute.custom,
        "is_multiple_selection": attribute.multiple,
        "values": [{"id": str(k), "name": v} for k, v in attribute.values.items()],
        "requirement_conditions": [
            {"condition_type": "VALUE_ID_MATCH", "attribute_id": str(a), "attribute_value_id": str(v)}
            for a, v in attribute.required_if
        ],
    }


def check_attributes(found: categories.SbCategory, raw: Any) -> web.Response | None:
    """Create Product refuses a missing required property (12052104) and a value it does not take (12052529)."""
    given: dict[int, list[str]] = {}
    for entry in map(as_dict, as_list(raw)):
        attribute = str(entry.get("id") or "")
        if not attribute.isdigit():
            return r.error(400, e.INPUT_INVALID, "Invalid input parameters. product_attributes.id is required.")
        values = [as_dict(v) for v in as_list(entry.get("values"))]
        given[int(attribute)] = [str(v.get("id") or v.get("name") or "") for v in values]
    missing = categories.missing_attributes(found, given, conditions=True)
    if missing:
        return r.error(400, e.PROPERTY_REQUIRED, f"The property [{missing[0].name}] is required.")
    bad = categories.bad_values(found, given)
    if bad:
        return r.error(400, e.PROPERTY_VALUE_UNKNOWN, "; ".join(bad))
    return None


MAX_UPLOAD = 5 * 1024 * 1024
IMAGE_HOST = "https://sandbox-images.tiktokshop.invalid"  # where the sandbox says an uploaded image is served
USE_CASES = frozenset({"MAIN_IMAGE", "ATTRIBUTE_IMAGE", "DESCRIPTION_IMAGE", "CERTIFICATION_IMAGE", "SIZE_CHART_IMAGE"})


def form_parts(raw: bytes, content_type: str) -> dict[str, bytes]:
    """The parts of a multipart/form-data body by name (the standard library's MIME parser)."""
    message = BytesParser(policy=default).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    parts: dict[str, bytes] = {}
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = payload
    return parts


def uploaded_image(store: Store, raw: bytes, content_type: str) -> web.Response:
    parts = form_parts(raw, content_type)
    data, use_case = parts.get("data"), parts.get("use_case", b"MAIN_IMAGE").decode(errors="replace")
    if not data:
        return r.error(400, e.UPLOAD_INVALID, "Invalid upload file: the part data is required.")
    if use_case not in USE_CASES:
        return r.error(400, e.INPUT_INVALID, f"Invalid input parameters. use_case {use_case!r} is not supported.")
    if len(data) > MAX_UPLOAD:
        return r.error(400, e.UPLOAD_TOO_LARGE, "The file size exceeds the maximum limit.")
    if not is_jpeg_or_png(data):
        return r.error(400, e.UPLOAD_FORMAT, "The image format is not supported: JPG, JPEG or PNG.")
    uri = store.issue_image()
    return r.ok(
        {"uri": uri, "url": f"https://p16-oec-sg.ibyteimg.com/{uri}~tplv-o3syd03w52-origin.jpeg", "use_case": use_case}
    )
