"""Lazada payloads to and from the shared models.

Shapes follow the response examples of the LAZ-DOC API reference (``raw/lazada/apis/**``: GetSeller, GetProducts,
GetProductItem, CreateProduct, GetOrders, GetOrder, GetMultipleOrderItems, GenerateAccessToken,
RefreshAccessToken) and the request examples of the inventory guide (``UpdatePriceQuantity`` XML payload). The
examples disagree on small things (ids as numbers or strings, ``item_id`` or ``itemId``, order times as ISO 8601
or ``"2014-10-11 22:17:11 +0800"``, money with or without thousands separators); the readers accept every form.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from nfsync.connectors.base.categories import AttributeOption, AttributeRule, CategoryRequirements
from nfsync.connectors.base.listing import Package
from nfsync.connectors.base.models import (
    Buyer,
    Listing,
    ListingDraft,
    ListingVariant,
    Order,
    OrderLine,
    ShopInfo,
    TokenPair,
    VariantDraft,
    barcode_of,
)
from nfsync.connectors.base.secret import Secret

REGION_CURRENCY = {"sg": "SGD", "my": "MYR", "th": "THB", "vn": "VND", "ph": "PHP", "id": "IDR"}

ORDER_PROGRESSION = (
    "unpaid",
    "pending",
    "topack",
    "repacked",
    "packed",
    "toship",
    "ready_to_ship_pending",
    "ready_to_ship",
    "shipping",
    "shipped",
    "delivered",
)
"""Documented order-item statuses of an item still under way, from the least to the most advanced."""
ORDER_ENDED = (
    "returned",
    "shipped_back_success",
    "shipped_back",
    "shipped_back_failed",
    "failed_delivery",
    "failed",
    "lost_by_3pl",
    "lost",
    "damaged_by_3pl",
    "package_scrapped",
    "canceled",
)
"""Documented order-item statuses that take an item out of the order's progress, in the order an all-ended order
reports them (an order is ``canceled`` only when all its items are)."""

_PRODUCT_STATUS = {"active": "active", "inactive": "inactive", "deleted": "deleted", "pending qc": "pending"}


# ---------------------------------------------------------------------------------------------------- scalars


def text(value: Any) -> str:
    return "" if value is None else str(value)


def money(value: Any) -> Decimal:
    """A Lazada amount (number, "106.00" or "1,260.00") as Decimal; empty means zero."""
    raw = text(value).replace(",", "").strip()
    if not raw:
        return Decimal(0)
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"not an amount: {raw[:40]!r}") from None


def from_millis(value: Any) -> datetime | None:
    """``"1611554725000"`` (ms since the epoch) as an aware UTC datetime."""
    raw = text(value).strip()
    if not raw.isdigit():
        return None
    return datetime.fromtimestamp(int(raw) / 1000, UTC)


def from_epoch(value: Any) -> datetime | None:
    """Seconds or milliseconds since the epoch (push payloads use both) as an aware UTC datetime."""
    raw = text(value).strip()
    if not raw.isdigit():
        return None
    number = int(raw)
    return datetime.fromtimestamp(number / 1000 if number > 100_000_000_000 else number, UTC)


def parse_time(value: Any) -> datetime | None:
    """An order time: ISO 8601 (``2018-02-09T22:44:30+08:00``), ``2014-10-11 22:17:11 +0800`` or ms."""
    raw = text(value).strip()
    if not raw or raw == "null":
        return None
    if raw.isdigit():
        return from_millis(raw)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        try:
            parsed = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S %z")
        except ValueError:
            return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 at second precision in UTC, the form the ``*_after``/``*_before`` filters take."""
    return floor_second(moment).isoformat(timespec="seconds")


def floor_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


# ---------------------------------------------------------------------------------------------------- auth


def token_pair(body: Mapping[str, Any], now: datetime) -> TokenPair:
    """GenerateAccessToken / RefreshAccessToken answer (top level, not under ``data``).

    ``country`` is the account's venture, or ``cb`` (cross-border: one token for a seller in each of several
    ventures); ``country_user_info`` (``country_user_info_list`` in the refresh answer) names the seller of each
    venture. ``extra["ventures"]`` maps each seller id to its venture and ``extra["shop_data"]`` carries it as
    ``{"venture": ...}`` per shop, for the shop's data: the client calls the host of that venture. Countries are
    compared case-insensitively ('SG' in the GenerateAccessToken sample, 'sg' elsewhere). Expiries may come as
    strings (both samples). Source: LAZ-GUIDE quick-start-guide/seller-authorization-introduction.md."""
    refresh_left = int(text(body.get("refresh_expires_in")) or 0)
    refresh = text(body.get("refresh_token"))
    ventures = seller_ventures(body)
    account = body.get("account_id") or body.get("account")
    return TokenPair(
        access_token=Secret(text(body.get("access_token"))),
        refresh_token=Secret(refresh) if refresh and refresh_left > 0 else None,
        access_expires_at=now + timedelta(seconds=int(text(body.get("expires_in")) or 0)),
        refresh_expires_at=now + timedelta(seconds=refresh_left) if refresh_left > 0 else None,
        platform_account_id=text(account) or None,
        shop_ids=list(ventures),
        extra={
            "country": text(body.get("country")).lower(),
            "account_platform": text(body.get("account_platform")),
            "country_user_info": _users(body),
            "ventures": ventures,
            "shop_data": {seller: {"venture": venture} for seller, venture in ventures.items() if venture},
        },
    )


def seller_ventures(body: Mapping[str, Any]) -> dict[str, str]:
    """{seller id: venture} of a token answer: for a one-venture account the entry of its ``country`` (all entries
    when none matches), for a cross-border ('cb') account every entry."""
    country = text(body.get("country")).strip().lower()
    fallback = "" if country == "cb" else country
    pairs = [(text(u.get("seller_id")), text(u.get("country")).strip().lower() or fallback) for u in _users(body)]
    pairs = [(seller, venture) for seller, venture in pairs if seller]
    own = [(seller, venture) for seller, venture in pairs if venture == country]
    return dict(own if country != "cb" and own else pairs)


def _users(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    users = body.get("country_user_info") or body.get("country_user_info_list") or []
    users = list(users.values()) if isinstance(users, Mapping) else list(users)
    return [dict(user) for user in users if isinstance(user, Mapping)]


def shop_info(data: Mapping[str, Any], region: str | None) -> ShopInfo:
    """GetSeller ``data``. The e-mail address is left out (personal data the sync does not need)."""
    short_code = text(data.get("short_code"))
    return ShopInfo(
        platform_shop_id=text(data.get("seller_id")),
        name=text(data.get("name")) or text(data.get("name_company")),
        status=text(data.get("status")).lower() or "active",
        region=(region or short_code[:2]).upper() or None,
        logo=text(data.get("logo_url")) or None,
        data={key: data[key] for key in ("short_code", "name_company", "location", "verified", "cb") if key in data},
    )


# ---------------------------------------------------------------------------------------------------- products


GTIN_ATTRIBUTE = "gtin"
"""A SKU's barcode on Lazada: the category attribute named ``gtin`` (text input, ``attribute_type`` sku: a value per
SKU, written in the SKU node) of the documented GetCategoryAttributes sample (lazykern/ecommerce-api-docs@eba059e
``data/processed/lazada/guides/api-best-practice/product-operation/product-management/get-category-attributes.md``).
GetProducts and GetProductItem document ``skus`` only as an object list; their samples show other SKU-level attributes
(``package_weight``, ``package_length``, ...) as keys of the SKU, but no GTIN (``data/raw/lazada/apis/product-api/
getproducts.json``, ``getproductitem.json``). So ``skus[].gtin`` is read when present, as text: UNCONFIRMED. No
other name (``barcode``, ``ean_code``) appears in these references and none is guessed."""


def listing(product: Mapping[str, Any]) -> Listing:
    """A GetProducts entry or a GetProductItem ``data`` (snake_case or camelCase)."""
    attributes = product.get("attributes") or {}
    category = product.get("primary_category") or product.get("primaryCategory")
    status = text(product.get("status")).lower()
    return Listing(
        platform_item_id=text(product.get("item_id") or product.get("itemId")),
        name=text(attributes.get("name")),
        description=text(attributes.get("description")),
        status=_PRODUCT_STATUS.get(status, status or "active"),
        category_id=text(category) or None,
        variants=[variant(sku) for sku in product.get("skus") or []],
        updated_at=from_millis(product.get("updated_time") or product.get("updatedTime")),
    )


def variant(sku: Mapping[str, Any]) -> ListingVariant:
    """One entry of ``skus``; price ``price``, stock the SELLABLE stock (``sellable_stock``)."""
    options = sku.get("saleProp") or {}
    warehouses = sellable_stock(sku)
    return ListingVariant(
        platform_variant_id=text(sku.get("SkuId")) or None,
        sku=text(sku.get("SellerSku")),
        price=money(sku.get("price")),
        stock=sum(warehouses.values()) if warehouses else _count(sku.get("Available", sku.get("quantity"))),
        options={text(k): text(v) for k, v in options.items()} if isinstance(options, Mapping) else {},
        status=text(sku.get("Status")).lower() or "active",
        warehouses=warehouses,
        barcode=barcode_of(sku.get(GTIN_ATTRIBUTE)),
    )


def sellable_stock(sku: Mapping[str, Any]) -> dict[str, int]:
    """``multiWarehouseInventories[]``: {warehouseCode: sellableQuantity}, what buyers can buy in each warehouse
    (LAZ-GUIDE inventory-calculation-logic.md; reported by GetProductItem and by GetProducts with ``options=1``).
    Lazada's own warehouses (``fblWarehouseInventories``) are left out: the API cannot write them. Without a
    breakdown the SKU's ``Available`` stands in (equal to the sellable figure in every documented sample; the
    ``quantity`` field is documented both as the total and, in a sample, as the sellable stock: UNCONFIRMED)."""
    entries = sku.get("multiWarehouseInventories")
    stock: dict[str, int] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping) and text(entry.get("warehouseCode")):
            code = text(entry.get("warehouseCode"))
            stock[code] = stock.get(code, 0) + _count(entry.get("sellableQuantity"))
    return stock


def _count(value: Any) -> int:
    raw = text(value).strip()
    return int(raw) if raw.lstrip("-").isdigit() else 0


def created_listing(draft: ListingDraft, data: Mapping[str, Any]) -> Listing:
    """The listing a CreateProduct answer describes (``item_id``, ``sku_list``, ``item_status``)."""
    sku_ids = {text(entry.get("seller_sku")): text(entry.get("sku_id")) for entry in data.get("sku_list") or []}
    status = text(data.get("item_status")).lower()
    return Listing(
        platform_item_id=text(data.get("item_id")),
        name=draft.name,
        description=draft.description,
        status=_PRODUCT_STATUS.get(status, status or "active"),
        category_id=draft.category_id,
        variants=[
            ListingVariant(
                platform_variant_id=sku_ids.get(v.sku) or None,
                sku=v.sku,
                price=v.price,
                stock=v.stock,
                options=dict(v.options),
            )
            for v in draft.variants
        ],
    )


def _sku_json(
    draft: VariantDraft,
    sku_id: str | None = None,
    package: Package | None = None,
    attributes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every SKU field value is a string ("all field values in the SKU are of string type", error 1001). The
    package (kg, cm with at most 2 decimals) is per SKU on Lazada: the listing profile's goes on every SKU, and so
    do the category's SKU-level attributes (``attribute_type=sku``)."""
    sku: dict[str, Any] = {"SellerSku": draft.sku, "quantity": str(draft.stock), "price": format(draft.price, "f")}
    sku.update(attributes or {})
    if sku_id:
        sku["SkuId"] = sku_id
    sale = draft.sale_properties or draft.options
    if sale:
        sku["saleProp"] = dict(sale)
    if draft.images:
        sku["Images"] = {"Image": list(draft.images)}
    for name, value in _package_fields(package).items():
        sku[name] = value
    return sku


def _package_fields(package: Package | None) -> dict[str, str]:
    if package is None:
        return {}
    sizes = {
        "package_weight": package.weight_kg,
        "package_length": package.length_cm,
        "package_width": package.width_cm,
        "package_height": package.height_cm,
    }
    return {name: format(value.quantize(Decimal("0.01")), "f") for name, value in sizes.items() if value is not None}


def _product_json(draft: ListingDraft) -> dict[str, Any]:
    """``Attributes`` holds the name, description, ``brand_id`` and the category's attributes by their names (a
    multi-valued attribute as comma-separated text: UNCONFIRMED, docs/platforms/listings/lazada.md)."""
    attributes: dict[str, Any] = {"name": draft.name, "description": draft.description}
    if draft.brand is not None:
        if draft.brand.id:
            attributes["brand_id"] = draft.brand.id
        if draft.brand.name:
            attributes["brand"] = draft.brand.name
    for attribute in draft.attributes:
        if attribute.id not in draft.sku_attribute_ids:
            attributes[attribute.id] = ",".join(attribute.values)
    product: dict[str, Any] = {"Attributes": attributes}
    if draft.category_id:
        product["PrimaryCategory"] = draft.category_id
    if draft.images:
        product["Images"] = {"Image": list(draft.images)}
    return product


def sku_attributes(draft: ListingDraft) -> dict[str, str]:
    """The draft's SKU-level attributes by name, as each SKU carries them."""
    return {a.id: ",".join(a.values) for a in draft.attributes if a.id in draft.sku_attribute_ids}


def create_payload(draft: ListingDraft) -> str:
    """CreateProduct ``payload`` (JSON form): every variant in one request."""
    skus = [_sku_json(v, package=draft.package, attributes=sku_attributes(draft)) for v in draft.variants]
    product = {**_product_json(draft), "Skus": {"Sku": skus}}
    return _dump({"Request": {"Product": product}})


def update_payload(
    item_id: str,
    draft: ListingDraft,
    chunk: Sequence[VariantDraft],
    sku_ids: Mapping[str, str | None],
    *,
    attributes: bool,
) -> str:
    """UpdateProduct ``payload``: existing SKUs carry their ``SkuId`` (error 4216 otherwise), new ones none. Every
    chunk keeps an ``Attributes`` node, empty after the first ("Attributes must be preserved": LAZ-GUIDE
    api-best-practice/product-operation/product-management/update-a-product.md)."""
    product = _product_json(draft) if attributes else {"Attributes": {}}
    product["ItemId"] = item_id
    per_sku = sku_attributes(draft)
    product["Skus"] = {"Sku": [_sku_json(v, sku_ids.get(v.sku), draft.package, per_sku) for v in chunk]}
    return _dump({"Request": {"Product": product}})


def sku_failures(body: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """``detail`` of a partially failed write: {seller_sku or sku_id: (code, message)}."""
    failures: dict[str, tuple[str, str]] = {}
    code = text(body.get("code"))
    for entry in body.get("detail") or []:
        if not isinstance(entry, Mapping):
            continue
        reason = (text(entry.get("code")) or code, text(entry.get("message")) or text(body.get("message")))
        for key in (text(entry.get("seller_sku")), text(entry.get("sku_id"))):
            if key:
                failures[key] = reason
    return failures


# ---------------------------------------------------------------------------------------------------- categories

# GetCategoryAttributes lists the listing's own fields too (name, brand, price, package_*, ...); nfsync fills those
# from the CRM and the profile, so they are no category attributes here (docs/platforms/listings/lazada.md).
OWN_FIELDS = frozenset(
    {
        "name",
        "description",
        "short_description",
        "brand",
        "brand_id",
        "SellerSku",
        "price",
        "special_price",
        "special_from_date",
        "special_to_date",
        "quantity",
        "package_weight",
        "package_length",
        "package_width",
        "package_height",
        "__images__",
        "color_thumbnail",
    }
)
MULTIPLE_INPUTS = frozenset({"multiSelect", "multiEnumInput"})
CLOSED_INPUTS = frozenset({"singleSelect", "multiSelect"})


def category_requirements(category_id: str, data: Any) -> CategoryRequirements:
    """GetCategoryAttributes ``data[]``: an attribute is known by its ``name`` (the payload key); option values by
    ``en_name`` (what a payload sends)."""
    entries = [a for a in data or [] if isinstance(a, Mapping)]
    mandatory = {text(a.get("name")) for a in entries if text(a.get("is_mandatory")) == "1"}
    return CategoryRequirements(
        category_id=category_id,
        attributes=[_attribute_rule(a) for a in entries if text(a.get("name")) not in OWN_FIELDS],
        brand_required="brand" in mandatory or "brand_id" in mandatory,
        package_dimensions_required=bool(mandatory & {"package_length", "package_width", "package_height"}),
    )


def _attribute_rule(attribute: Mapping[str, Any]) -> AttributeRule:
    kind = text(attribute.get("input_type"))
    options = [o for o in attribute.get("options") or [] if isinstance(o, Mapping)]
    name = text(attribute.get("name"))
    return AttributeRule(
        id=name,
        name=name,
        required=text(attribute.get("is_mandatory")) == "1",
        multiple=kind in MULTIPLE_INPUTS,
        custom=kind not in CLOSED_INPUTS or not options,
        sale_property=text(attribute.get("is_sale_prop")) == "1",
        sku_level=text(attribute.get("attribute_type")) == "sku",
        values=[AttributeOption(id=text(o.get("id")), name=text(o.get("en_name") or o.get("name"))) for o in options],
    )


# ---------------------------------------------------------------------------------------------------- orders


def order_status(statuses: Iterable[str]) -> str:
    """One status for an order whose items each have their own (Lazada has no order-level status).

    Rule (ours, deterministic): the least advanced status among items still in progress (an order is only as far
    as its slowest live item; see ``ORDER_PROGRESSION``; undocumented statuses rank after the documented ones,
    alphabetically); when every item has ended, the first of ``ORDER_ENDED`` present, so that an order is
    ``canceled`` only when all its items are. Sources: the union of
    the statuses documented in LAZ-RAW order-api/getorders.json and LAZ-GUIDE order-status-flow.md
    (tests/contracts/lazada.json ``order_statuses``); ``confirmed`` and ``damaged`` are documented nowhere.
    """
    present = {text(status).strip().lower() for status in statuses if text(status).strip()}
    live = present.difference(ORDER_ENDED)
    if live:
        rank = {status: index for index, status in enumerate(ORDER_PROGRESSION)}
        chosen = min(live, key=lambda status: (rank.get(status, len(rank)), status))
    else:
        chosen = next((status for status in ORDER_ENDED if status in present), "unknown")
    return chosen


def order_line(item: Mapping[str, Any]) -> OrderLine:
    """One GetMultipleOrderItems item: Lazada lists every unit as its own item, so the quantity is always 1. That
    API documents no item id (``product_id`` is GetOrderItems' only): the line names its SKU and ``sku_id``."""
    return OrderLine(
        platform_line_id=text(item.get("order_item_id")),
        platform_item_id=None,
        platform_variant_id=text(item.get("sku_id")) or None,
        sku=text(item.get("sku")) or None,
        name=text(item.get("name")),
        quantity=1,
        unit_price=money(item.get("item_price")),
    )


def order(raw: Mapping[str, Any], items: Sequence[Mapping[str, Any]], region: str | None) -> Order:
    """A GetOrders/GetOrder entry with its GetMultipleOrderItems items."""
    subtotal = money(raw.get("price"))  # items total, without voucher and shipping fee
    shipping = money(raw.get("shipping_fee"))
    created = parse_time(raw.get("created_at")) or datetime.fromtimestamp(0, UTC)
    statuses = raw.get("statuses") or [item.get("status") for item in items]
    currency = next((text(item.get("currency")) for item in items if item.get("currency")), "")
    return Order(
        platform_order_id=text(raw.get("order_id")),
        status=order_status(text(status) for status in statuses),
        created_at=created,
        updated_at=parse_time(raw.get("updated_at")) or created,
        currency=currency or REGION_CURRENCY.get((region or "").lower(), ""),
        subtotal=subtotal,
        shipping_fee=shipping,
        total=subtotal + shipping - money(raw.get("voucher")),
        buyer=_buyer(raw),
        lines=[order_line(item) for item in items],
        customer=_customer(raw, items),
    )


def _customer(raw: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> Buyer | None:
    """GetOrders names the customer (``customer_first_name``; ``customer_last_name`` "empty for now") but no buyer id:
    GetMultipleOrderItems' items carry ``buyer_id`` (LAZ-RAW order-api/getorders.json, getmultipleorderitems.json).
    Phones and address lines come masked (``1******2``) unless the app has sensitive-data access."""
    address = raw.get("address_shipping")
    address = address if isinstance(address, Mapping) else {}
    name = f"{text(raw.get('customer_first_name'))} {text(raw.get('customer_last_name'))}".strip()
    parts = ("address1", "address2", "address3", "address4", "address5", "post_code", "country")
    return Buyer.seen(
        next((text(item.get("buyer_id")) for item in items if item.get("buyer_id")), None),
        name=name,
        phone=address.get("phone"),
        address=", ".join(text(address[k]) for k in parts if address.get(k)),
    )


def _buyer(raw: Mapping[str, Any]) -> dict[str, Any]:
    name = f"{text(raw.get('customer_first_name'))} {text(raw.get('customer_last_name'))}".strip()
    address = raw.get("address_shipping")
    return {"name": name, "shipping_address": dict(address) if isinstance(address, Mapping) else {}}


def order_id_list(order_ids: Iterable[str]) -> str:
    """``order_ids`` as GetMultipleOrderItems wants it: ``[1,2]``."""
    return "[" + ",".join(order_ids) + "]"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
