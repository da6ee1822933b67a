"""A local emulator of the Lazada Open Platform for everything the client uses.

Served on the API's own paths under ``/<venture>/rest`` (one host per venture: a seller's token is refused on
another venture's host, ``connectors/lazada/sandbox/ventures.py``) and under ``/rest`` (every seller, and the
auth endpoints, like auth.lazada.com), with Lazada's parameter names, signature check (UPPERCASE hex HMAC-SHA256
over path + sorted params, ``sign_method=sha256``),
timestamp window (7200 s), tokens (access 30 days, refresh 180 days, refresh token reusable and its lifetime not
reset by a refresh: an online app) and JSON envelopes (``{"code": "0", "data": ..., "request_id"}``; errors
``{"code", "type", "message", "request_id"}`` with HTTP 200). Limits are enforced with Lazada's error codes:
GetProducts ``limit`` <= 50 / ``offset`` <= 10000 / ``sku_seller_list`` <= 100, GetOrders ``limit`` <= 100 /
``offset`` <= 4500, GetMultipleOrderItems <= 50 ids, UpdatePriceQuantity <= 50 SKUs (4171), UpdateSellableQuantity
<= 50 SKUs (204), CreateProduct and UpdateProduct <= 50 SKUs (209). Rate limit: ``default_rate_limit`` calls/s
per (app, seller, endpoint class), answered with ``ApiCallLimit``. Pushes are signed as Lazada signs them
(lowercase hex HMAC-SHA256(app_secret, app_key + body)) and retried every 30 minutes, 12 times.

Sources: the references cited in tests/contracts and the LAZ-DOC API reference pages named in
``connectors/lazada/mapping.py``. Codes marked UNCONFIRMED in ``connectors/lazada/errors.py`` are our choice.

Stock (``connectors/lazada/sandbox/stock.py``): per SKU and warehouse, sellable / withhold / occupy / total, with
orders holding units while open; UpdatePriceQuantity ``Quantity`` sets the total (refused below withhold +
occupy), UpdateSellableQuantity and UpdateProduct ``quantity`` the sellable stock; multi-warehouse sellers
(``set_warehouses``, GetMultiWarehouseBySeller) write ``MultiWarehouseInventories``, single-warehouse sellers may
not; every inventory row needs ``ItemId`` and ``SkuId``.

Choices where the sources are silent (UNCONFIRMED, see also ``connectors/lazada/errors.py``): errors come with
HTTP 200; the codes of a stale timestamp (``InvalidTimestamp``) and of an unknown app key (``InvalidAppKey``); an
UpdatePriceQuantity call with failed SKUs applies the others and answers ``501`` with a ``detail`` entry
(``field``, ``seller_sku``, ``message``) per failed SKU; UpdateProduct adds a SKU sent without ``SkuId``; a
SellerSku already used by another product is refused (``500`` + ``detail``, "SellerSku repeat"); the old access
token stays valid after a refresh.

Not emulated:
- the consent page (``https://auth.lazada.com/oauth/authorize``): codes come from ``issue_code()`` and live
  10 minutes (30 at Lazada); test-status apps (7-day/30-day tokens); service-market apps whose tokens cannot be
  refreshed (``AUTH_TYPE_UNSUPPORTED``); more than one app per sandbox;
- per-API rate limits (one number, ``default_rate_limit``, for every endpoint class), the 1-second ban that
  follows ``ApiCallLimit``, mega-campaign downgrades (998), ``ServiceTimeout`` on large payloads;
- product content rules beyond these (CreateProduct requires a known ``brand_id`` or a ``brand`` (4108, 4142), a
  package on every SKU (4108; 40 kg: 4164; 300 cm: 4165), at least one image, only URLs UploadImage issued, at most 8
  per field, on every SKU or none (4139, 4138, 4169, 4153), and the mandatory attributes and values of the small tree
  in ``connectors/base/sandbox_categories.py`` (4134, 4108, 4115)): QC review (every product is ``Active`` at once),
  LazMall brand rules (4156), special prices and their dates, campaign stock locks (``channelInventories``, 4170),
  Lazada's own warehouses (``fblWarehouseInventories``, always empty), semi-hosted SKUs (4225), SKU removal, the
  ``pending`` and ``rejected`` filters (always empty), ``search``; the order of GetProducts (newest update first here;
  Lazada documents none);
- orders: payment, packing, shipping documents and logistics, vouchers and shipping-fee discounts (zero),
  personal-data masking, reverse orders, GetOrderItems (single order) and every endpoint the client does not
  call;
- pushes other than trade-order status (type 0: one message for the first order line, where Lazada sends one per
  line) and product edited/deleted (types 4 and 5); ``webhook_secret`` is unused (Lazada signs with the app
  secret); the OV/EV certificate requirement and the 500 ms acknowledgement limit.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from xml.etree.ElementTree import Element, ParseError, fromstring

from aiohttp import web

from nfsync.connectors.base import sandbox_categories as categories
from nfsync.connectors.base.sandbox import SandboxBase, SbListing, SbOrder, SbShop, SbToken, SbVariant, is_jpeg_or_png
from nfsync.connectors.base.signing import signatures_match
from nfsync.connectors.lazada import errors as codes
from nfsync.connectors.lazada import signing
from nfsync.connectors.lazada.mapping import GTIN_ATTRIBUTE
from nfsync.connectors.lazada.sandbox import stock, ventures

API_PREFIX = "/rest"
MAX_IMAGES = 8  # per Images field (4169)
MAX_PACKAGE_KG = Decimal(40)  # 4164, without DBS permission
MAX_PACKAGE_SUM_CM = Decimal(300)  # 4165, without DBS permission
PACKAGE_FIELDS = ("package_weight", "package_length", "package_width", "package_height")
MAX_UPLOAD = 1024 * 1024  # UploadImage: 1 MB in the API references (3 MB in a guide): the stricter
REGION_HOURS = {"vn": 7, "th": 7, "id": 7, "sg": 8, "my": 8, "ph": 8}
REGION_COUNTRY = {
    "vn": "Vietnam",
    "th": "Thailand",
    "id": "Indonesia",
    "sg": "Singapore",
    "my": "Malaysia",
    "ph": "Philippines",
}
PRODUCT_FILTERS = ("all", "live", "inactive", "deleted", "pending", "rejected", "sold-out")
ORDER_STATUS_FILTERS = (
    "unpaid",
    "pending",
    "packed",
    "canceled",
    "ready_to_ship",
    "delivered",
    "returned",
    "shipped",
    "failed",
    "topack",
    "toship",
    "shipping",
    "lost",
    "lost_by_3pl",
    "damaged_by_3pl",
    "failed_delivery",
    "shipped_back",
    "shipped_back_success",
    "shipped_back_failed",
    "package_scrapped",
)
"""GetOrders ``status``: the values its parameter text and its error 6 list (LAZ-RAW order-api/getorders.json)."""


@dataclass
class LzCall:
    """One verified API call: its parameters (query and form) and the seller the access token belongs to."""

    request: web.Request
    params: dict[str, str]
    shop: SbShop | None

    @property
    def seller(self) -> SbShop:
        assert self.shop is not None, "authed routes always have a seller"
        return self.shop


class LzError(Exception):
    """A Lazada error answer raised from deep inside a handler."""

    def __init__(self, code: str, message: str, *, kind: str = "ISV", detail: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.code, self.message, self.kind, self.detail = code, message, kind, detail


LzHandler = Callable[[LzCall], Awaitable[web.StreamResponse]]


class Sandbox(SandboxBase):
    platform: ClassVar[str] = "lazada"
    access_ttl: ClassVar[float] = 30 * 86_400.0  # online app (7 days for an app in test status)
    refresh_ttl: ClassVar[float] = 180 * 86_400.0  # online app (30 days in test status)
    single_use_refresh: ClassVar[bool] = False
    default_rate_limit: ClassVar[float | None] = 50.0  # the published inventory limit, for every class here
    webhook_retry_schedule: ClassVar[Sequence[float]] = (1800.0,) * 12
    order_statuses: ClassVar[Sequence[str]] = ("unpaid", "pending", "packed", "ready_to_ship", "shipping", "delivered")

    timestamp_window: ClassVar[float] = 7200.0
    product_limit_cap: ClassVar[int] = 50
    product_offset_cap: ClassVar[int] = 10_000
    sku_list_cap: ClassVar[int] = 100
    order_limit_cap: ClassVar[int] = 100
    order_offset_cap: ClassVar[int] = 4_500  # getorders.json: offset Max Size 4500 (get-order.md: 5000)
    order_ids_cap: ClassVar[int] = 50
    write_sku_cap: ClassVar[int] = 50

    def __init__(self, app: Mapping[str, str], **options: Any) -> None:
        super().__init__(app, **options)
        self._lazada_ids = itertools.count(260_000_000_000_001)  # Lazada-sized ids (15 digits, below 2**53)
        self.stock = stock.StockBook()
        self.accounts = ventures.Accounts()
        self.issued_images: set[str] = set()  # URLs UploadImage answered

    def new_id(self) -> str:
        return str(next(self._lazada_ids))

    def add_shop(
        self,
        shop_id: str,
        name: str | None = None,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        **extra: str,
    ) -> SbShop:
        """A seller; ``region`` (vn, sg, my, th, ph, id) may be passed among the extras."""
        region = extra.pop("region", None)
        shop = super().add_shop(shop_id, name, access_token=access_token, refresh_token=refresh_token, **extra)
        if region:
            shop.region = region.upper()
        return shop

    def add_order(
        self,
        shop: SbShop,
        lines: Sequence[Mapping[str, Any]],
        *,
        status: str,
        currency: str = "VND",
        buyer: Mapping[str, Any] | None = None,
    ) -> SbOrder:
        """An order, which takes its units out of the sellable stock (``sandbox/stock``)."""
        order = super().add_order(shop, lines, status=status, currency=currency, buyer=buyer)
        self.stock.place(shop, order)
        return order

    def add_cross_border(self, shops: Sequence[SbShop]) -> None:
        """One cross-border account selling through these sellers (one per venture): one token serves them all."""
        self.accounts.join(shops)

    def issue_tokens(
        self, shop: SbShop, access: str | None = None, refresh: str | None = None
    ) -> tuple[SbToken, SbToken]:
        pair = super().issue_tokens(shop, access, refresh)
        self.accounts.share(self.shops, shop, *pair)
        return pair

    def set_warehouses(self, shop: SbShop, sku: str, sellable: Mapping[str, int]) -> None:
        """Make the seller a multi-warehouse seller with these warehouses, and set the SKU's sellable stock in
        each."""
        found = self.find_variant(shop, sku)
        assert found is not None, f"no SKU {sku} in shop {shop.shop_id}"
        for code, units in sellable.items():
            self.stock.add_warehouse(shop, code)
            self.stock.set_sellable(found[1], code, units)

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.stock, self.accounts = stock.StockBook(), ventures.Accounts()
        return await super()._admin_reset(request)

    # ------------------------------------------------------------------ routes and the checks every call passes

    def add_routes(self, app: web.Application) -> None:
        routes: list[tuple[str, str, str, LzHandler, bool]] = [
            ("GET", "/seller/get", "seller", self._seller_get, True),
            ("GET", "/products/get", "products", self._products_get, True),
            ("GET", "/product/item/get", "products", self._product_item_get, True),
            ("GET", "/category/attributes/get", "category", self._category_attributes, True),
            ("POST", "/image/upload", "image", self._upload_image, True),
            ("POST", "/product/create", "product_write", self._product_create, True),
            ("POST", "/product/update", "product_write", self._product_update, True),
            ("POST", "/product/price_quantity/update", "inventory", self._price_quantity_update, True),
            ("POST", "/product/stock/sellable/update", "inventory", self._sellable_update, True),
            ("GET", "/seller/warehouse/get", "seller", self._warehouses_get, True),
            ("GET", "/orders/get", "orders", self._orders_get, True),
            ("GET", "/order/get", "orders", self._order_get, True),
            ("GET", "/orders/items/get", "order_items", self._orders_items_get, True),
        ]
        for method in ("GET", "POST"):
            routes.append((method, "/auth/token/create", "auth", self._token_create, False))
            routes.append((method, "/auth/token/refresh", "auth", self._token_refresh, False))
        for method, path, endpoint_class, handler, authed in routes:
            app.router.add_route(method, API_PREFIX + path, self._endpoint(path, endpoint_class, handler, authed))
            for venture in ventures.VENTURES if authed else ():  # one API host per venture; auth on /rest only
                app.router.add_route(
                    method,
                    f"/{venture}{API_PREFIX}{path}",
                    self._endpoint(path, endpoint_class, handler, authed, venture),
                )

    def _endpoint(
        self, path: str, endpoint_class: str, handler: LzHandler, authed: bool, venture: str | None = None
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            params = await _params(request)
            token = params.get("access_token")
            shop = ventures.seller_on(list(self.shops.values()), token, venture) if authed else None
            shop_key = shop.shop_id if shop is not None else "-"
            gated = await self.gate(request, f"{params.get('app_key', '-')}:{shop_key}:{endpoint_class}")
            if gated is not None:
                return gated
            try:
                self._check(path, params, shop, authed)
                return await handler(LzCall(request, params, shop))
            except LzError as exc:
                return self.error(exc.code, exc.message, kind=exc.kind, detail=exc.detail)

        return handle

    def _check(self, path: str, params: Mapping[str, str], shop: SbShop | None, authed: bool) -> None:
        """What the gateway checks before the API runs, in this order."""
        for name in ("app_key", "sign_method", "timestamp", "sign", *(("access_token",) if authed else ())):
            if not params.get(name):
                raise LzError(
                    codes.MISSING,
                    f"the input parameter \u201c{name}\u201d that is mandatory for "
                    "processing this request is not supplied",
                )
        if params["app_key"] != self.app_credentials["app_key"]:
            raise LzError(codes.APP_KEY, "The specified app key is invalid")
        if not _fresh(params["timestamp"], self.timestamp_window):
            raise LzError(codes.TIMESTAMP, "The specified timestamp is invalid or outside the 7200 seconds window")
        expected = signing.signature(signing.base_string(path, params), self.app_credentials["app_secret"])
        if params["sign_method"] != signing.SIGN_METHOD or not signatures_match(expected, params["sign"]):
            raise LzError(codes.SIGNATURE, "The request signature does not conform to lazop standards")
        if authed and self.check_access(shop, params["access_token"]) != "ok":
            raise LzError(codes.ILLEGAL_ACCESS, "The specified access token is invalid or expired")

    # ------------------------------------------------------------------ envelopes

    def ok(self, data: Any = None, **top: Any) -> web.Response:
        body: dict[str, Any] = {"code": "0"}
        if data is not None:
            body["data"] = data
        return _json({**body, **top, "request_id": _request_id()})

    def error(
        self, code: str, message: str, *, kind: str = "ISV", detail: list[dict[str, Any]] | None = None
    ) -> web.Response:
        body: dict[str, Any] = {"code": code, "type": kind, "message": message}
        if detail:
            body["detail"] = detail
        return _json({**body, "request_id": _request_id()})

    def throttle_response(self) -> web.Response:
        return self.error(codes.THROTTLED, "Api access frequency exceeds the limit. this ban will last 1 seconds")

    def server_error_response(self) -> web.Response:
        return self.error(codes.INTERNAL, "Internal Application Error", kind="ISP")

    # ------------------------------------------------------------------ auth

    async def _token_create(self, call: LzCall) -> web.StreamResponse:
        shop = self.redeem_code(call.params.get("code", ""))
        if shop is None:
            raise LzError(codes.INVALID_CODE, "Invalid authorization code")
        access, refresh = self.issue_tokens(shop)
        return self._token_answer(shop, access.value, refresh.value, refresh.expires_at, refreshed=False)

    async def _token_refresh(self, call: LzCall) -> web.StreamResponse:
        token = call.params.get("refresh_token", "")
        shop = next((s for s in self.shops.values() if token and token in s.refresh), None)
        spent = self.spend_refresh(shop, token)
        if shop is None or spent is None:
            raise LzError(codes.ILLEGAL_REFRESH, "The specified refresh token is invalid or expired")
        access, refresh = spent
        return self._token_answer(shop, access.value, refresh.value, refresh.expires_at, refreshed=True)

    def _token_answer(
        self, shop: SbShop, access: str, refresh: str, refresh_expiry: float, *, refreshed: bool
    ) -> web.Response:
        members = self.accounts.members(self.shops, shop)
        body = ventures.token_body(members, access, refresh, (self.token_ttl, refresh_expiry), refreshed=refreshed)
        return _json({**body, "request_id": _request_id()})

    # ------------------------------------------------------------------ seller and products

    async def _seller_get(self, call: LzCall) -> web.StreamResponse:
        shop = call.seller
        cross_border = len(self.accounts.members(self.shops, shop)) > 1
        return self.ok(
            {
                "seller_id": int(shop.shop_id) if shop.shop_id.isdigit() else shop.shop_id,
                "name": shop.name,
                "name_company": shop.name,
                "short_code": f"{shop.region}{shop.shop_id}",
                "logo_url": "",
                "email": f"seller-{shop.shop_id}@sandbox.invalid",
                "cb": cross_border,
                "location": "",
                "status": "ACTIVE",
                "verified": True,
            }
        )

    async def _products_get(self, call: LzCall) -> web.StreamResponse:
        params, shop = call.params, call.seller
        limit = _bounded(params.get("limit", "20"), self.product_limit_cap, codes.INVALID_LIMIT, "Invalid Limit", 1)
        offset = _bounded(params.get("offset", "0"), self.product_offset_cap, codes.INVALID_OFFSET, "Invalid Offset")
        wanted = self._product_filter(params)
        found = [listing for listing in shop.listings.values() if wanted(listing)]
        found.sort(key=lambda listing: (int(listing.updated_at), _id_key(listing.item_id)), reverse=True)
        breakdown = params.get("options") == "1"
        page = [self._product_json(shop, listing, breakdown) for listing in found[offset : offset + limit]]
        return self.ok({"total_products": len(found), "products": page})

    def _product_filter(self, params: Mapping[str, str]) -> Callable[[SbListing], bool]:
        status = params.get("filter") or "all"
        if status not in PRODUCT_FILTERS:
            raise LzError("36", "E036: Invalid status filter")
        window = {
            name: _time_param(params, name)
            for name in ("update_after", "update_before", "create_after", "create_before")
        }
        skus = _sku_list(params.get("sku_seller_list"), self.sku_list_cap)

        def wanted(listing: SbListing) -> bool:
            return (
                _status_matches(listing, status)
                and _in_window(int(listing.updated_at), window["update_after"], window["update_before"])
                and _in_window(int(listing.created_at), window["create_after"], window["create_before"])
                and (skus is None or any(v.sku in skus for v in listing.variants))
            )

        return wanted

    async def _product_item_get(self, call: LzCall) -> web.StreamResponse:
        item_id = call.params.get("item_id", "")
        if not item_id:
            raise LzError("200", "E200: Empty Item Id and Seller Sku")
        listing = call.seller.listings.get(item_id)
        if listing is None or listing.status == "deleted":
            raise LzError("208", "E208: Item not exist")
        return self.ok(self._product_json(call.seller, listing, breakdown=True))

    def _product_json(self, shop: SbShop, listing: SbListing, breakdown: bool) -> dict[str, Any]:
        status = {"active": "Active", "inactive": "InActive", "deleted": "Deleted"}.get(listing.status, "Active")
        return {
            "item_id": _number(listing.item_id),
            "primary_category": _number(listing.category_id or "0"),
            "attributes": {"name": listing.name, "description": listing.description, "brand": "No Brand"},
            "skus": [self._sku_json(shop, listing, v, breakdown) for v in listing.variants],
            "images": [],
            "marketImages": [],
            "created_time": str(int(listing.created_at * 1000)),
            "updated_time": str(int(listing.updated_at * 1000)),
            "status": status,
            "trialProduct": False,
            "variation": {},
        }

    def _sku_json(self, shop: SbShop, listing: SbListing, variant: SbVariant, breakdown: bool) -> dict[str, Any]:
        """``quantity`` is the total stock (lazop-2-0-overview.md: "same as totalQuantity"; the GetProductItem demo
        shows the sellable figure instead: the stricter reading makes them differ while orders are open),
        ``Available`` the sellable stock; the per-warehouse breakdown only with GetProducts ``options=1`` (the doc
        example's request; UNCONFIRMED whether it comes without) and always with GetProductItem."""
        levels = self.stock.levels(shop, variant)
        sku: dict[str, Any] = {
            "SkuId": _number(variant.variant_id),
            "SellerSku": variant.sku,
            "ShopSku": f"{listing.item_id}_{shop.region}-{variant.variant_id}",
            "Status": "active",
            "quantity": sum(level.total for level in levels.values()),
            "Available": variant.stock,
            "price": float(variant.price),
            "special_price": 0.0,
            "saleProp": dict(variant.options),
            "Images": [],
        }
        if variant.barcode is not None:  # a SKU-level attribute is a key of the SKU (mapping.GTIN_ATTRIBUTE)
            sku[GTIN_ATTRIBUTE] = variant.barcode
        if breakdown:
            sku["multiWarehouseInventories"] = stock.inventories(levels)
            sku["fblWarehouseInventories"], sku["channelInventories"] = [], []
        return sku

    # ------------------------------------------------------------------ media

    async def _upload_image(self, call: LzCall) -> web.StreamResponse:
        """UploadImage: the part ``image`` as a file (302 when it is a string or missing), a JPG or PNG (300) of at
        most 1 MB (303: the references' limit, the stricter one); answers a Lazada-hosted URL the sandbox
        remembers (docs/platforms/listings/lazada.md)."""
        form = await call.request.post() if call.request.content_type == "multipart/form-data" else {}
        image = form.get("image")
        if not isinstance(image, web.FileField):
            raise LzError("302", "Not supported URL")
        data = image.file.read()
        if len(data) > MAX_UPLOAD:
            raise LzError("303", "E303: The image is too large")
        if not is_jpeg_or_png(data):
            raise LzError("300", "E300: Upload Image Failed")
        url = f"https://sg-test-11.slatic.net/p/{secrets.token_hex(16)}.jpg"
        self.issued_images.add(url)
        return self.ok({"image": {"url": url, "hash_code": hashlib.md5(data).hexdigest()}})  # noqa: S324 - a hash code

    # ------------------------------------------------------------------ categories (base/sandbox_categories.py)

    async def _category_attributes(self, call: LzCall) -> web.StreamResponse:
        """GetCategoryAttributes: the listing's own fields and the category's attributes (4227 for an id given as
        something else than digits). A category the sandbox's tree does not hold has only the listing's fields."""
        category_id = str(call.params.get("primary_category_id") or "")
        if not category_id.isdigit():
            raise LzError("4227", "Query category is null")
        found = categories.category(category_id)
        own = [_own_field("name", True), _own_field("brand", True)]  # brand: mandatory on every category
        own += [_own_field(f"package_{d}", True, "sku") for d in ("weight", "length", "width", "height")]
        return self.ok(own + [_lazada_attribute(a) for a in (found.attributes if found else ())])

    # ------------------------------------------------------------------ product writes

    async def _product_create(self, call: LzCall) -> web.StreamResponse:
        shop, product = call.seller, _payload_product(call.params)
        name = str((product.get("Attributes") or {}).get("name") or "")
        if not product.get("PrimaryCategory") or not name:
            raise LzError(
                "1", f"E001: Parameter {'name' if product.get('PrimaryCategory') else 'PrimaryCategory'} is mandatory"
            )
        skus = self._payload_skus(product)
        _check_category(product)
        _check_brand(product["Attributes"])
        for sku in skus:
            _check_package(sku)
        self._check_images(product, skus, required=True)
        self._refuse_taken_skus(shop, [str(sku.get("SellerSku") or "") for sku in skus])
        variants = [
            {
                "sku": str(sku["SellerSku"]),
                "price": _price(sku),
                "stock": _quantity(sku, "quantity"),
                "options": sku.get("saleProp") or {},
                "barcode": _gtin(sku),
            }
            for sku in skus
        ]
        listing = self.add_listing(
            shop,
            name,
            variants,
            category_id=str(product["PrimaryCategory"]),
            description=str(product["Attributes"].get("description") or ""),
        )
        self.counters.creates += 1
        return self._written(
            call,
            [v.sku for v in listing.variants],
            {
                "item_id": listing.item_id,
                "item_status": "Active",
                "sku_list": [
                    {
                        "seller_sku": v.sku,
                        "sku_id": v.variant_id,
                        "shop_sku": f"{listing.item_id}_{shop.region}-{v.variant_id}",
                    }
                    for v in listing.variants
                ],
            },
        )

    def _check_images(self, product: Mapping[str, Any], skus: Sequence[Mapping[str, Any]], *, required: bool) -> None:
        """Only images Lazada hosts (4138: the URLs UploadImage issued here), at most 8 per ``Images`` (4169), at
        least one on the product or its SKUs (4139), on every SKU or none (4153) (docs/platforms/listings/lazada.md)."""
        groups = [_images(product)] + [_images(sku) for sku in skus]
        if any(len(group) > MAX_IMAGES for group in groups):
            raise LzError("4169", "CHK_IMAGE_MAX_ITEMS: Upload a maximum of 8 pictures")
        if not all(url in self.issued_images for group in groups for url in group):
            raise LzError("4138", "BIZ_CHECK_EXIST_OUTER_IMAGE: The image exists in the outer link")
        if required and not any(groups):
            raise LzError("4139", "BIZ_CHECK_MAIN_IMAGE_REQUIRE:Main image is require")
        with_images = [bool(group) for group in groups[1:]]
        if any(with_images) and not all(with_images):
            raise LzError(
                "4153", "THD_IC_ERR_FC_IC_SKU_IMAGE_001: If you upload a sku picture then all sku must be uploaded"
            )

    def _payload_skus(self, product: Mapping[str, Any]) -> list[dict[str, Any]]:
        skus = _as_list((product.get("Skus") or {}).get("Sku"))
        if not skus:
            raise LzError("1", "E001: Parameter Skus is mandatory")
        if len(skus) > self.write_sku_cap:
            raise LzError(codes.INVALID_VARIATION, f"Invalid variation: at most {self.write_sku_cap} SKUs per request")
        return skus

    def _refuse_taken_skus(self, shop: SbShop, skus: Sequence[str], *, creating: bool = True) -> None:
        """New SellerSkus must be unique in the shop (and present)."""
        detail = []
        for index, sku in enumerate(skus):
            found = self.find_variant(shop, sku)
            if not sku or sku in skus[:index] or found is not None:
                detail.append(
                    {
                        "field": "SellerSku",
                        "seller_sku": sku,
                        "message": "THD_IC_ERR_F_IC_INFRA_PRODUCT_036: SellerSku repeat",
                    }
                )
        if detail and creating:
            raise LzError(codes.CREATE_FAILED, "E500: Create product failed", detail=detail)
        if detail:
            raise LzError(codes.UPDATE_FAILED, "E501: Update product failed", detail=detail)

    async def _product_update(self, call: LzCall) -> web.StreamResponse:
        shop, product = call.seller, _payload_product(call.params)
        listing = shop.listings.get(str(product.get("ItemId") or ""))
        if listing is None or listing.status == "deleted":
            raise LzError(
                codes.UPDATE_FAILED,
                "E501: Update product failed",
                detail=[{"field": "ItemId", "message": "Item not exist"}],
            )
        if "Attributes" not in product:  # "Attributes must be preserved" (update-a-product.md)
            raise LzError("1", "E001: Parameter Attributes is mandatory")
        skus = self._payload_skus(product) if product.get("Skus") else []
        self._check_images(product, skus, required=False)
        changes = [self._sku_change(shop, listing, sku) for sku in skus]
        attributes = product["Attributes"] if isinstance(product["Attributes"], dict) else {}
        listing.name = str(attributes.get("name") or listing.name)
        listing.description = str(attributes.get("description", listing.description))
        listing.category_id = str(product.get("PrimaryCategory") or listing.category_id or "") or None
        for change in changes:
            change()
        listing.updated_at = max(time.time(), listing.updated_at + 0.001)
        return self._written(call, [str(sku.get("SellerSku") or "") for sku in skus], {"item_status": "Active"})

    def _sku_change(self, shop: SbShop, listing: SbListing, sku: Mapping[str, Any]) -> Callable[[], None]:
        """Validate one UpdateProduct SKU; the returned function applies it (after every SKU passed)."""
        seller_sku, sku_id = str(sku.get("SellerSku") or ""), str(sku.get("SkuId") or "")
        current = next(
            (v for v in listing.variants if v.variant_id == sku_id or (not sku_id and v.sku == seller_sku)), None
        )
        if current is not None and not sku_id:
            raise LzError("4216", "skuId is a mandatory field and must be filled in.")
        if current is None and sku_id:
            detail = [{"field": "SkuId", "seller_sku": seller_sku, "message": "SKU not exist"}]
            raise LzError(codes.UPDATE_FAILED, "E501: Update product failed", detail=detail)
        if current is None:
            self._refuse_taken_skus(shop, [seller_sku], creating=False)
            if "price" not in sku:
                raise LzError("1", "E001: Parameter price is mandatory")
        price, quantity = (
            _price(sku) if "price" in sku else None,
            _quantity(sku, "quantity") if "quantity" in sku else None,
        )

        def apply() -> None:
            """UpdateProduct ``quantity`` overwrites the dropshipping warehouse's sellable stock."""
            target = current or SbVariant(self.new_id(), seller_sku, price or Decimal(0), quantity or 0)
            if current is None:
                listing.variants.append(target)
            target.price = price if price is not None else target.price
            if quantity is not None:
                self.stock.set_sellable(target, stock.DROPSHIPPING, quantity)
            target.options = dict(sku.get("saleProp") or target.options)
            if GTIN_ATTRIBUTE in sku:
                target.barcode = _gtin(sku)

        return apply

    async def _price_quantity_update(self, call: LzCall) -> web.StreamResponse:
        """UpdatePriceQuantity: ``Price`` and the TOTAL stock ``Quantity`` (``stock.write_total``)."""
        too_many = (
            codes.TOO_MANY_SKUS,
            "The updated SKU quantity exceeds the maximum number 50, please do not update more than 50 SKUs at once",
        )
        return self._inventory_write(call, self._apply_price_quantity, too_many)

    async def _sellable_update(self, call: LzCall) -> web.StreamResponse:
        """UpdateSellableQuantity: the sellable stock, overwritten (``stock.write_sellable``)."""
        too_many = (codes.TOO_MANY_SKU, "E204: Too many SKU in one request")
        return self._inventory_write(call, lambda shop, sku: stock.write_sellable(self.stock, shop, sku), too_many)

    def _inventory_write(
        self, call: LzCall, apply: Callable[[SbShop, Mapping[str, Any]], SbVariant], too_many: tuple[str, str]
    ) -> web.StreamResponse:
        """Valid SKUs are applied; refused ones come back in ``detail`` under code 501 (UNCONFIRMED: the sources
        document neither the partial apply nor the shape of ``detail``)."""
        skus = _as_list((_payload_product(call.params).get("Skus") or {}).get("Sku"))
        if not skus:
            raise LzError("30", "E030: Empty Request")
        if len(skus) > self.write_sku_cap:
            raise LzError(*too_many)
        detail, written = [], []
        for sku in skus:
            try:
                written.append(apply(call.seller, sku).sku)
            except stock.SkuRefused as exc:
                detail.append(
                    {
                        "field": exc.field_name,
                        "seller_sku": str(sku.get("SellerSku") or ""),
                        "sku_id": str(sku.get("SkuId") or ""),
                        "message": exc.message,
                    }
                )
        if detail:
            for sku_name in written:
                self.record_write(sku_name)
            raise LzError(codes.UPDATE_FAILED, "E501: Update product failed", detail=detail)
        return self._written(call, written, None)

    def _apply_price_quantity(self, shop: SbShop, sku: Mapping[str, Any]) -> SbVariant:
        """One UpdatePriceQuantity SKU, checked whole before anything of it is written."""
        variant = stock.locate(shop, sku)
        price = _row_price(sku)
        stock.write_total(self.stock, shop, sku)
        variant.price = price if price is not None else variant.price
        return variant

    async def _warehouses_get(self, call: LzCall) -> web.StreamResponse:
        """GetMultiWarehouseBySeller: the seller's warehouses, ``dropshipping`` first. Shape from the sample in
        inventory-calculation-logic.md (``result.module[].code``, no ``data``); ``addressTypes`` must be
        ``["warehouse"]`` ("this is a required field"). The API's own reference page is not in the collection:
        method and error codes UNCONFIRMED."""
        try:
            types = json.loads(call.params.get("addressTypes") or "null")
        except ValueError:
            types = None
        if not isinstance(types, list) or "warehouse" not in types:
            raise LzError(
                codes.MISSING,
                "the input parameter \u201caddressTypes\u201d that is mandatory for "
                "processing this request is not supplied",
            )
        module = [
            {
                "code": code,
                "name": code,
                "detailAddress": "",
                "needToUpdate": False,
                "defaultAddress": not i,
                "status": "ACTIVE",
            }
            for i, code in enumerate(self.stock.warehouses_of(call.seller))
        ]
        body = {"result": {"success": True, "module": module, "error_code": {}}, "code": "0"}
        return _json({**body, "request_id": _request_id()})

    def _written(self, call: LzCall, skus: Sequence[str], data: Any) -> web.StreamResponse:
        for sku in skus:
            self.record_write(sku)
        if self.lose_response(call.request):
            return web.Response()
        return self.ok(data if data is not None else {})

    # ------------------------------------------------------------------ orders

    async def _orders_get(self, call: LzCall) -> web.StreamResponse:
        params, shop = call.params, call.seller
        limit = _bounded(params.get("limit", "100"), self.order_limit_cap, codes.INVALID_LIMIT, "Invalid Limit", 1)
        offset = _bounded(params.get("offset", "0"), self.order_offset_cap, codes.INVALID_OFFSET, "Invalid Offset")
        window = {
            name: _time_param(params, name)
            for name in ("update_after", "update_before", "created_after", "created_before")
        }
        if window["update_after"] is None and window["created_after"] is None:
            raise LzError("1", "E001: Parameter update_after or created_after is mandatory")
        if params.get("status") and params["status"] not in ORDER_STATUS_FILTERS:
            raise LzError("36", "E036: Invalid status filter")
        found = [o for o in shop.orders.values() if _order_matches(o, window, params.get("status"))]
        found.sort(key=_order_sort(params), reverse=(params.get("sort_direction") or "DESC").upper() == "DESC")
        page = [self._order_json(shop, order) for order in found[offset : offset + limit]]
        return self.ok({"count": len(page), "countTotal": len(found), "orders": page})

    async def _order_get(self, call: LzCall) -> web.StreamResponse:
        order = call.seller.orders.get(call.params.get("order_id", ""))
        if order is None:
            raise LzError("16", f'E016: "{call.params.get("order_id", "")}" Invalid Order ID')
        return self.ok(self._order_json(call.seller, order))

    async def _orders_items_get(self, call: LzCall) -> web.StreamResponse:
        shop, ids = call.seller, _order_ids(call.params.get("order_ids", ""))
        if len(ids) > self.order_ids_cap:
            raise LzError(codes.TOO_MANY_ORDERS, "E038: Too many orders were requested")
        if any(order_id not in shop.orders for order_id in ids):
            raise LzError("37", "E037: One or more order id in the list are incorrect")
        data = [
            {
                "order_id": order_id,
                "order_number": order_id,
                "order_items": self._order_items(shop, shop.orders[order_id]),
            }
            for order_id in ids
        ]
        return self.ok(data)

    def _order_json(self, shop: SbShop, order: SbOrder) -> dict[str, Any]:
        first, _, last = str(order.buyer.get("name", "")).partition(" ")
        address = {
            "first_name": first,
            "last_name": last,
            "phone": str(order.buyer.get("phone", "")),
            "phone2": "",
            "address1": str(order.buyer.get("address", "")),
            "city": "",
            "post_code": "",
            "country": REGION_COUNTRY.get(shop.region.lower(), ""),
        }
        subtotal = order.total - order.shipping_fee
        return {
            "order_id": order.order_id,
            "order_number": order.order_id,
            "created_at": _local_iso(order.created_at, shop),
            "updated_at": _local_iso(order.updated_at, shop),
            "price": f"{subtotal:.2f}",
            "shipping_fee": f"{order.shipping_fee:.2f}",
            "voucher": "0.00",
            "voucher_platform": "0.00",
            "voucher_seller": "0.00",
            "statuses": [order.status],
            "items_count": sum(line.quantity for line in order.lines),
            "customer_first_name": first,
            "customer_last_name": last,
            "address_shipping": address,
            "address_billing": dict(address),
            "payment_method": "COD",
            "warehouse_code": "dropshipping",
            "gift_option": False,
            "remarks": "",
        }

    def _order_items(self, shop: SbShop, order: SbOrder) -> list[dict[str, Any]]:
        """Lazada lists every unit as its own order item: a line of quantity 3 is three items."""
        items = []
        for line in order.lines:
            for unit in range(line.quantity):
                items.append(
                    {
                        "order_item_id": line.line_id if unit == 0 else f"{line.line_id}{unit:03d}",
                        "order_id": order.order_id,
                        "sku": line.sku,
                        "sku_id": line.variant_id or "",
                        "shop_sku": f"{line.item_id}_{shop.region}-{line.variant_id}",
                        "name": line.name,
                        "item_price": f"{line.unit_price:.2f}",
                        "paid_price": f"{line.unit_price:.2f}",
                        "status": order.status,
                        "currency": order.currency,
                        "variation": "",
                        "buyer_id": str(order.buyer.get("user_id", "")),
                        "created_at": str(int(order.created_at * 1000)),
                        "updated_at": str(int(order.updated_at * 1000)),
                    }
                )
        return items

    # ------------------------------------------------------------------ pushes

    def signed_push(self, shop: SbShop, event: Mapping[str, Any]) -> tuple[dict[str, str], bytes, str]:
        """A trade-order (type 0) or product edited/deleted (types 4/5) message, signed as Lazada signs it."""
        message = {
            "seller_id": shop.shop_id,
            **self._push_message(event),
            "timestamp": int(time.time() * 1000),
            "site": f"lazada_{shop.region.lower()}",
        }
        body = json.dumps(message, separators=(",", ":")).encode()
        app_key, app_secret = self.app_credentials["app_key"], self.app_credentials["app_secret"]
        signature = signing.webhook_signature(body, app_key, app_secret)
        headers = {"Content-Type": "application/json", signing.WEBHOOK_SIGNATURE_HEADER: signature}
        return headers, body, self.webhook_url or ""

    def _push_message(self, event: Mapping[str, Any]) -> dict[str, Any]:
        if event["kind"] == "order_status_changed":
            order: SbOrder = event["order"]
            line_id = order.lines[0].line_id if order.lines else order.order_id
            return {
                "message_type": 0,
                "data": {
                    "order_status": order.status,
                    "trade_order_id": order.order_id,
                    "trade_order_line_id": line_id,
                    "status_update_time": int(order.updated_at),
                },
            }
        if event["kind"] in ("product_changed", "product_deleted"):
            listing: SbListing = event["listing"]
            deleted = event["kind"] == "product_deleted"
            return {
                "message_type": 5 if deleted else 4,
                "data": {
                    "item_id": _number(listing.item_id),
                    "action": "DELETED" if deleted else "EDITED_UPDATED",
                    "status_update_time": int(listing.updated_at * 1000),
                    "sku_list": [{"seller_sku": v.sku, "sku_id": _number(v.variant_id)} for v in listing.variants],
                },
            }
        raise ValueError(f"the Lazada sandbox cannot push {event['kind']!r}")


# ---------------------------------------------------------------------------------------------------- helpers


async def _params(request: web.Request) -> dict[str, str]:
    """Query parameters and, for a form POST, the form fields (the gateway signs and reads both)."""
    params = dict(request.query)
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


def _json(body: Mapping[str, Any]) -> web.Response:
    return web.Response(
        status=200, body=json.dumps(body, default=str).encode(), content_type="application/json", charset="utf-8"
    )


def _request_id() -> str:
    return secrets.token_hex(13)[:25]


def _id_key(value: str) -> tuple[int, str]:
    """Numeric ids in numeric order."""
    return len(value), value


def _number(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _fresh(timestamp: str, window: float) -> bool:
    """Milliseconds since the epoch (or ISO 8601) within ``window`` seconds of now, either way."""
    try:
        moment = int(timestamp) / 1000 if timestamp.isdigit() else datetime.fromisoformat(timestamp).timestamp()
    except ValueError:
        return False
    return abs(time.time() - moment) <= window


def _bounded(value: str, cap: int, code: str, label: str, minimum: int = 0) -> int:
    number = int(value) if value.lstrip("-").isdigit() else -1
    if number < minimum or number > cap:
        raise LzError(code, f'E0{code}: "{value}" {label}')
    return number


def _time_param(params: Mapping[str, str], name: str) -> int | None:
    """An ISO 8601 filter as whole seconds since the epoch (Lazada compares at second precision)."""
    value = params.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise LzError(codes.INVALID_DATE, f'E017: "{value}" Invalid Date Format') from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _in_window(moment: int, after: int | None, before: int | None) -> bool:
    """``*_after`` and ``*_before`` are both inclusive ("after or on", "before or on")."""
    return (after is None or moment >= after) and (before is None or moment <= before)


def _sku_list(value: str | None, cap: int) -> set[str] | None:
    if not value:
        return None
    try:
        skus = json.loads(value)
    except ValueError:
        skus = None
    if not isinstance(skus, list) or len(skus) > cap or not all(isinstance(s, str | int) for s in skus):
        raise LzError("70", "E070: You have corrupt data in your sku seller list.")
    return {str(sku) for sku in skus}


def _status_matches(listing: SbListing, status: str) -> bool:
    if status == "all":
        return listing.status != "deleted"
    if status == "live":
        return listing.status == "active"
    if status == "sold-out":
        return listing.status == "active" and all(v.stock == 0 for v in listing.variants)
    return listing.status == status


def _payload_product(params: Mapping[str, str]) -> dict[str, Any]:
    """``payload`` (JSON or XML) -> the ``Request.Product`` object."""
    raw = params.get("payload", "").strip()
    if not raw:
        raise LzError("30", "E030: Empty Request")
    try:
        document = _xml_value(fromstring(raw)) if raw.startswith("<") else json.loads(raw)  # noqa: S314 - see _xml_value
    except (ValueError, ParseError):
        raise LzError("5", "E005: Invalid Request Format") from None
    request = document.get("Request", document) if isinstance(document, dict) else None
    product = request.get("Product") if isinstance(request, dict) else None
    if not isinstance(product, dict):
        raise LzError("5", "E005: Invalid Request Format")
    return product


def _xml_value(element: Element) -> Any:
    """An XML payload as JSON-like data: repeated children become lists. Only this emulator's loopback clients
    send it (the platform's XML forms carry no entities or DTDs)."""
    children = list(element)
    if not children:
        return (element.text or "").strip()
    value: dict[str, Any] = {}
    for child in children:
        item = _xml_value(child)
        if child.tag in value:
            existing = value[child.tag]
            value[child.tag] = [*existing, item] if isinstance(existing, list) else [existing, item]
        else:
            value[child.tag] = item
    return {element.tag: value} if element.tag == "Request" else value


def _as_list(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value] if value else []
    return [item for item in items if isinstance(item, dict)]


def _price(sku: Mapping[str, Any], name: str = "price") -> Decimal:
    try:
        price = Decimal(str(sku.get(name)))
    except InvalidOperation:
        raise LzError("4104", "BIZ_CHECK_PRICE_PRECISION_INVALID: price is not a number") from None
    if price <= 0:
        raise LzError("4118", "BIZ_CHECK_PRICE_IS_ZERO: the price cannot be 0")
    return price


def _quantity(sku: Mapping[str, Any], name: str) -> int:
    raw = str(sku.get(name))
    if not raw.isdigit():
        raise LzError("4152", f"THD_INVENTORY_ERR_INV_PARAM_ILLEGAL:illegal parameter:{name.lower()}")
    return int(raw)


def _row_price(sku: Mapping[str, Any]) -> Decimal | None:
    if sku.get("Price") is None:
        return None
    try:
        return _price(sku, "Price")
    except LzError as exc:
        raise stock.SkuRefused("Price", exc.message) from None


def _order_matches(order: SbOrder, window: Mapping[str, int | None], status: str | None) -> bool:
    return (
        _in_window(int(order.updated_at), window["update_after"], window["update_before"])
        and _in_window(int(order.created_at), window["created_after"], window["created_before"])
        and (not status or order.status == status)
    )


def _order_sort(params: Mapping[str, str]) -> Callable[[SbOrder], tuple[int, tuple[int, str]]]:
    column = params.get("sort_by") or "created_at"
    direction = (params.get("sort_direction") or "DESC").upper()
    if column not in ("created_at", "updated_at"):
        raise LzError("75", "E075: Invalid sort filter.")
    if direction not in ("ASC", "DESC"):
        raise LzError("74", "E074: Invalid sort direction.")
    if column == "updated_at":
        return lambda order: (int(order.updated_at), _id_key(order.order_id))
    return lambda order: (int(order.created_at), _id_key(order.order_id))


def _order_ids(value: str) -> list[str]:
    try:
        ids = json.loads(value)
    except ValueError:
        ids = None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int | str) for i in ids):
        raise LzError("56", "E056: Invalid OrdersIdList format. Must use array format [1,2]")
    return [str(i) for i in ids]


def _local_iso(moment: float, shop: SbShop) -> str:
    """Order times as Lazada shows them: ISO 8601 in the venture's time zone, second precision."""
    zone = timezone(timedelta(hours=REGION_HOURS.get(shop.region.lower(), 7)))
    return datetime.fromtimestamp(int(moment), zone).isoformat()


def _own_field(name: str, mandatory: bool, kind: str = "normal") -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "input_type": "text",
        "is_mandatory": int(mandatory),
        "is_sale_prop": 0,
        "attribute_type": kind,
        "options": [],
    }


def _lazada_attribute(attribute: categories.SbAttribute) -> dict[str, Any]:
    closed = not attribute.custom
    kind = {
        (False, True): "singleSelect",
        (True, True): "multiSelect",
        (False, False): "enumInput",
        (True, False): "multiEnumInput",
    }[(attribute.multiple, closed)]
    return {
        "id": attribute.id,
        "name": attribute.name,
        "label": attribute.name,
        "input_type": kind if attribute.values or closed else "text",
        "is_mandatory": int(attribute.required),
        "is_sale_prop": int(attribute.sale_property),
        "attribute_type": "sku" if attribute.sale_property or attribute.sku_level else "normal",
        "options": [{"id": k, "name": v, "en_name": v} for k, v in attribute.values.items()],
    }


def _values(value: Any) -> list[str]:
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _gtin(sku: Mapping[str, Any]) -> str | None:
    """The SKU's ``gtin`` attribute as CreateProduct / UpdateProduct take it (every SKU value is a string); its
    uniqueness (CreateProduct error 4166, an EAN code already in use) is not checked."""
    value = sku.get(GTIN_ATTRIBUTE)
    return None if value is None else str(value)


def _images(node: Mapping[str, Any]) -> list[str]:
    raw = node.get("Images")
    found = raw.get("Image") if isinstance(raw, Mapping) else None
    urls = found if isinstance(found, list) else [found] if found else []  # one XML <Image> is no list
    return [str(url) for url in urls]


def _check_brand(attributes: Mapping[str, Any]) -> None:
    """``brand_id`` (or the ``brand`` name, "will be deprecated") is mandatory on every category (4108); an id must be
    one GetBrandByPages lists (4142)."""
    brand_id, name = attributes.get("brand_id"), str(attributes.get("brand") or "").strip()
    if brand_id is None and not name:
        raise LzError("4108", "CHK_BASIC_REQUIRED: [brand] is mandatory")
    if brand_id is not None and not categories.known_brand(brand_id):
        raise LzError("4142", "THD_BRAND_ID_IS_NOT_VALID_IN_CATEGORY: The brand is invalid in the category")


def _check_package(sku: Mapping[str, Any]) -> None:
    """``package_weight`` (kg, at most 40: 4164) and length, width, height (cm, sum at most 300: 4165) are mandatory
    on each SKU (4108)."""
    sizes: dict[str, Decimal] = {}
    for name in PACKAGE_FIELDS:
        try:
            sizes[name] = Decimal(str(sku.get(name)))
        except (InvalidOperation, ValueError):
            raise LzError("4108", f"CHK_BASIC_REQUIRED: [{name}] is mandatory") from None
        if not sizes[name].is_finite() or sizes[name] <= 0:
            raise LzError("4108", f"CHK_BASIC_REQUIRED: [{name}] is mandatory")
    if sizes["package_weight"] > MAX_PACKAGE_KG:
        raise LzError("4164", "BIZ_CHECK_MAX_PACKAGE_WEIGHT: The package weight exceeds 40kg")
    if sizes["package_length"] + sizes["package_width"] + sizes["package_height"] > MAX_PACKAGE_SUM_CM:
        raise LzError(
            "4165", "BIZ_CHECK_MAX_PACKAGE_DIMENISIONS: The Package dimension(Length+Width+Height) exceeds 300cm"
        )


def _sku_level_values(found: categories.SbCategory, skus: list[dict[str, Any]]) -> dict[int, list[str]]:
    """A SKU-level attribute counts only where every SKU carries it (on the product it is not read)."""
    out = {}
    for attribute in (a for a in found.attributes if a.sku_level):
        values = [_values(sku[attribute.name]) for sku in skus if sku.get(attribute.name)]
        if skus and len(values) == len(skus):
            out[attribute.id] = values[0]
    return out


def _check_category(product: Mapping[str, Any]) -> None:
    """What CreateProduct refuses of a category the sandbox's tree holds (docs/platforms/listings/lazada.md): not a
    leaf (4134), a mandatory attribute missing (4108), a value not among the options (4115); an id the tree does not
    hold is accepted as a leaf without attributes."""
    found = categories.category(product.get("PrimaryCategory"))
    if found is None:
        return
    if not found.leaf:
        raise LzError("4134", "Please select the last level category.")
    raw = product.get("Attributes")
    attributes: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    by_name = {a.name: a.id for a in found.attributes if not a.sku_level}
    given = {by_name[k]: _values(v) for k, v in attributes.items() if k in by_name}
    given |= _sku_level_values(found, _as_list((product.get("Skus") or {}).get("Sku")))
    missing = categories.missing_attributes(found, given)
    if missing:
        raise LzError("4108", f"[{missing[0].name}] is mandatory")
    bad = categories.bad_values(found, given)
    if bad:
        raise LzError("4115", "; ".join(bad))
