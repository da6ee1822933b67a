"""A local emulator of the Shopee Open Platform v2 API surface the client uses.

Platform facts: the references cited in tests/contracts The sandbox serves Shopee's own paths, methods,
parameter names and error envelope (``request_id``, ``error``, ``message``, ``response``) and checks requests the
way Shopee documents it:

- common parameters in the query for GET and POST: an unknown ``partner_id`` or a missing ``timestamp``/``sign``
  -> ``error_param``; a timestamp more than 5 minutes away -> ``error_param`` "Invalid timestamp."; a sign that is
  not the HMAC of the public or shop base string -> ``error_sign`` "Wrong sign."; shop APIs need
  ``access_token`` + ``shop_id`` and answer an unknown, expired or other shop's token with ``error_auth``
  "Invalid access_token.";
- authorization: ``/api/v2/shop/auth_partner`` (signed link; approves at once and redirects with ``code`` and
  ``shop_id`` - the sandbox takes an optional ``shop_id`` query parameter to choose the shop), code exchange at
  ``/api/v2/auth/token/get`` (code single use, 10 minutes: ``invalid_code``; wrong shop: ``invalid_shop_id``) and
  refresh at ``/api/v2/auth/access_token/get`` (refresh token single use, 30 days: a spent or unknown one
  -> ``error_shop_refresh_token``, an expired one -> ``refresh_token_expired``, an unknown or deauthorized shop
  -> ``shop_no_linked``); access tokens live 4 hours and the previous access token stays valid 5 more minutes
  after a refresh;
- products: ``get_item_list`` (offset pages, ``page_size`` 1-100, ``item_status`` required and repeatable,
  ``update_time_from``/``update_time_to``), ``get_item_base_info`` (1-50 ids), ``get_model_list``,
  ``search_item`` (``item_sku`` matches any item or model SKU containing it, like a search box), ``add_item``,
  ``init_tier_variation`` (at most 2 tiers, once per item), ``update_item``, ``update_stock`` and ``update_price``
  (one item per call, 1-50 entries, per-model ``success_list``/``failure_list``; model_id 0 for items without
  models; a stock call where every model fails -> ``error_busi_update_stock_failed``; prices must be integers
  except in SG/MY/BR/MX/PL/ES/AR); ``gtin_code`` on items without models for BR shops and on models for BR and
  TW shops (docs/platforms/listings/shopee.md, "Barcodes");
- listings (docs/platforms/listings/shopee.md): ``add_item`` requires a description, a weight, ``logistic_info``
  naming channels of ``logistics/get_channel_list`` the shop has enabled (``error_invalid_logistic_info``), 1-9
  ``image_id_list`` entries that ``media_space/upload_image`` issued (``error_image_num_min``, "Image not exist."),
  a brand of ``get_brand_list`` (``error_invalid_brand``) and, in the small category tree of
  ``connectors/base/sandbox_categories.py``, a leaf category with its mandatory attributes and values
  (``error_less_required_attribute``, ``error_invalid_attribute_value``, ``error_less_required_brand``);
  ``update_item`` checks the images and logistics it is sent;
- orders: ``get_order_list`` (``time_range_field`` create_time/update_time, windows over 15 days or reversed
  -> ``order.order_list_invalid_time``, ``page_size`` 1-100, opaque ``cursor``), ``get_order_detail`` (1-50
  ``order_sn``, ``response_optional_fields``); order numbers look like Shopee's (``YYMMDD`` + 8 characters);
- pushes: code 3 (order status), 2 (deauthorization) and 12 (authorization expiry) bodies, header
  ``Authorization`` = hex HMAC-SHA256(partner_key, callback URL + "|" + body); a delivery succeeds on a 2xx with
  an empty body within 3 seconds and is retried after 300, 1800 and 10800 seconds (the per-topic schedule of a
  secondary survey of Shopee's push pages; the reference says UNCONFIRMED); a push that never succeeds is kept
  for 3 days for ``/api/v2/push/get_lost_push_message`` and ``confirm_consumed_lost_push_message`` (both
  public-signed; ``data`` is the original push body as a JSON string);
- throttling per (partner, shop, API module) with HTTP 429 ``error_too_many_request`` (UNCONFIRMED: Shopee
  documents no core-API throttle code) and server faults as HTTP 500 ``error_server``.

Not emulated:

- HTTP statuses of errors are a choice (403 auth/sign, 400 parameter/business, 429, 500): Shopee's are
  UNCONFIRMED; the client reads the body code whatever the status.
- No default rate limit (Shopee publishes none); set ``rate_limit`` to throttle.
- Merchant and main-account authorization (``main_account_id``, ``merchant_id``, the first-refresh fan-out),
  ``auth_type``/``redirect_uri`` links of the newer authorization page, the 365-day authorization expiry and
  ``get_token_by_resend_code``.
- ``get_item_limit`` (title, description and image-count limits are not checked), option images of tiers,
  channel size and fee rules, weight limits per channel; ``add_model``, ``update_tier_variation``, ``delete_item``
  and ``unlist_item`` are absent.
- ``update_stock`` knows locations (``set_warehouses``) and open-order reserved stock, but no promotion stock; prices
  have no promotion lock (``error_cannt_edit_price_in_promotion``) and ``current_price`` always equals
  ``original_price``.
- The offset cap of ``get_item_list`` (value UNCONFIRMED) is not enforced; ``search_item`` ignores
  ``item_status``; cursors are offsets and shift when orders change during a listing.
- ``get_order_detail`` silently skips unknown order numbers and returns only the optional fields listed in
  ``payloads.order_detail``; there are no packages, logistics, escrow or returns, and no sensitive-data
  masking.
- Pushes other than codes 2, 3 and 12 (Shopee sends none for ordinary product edits); the push-disable rule
  (success rate over 6 hours) and the ``set_app_push_config`` API.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from nfsync.connectors.base import sandbox_categories as categories
from nfsync.connectors.base.sandbox import Handler, SandboxBase, SbListing, SbOrder, SbShop, SbVariant, is_jpeg_or_png
from nfsync.connectors.base.signing import hex_signatures_match
from nfsync.connectors.shopee import client as api
from nfsync.connectors.shopee import signing
from nfsync.connectors.shopee.errors import THROTTLE_CODE
from nfsync.connectors.shopee.sandbox.payloads import (
    CURRENCY,
    DECIMAL_REGIONS,
    ApiError,
    SellerStock,
    base_info,
    error_reply,
    is_tiered,
    item_status,
    model_list,
    ok,
    order_detail,
    push_message,
    reply,
    single_location,
    top,
)

TIMESTAMP_WINDOW = 300
ORDER_WINDOW = 15 * 86400
OLD_ACCESS_GRACE = 300
AUTHORIZATION_DAYS = 365
LOST_PUSH_DAYS = 3
LOST_PAGE = 100
PUSH_TIMEOUT = 3.0
PARTNER_LEVEL_PUSHES = frozenset({1, 2, 12})  # lost entries of these carry no shop_id

Body = dict[str, Any]
ShopEndpoint = Callable[[web.Request, SbShop], Awaitable[Body]]
PublicEndpoint = Callable[[web.Request], Awaitable[Body | web.StreamResponse]]


@dataclass
class LostPush:
    message_id: int
    shop_id: int | None
    code: int
    lost_at: int
    data: str  # the original push body
    consumed: bool = False

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"code": self.code, "timestamp": self.lost_at, "data": self.data}
        if self.shop_id is not None:
            entry["shop_id"] = self.shop_id
        return entry


class Sandbox(SandboxBase):
    platform = "shopee"
    access_ttl = 4 * 3600.0
    refresh_ttl = 30 * 86400.0
    single_use_refresh = True
    webhook_retry_schedule = (300.0, 1800.0, 10800.0)
    order_statuses = ("UNPAID", "READY_TO_SHIP", "PROCESSED", "SHIPPED", "COMPLETED")

    def __init__(self, app: Mapping[str, str], **options: Any) -> None:
        super().__init__(app, **options)
        self.lost_pushes: list[LostPush] = []
        self._lost_ids = itertools.count(1)
        self._order_numbers = itertools.count(1)
        self._image_ids = itertools.count(1)
        self.issued_images: set[str] = set()  # image_ids media_space/upload_image answered
        self._parent_sku: dict[str, str] = {}  # item_id -> item_sku of items with models
        self.reserved: dict[str, int] = {}  # SKU -> units held by open orders: stock may not go below it
        self.warehouses: dict[str, list[str]] = {}  # shop id -> location ids of a multi-warehouse shop
        self._location_stock: dict[int, dict[str, int]] = {}  # id(variant) -> stock per location
        self._auth_time: dict[str, int] = {}

    @property
    def partner_id(self) -> int:
        return int(self.app_credentials["partner_id"])

    @property
    def _partner_key(self) -> str:
        return self.app_credentials["partner_key"]

    # ------------------------------------------------------------------ store overrides

    def add_shop(
        self,
        shop_id: str,
        name: str | None = None,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        **extra: str,
    ) -> SbShop:
        shop = super().add_shop(shop_id, name, access_token=access_token, refresh_token=refresh_token, **extra)
        self._auth_time.setdefault(shop.shop_id, int(time.time()))
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
        """As the base, numbered like Shopee (``YYMMDD`` + 8 characters, e.g. 220810QSK8S7BX)."""
        order = super().add_order(shop, lines, status=status, currency=currency, buyer=buyer)
        del shop.orders[order.order_id]
        order.order_id = time.strftime("%y%m%d", time.gmtime(order.created_at)) + _base36(next(self._order_numbers))
        shop.orders[order.order_id] = order
        return order

    def set_warehouses(self, shop: SbShop, locations: Sequence[str]) -> None:
        """Put the shop on the multi-warehouse whitelist; existing stock sits in the first location."""
        self.warehouses[shop.shop_id] = list(locations)

    def location_stock(self, shop: SbShop, variant: SbVariant) -> dict[str, int]:
        locations = self.warehouses.get(shop.shop_id) or []
        held = self._location_stock.get(id(variant)) or ({locations[0]: variant.stock} if locations else {})
        return {location: held.get(location, 0) for location in locations}

    def _seller_stock(self, shop: SbShop) -> SellerStock:
        if not self.warehouses.get(shop.shop_id):
            return single_location
        return lambda variant: [
            {"location_id": location, "stock": stock} for location, stock in self.location_stock(shop, variant).items()
        ]

    def item_sku(self, listing: SbListing) -> str:
        if not is_tiered(listing):
            return listing.variants[0].sku if listing.variants else ""
        return self._parent_sku.get(listing.item_id, "")

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.lost_pushes.clear()
        self._parent_sku.clear()
        self._auth_time.clear()
        return await super()._admin_reset(request)

    # ------------------------------------------------------------------ routes and the checks every call passes

    def add_routes(self, app: web.Application) -> None:
        for method, path, module, public in self._public_routes():
            app.router.add_route(method, path, self._public_api(module, public))
        for method, path, module, endpoint, write in self._shop_routes():
            app.router.add_route(method, path, self._shop_api(module, endpoint, write=write))

    def _public_routes(self) -> list[tuple[str, str, str, PublicEndpoint]]:
        return [
            ("GET", api.AUTH_PARTNER_PATH, "auth", self._auth_partner),
            ("POST", api.AUTH_CODE_PATH, "auth", self._token_get),
            ("POST", api.AUTH_REFRESH_PATH, "auth", self._refresh),
            # The reference gives GET (SHP-DOC); a secondary survey of the same page says POST: both are served.
            ("GET", api.LOST_PUSHES, "push", self._lost_push_list),
            ("POST", api.LOST_PUSHES, "push", self._lost_push_list),
            ("POST", api.CONFIRM_LOST_PUSHES, "push", self._confirm_lost_pushes),
            ("POST", api.UPLOAD_IMAGE, "media", self._upload_image),
        ]

    def _shop_routes(self) -> list[tuple[str, str, str, ShopEndpoint, bool]]:
        return [
            ("GET", api.SHOP_INFO, "shop", self._shop_info, False),
            ("GET", api.WAREHOUSE_DETAIL, "shop", self._warehouse_detail, False),
            ("GET", api.ITEM_LIST, "product", self._item_list, False),
            ("GET", api.ITEM_BASE_INFO, "product", self._item_base_info, False),
            ("GET", api.MODEL_LIST, "product", self._model_list, False),
            ("GET", api.SEARCH_ITEM, "product", self._search_item, False),
            ("GET", api.ATTRIBUTE_TREE, "product", self._attribute_tree, False),
            ("GET", api.BRAND_LIST, "product", self._brand_list, False),
            ("GET", api.CHANNEL_LIST, "logistics", self._channel_list, False),
            ("POST", api.ADD_ITEM, "product", self._add_item, True),
            ("POST", api.INIT_TIER, "product", self._init_tier, True),
            ("POST", api.UPDATE_ITEM, "product", self._update_item, True),
            ("POST", api.UPDATE_STOCK, "product", self._update_stock, True),
            ("POST", api.UPDATE_PRICE, "product", self._update_price, True),
            ("GET", api.ORDER_LIST, "order", self._order_list, False),
            ("GET", api.ORDER_DETAIL, "order", self._order_detail, False),
        ]

    def _public_api(self, module: str, endpoint: PublicEndpoint) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            gated = await self.gate(request, _limit_key(request, module))
            if gated is not None:
                return gated
            try:
                self._authenticate(request)
                result = await endpoint(request)
            except ApiError as exc:
                return error_reply(exc)
            return result if isinstance(result, web.StreamResponse) else reply(result)

        return handle

    def _shop_api(self, module: str, endpoint: ShopEndpoint, *, write: bool) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            gated = await self.gate(request, _limit_key(request, module))
            if gated is not None:
                return gated
            try:
                shop = self._authenticate_shop(request)
                body = await endpoint(request, shop)
            except ApiError as exc:
                return error_reply(module_error(module, exc))
            if write and self.lose_response(request):
                return web.Response()
            return reply(body)

        return handle

    def _authenticate(self, request: web.Request) -> None:
        """Public API: partner_id + path + timestamp."""
        partner_id, timestamp, sign = self._common(request.query)
        self._check_sign(signing.base_string(partner_id=partner_id, path=request.path, timestamp=timestamp), sign)

    def _authenticate_shop(self, request: web.Request) -> SbShop:
        """Shop API: partner_id + path + timestamp + access_token + shop_id, then the token itself."""
        query = request.query
        partner_id, timestamp, sign = self._common(query)
        token = query.get("access_token")
        if not token:
            raise ApiError("error_param", "There is no access_token in query.")
        shop_id = _int(query.get("shop_id"), "shop_id")
        base = signing.base_string(
            partner_id=partner_id, path=request.path, timestamp=timestamp, access_token=token, shop_id=shop_id
        )
        self._check_sign(base, sign)
        shop = self.shops.get(str(shop_id))
        if shop is None or self.check_access(shop, token) != "ok":
            raise ApiError("error_auth", "Invalid access_token.", 403)
        return shop

    def _common(self, query: Mapping[str, str]) -> tuple[int, int, str]:
        if _int(query.get("partner_id"), "partner_id") != self.partner_id:
            raise ApiError("error_param", "Invalid partner_id.")
        if not query.get("timestamp"):
            raise ApiError("error_param", "There is no timestamp in query.")
        timestamp = _int(query.get("timestamp"), "timestamp")
        if abs(time.time() - timestamp) > TIMESTAMP_WINDOW:
            raise ApiError("error_param", "Invalid timestamp.")
        sign = query.get("sign")
        if not sign:
            raise ApiError("error_param", "There is no sign in query.")
        return self.partner_id, timestamp, sign

    def _check_sign(self, base: str, sign: str) -> None:
        if not hex_signatures_match(signing.signature(base, self._partner_key), sign):
            raise ApiError("error_sign", "Wrong sign.", 403)

    def throttle_response(self) -> web.Response:
        return reply(
            {"request_id": "", "error": THROTTLE_CODE, "message": "Too many requests, please reduce the request rate."},
            429,
        )

    def server_error_response(self) -> web.Response:
        return reply({"request_id": "", "error": "error_server", "message": "Something wrong. Please try later."}, 500)

    # ------------------------------------------------------------------ authorization

    async def _auth_partner(self, request: web.Request) -> web.StreamResponse:
        redirect = request.query.get("redirect")
        if not redirect:
            raise ApiError("error_param", "There is no redirect in query.")
        shop_id = request.query.get("shop_id") or next(iter(self.shops), None) or self.new_id()
        shop = self.add_shop(shop_id)
        shop.authorized = True
        self._auth_time[shop.shop_id] = int(time.time())
        query = urlencode({"code": self.issue_code(shop.shop_id), "shop_id": shop.shop_id})
        location = f"{redirect}{'&' if '?' in redirect else '?'}{query}"
        return web.Response(status=302, headers={"Location": location})

    async def _token_get(self, request: web.Request) -> Body:
        body = await self._partner_body(request)
        shop_id = str(body.get("shop_id") or "")
        if not shop_id:
            raise ApiError("error_param", "shop_id is required (main accounts are not emulated).")
        code = str(body.get("code") or "")
        owner, expires = self.codes.get(code, ("", 0.0))
        if not owner or expires < time.time():
            raise ApiError("invalid_code", "The code is expired or used or invalid", 403)
        if owner != shop_id:
            raise ApiError("invalid_shop_id", "Invalid shop_id.", 403)
        shop = self.redeem_code(code)
        assert shop is not None  # checked just above
        access, refresh = self.issue_tokens(shop)
        return top(access_token=access.value, refresh_token=refresh.value, expire_in=int(self.token_ttl))

    async def _refresh(self, request: web.Request) -> Body:
        body = await self._partner_body(request)
        shop = self.shops.get(str(body.get("shop_id") or ""))
        if shop is None or not shop.authorized:
            raise ApiError("shop_no_linked", "Partner and shop has no linked.", 403)
        token = str(body.get("refresh_token") or "")
        known = shop.refresh.get(token)
        if known is not None and not known.used and known.expires_at <= time.time():
            raise ApiError("refresh_token_expired", "Your refresh_token expired.", 403)
        pair = self.spend_refresh(shop, token)
        if pair is None:
            raise ApiError(
                "error_shop_refresh_token", "Your refresh token is error ,please check refresh token or shopid.", 403
            )
        access, refresh = pair
        self._retire_old_access(shop, access.value)
        return top(
            partner_id=self.partner_id,
            shop_id=int(shop.shop_id),
            access_token=access.value,
            refresh_token=refresh.value,
            expire_in=int(self.token_ttl),
        )

    def _retire_old_access(self, shop: SbShop, keep: str) -> None:
        """After a refresh the previous access tokens stay valid 5 more minutes."""
        deadline = time.time() + OLD_ACCESS_GRACE
        for value, token in shop.access.items():
            if value != keep:
                token.expires_at = min(token.expires_at, deadline)

    async def _partner_body(self, request: web.Request) -> Body:
        body = await _json_body(request)
        if _int(body.get("partner_id"), "partner_id") != self.partner_id:
            raise ApiError("error_param", "Invalid partner_id.")
        return body

    async def _shop_info(self, _request: web.Request, shop: SbShop) -> Body:
        auth_time = self._auth_time.get(shop.shop_id, int(time.time()))
        return top(
            shop_name=shop.name,
            region=shop.region,
            status="NORMAL",
            is_cb=False,
            is_sip=False,
            sip_affi_shops=[],
            auth_time=auth_time,
            expire_time=auth_time + AUTHORIZATION_DAYS * 86400,
        )

    # ------------------------------------------------------------------ product reads

    async def _warehouse_detail(self, _request: web.Request, shop: SbShop) -> Body:
        """Documented answer: ``response`` is a list; a single-warehouse shop gets error_not_in_whitelist."""
        locations = self.warehouses.get(shop.shop_id)
        if not locations:
            raise ApiError("warehouse.error_not_in_whitelist", "Your shop is not in multi-warehouse whitelist.")
        warehouses = [
            {
                "warehouse_id": n,
                "warehouse_name": f"Warehouse {n}",
                "warehouse_type": 1,
                "location_id": location,
                "region": shop.region,
                "holiday_mode_state": 0,
            }
            for n, location in enumerate(locations, 1)
        ]
        return {"request_id": "", "error": "", "message": "", "response": warehouses}

    async def _item_list(self, request: web.Request, shop: SbShop) -> Body:
        query = request.query
        offset, size = _int(query.get("offset"), "offset", low=0), _page_size(query)
        statuses = set(query.getall("item_status", []))
        if not statuses:
            raise ApiError("error_param", "item_status is required.")
        low, high = _update_window(query)
        items = [
            listing
            for listing in sorted(shop.listings.values(), key=lambda x: int(x.item_id))
            if item_status(listing) in statuses and low <= int(listing.updated_at) <= high
        ]
        page = items[offset : offset + size]
        return ok(
            {
                "item": [
                    {"item_id": int(x.item_id), "item_status": item_status(x), "update_time": int(x.updated_at)}
                    for x in page
                ],
                "total_count": len(items),
                "has_next_page": offset + size < len(items),
                "next_offset": offset + size,
            }
        )

    async def _item_base_info(self, request: web.Request, shop: SbShop) -> Body:
        ids = _id_list(request.query.get("item_id_list"), "item_id_list", api.ID_BATCH)
        currency = CURRENCY.get(shop.region, "VND")
        found = [shop.listings[item_id] for item_id in ids if item_id in shop.listings]
        stock = self._seller_stock(shop)
        region = shop.region
        return ok(
            {"item_list": [base_info(item, self.item_sku(item), currency, stock, region=region) for item in found]}
        )

    async def _model_list(self, request: web.Request, shop: SbShop) -> Body:
        listing = _listing(shop, request.query.get("item_id"))
        currency = CURRENCY.get(shop.region, "VND")
        return ok(model_list(listing, currency, self._seller_stock(shop), region=shop.region))

    async def _search_item(self, request: web.Request, shop: SbShop) -> Body:
        query = request.query
        offset, size = _search_cursor(query.get("offset", "")), _page_size(query)
        sku, name = query.get("item_sku", ""), query.get("item_name", "").lower()
        matches = [
            int(listing.item_id)
            for listing in sorted(shop.listings.values(), key=lambda x: int(x.item_id))
            if listing.status != "deleted"
            and (not sku or any(sku in s for s in [self.item_sku(listing), *(v.sku for v in listing.variants)]))
            and name in listing.name.lower()
        ]
        page = matches[offset : offset + size]
        following = offset + size if offset + size < len(matches) else None
        return ok({"item_id_list": page, "total_count": len(matches), "next_offset": _cursor_of(following)})

    # ------------------------------------------------------------------ media

    async def _upload_image(self, request: web.Request) -> Body:
        """media_space/upload_image: the part ``image`` (one here), a JPG or PNG of at most 10 MB; answers an
        ``image_id`` the sandbox remembers, which add_item then requires (docs/platforms/listings/shopee.md)."""
        if request.content_type != "multipart/form-data":
            raise ApiError("error_param", "The request must be multipart/form-data.")
        form = await request.post()
        image = form.get("image")
        data = image.file.read() if isinstance(image, web.FileField) else None
        if not data:
            raise ApiError("error_param", "image is required.")
        if len(data) > MAX_IMAGE_BYTES:
            raise ApiError("error_param", "Image size should be less than 10.0 MB.")
        if not is_jpeg_or_png(data):
            raise ApiError("error_param", "Image format accepted: JPG, JPEG, PNG.")
        image_id = f"sg-11134201-{next(self._image_ids):08d}"
        self.issued_images.add(image_id)
        url = f"https://cf.shopee.sg/file/{image_id}"
        return ok(
            {"image_info": {"image_id": image_id, "image_url_list": [{"image_url_region": "SG", "image_url": url}]}}
        )

    # ------------------------------------------------------------------ categories (base/sandbox_categories.py)

    async def _attribute_tree(self, request: web.Request, _shop: SbShop) -> Body:
        ids = [_int(x, "category_id_list", low=1) for x in str(request.query.get("category_id_list") or "").split(",")]
        if len(ids) > ATTRIBUTE_TREE_IDS:
            raise ApiError("error_param", f"category_id_list takes at most {ATTRIBUTE_TREE_IDS} ids.")
        return ok({"list": [{"category_id": i, "attribute_tree": _attribute_tree(i)} for i in ids]})

    async def _brand_list(self, request: web.Request, _shop: SbShop) -> Body:
        query = request.query
        if "status" not in query:
            raise ApiError("error_param", "status is required.")
        found = categories.category(_int(query.get("category_id"), "category_id", low=1))
        _int(query.get("offset"), "offset", low=0)
        _int(query.get("page_size"), "page_size", low=1, high=100)
        mandatory = bool(found and found.brand_required)
        brands = [
            {"brand_id": i, "original_brand_name": n, "display_brand_name": n} for i, n in categories.BRANDS.items()
        ]
        return ok({"brand_list": brands, "has_next_page": False, "next_offset": 0, "is_mandatory": mandatory})

    # ------------------------------------------------------------------ product writes

    async def _add_item(self, request: web.Request, shop: SbShop) -> Body:
        body = await _json_body(request)
        name = str(body.get("item_name") or "").strip()
        if not name:
            raise ApiError("error_param", "item_name is required.")
        category = _int(body.get("category_id"), "category_id", low=1)
        price, reason = _price(body.get("original_price"), shop.region)
        if price is None:
            raise ApiError("error_invalid_price", reason)
        stock = _stock(body.get("seller_stock"))
        if stock is None:
            raise ApiError("error_param", "seller_stock is invalid.")
        _check_category(category, body)
        _check_content(body)
        self._check_images(body.get("image"), required=True)
        sku = str(body.get("item_sku") or "")
        variant = {"sku": sku, "price": str(price), "stock": stock, "barcode": _gtin(body)}
        description = str(body.get("description") or "")
        listing = self.add_listing(shop, name, [variant], description=description, category_id=str(category))
        self._parent_sku[listing.item_id] = sku
        self.counters.creates += 1
        self.record_write(sku)
        return ok({"item_id": int(listing.item_id), "item_name": name, "item_status": "NORMAL", "item_sku": sku})

    def _check_images(self, raw: Any, *, required: bool) -> None:
        """``image.image_id_list``: 1 to 9 ids (the stricter reading of get_item_limit's item_image_count_limit,
        UNCONFIRMED), each one media_space/upload_image issued (docs/platforms/listings/shopee.md)."""
        ids = raw.get("image_id_list") if isinstance(raw, Mapping) else None
        if not isinstance(ids, list) or not ids:
            if required:
                raise ApiError("error_image_num_min", "The number of images is less than the minimum (1).")
            return
        if len(ids) > MAX_ITEM_IMAGES:
            raise ApiError("error_param", f"image_id_list takes at most {MAX_ITEM_IMAGES} images.")
        if not all(isinstance(i, str) and i in self.issued_images for i in ids):
            raise ApiError("error_param", "Image not exist.")

    async def _channel_list(self, _request: web.Request, _shop: SbShop) -> Body:
        """logistics/get_channel_list: the sandbox's channels (``LOGISTICS_CHANNELS``), one of them disabled."""
        return ok({"logistics_channel_list": [_channel_json(i, n, e) for i, (n, e) in LOGISTICS_CHANNELS.items()]})

    async def _init_tier(self, request: web.Request, shop: SbShop) -> Body:
        body = await _json_body(request)
        listing = _listing(shop, body.get("item_id"))
        if is_tiered(listing):
            raise ApiError("error_param", "The tier variation of this item has already been initialized.")
        names, options = _standard_tiers(body)
        models = body.get("model")
        if not isinstance(models, list) or not models:
            raise ApiError("error_param", "model needs at least one model.")
        if len(models) > 20:
            raise ApiError("error_model_count_over_limit", "The number of models should be under 20.")
        listing.variants = [self._model_variant(model, names, options, shop.region) for model in models]
        listing.updated_at = time.time()
        for variant in listing.variants:
            self.record_write(variant.sku)
        created = [
            {"model_id": int(v.variant_id), "model_sku": v.sku, "tier_index": m.get("tier_index")}
            for v, m in zip(listing.variants, models, strict=True)
        ]
        tiers = [
            {"name": n, "option_list": [{"option": o} for o in opts]} for n, opts in zip(names, options, strict=True)
        ]
        return ok({"item_id": int(listing.item_id), "tier_variation": tiers, "model": created})

    def _model_variant(self, model: Any, names: list[str], options: list[list[str]], region: str) -> SbVariant:
        index = model.get("tier_index") if isinstance(model, dict) else None
        if not isinstance(index, list) or len(index) != len(names):
            raise ApiError("error_param", "tier_index is invalid.")
        if not all(isinstance(i, int) and 0 <= i < len(choices) for i, choices in zip(index, options, strict=True)):
            raise ApiError("error_param", "tier_index is out of the option_list.")
        price, reason = _price(model.get("original_price"), region)
        stock = _stock(model.get("seller_stock"))
        if price is None or stock is None:
            raise ApiError("error_param", reason or "seller_stock is invalid.")
        chosen = {name: choices[i] for name, choices, i in zip(names, options, index, strict=True)}
        return SbVariant(self.new_id(), str(model.get("model_sku") or ""), price, stock, chosen, _gtin(model))

    async def _update_item(self, request: web.Request, shop: SbShop) -> Body:
        body = await _json_body(request)
        listing = _listing(shop, body.get("item_id"))
        if "item_name" in body and not str(body["item_name"] or "").strip():
            raise ApiError("error_param", "item_name can not be empty.")
        listing.name = str(body.get("item_name") or listing.name)
        listing.description = str(body.get("description") or listing.description)
        if body.get("category_id"):
            listing.category_id = str(_int(body["category_id"], "category_id", low=1))
        if "image" in body:
            self._check_images(body["image"], required=True)
        if "logistic_info" in body:
            _check_logistics(body["logistic_info"])
        if body.get("item_sku") is not None:
            self._set_item_sku(listing, str(body["item_sku"]))
        if "gtin_code" in body and not is_tiered(listing) and listing.variants:
            listing.variants[0].barcode = _gtin(body)
        listing.updated_at = time.time()
        for variant in listing.variants:
            self.record_write(variant.sku)
        return ok({"item_id": int(listing.item_id), "item_name": listing.name})

    def _set_item_sku(self, listing: SbListing, sku: str) -> None:
        if is_tiered(listing):
            self._parent_sku[listing.item_id] = sku
        elif listing.variants:
            listing.variants[0].sku = sku

    async def _update_stock(self, request: web.Request, shop: SbShop) -> Body:
        body = await _json_body(request)
        listing = _listing(shop, body.get("item_id"))
        successes, failures = [], []
        for entry in _entries(body.get("stock_list"), "stock_list"):
            variant, stock = _model(listing, entry.get("model_id")), _stock(entry.get("seller_stock"))
            if variant is None or stock is None:
                reason = "Model id is invalid." if variant is None else "Stock is invalid."
                failures.append({"model_id": entry.get("model_id"), "failed_reason": reason})
                continue
            if stock < self.reserved.get(variant.sku, 0):
                # documented update_stock error_example: error_auth for a stock rule of one item, whole call
                raise ApiError("error_auth", "Total stock must be more than reserved stock.")
            self._place_stock(shop, variant, entry["seller_stock"])
            variant.stock = stock
            self.record_write(variant.sku)
            successes.append({"model_id": entry.get("model_id"), "location_id": "", "stock": stock})
        if not successes:
            raise ApiError(
                "error_busi_update_stock_failed",
                "Update stock failed.",
                response={"success_list": [], "failure_list": failures},
            )
        listing.updated_at = time.time()
        return ok({"success_list": successes, "failure_list": failures})

    def _place_stock(self, shop: SbShop, variant: SbVariant, seller_stock: list[dict[str, Any]]) -> None:
        """update_stock's location rules (SHP-RAW update_stock error_list): a multi-warehouse shop needs a location_id
        on every entry, each one of the shop's; a single-warehouse shop takes none. UNCONFIRMED (stricter reading of
        "the structure must match the item's"): every location of the shop must be listed, each once."""
        locations = self.warehouses.get(shop.shop_id) or []
        given = [str(entry.get("location_id") or "") for entry in seller_stock]
        if locations and not all(given):
            raise ApiError("error_auth", "Lack of location_id, please double check.")
        if any(given) and sorted(given) != sorted(locations):
            raise ApiError(
                "error_auth",
                "The location_id input is not matched the shop's location_id(more/wrong). Please double check.",
            )
        if locations:
            self._location_stock[id(variant)] = {str(e["location_id"]): int(e["stock"]) for e in seller_stock}

    async def _update_price(self, request: web.Request, shop: SbShop) -> Body:
        body = await _json_body(request)
        listing = _listing(shop, body.get("item_id"))
        successes, failures = [], []
        for entry in _entries(body.get("price_list"), "price_list"):
            variant = _model(listing, entry.get("model_id"))
            price, reason = _price(entry.get("original_price"), shop.region)
            if variant is None or price is None:
                reason = "Model id is invalid." if variant is None else reason
                failures.append({"model_id": entry.get("model_id"), "failed_reason": reason})
                continue
            variant.price = price
            self.record_write(variant.sku)
            successes.append({"model_id": entry.get("model_id"), "original_price": price})
        if successes:
            listing.updated_at = time.time()
        return ok({"success_list": successes, "failure_list": failures})

    # ------------------------------------------------------------------ orders

    async def _order_list(self, request: web.Request, shop: SbShop) -> Body:
        query = request.query
        field = query.get("time_range_field")
        if field not in ("create_time", "update_time"):
            raise ApiError("error_param", "time_range_field should be create_time or update_time.")
        start, end = _int(query.get("time_from"), "time_from"), _int(query.get("time_to"), "time_to")
        if end < start or end - start > ORDER_WINDOW:
            raise ApiError(
                "order.order_list_invalid_time",
                "The time_from should be earlier than time_to and the range within 15 days.",
            )
        size, offset, status = _page_size(query), _cursor(query.get("cursor")), query.get("order_status")
        stamped = [(_order_time(o, field), o) for o in shop.orders.values() if status in (None, o.status)]
        orders = [
            o for stamp, o in sorted(stamped, key=lambda pair: (pair[0], pair[1].order_id)) if start <= stamp <= end
        ]
        page, more = orders[offset : offset + size], offset + size < len(orders)
        with_status = "order_status" in _fields(query)
        entries = [{"order_sn": o.order_id, **({"order_status": o.status} if with_status else {})} for o in page]
        return ok({"more": more, "next_cursor": str(offset + size) if more else "", "order_list": entries})

    async def _order_detail(self, request: web.Request, shop: SbShop) -> Body:
        order_sns = _id_list(request.query.get("order_sn_list"), "order_sn_list", api.ID_BATCH)
        fields = _fields(request.query)
        found = [shop.orders[sn] for sn in order_sns if sn in shop.orders]
        return ok({"order_list": [order_detail(order, shop, self._parent_sku, fields) for order in found]})

    # ------------------------------------------------------------------ pushes

    def signed_push(self, shop: SbShop, event: Mapping[str, Any]) -> tuple[dict[str, str], bytes, str]:
        body = json.dumps(push_message(shop, event, self.partner_id), separators=(",", ":")).encode()
        url = self.webhook_url or ""
        signature = signing.webhook_signature(url, body, self._partner_key)
        return {signing.WEBHOOK_SIGNATURE_HEADER: signature, "Content-Type": "application/json"}, body, url

    async def _deliver(self, shop: SbShop, event: dict[str, Any]) -> None:
        """As the base, with Shopee's success rule (2xx and an empty body) and the lost-push queue."""
        headers, body, url = self.signed_push(shop, event)
        for delay in (0.0, *self.webhook_retry_schedule):
            await asyncio.sleep(delay * self.webhook_retry_scale)
            if await self._push_once(url, headers, body):
                self.counters.webhooks_sent += 1
                return
        self.counters.webhooks_failed += 1
        self._keep_lost(shop, body)

    async def _push_once(self, url: str, headers: Mapping[str, str], body: bytes) -> bool:
        if self._client is None:
            self._client = aiohttp.ClientSession()
        try:
            async with self._client.post(
                url, data=body, headers=dict(headers), timeout=aiohttp.ClientTimeout(total=PUSH_TIMEOUT)
            ) as response:
                return 200 <= response.status < 300 and not await response.read()
        except (TimeoutError, aiohttp.ClientError):
            return False

    def _keep_lost(self, shop: SbShop, body: bytes) -> None:
        code = int(json.loads(body)["code"])
        shop_id = None if code in PARTNER_LEVEL_PUSHES or not shop.shop_id.isdigit() else int(shop.shop_id)
        self.lost_pushes.append(LostPush(next(self._lost_ids), shop_id, code, int(time.time()), body.decode()))

    async def _lost_push_list(self, _request: web.Request) -> Body:
        horizon = time.time() - LOST_PUSH_DAYS * 86400
        pending = [push for push in self.lost_pushes if not push.consumed and push.lost_at >= horizon]
        page = pending[:LOST_PAGE]
        return ok(
            {
                "push_message_list": [push.entry() for push in page],
                "has_next_page": len(pending) > LOST_PAGE,
                "last_message_id": page[-1].message_id if page else 0,
            }
        )

    async def _confirm_lost_pushes(self, request: web.Request) -> Body:
        last = _int((await _json_body(request)).get("last_message_id"), "last_message_id", low=1)
        for push in self.lost_pushes:
            if push.message_id <= last:
                push.consumed = True
        return top()


# ---------------------------------------------------------------------------------------------------- parameters


def _limit_key(request: web.Request, module: str) -> str:
    """Throttling is per (partner, shop, API module)."""
    return f"{request.query.get('partner_id', '-')}:{request.query.get('shop_id', '-')}:{module}"


MAX_IMAGE_BYTES = 10 * 1024 * 1024  # media_space/upload_image: "Max 10.0 MB each"
MAX_ITEM_IMAGES = 9  # add_item image_id_list (UNCONFIRMED: only indirect, "<9 per call" of upload_image)
MAX_WEIGHT_KG = 1000
LOGISTICS_CHANNELS = {80001: ("Standard Delivery", True), 80002: ("Express Delivery", False)}  # id: (name, enabled)
ATTRIBUTE_TREE_IDS = 20  # get_attribute_tree: category_id_list takes at most 20 ids


def _attribute_tree(category_id: int) -> list[dict[str, Any]]:
    """A category's attributes as get_attribute_tree lists them (an id the tree lacks has none)."""
    found = categories.category(category_id)
    kinds = {(False, False): 1, (False, True): 2, (True, False): 4, (True, True): 5}  # (multiple, custom)
    return [
        {
            "attribute_id": a.id,
            "mandatory": a.required,
            "name": a.name,
            "attribute_value_list": [{"value_id": k, "name": v} for k, v in a.values.items()],
            "attribute_info": {"input_type": 3 if a.custom and not a.values else kinds[(a.multiple, a.custom)]},
        }
        for a in (found.attributes if found else ())
        if not a.sale_property  # Shopee's variations are tiers, not attributes
    ]


def _check_category(category_id: int, body: Mapping[str, Any]) -> None:
    """What add_item refuses of a category the sandbox's tree holds (docs/platforms/listings/shopee.md): a category
    that is not a leaf, a missing mandatory attribute or brand, a value the attribute does not take. A category the
    tree does not hold is accepted as a leaf without requirements."""
    found = categories.category(category_id)
    if found is None:
        return
    if not found.leaf:
        raise ApiError("error_invalid_category", "Invalid category: it is not a leaf category.")
    given = _attribute_values(body.get("attribute_list"))
    missing = categories.missing_attributes(found, given)
    if missing:
        names = ", ".join(a.name for a in missing)
        raise ApiError("error_less_required_attribute", f"Mandatory attribute information required: {names}.")
    bad = categories.bad_values(found, given)
    if bad:
        raise ApiError("error_invalid_attribute_value", "; ".join(bad))
    if found.brand_required and not isinstance(body.get("brand"), Mapping):
        raise ApiError("error_less_required_brand", "Brand information required.")


def _check_content(body: Mapping[str, Any]) -> None:
    """The rest of add_item's documented required fields: ``description``, ``weight`` (kg, above 0) and
    ``logistic_info`` (docs/platforms/listings/shopee.md, "Documented required parameters")."""
    if not str(body.get("description") or "").strip():
        raise ApiError("error_param", "There is no description.")
    weight = body.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= MAX_WEIGHT_KG:
        raise ApiError("error_param", "weight is invalid: a number of kilograms above 0 is required.")
    _check_logistics(body.get("logistic_info"))
    brand = body.get("brand")
    if isinstance(brand, Mapping) and not categories.known_brand(brand.get("brand_id")):
        raise ApiError("error_invalid_brand", "Invalid brand: brand_id is not in get_brand_list.")


def _check_logistics(raw: Any) -> None:
    """``logistic_info``: at least one channel, each one get_channel_list shows and the shop has enabled."""
    if not isinstance(raw, list) or not raw:
        raise ApiError("error_invalid_logistic_info", "logistic_info needs at least one channel.")
    for entry in raw:
        channel = entry.get("logistic_id") if isinstance(entry, Mapping) else None
        known = LOGISTICS_CHANNELS.get(channel) if isinstance(channel, int) and not isinstance(channel, bool) else None
        if known is None or not isinstance(entry.get("enabled"), bool):
            raise ApiError("error_invalid_logistic_info", f"Invalid logistic_info: channel {channel!r}.")
        if entry["enabled"] and not known[1]:
            raise ApiError("error_invalid_logistic_info", f"Channel {channel} is not enabled for this shop.")


def _channel_json(channel_id: int, name: str, enabled: bool) -> dict[str, Any]:
    return {
        "logistics_channel_id": channel_id,
        "logistics_channel_name": name,
        "enabled": enabled,
        "cod_enabled": False,
        "fee_type": "FIXED_DEFAULT_PRICE",
        "size_list": [],
        "mask_channel_id": 0,
        "weight_limit": {"item_max_weight": 30, "item_min_weight": 0},
    }


def _attribute_values(raw: Any) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, Mapping):
            raise ApiError("error_param", "attribute_list is invalid.")
        values = [v for v in entry.get("attribute_value_list") or [] if isinstance(v, Mapping)]
        attribute = _int(entry.get("attribute_id"), "attribute_id", low=1)
        out[attribute] = [str(v.get("value_id") or v.get("original_value_name") or "") for v in values]
    return out


def _int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    if value is None or value == "":
        raise ApiError("error_param", f"There is no {name}.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError("error_param", f"Wrong type of {name}.") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise ApiError("error_param", f"{name} should be between {low} and {high}.")
    return number


def _page_size(query: Mapping[str, str]) -> int:
    return _int(query.get("page_size"), "page_size", low=1, high=api.PAGE_SIZE)


def _order_time(order: SbOrder, field: str) -> int:
    return int(order.created_at if field == "create_time" else order.updated_at)


def _cursor(value: str | None) -> int:
    if not value:
        return 0
    if not value.isdigit():
        raise ApiError("error_param", "cursor is invalid.")
    return int(value)


def _id_list(value: str | None, name: str, cap: int) -> list[str]:
    ids = [part.strip() for part in (value or "").split(",") if part.strip()]
    if not ids:
        raise ApiError("error_param", f"There is no {name}.")
    if len(ids) > cap:
        raise ApiError("error_param", f"{name} should have at most {cap} ids.")
    return ids


def _entries(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value or not all(isinstance(entry, dict) for entry in value):
        raise ApiError("error_param", f"{name} should be a non-empty list.")
    if len(value) > api.MODEL_BATCH:
        raise ApiError("error_param", f"{name} should have at most {api.MODEL_BATCH} entries.")
    return value


def _fields(query: Mapping[str, str]) -> set[str]:
    return {part.strip() for part in query.get("response_optional_fields", "").split(",") if part.strip()}


def _update_window(query: Mapping[str, str]) -> tuple[int, float]:
    low, high = query.get("update_time_from"), query.get("update_time_to")
    if (low is None) != (high is None):
        raise ApiError("error_param", "update_time_from and update_time_to should be given together.")
    if low is None:
        return 0, float("inf")
    return _int(low, "update_time_from"), _int(high, "update_time_to")


async def _json_body(request: web.Request) -> Body:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ApiError("error_param", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError("error_param", "The request body should be a JSON object.")
    return body


def _gtin(node: Mapping[str, Any]) -> str | None:
    """``gtin_code`` as add_item, update_item and init_tier_variation's models take it: a string, kept as sent (the
    no-GTIN marker "00" included); its format rules (get_item_limit ``gtin_validation_rule``) are not checked."""
    value = node.get("gtin_code")
    return value if isinstance(value, str) else None


def _listing(shop: SbShop, item_id: Any) -> SbListing:
    listing = shop.listings.get(str(_int(item_id, "item_id")))
    if listing is None or listing.status == "deleted":
        raise ApiError("error_item_not_found", "Item not found.")
    return listing


def _model(listing: SbListing, model_id: Any) -> SbVariant | None:
    """The variant a model_id names: 0 for an item without models, else one of its models."""
    try:
        wanted = int(model_id)
    except (TypeError, ValueError):
        return None
    if not is_tiered(listing):
        return listing.variants[0] if wanted == 0 and listing.variants else None
    return next((v for v in listing.variants if v.variant_id == str(wanted)), None)


def _standard_tiers(body: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(names, options) of ``standardise_tier_variation``. The deprecated ``tier_variation`` shape is refused
    (UNCONFIRMED: SHP-RAW update_log 2025-09-12 deprecates it and the current request_params list only the new
    one; whether Shopee still accepts it is not documented, so the sandbox takes the stricter reading)."""
    if "tier_variation" in body:
        raise ApiError("error_param", "tier_variation is deprecated, use standardise_tier_variation.")
    tiers = body.get("standardise_tier_variation")
    if not isinstance(tiers, list) or not 1 <= len(tiers) <= 2 or not all(isinstance(t, dict) for t in tiers):
        raise ApiError("error_param", "standardise_tier_variation needs 1 or 2 variations.")
    names = [str(tier.get("variation_name") or "") for tier in tiers]
    lists = [tier.get("variation_option_list") for tier in tiers]
    if not all(names) or not all(isinstance(x, list) and x for x in lists):
        raise ApiError("error_param", "each variation needs a variation_name and at least one option.")
    if any(len(x) > 20 for x in lists):
        raise ApiError("error_tier_opt_too_many", "The number of options of a variation should be under 20.")
    return names, [[str(o.get("variation_option_name") or "") for o in x] for x in lists]


def _stock(seller_stock: Any) -> int | None:
    """The total of a ``seller_stock`` list; None when it is missing or negative."""
    if not isinstance(seller_stock, list) or not seller_stock:
        return None
    try:
        values = [int(entry["stock"]) for entry in seller_stock]
    except (TypeError, ValueError, KeyError):
        return None
    return sum(values) if all(value >= 0 for value in values) else None


def _price(value: Any, region: str) -> tuple[Decimal | None, str]:
    """(price, "") or (None, reason): positive, and whole unless the region takes two decimals."""
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None, "Price is invalid."
    if not price.is_finite() or price <= 0:
        return None, "Price should be greater than 0."
    places = 2 if region in DECIMAL_REGIONS else 0
    if price != round(price, places):
        return None, f"Price of region {region} allows {places} decimal places."
    return price, ""


def _base36(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text.rjust(8, "0")


# search_item pages with an opaque string cursor (documented type string, sample "xsszxjcdeahx"; empty = first page
# and, in an answer, no further page): lazykern/ecommerce-api-docs data/raw/shopee/apis/product/ search_item.
CURSOR_PREFIX = "sbc"


def _search_cursor(value: str) -> int:
    if value == "":
        return 0
    if not value.startswith(CURSOR_PREFIX) or not value[len(CURSOR_PREFIX) :].isalnum():
        raise ApiError("error_param", "offset is invalid.")
    try:
        return int(value[len(CURSOR_PREFIX) :], 36)
    except ValueError:
        raise ApiError("error_param", "offset is invalid.") from None


def _cursor_of(offset: int | None) -> str:
    if offset is None:
        return ""
    digits = ""
    while True:
        offset, rest = divmod(offset, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
        if offset == 0:
            return CURSOR_PREFIX + digits


# Product-module business and parameter errors carry the module prefix in the documented error examples
# (product.error_param, product.error_server, product.error_busi: lazykern/ecommerce-api-docs
# data/raw/shopee/apis/product/*.json, field error_example); common errors (error_auth, error_sign) do not.
MODULE_PREFIXED = ("error_param", "error_server", "error_busi")


def module_error(module: str, exc: ApiError) -> ApiError:
    if module == "product" and exc.error.startswith(MODULE_PREFIXED):
        return ApiError(f"product.{exc.error}", exc.message, exc.status, exc.response)
    return exc
