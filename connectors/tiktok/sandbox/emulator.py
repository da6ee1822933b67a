"""A local TikTok Shop Partner API (202309+) for the demo, the tests and the benchmarks.

It serves, on one server, the API host paths the client uses and the auth host's token endpoints, with the
platform's parameter names, signature check (``connectors.tiktok.signing``), timestamp window [now - 5 min,
now + 30 s], ``x-tts-access-token`` header, ``shop_cipher`` rules (required on shop calls: ``106013``; refused on
``/authorization/*``: ``36009004``), error envelope and codes (TTS-DOC ``common-errors.md`` and the per-API error
lists), page-size caps, the ``status`` filter of Search Products (one documented value; ALL, the default, returns
DELETED and DRAFT products too; an undocumented value is ``12052910``), its 10,000-result cap (``12052180``),
``seller_skus`` ≤ 10, order ids ≤ 50, Edit Product (202509) as a full replacement (what is left out is cleared,
unlisted SKUs deleted, only SKU price and inventory kept) and Partial Edit per top-level property, with the
properties nfsync does not model stored and shown as Get Product shows them (``set_content``, ``set_sku_fields``),
one product per price/stock call with per-SKU inventory errors, several warehouses per shop and per SKU (Update
Inventory must list exactly the SKU's warehouses: ``12019028`` when one is omitted, ``12052533`` when one is added,
``12052097`` when unknown; ``add_warehouse``, ``set_stock``), Create Product's ``idempotency_key``, the 50 QPS per
(app, shop, API) limit (HTTP 429 + ``36009002``) and signed pushes (``Authorization`` = hex HMAC-SHA256(app_secret,
app_key + body)) retried +2 min, +30 min, +3 h, +12 h.

Tokens: access 7 days; refresh token lifetime = the authorization duration (365 days here; the real value is
whatever ``refresh_token_expire_in`` says). A refresh returns a NEW refresh token and the spent one stops working
(``single_use_refresh``: TikTok documents only that a refresh returns a refresh token; treating it as rotating is
the safe reading); the new one keeps the authorization's expiry (refreshing never extends the authorization).

NOT emulated (behaviour of the real platform this sandbox does not reproduce):

- the authorization page and its redirect (codes come from ``issue_code``, valid 10 minutes instead of 30);
  a seller owning several shops (one token per shop here); scopes (all granted, ``105005`` never returned);
  the IP allow list (``36009033``); user types other than seller;
- API version errors (``36009014``) beyond ``RETIRED_PATHS``, unknown paths and wrong methods (aiohttp's plain
  404/405 instead of ``36009009``/``36009010``); the 503 "server protection" answer; HTTP statuses other than 401
  (auth), 429 (throttle) and 500 (internal) are a plausible 400 (UNCONFIRMED for TikTok);
- product audit (new and edited products are ``ACTIVATE`` at once, no v1/v2 versions), promotions and price locks,
  image sizes and aspect ratios, certifications and size charts, global products (Create and Edit Product require a
  title of 25-255 characters (SEA), a description, ``package_weight`` and 1-9 ``main_images`` whose uris Upload
  Product Image issued: 12052910 / 12052051, 12052015, 12052028 / 12052306 / 12052300; an unknown ``brand_id`` is
  cleared with a ``warnings`` entry; categories, attributes and values of the small tree in
  ``connectors/base/sandbox_categories.py`` are checked), backorder stock (``backorder_quantity``, ``handling_time``),
  disabled or restricted warehouses (stock there is written like any other), warehouses of other shops (``12052530``),
  ``inventory/search``, the product deactivate/delete APIs; search sorts products by creation (TikTok's order is
  undocumented);
- orders beyond status changes: ON_HOLD (US/UK only), cancellations, returns, packages, fulfilment, discounts,
  taxes; buyers are whatever the admin route or test put in;
- webhook types other than 1, 11, 12, 15, 16, 6 and 7 (11 and 12 are pushed on request only: the sandbox has no
  cancellation or return flow); the 3-second ack deadline; a 401 ack counting as delivered.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar

from aiohttp import web

from nfsync.connectors.base.sandbox import Handler, SandboxBase, SbListing, SbShop, SbVariant
from nfsync.connectors.base.sandbox_categories import BRANDS
from nfsync.connectors.base.signing import signatures_match
from nfsync.connectors.tiktok import client as api
from nfsync.connectors.tiktok import errors as e
from nfsync.connectors.tiktok import signing
from nfsync.connectors.tiktok.mapping import as_dict, as_list
from nfsync.connectors.tiktok.sandbox import checks as c
from nfsync.connectors.tiktok.sandbox import edit as se
from nfsync.connectors.tiktok.sandbox import render as r
from nfsync.connectors.tiktok.sandbox.store import Store

ApiHandler = Callable[[web.Request, SbShop, dict[str, Any]], Awaitable[web.StreamResponse]]
TIMESTAMP_PAST = 300  # seconds: "must not be earlier than 5 minutes before the current time"
TIMESTAMP_FUTURE = 30  # "must not exceed the current time by more than 30 seconds"
ORDER_SORT_FIELDS = frozenset({"create_time", "update_time"})
RETIRED_PATHS = frozenset(
    {
        ("GET", "/order/202309/orders"),
        ("PUT", "/product/202309/products/{product_id}"),
        ("POST", "/product/202309/products/{product_id}/partial_edit"),
        ("POST", "/product/202309/products/search"),
    }
)
"""Versions of the client's calls that the reference copies do not document (only Get Order Detail 202507, Edit and
Partial Edit Product 202509, Search Products 202502 are): answered ``36009014`` as a retired or invalid version
(api-versioning.md). Whether TikTok still serves them is UNCONFIRMED: refusing them is the stricter reading."""


class Sandbox(SandboxBase):
    platform: ClassVar[str] = "tiktok"
    access_ttl: ClassVar[float] = 7 * 86_400.0
    refresh_ttl: ClassVar[float] = 365 * 86_400.0
    single_use_refresh: ClassVar[bool] = True
    default_rate_limit: ClassVar[float | None] = 50.0
    webhook_retry_schedule = (120.0, 1_800.0, 10_800.0, 43_200.0)
    order_statuses = ("UNPAID", "AWAITING_SHIPMENT", "AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED")

    def __init__(self, app: Mapping[str, str], **options: Any) -> None:
        super().__init__(app, **options)
        self.search_result_cap = api.SEARCH_RESULT_CAP  # Search Products pages through at most this many
        self._idempotency: dict[tuple[str, str], str] = {}  # (shop id, idempotency_key) -> product id
        self._tts_ids = itertools.count(576_461_413_038_785_752)  # 18 digits, like TikTok order ids
        self._ciphers: dict[str, str] = {}  # shop_cipher -> shop id
        self.store = Store()  # warehouses, stock per warehouse, properties the shared model lacks

    def new_id(self) -> str:
        return str(next(self._tts_ids))

    def add_shop(
        self,
        shop_id: str,
        name: str | None = None,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        **extra: str,
    ) -> SbShop:
        """A shop with a ``shop_cipher`` (as Get Authorized Shops returns) and a default sales warehouse."""
        shop = super().add_shop(shop_id, name, access_token=access_token, refresh_token=refresh_token, **extra)
        shop.extra.setdefault("shop_cipher", f"ROW_{secrets.token_urlsafe(24)}")
        shop.extra.setdefault("warehouse_id", self.new_id())
        self._ciphers[shop.extra["shop_cipher"]] = shop.shop_id
        if not self.store.known(shop, shop.extra["warehouse_id"]):  # a new shop (or one made again after a reset)
            self.store.warehouses[shop.shop_id] = []
            self.store.add_warehouse(shop, shop.extra["warehouse_id"], "Default warehouse", is_default=True)
        return shop

    def add_warehouse(self, shop: SbShop, name: str = "Second warehouse", **properties: Any) -> str:
        """Another warehouse of the shop (a sales warehouse, enabled, not the default unless said)."""
        return str(self.store.add_warehouse(shop, self.new_id(), name, **properties)["id"])

    def add_listing(
        self,
        shop: SbShop,
        name: str,
        variants: Sequence[Mapping[str, Any]],
        *,
        description: str = "",
        category_id: str | None = None,
        status: str = "active",
    ) -> SbListing:
        """A product as a merchant made it: with a main image and a package weight, as every TikTok product has
        (Create Product requires them); the rest of its properties via ``set_content``."""
        listing = super().add_listing(
            shop, name, variants, description=description, category_id=category_id, status=status
        )
        self.store.content[listing.item_id] = {
            "main_images": [{"uri": self.store.issue_image()}],
            "package_weight": {"value": "0.5", "unit": "KILOGRAM"},
        }
        return listing

    def set_content(self, listing: SbListing, **properties: Any) -> None:
        """Edit properties nfsync does not model (``brand_id``, ``product_attributes``, ``main_images``, ...),
        stored as Edit Product takes them and shown as Get Product returns them."""
        for image in properties.get("main_images") or []:  # a merchant's images were uploaded through TikTok
            self.store.images.add(str(image.get("uri")))
        self.store.content.setdefault(listing.item_id, {}).update(properties)

    def set_sku_fields(self, variant: SbVariant, **properties: Any) -> None:
        """SKU properties nfsync does not model (``external_sku_id``, ``list_price``, ``sales_attributes`` ids...)."""
        self.store.sku_fields.setdefault(variant.variant_id, {}).update(properties)

    def set_stock(self, shop: SbShop, sku: str, split: Mapping[str, int]) -> SbVariant:
        """Assign a SKU to these warehouses with these quantities (its stock becomes their sum)."""
        found = self.find_variant(shop, sku)
        if found is None:
            raise KeyError(sku)
        self.store.set_stock(found[1], split)
        return found[1]

    def shop_by_cipher(self, cipher: str | None) -> SbShop | None:
        shop = self.shops.get(self._ciphers.get(cipher or "", ""))
        return shop if shop is not None and cipher and shop.extra.get("shop_cipher") == cipher else None

    # ------------------------------------------------------------------ answers

    def throttle_response(self) -> web.Response:
        return r.error(429, e.THROTTLED, "Too many requests. You've made too many requests in a short period of time.")

    def server_error_response(self) -> web.Response:
        return r.error(
            500,
            e.INTERNAL,
            "Internal error. Please try again. If the issue persists after multiple "
            "attempts, please contact platform support.",
        )

    def signed_push(self, shop: SbShop, event: Mapping[str, Any]) -> tuple[dict[str, str], bytes, str]:
        kind, data = r.push_data(event)
        envelope = {
            "type": kind,
            "tts_notification_id": self.new_id(),
            "shop_id": shop.shop_id,
            "timestamp": int(time.time()),
            "data": data,
        }
        body = r.json_bytes(envelope)
        app_key, app_secret = self.app_credentials["app_key"], self.app_credentials["app_secret"]
        headers = {
            signing.WEBHOOK_SIGNATURE_HEADER: signing.webhook_signature(body, app_key, app_secret),
            "Content-Type": "application/json",
        }
        return headers, body, self.webhook_url or ""

    # ------------------------------------------------------------------ routes

    def add_routes(self, app: web.Application) -> None:
        router = app.router
        router.add_get(api.TOKEN_GET, self._token_get)
        router.add_get(api.TOKEN_REFRESH, self._token_refresh)
        router.add_get(api.SHOPS, self._api(self._shops, shop_scoped=False))
        router.add_get(api.WAREHOUSES, self._api(self._warehouses))
        router.add_post(api.PRODUCT_SEARCH, self._api(self._search_products))
        router.add_get(api.CATEGORIES + "/{category_id}/attributes", self._api(self._category_attributes))
        router.add_get(api.CATEGORIES + "/{category_id}/rules", self._api(self._category_rules))
        router.add_get(api.BRANDS, self._api(self._brands))
        router.add_post(api.IMAGE_UPLOAD, self._upload_image)
        router.add_post(api.PRODUCTS, self._api(self._create_product))
        router.add_get(api.PRODUCTS + "/{product_id}", self._api(self._get_product))
        router.add_put(api.EDIT_PRODUCTS + "/{product_id}", self._api(partial(self._edit_product, full=True)))
        router.add_post(
            api.EDIT_PRODUCTS + "/{product_id}/partial_edit", self._api(partial(self._edit_product, full=False))
        )
        router.add_post(api.PRODUCTS + "/{product_id}/prices/update", self._api(self._update_prices))
        router.add_post(api.PRODUCTS + "/{product_id}/inventory/update", self._api(self._update_inventory))
        router.add_post(api.ORDER_SEARCH, self._api(self._search_orders))
        router.add_get(api.ORDER_DETAIL, self._api(self._order_detail))
        for method, path in RETIRED_PATHS:
            router.add_route(method, path, self._retired)

    async def _retired(self, _request: web.Request) -> web.StreamResponse:
        return r.error(400, e.INVALID_VERSION, "The version name is invalid, please check and retry.")

    def _api(self, handler: ApiHandler, *, shop_scoped: bool = True) -> Handler:
        """Gate (rate limit, faults), then TikTok's checks in order: app_key, sign present, timestamp, sign,
        access token, shop_cipher; then the handler with the shop and the JSON body."""

        async def endpoint(request: web.Request) -> web.StreamResponse:
            blocked = await self.gate(request, self._limit_key(request))
            if blocked is not None:
                return blocked
            raw = await request.read()
            shop = self._authenticate(request, raw, shop_scoped)
            if isinstance(shop, web.Response):
                return shop
            body = r.json_body(raw)
            if body is None:
                return r.error(
                    400, e.INVALID_FORMAT, "Invalid request format. The request body format must be `application/json`."
                )
            return await handler(request, shop, body)

        return endpoint

    def _limit_key(self, request: web.Request) -> str:
        """Per (app, shop, API): 50 QPS for each API, counted per app and shop (rate-limits.md)."""
        cipher = request.query.get("shop_cipher")
        shop = (
            self.shop_by_cipher(cipher)
            if cipher
            else self.shop_by_token(request.headers.get(signing.ACCESS_TOKEN_HEADER))
        )
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else request.path
        return f"{request.query.get('app_key', '')}:{shop.shop_id if shop else '-'}:{request.method} {route}"

    # ------------------------------------------------------------------ authentication

    def _authenticate(self, request: web.Request, raw: bytes, shop_scoped: bool) -> SbShop | web.Response:
        problem = self._check_credentials(request.query) or self._check_sign(request, raw)
        if problem is not None:
            return problem
        token = request.headers.get(signing.ACCESS_TOKEN_HEADER)
        return self._resolve_shop(request.query.get("shop_cipher"), token, shop_scoped)

    def _check_credentials(self, query: Mapping[str, str]) -> web.Response | None:
        if query.get("app_key") != self.app_credentials["app_key"]:
            return r.error(401, e.INVALID_CREDENTIALS, "Invalid credentials. Invalid `app_key` query parameter.")
        if not query.get("sign"):
            return r.error(
                401,
                e.INVALID_CREDENTIALS,
                "Missing credentials. The request does not include a required signature in the query.",
            )
        stamp = query.get("timestamp", "")
        if not stamp.isdigit():
            return r.error(
                401,
                e.INVALID_CREDENTIALS,
                "Invalid timestamp. The value of the `timestamp` query parameter must not be lesser than 0.",
            )
        now = time.time()
        if int(stamp) < now - TIMESTAMP_PAST:
            return r.error(
                401,
                e.INVALID_CREDENTIALS,
                "Invalid timestamp. The value of the `timestamp` query "
                "parameter must not be earlier than 5 minutes before the current time.",
            )
        if int(stamp) > now + TIMESTAMP_FUTURE:
            return r.error(
                401,
                e.INVALID_CREDENTIALS,
                "Invalid timestamp. The value of the `timestamp` query "
                "parameter must not exceed the current time by more than 30 seconds.",
            )
        return None

    def _check_sign(self, request: web.Request, raw: bytes) -> web.Response | None:
        params = {key: request.query.get(key, "") for key in request.query}  # the first value of a repeated key
        signed_body = None if request.content_type == "multipart/form-data" or not raw else raw
        base = signing.base_string(request.path, params, signed_body)
        expected = signing.signature(base, self.app_credentials["app_secret"])
        if not signatures_match(expected, request.query.get("sign")):
            return r.error(401, e.INVALID_SIGN, "Invalid credentials. The `sign` query parameter is invalid.")
        return None

    def _resolve_shop(self, cipher: str | None, token: str | None, shop_scoped: bool) -> SbShop | web.Response:
        if shop_scoped and not cipher:
            return r.error(
                400,
                e.MISSING_SHOP_CIPHER,
                "Missing identifier. The `shop_cipher` query parameter is required to identify the target shop.",
            )
        if not shop_scoped and cipher:
            return r.error(
                400,
                e.INVALID_CREDENTIALS,
                "Unexpected identifier. The `shop_cipher` query parameter is not required for this request.",
            )
        owner = self.shop_by_token(token)
        state = self.check_access(owner, token)
        if state == "expired":
            return r.error(401, e.ACCESS_EXPIRED, "Expired credentials. The `x-tts-access-token` header has expired.")
        if state != "ok" or owner is None:
            return r.error(
                401, e.INVALID_CREDENTIALS, "Invalid credentials. The `x-tts-access-token` header is invalid."
            )
        if shop_scoped and self.shop_by_cipher(cipher) is not owner:
            return r.error(
                401,
                e.SHOP_MISMATCH,
                "Invalid query or header. The shop associated with the "
                "`x-tts-access-token` header does not match the `shop_cipher` query parameter.",
            )
        return owner

    # ------------------------------------------------------------------ auth host

    def _check_app_secret(self, query: Mapping[str, str], grant_type: str) -> web.Response | None:
        app_key, app_secret = self.app_credentials["app_key"], self.app_credentials["app_secret"]
        if query.get("app_key") != app_key or not signatures_match(app_secret, query.get("app_secret")):
            return r.error(401, e.INVALID_CREDENTIALS, "Invalid credentials. Invalid `app_key` or `app_secret`.")
        if query.get("grant_type") != grant_type:
            return r.error(400, e.INVALID_CREDENTIALS, f"Invalid grant_type: only `{grant_type}` is accepted.")
        return None

    async def _token_get(self, request: web.Request) -> web.StreamResponse:
        blocked = await self.gate(request, f"auth:{request.query.get('app_key', '')}")
        if blocked is not None:
            return blocked
        problem = self._check_app_secret(request.query, "authorized_code")
        if problem is not None:
            return problem
        shop = self.redeem_code(request.query.get("auth_code", ""))
        if shop is None:
            return r.error(400, e.AUTH_RECORD_NOT_FOUND, "can not find related auth record")
        access, refresh = self.issue_tokens(shop)
        return r.ok(r.token_json(shop, access, refresh))

    async def _token_refresh(self, request: web.Request) -> web.StreamResponse:
        blocked = await self.gate(request, f"auth:{request.query.get('app_key', '')}")
        if blocked is not None:
            return blocked
        problem = self._check_app_secret(request.query, "refresh_token")
        if problem is not None:
            return problem
        value = request.query.get("refresh_token", "")
        shop = next((s for s in self.shops.values() if value in s.refresh), None)
        found = shop.refresh[value] if shop is not None else None
        pair = self.spend_refresh(shop, value)
        if pair is None or shop is None or found is None:
            if found is not None and not found.used and found.expires_at <= time.time():
                return r.error(400, e.REFRESH_EXPIRED, "rt has expired")
            return r.error(400, e.AUTH_RECORD_NOT_FOUND, "can not find related auth record")
        access, refresh = pair
        refresh.expires_at = found.expires_at  # the authorization's end: a refresh never extends it
        return r.ok(r.token_json(shop, access, refresh))

    # ------------------------------------------------------------------ shops, warehouses

    async def _shops(self, _request: web.Request, shop: SbShop, _body: dict[str, Any]) -> web.StreamResponse:
        return r.ok({"shops": [r.shop_json(shop)]})

    async def _warehouses(self, _request: web.Request, shop: SbShop, _body: dict[str, Any]) -> web.StreamResponse:
        return r.ok({"warehouses": self.store.listed(shop)})

    # ------------------------------------------------------------------ products: read

    async def _search_products(self, request: web.Request, shop: SbShop, body: dict[str, Any]) -> web.StreamResponse:
        size, offset = r.page_size(request.query), r.read_offset(request.query.get("page_token"))
        if size is None:
            return r.error(400, e.PAGE_SIZE_INVALID, "page size is invalid")
        if offset is None:
            return r.error(400, e.PAGE_CURSOR_INVALID, "page number is invalid")
        problem = c.check_search(body)
        if problem is not None:
            return problem
        matches = [
            item
            for item in shop.listings.values()
            if c.product_matches(item, body)  # creation order
        ]
        if min(offset + size, len(matches)) > self.search_result_cap:
            return r.error(400, e.SEARCH_RESULT_CAP, "The total number of search results can not exceed 10000.")
        page = matches[offset : offset + size]
        more = offset + size < len(matches)
        return r.ok(
            {
                "products": [r.product_json(item, shop, self.store) for item in page],
                "total_count": len(matches),
                "next_page_token": r.offset_token(offset + size) if more else "",
            }
        )

    async def _upload_image(self, request: web.Request) -> web.StreamResponse:
        """Upload Product Image: multipart (36009023 otherwise), signed without its body, no shop_cipher; the part
        ``data`` a JPEG or PNG (12038015) of at most 5 MB (12038005; 10 MB in the current reference, 5 in the older:
        the stricter, UNCONFIRMED). Answers a ``uri`` the sandbox remembers as issued."""
        blocked = await self.gate(request, self._limit_key(request))
        if blocked is not None:
            return blocked
        raw = await request.read()
        if request.content_type != "multipart/form-data":
            return r.error(400, e.NOT_MULTIPART, "The content-type must be multipart/form-data.")
        shop = self._authenticate(request, raw, shop_scoped=False)
        if isinstance(shop, web.Response):
            return shop
        return c.uploaded_image(self.store, raw, request.headers.get("Content-Type", ""))

    async def _category_attributes(
        self, request: web.Request, _shop: SbShop, _body: dict[str, Any]
    ) -> web.StreamResponse:
        found, problem = c.leaf_category(request.match_info["category_id"])
        if problem is not None:
            return problem
        return r.ok({"attributes": [c.attribute_json(a) for a in (found.attributes if found else ())]})

    async def _brands(self, request: web.Request, _shop: SbShop, _body: dict[str, Any]) -> web.StreamResponse:
        """Get Brands: ``page_size`` 1-100 required (12019109), one page: the sandboxes' brands, authorised and
        available."""
        if r.page_size(request.query) is None:
            return r.error(400, e.PAGE_SIZE_INVALID, "page size is invalid")
        state = {"authorized_status": "AUTHORIZED", "brand_status": "AVAILABLE", "is_t1_brand": False}
        brands = [{"id": str(i), "name": n, **state} for i, n in BRANDS.items()]
        return r.ok({"brands": brands, "total_count": len(brands), "next_page_token": ""})

    async def _category_rules(self, request: web.Request, _shop: SbShop, _body: dict[str, Any]) -> web.StreamResponse:
        found, problem = c.leaf_category(request.match_info["category_id"])
        if problem is not None:
            return problem
        required = bool(found and found.package_dimensions_required)
        return r.ok(
            {
                "product_certifications": [],
                "size_chart": {"is_supported": False, "is_required": False},
                "package_dimension": {"is_required": required},
            }
        )

    async def _get_product(self, request: web.Request, shop: SbShop, _body: dict[str, Any]) -> web.StreamResponse:
        listing = c.live(shop, request.match_info["product_id"])
        if listing is None:
            return c.no_product()
        return r.ok(r.product_json(listing, shop, self.store, detail=True))

    # ------------------------------------------------------------------ products: create and edit

    async def _create_product(self, request: web.Request, shop: SbShop, body: dict[str, Any]) -> web.StreamResponse:
        key = str(body.get("idempotency_key") or "")
        known = c.live(shop, self._idempotency.get((shop.shop_id, key), "")) if key else None
        if known is not None:  # same key, same product: nothing is written again
            return r.ok(r.created_json(known))
        problem = c.check_content(self.store, shop, body, full=True) or c.check_product(self.store, shop, body)
        if problem is not None:
            return problem
        listing = super().add_listing(  # not a merchant's product: its content is the body's
            shop,
            str(body["title"]),
            [c.variant_spec(sku) for sku in body["skus"]],
            description=str(body.get("description") or ""),
            category_id=str(body["category_id"]),
        )
        content, warnings = c.cleared_brand(se.content_after({}, body, full=True))
        self.store.content[listing.item_id] = content
        for variant, sku in zip(listing.variants, body["skus"], strict=True):
            self.store.set_stock(variant, c.stock_split({}, as_dict(sku)))
            self.store.sku_fields[variant.variant_id] = se.sku_fields(as_dict(sku))
            self.store.set_identifier(variant, as_dict(sku))
        self.counters.creates += 1
        if key:
            self._idempotency[(shop.shop_id, key)] = listing.item_id
        skus = [v.sku for v in listing.variants]
        data = r.created_json(listing) | {"warnings": warnings}
        return self._written(request, shop, listing, kind="product_created", data=data, skus=skus)

    async def _edit_product(
        self, request: web.Request, shop: SbShop, body: dict[str, Any], *, full: bool
    ) -> web.StreamResponse:
        """Edit Product (``full``: a full replacement) or Partial Edit Product (per top-level property)."""
        listing = c.live(shop, request.match_info["product_id"])
        if listing is None:
            return c.no_product()
        problem = se.check_edit(self.store, shop, listing, body, full=full)
        if problem is not None:
            return problem
        if full or "title" in body:
            listing.name = str(body["title"])
        if full or "description" in body:
            listing.description = str(body["description"])
        if full:
            listing.category_id = str(body["category_id"])
        content = self.store.content.get(listing.item_id, {})
        self.store.content[listing.item_id] = se.content_after(content, body, full=full)
        if full or "skus" in body:
            self._replace_skus(shop, listing, [as_dict(sku) for sku in as_list(body.get("skus"))])
        skus = [v.sku for v in listing.variants]
        return self._written(request, shop, listing, kind="product_changed", data=r.created_json(listing), skus=skus)

    def _replace_skus(self, shop: SbShop, listing: SbListing, skus: list[dict[str, Any]]) -> None:
        """The product's SKUs become the ones listed: listed ids kept, others deleted, SKUs without id created."""
        known, names = {v.variant_id: v for v in listing.variants}, se.attribute_names(listing)
        listing.variants = [self._edited_sku(shop, known, names, sku) for sku in skus]
        for gone in set(known) - {v.variant_id for v in listing.variants}:
            self.store.stock.pop(gone, None)
            self.store.sku_fields.pop(gone, None)
            self.store.identifier_types.pop(gone, None)

    def _edited_sku(
        self, shop: SbShop, known: Mapping[str, SbVariant], names: Mapping[str, str], sku: dict[str, Any]
    ) -> SbVariant:
        """One SKU as sent: what is left out is cleared, except ``price`` and ``inventory``, which are kept."""
        variant = known.get(str(sku.get("id") or ""))
        assigned = self.store.stock_of(shop, variant) if variant is not None else {}
        variant = variant or SbVariant(self.new_id(), "", Decimal(0), 0)
        variant.sku, variant.options = str(sku.get("seller_sku") or ""), se.options_of(sku, names)
        if "price" in sku:
            variant.price = Decimal(str(as_dict(sku["price"])["amount"]))
        if "inventory" in sku:
            self.store.set_stock(variant, c.stock_split(assigned, sku))
        self.store.sku_fields[variant.variant_id] = se.sku_fields(sku)
        self.store.set_identifier(variant, sku)
        return variant

    def _written(
        self, request: web.Request, shop: SbShop, listing: SbListing, *, kind: str | None, data: Any, skus: list[str]
    ) -> web.StreamResponse:
        """After a successful write: counters, a push, and maybe a lost response."""
        listing.updated_at = max(time.time(), listing.updated_at + 0.001)
        for sku in skus:
            self.record_write(sku)
        if kind is not None:
            self.push(shop, {"kind": kind, "listing": listing})
        if self.lose_response(request):
            return web.Response()
        return r.ok(data)

    # ------------------------------------------------------------------ prices and inventory

    async def _update_prices(self, request: web.Request, shop: SbShop, body: dict[str, Any]) -> web.StreamResponse:
        listing = c.live(shop, request.match_info["product_id"])
        if listing is None:
            return c.no_product()
        skus = [as_dict(sku) for sku in as_list(body.get("skus"))]
        problem = c.check_prices(shop, listing, skus)
        if problem is not None:
            return problem
        by_id = {v.variant_id: v for v in listing.variants}
        for sku in skus:
            by_id[str(sku["id"])].price = Decimal(str(as_dict(sku["price"])["amount"]))
        written = [by_id[str(sku["id"])].sku for sku in skus]
        return self._written(request, shop, listing, kind=None, data={}, skus=written)

    async def _update_inventory(self, request: web.Request, shop: SbShop, body: dict[str, Any]) -> web.StreamResponse:
        listing = c.live(shop, request.match_info["product_id"])
        if listing is None:
            return c.no_product()
        skus = [as_dict(sku) for sku in as_list(body.get("skus"))]
        problem = c.check_sku_list(skus)
        if problem is not None:
            return problem
        by_id = {v.variant_id: v for v in listing.variants}
        failures, written = [], []
        for sku in skus:
            failure = c.inventory_failure(self.store, shop, by_id, sku)
            if failure is not None:
                failures.append(failure)
                continue
            variant = by_id[str(sku["id"])]
            self.store.set_stock(variant, c.stock_split(self.store.stock_of(shop, variant), sku))
            written.append(variant.sku)
        data = {"errors": failures} if failures else {}
        return self._written(request, shop, listing, kind=None, data=data, skus=written)

    # ------------------------------------------------------------------ orders

    async def _search_orders(self, request: web.Request, shop: SbShop, body: dict[str, Any]) -> web.StreamResponse:
        size, cursor = r.page_size(request.query), r.read_cursor(request.query.get("page_token"))
        field = request.query.get("sort_field", "create_time")
        descending = request.query.get("sort_order", "DESC").upper() == "DESC"  # default order: UNCONFIRMED
        if size is None or cursor is False or field not in ORDER_SORT_FIELDS:
            return r.error(
                400, e.INVALID_CREDENTIALS, "Invalid parameters: page_size (1-100), page_token or sort_field."
            )
        matches = sorted(
            (o for o in shop.orders.values() if c.order_matches(o, body)),
            key=lambda o: r.order_key(o, field),
            reverse=descending,
        )
        rest = c.after(matches, cursor, field, descending=descending) if isinstance(cursor, tuple) else matches
        page = rest[:size]
        token = r.cursor_token(r.order_key(page[-1], field)) if len(rest) > size else ""
        return r.ok({"orders": [r.order_json(o) for o in page], "next_page_token": token, "total_count": len(matches)})

    async def _order_detail(self, request: web.Request, shop: SbShop, _body: dict[str, Any]) -> web.StreamResponse:
        ids = [i.strip() for i in request.query.get("ids", "").split(",") if i.strip()]
        if not ids or len(ids) > api.ORDER_IDS_CAP:
            return r.error(400, e.INVALID_CREDENTIALS, "Invalid parameter: `ids` takes 1 to 50 order ids.")
        found = [shop.orders[i] for i in dict.fromkeys(ids) if i in shop.orders]
        return r.ok({"orders": [r.order_json(o) for o in found]})
