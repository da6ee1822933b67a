"""TikTok Shop Partner API (202309 and later) client.

Platform facts: the references cited in tests/contracts (TTS-DOC). In short:

- every API call is signed (``connectors.tiktok.signing``): ``app_key``, ``timestamp`` and ``sign`` in the query,
  the access token in the ``x-tts-access-token`` header, ``shop_cipher`` in the query of shop-scoped calls (taken
  from ``ShopRef.extra["shop_cipher"]``; Get Authorized Shops rejects it);
- the token endpoints live on the auth host and are not signed (app secret in the query);
- default rate limit 50 QPS per API per (app, shop): the limiter key carries the API;
- products: Search Products pages with ``page_token`` (≤ 100 a page) and refuses to go past 10,000 results
  (``12052180``), so a search whose ``total_count`` exceeds that is split into halves of its update-time window;
  price and stock updates take ONE product per call (all its SKUs); a stock write lists every warehouse the SKU is
  stocked in (``connectors.tiktok.inventory``); a search without ``status`` (= ALL) returns
  DELETED and DRAFT products too, so the listing reads search the statuses a variant may be linked in one by one
  (``LINKED_STATUSES``);
- orders: Get Order List pages with ``page_token``; no window cap is documented; Get Order Detail takes ≤ 50 ids.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, NamedTuple, TypeVar
from urllib.parse import urlencode

import aiohttp

from nfsync.connectors.base.auth import RateLimiter, TokenProvider
from nfsync.connectors.base.categories import CategoryRequirements
from nfsync.connectors.base.client import (
    AppCredentials,
    BaseClient,
    ClientSettings,
    FilePart,
    HttpRequest,
    HttpResponse,
    ShopRef,
)
from nfsync.connectors.base.errors import ConfigError, PermanentError, ReauthorizationNeeded, TaskError
from nfsync.connectors.base.models import (
    ItemResult,
    Listing,
    ListingDraft,
    Order,
    PriceUpdate,
    ShopInfo,
    StockUpdate,
    TokenPair,
)
from nfsync.connectors.base.policy import ErrorTable
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.tiktok import edit, errors, inventory, mapping, signing
from nfsync.connectors.tiktok.mapping import as_dict, as_list

API_BASE = "https://open-api.tiktokglobalshop.com"
AUTH_BASE = "https://auth.tiktok-shops.com"
SERVICES_AUTHORIZE = "https://services.tiktokshop.com/open/authorize"  # ROW; US: services.tiktokshops.us

TOKEN_GET = "/api/v2/token/get"  # noqa: S105 - a path
TOKEN_REFRESH = "/api/v2/token/refresh"  # noqa: S105 - a path
SHOPS = "/authorization/202309/shops"
WAREHOUSES = "/logistics/202309/warehouses"
PRODUCT_SEARCH = "/product/202502/products/search"
PRODUCTS = "/product/202309/products"  # Get Product, Create Product, Update Inventory, Update Price: 202309
EDIT_PRODUCTS = "/product/202509/products"  # Edit Product (PUT) and Partial Edit Product: documented at 202509
IMAGE_UPLOAD = "/product/202309/images/upload"  # Upload Product Image: multipart, no shop_cipher
CATEGORIES = "/product/202309/categories"  # {id}/attributes (Get Attributes), {id}/rules (Get Category Rules)
BRANDS = "/product/202309/brands"  # Get Brands (page_size 1-100, page_token, category_id)
BRAND_PAGES = 10  # Get Brands pages of 100 read per category; beyond, the brand list is not held
ORDER_SEARCH = "/order/202309/orders/search"
ORDER_DETAIL = "/order/202507/orders"  # Get Order Detail: documented at 202507 (get-order-detail.spec.json)
UNSIGNED_PATHS = frozenset({TOKEN_GET, TOKEN_REFRESH})

PAGE_SIZE = 100
SELLER_SKU_FILTER_CAP = 10
ORDER_IDS_CAP = 50
SEARCH_RESULT_CAP = 10_000
CONCURRENT_PRODUCTS = 8
SEARCH_STATUSES = frozenset({"ALL", *mapping.PRODUCT_STATUS})
"""Search Products' ``status`` filter: ONE string, ``ALL`` (the default, sent or not: every status comes back,
DELETED and DRAFT included) or one product status (lazykern/ecommerce-api-docs@eba059e
``data/raw/tiktok/api-reference/products/search-products.spec.json``, body ``status``)."""
LINKED_STATUSES = ("ACTIVATE", "SELLER_DEACTIVATED")
"""The product statuses a CRM variant may be linked in (adopted by ``find_by_sku``, matched on a pull), searched in
this order (a live product wins). Status definitions: lazykern/ecommerce-api-docs@eba059e
``data/raw/tiktok/api-reference/products/products-api-overview.json`` "Product Status":

- ACTIVATE: "visible to TikTok Shop users and available for purchase" - linked;
- SELLER_DEACTIVATED: the seller's own published product, off the shelf, "You can reactivate this product at any
  time" - linked, so a create never makes a second product with its SKU (price writes to it are refused and
  reported; whether TikTok refuses stock writes too is UNCONFIRMED);
- never DRAFT (unpublished), DELETED (gone), PENDING and FAILED (in or failed TikTok's review), PLATFORM_DEACTIVATED
  and FREEZE (taken down by TikTok; Get Product returns no FREEZE or DELETED product: ``get-product.spec.json``).
  Whether writes to these would work is UNCONFIRMED: the stricter reading leaves them unlinked. A product whose
  ``status`` is omitted (documented for Indonesian products not listed on TIKTOK_SHOP) is not linked either."""

U = TypeVar("U", StockUpdate, PriceUpdate)
T = TypeVar("T")
Slot = tuple[int, ItemResult]


class _Page(NamedTuple):
    items: list[Any]
    next_token: str
    total: int


class _WindowTooLarge(Exception):
    """A search window holds more products than Search Products pages through."""


class _FixedTokens:
    """Tokens just obtained from an authorization code, to read the shops they grant."""

    def __init__(self, pair: TokenPair) -> None:
        self._pair = pair

    async def current(self) -> TokenPair:
        return self._pair

    async def refresh(self, stale: TokenPair) -> TokenPair:
        return self._pair


class Client(BaseClient):
    uploads_images = True  # listings take only images uploaded through upload_image (listings/*.md)
    platform: ClassVar[str] = "tiktok"
    error_table: ClassVar[ErrorTable] = errors.ERROR_TABLE
    default_rate: ClassVar[float] = 50.0  # "50 QPS for each API", per (app, shop) (rate-limits.md)

    def __init__(
        self,
        settings: ClientSettings,
        app: AppCredentials,
        shop: ShopRef | None,
        *,
        session: aiohttp.ClientSession,
        tokens: TokenProvider | None,
        limiter: RateLimiter,
    ) -> None:
        super().__init__(settings, app, shop, session=session, tokens=tokens, limiter=limiter)
        self._warehouse_id: str | None = shop.extra.get("warehouse_id") if shop else None
        self._warehouses: list[Any] | None = None
        self.search_result_cap = SEARCH_RESULT_CAP

    # ------------------------------------------------------------------ platform hooks

    @property
    def app_id(self) -> str:
        return self.app.text("app_key")

    def sign(self, request: HttpRequest, token: TokenPair | None, now: float) -> HttpRequest:
        if request.path in UNSIGNED_PATHS:  # auth host: not signed, credentials in the query
            params = {**request.params, "app_key": self.app_id, "app_secret": self.app.text("app_secret")}
            return replace(request, params=params)
        signed = signing.sign_request(
            app_key=self.app_id,
            app_secret=self.app.secret("app_secret"),
            path=request.path,
            timestamp=int(now),
            access_token=token.access_token if token is not None else None,
            params=request.params,
            body=request.body,
            multipart=bool(request.files),  # the body of an upload is not signed
        )
        return replace(request, params=signed.query, headers={**request.headers, **signed.headers})

    def error_of(self, response: HttpResponse) -> tuple[str | None, str]:
        body = response.json()
        if not isinstance(body, dict) or "code" not in body:
            if response.status >= 400:
                return None, f"HTTP {response.status}"
            return errors.INVALID_RESPONSE, "the answer is not a TikTok Shop JSON envelope"
        if body["code"] in (0, "0"):
            return None, ""
        message = str(body.get("message") or "")
        return errors.refine(str(body["code"]), message), message

    # ------------------------------------------------------------------ helpers

    def _extra(self, name: str) -> str | None:
        return self.shop.extra.get(name) if self.shop is not None else None

    def _cipher(self) -> str:
        cipher = self._extra("shop_cipher")
        if not cipher:
            raise ConfigError("tiktok: ShopRef.extra['shop_cipher'] is required (from Get Authorized Shops)")
        return cipher

    def _currency(self) -> str:
        currency = self._extra("currency") or mapping.REGION_CURRENCY.get(self._extra("region") or "")
        if not currency:
            raise ConfigError("tiktok: ShopRef.extra needs 'currency' or a known 'region'")
        return currency

    def _auth_base(self) -> str:
        """The auth host: ``extra['auth_base_url']``, else auth.tiktok-shops.com for the production API host,
        else the API base URL (the sandbox serves both)."""
        base = self.settings.base_url.rstrip("/")
        return self._extra("auth_base_url") or (AUTH_BASE if base == API_BASE else base)

    async def _shop_call(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        retry_lost: bool = True,
    ) -> dict[str, Any]:
        """A shop-scoped call; returns the envelope's ``data``."""
        query = {"shop_cipher": self._cipher(), **(params or {})}
        answer = await self.call(method, path, params=query, json_body=body, endpoint=endpoint, retry_lost=retry_lost)
        return as_dict(as_dict(answer).get("data"))

    async def upload_image(self, data: bytes, content_type: str) -> str:
        """Upload Product Image (``use_case`` MAIN_IMAGE, the file as the part ``data``): its ``uri``, what
        ``main_images`` takes. Not shop-scoped: no ``shop_cipher`` (the API refuses one)."""
        extension = content_type.rsplit("/", 1)[-1]
        part = FilePart("data", f"image.{extension}", content_type, data)
        answer = await self.call(
            "POST", IMAGE_UPLOAD, endpoint="product.image", multipart=({"use_case": "MAIN_IMAGE"}, [part])
        )
        return mapping.image_uri(as_dict(as_dict(answer).get("data")))

    async def category_requirements(self, category_id: str) -> CategoryRequirements:
        """Get Attributes (product and sales properties, ``is_requried`` as the reference spells it) and Get Category
        Rules (``package_dimension.is_required``) of a leaf category."""
        if not category_id.isdigit():
            raise PermanentError(f"tiktok: category_id must be digits, not {category_id!r}")
        attributes = await self._shop_call("GET", f"{CATEGORIES}/{category_id}/attributes", "product.category")
        rules = await self._shop_call("GET", f"{CATEGORIES}/{category_id}/rules", "product.category")
        return mapping.category_requirements(category_id, attributes, rules, await self._brand_pages(category_id))

    async def _brand_pages(self, category_id: str) -> list[dict[str, Any]]:
        """Get Brands pages of the category (``next_page_token``), at most ``BRAND_PAGES``."""
        pages: list[dict[str, Any]] = []
        token = ""
        while len(pages) < BRAND_PAGES:
            params = {"page_size": 100, "category_id": category_id, **({"page_token": token} if token else {})}
            pages.append(await self._shop_call("GET", BRANDS, "product.category", params=params))
            token = str(pages[-1].get("next_page_token") or "")
            if not token:
                break
        return pages

    async def _bounded(self, jobs: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
        """Run jobs a few at a time; every job of a round finishes before an error is raised (no orphan tasks)."""
        results: list[T] = []
        for start in range(0, len(jobs), CONCURRENT_PRODUCTS):
            outcomes = await asyncio.gather(
                *(job() for job in jobs[start : start + CONCURRENT_PRODUCTS]), return_exceptions=True
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
                results.append(outcome)
        return results

    # ------------------------------------------------------------------ authorization

    async def refresh_access(self, refresh_token: Secret) -> TokenPair:
        params = {"refresh_token": refresh_token.reveal(), "grant_type": "refresh_token"}
        answer = await self.call(
            "GET", TOKEN_REFRESH, params=params, endpoint="auth.token", authed=False, base_url=self._auth_base()
        )
        return mapping.token_pair(as_dict(as_dict(answer).get("data")))

    async def exchange_code(self, code: str, **params: str) -> TokenPair:
        """Tokens for an authorization code, with the shops they grant (``shop_ids``, ``extra['shop_ciphers']``).

        The code is single use: when the shop list cannot be read, the tokens are still returned (with no
        shops); call :meth:`authorized_shops` later."""
        query = {"auth_code": code, "grant_type": "authorized_code"}
        answer = await self.call(
            "GET", TOKEN_GET, params=query, endpoint="auth.token", authed=False, base_url=self._auth_base()
        )
        pair = mapping.token_pair(as_dict(as_dict(answer).get("data")))
        probe = type(self)(
            self.settings, self.app, None, session=self._session, tokens=_FixedTokens(pair), limiter=self._limiter
        )
        try:
            shops = await probe.authorized_shops()
        except TaskError:  # retryable, permanent or refresh: the tokens must not be lost with the code
            return pair
        ciphers = {shop.platform_shop_id: str(shop.data.get("cipher", "")) for shop in shops}
        return pair.model_copy(update={"shop_ids": list(ciphers), "extra": {**pair.extra, "shop_ciphers": ciphers}})

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """The service authorization link when the app has a ``service_id`` (Partner Center), else the legacy
        ``{auth host}/oauth/authorize?app_key=`` link (EcomPHP/tiktokshop-php ``Auth.php``). The redirect URL is
        registered in Partner Center, not passed in the link."""
        service_id = self.app.values.get("service_id")
        if service_id:
            base = self._extra("authorize_url") or SERVICES_AUTHORIZE
            return f"{base}?{urlencode({'service_id': str(service_id), 'state': state})}"
        return f"{self._auth_base()}/oauth/authorize?{urlencode({'app_key': self.app_id, 'state': state})}"

    async def authorized_shops(self) -> list[ShopInfo]:
        """Get Authorized Shops: every shop the token grants, with its ``cipher`` in ``data``."""
        answer = await self.call("GET", SHOPS, endpoint="authorization.shops")
        shops = as_list(as_dict(as_dict(answer).get("data")).get("shops"))
        return [mapping.shop_info(shop) for shop in shops if isinstance(shop, dict)]

    async def get_shop_info(self) -> ShopInfo:
        wanted = self.shop.platform_shop_id if self.shop is not None else ""
        for shop in await self.authorized_shops():
            if shop.platform_shop_id == wanted or not wanted:
                return shop
        raise PermanentError(f"tiktok: shop {wanted} is not among the shops this token is authorized for")

    # ------------------------------------------------------------------ products: read

    async def _search_page(self, filters: Mapping[str, Any], token: str | None, size: int = PAGE_SIZE) -> _Page:
        params: dict[str, Any] = {"page_size": size, **({"page_token": token} if token else {})}
        data = await self._shop_call("POST", PRODUCT_SEARCH, "product.search", params=params, body=dict(filters))
        return _Page(
            as_list(data.get("products")), str(data.get("next_page_token") or ""), int(data.get("total_count") or 0)
        )

    async def _search_window(self, low: int, high: int, status: str) -> AsyncIterator[dict[str, Any]]:
        """Every product in one status updated in [low, high] (seconds, inclusive as TikTok's ``_ge``/``_le``), all
        pages; raises _WindowTooLarge when the window holds more results than a search may page through."""
        filters = {"status": status, "update_time_ge": low, "update_time_le": high}
        page = await self._search_page(filters, None)
        if page.total > self.search_result_cap and high > low:
            raise _WindowTooLarge
        while True:
            for product in page.items:
                if isinstance(product, dict):
                    yield product
            if not page.next_token or not page.items:
                return
            try:
                page = await self._search_page(filters, page.next_token)
            except PermanentError as exc:
                if _code(exc) != errors.SEARCH_RESULT_CAP or high <= low:
                    raise
                raise _WindowTooLarge from exc

    async def _search_all(self, low: int, high: int, status: str) -> AsyncIterator[dict[str, Any]]:
        """Search Products refuses to page past 10,000 results (``12052180``): a window whose ``total_count`` is
        over the cap, or that hits the refusal while paging, is split into halves of its update-time range."""
        windows = [(low, high)]
        while windows:
            low, high = windows.pop()
            try:
                async for product in self._search_window(low, high, status):
                    yield product
            except _WindowTooLarge:
                middle = (low + high) // 2
                windows += [(middle + 1, high), (low, middle)]  # the older half first

    async def iter_listings(self, updated_since: datetime | None = None) -> AsyncIterator[Listing]:
        """The products a variant may be linked in: one search per status of ``LINKED_STATUSES`` (``status`` takes
        one value; without it DELETED and DRAFT products come back too), anything else dropped on arrival."""
        low, high = int(updated_since.timestamp()) if updated_since is not None else 0, int(time.time())
        seen: set[str] = set()
        for status in LINKED_STATUSES:
            async for product in self._search_all(low, high, status):
                listing = mapping.listing(product)
                if _linkable(product) and listing.platform_item_id not in seen:
                    seen.add(listing.platform_item_id)
                    yield listing

    async def _get_raw(self, item_id: str) -> dict[str, Any] | None:
        """Get Product's ``data`` as TikTok sends it; None when the product does not exist."""
        try:
            return await self._shop_call("GET", f"{PRODUCTS}/{_path_id(item_id)}", "product.get")
        except PermanentError as exc:
            if _code(exc) in errors.PRODUCT_NOT_FOUND_CODES:
                return None
            raise

    async def _read_product(self, item_id: str) -> dict[str, Any]:
        product = await self._get_raw(item_id)
        if product is None:
            raise PermanentError(f"tiktok: product {item_id} does not exist", code=errors.PRODUCT_NOT_FOUND)
        return product

    async def _get_product(self, item_id: str) -> Listing | None:
        product = await self._get_raw(item_id)
        return mapping.listing(product) if product is not None else None

    async def get_listings(self, item_ids: Sequence[str]) -> list[Listing]:
        """Get Product has no batch form: one call per id, a few at a time; unknown ids are left out."""
        found = await self._bounded([partial(self._get_product, item_id) for item_id in dict.fromkeys(item_ids)])
        return [listing for listing in found if listing is not None]

    async def find_by_sku(self, sku: str) -> Listing | None:
        """The product holding this seller SKU in a status it may be linked in, a live one first: a DELETED, DRAFT
        or other unlinked product with the SKU is never adopted (a create then makes a new product)."""
        for status in LINKED_STATUSES:
            filters: dict[str, Any] = {"seller_skus": [sku], "status": status}
            token: str | None = None
            while True:
                page = await self._search_page(filters, token, SELLER_SKU_FILTER_CAP)
                for product in map(as_dict, page.items):
                    listing = mapping.listing(product)
                    if _linkable(product) and any(v.sku == sku for v in listing.variants):
                        return listing
                if not page.next_token or not page.items or page.next_token == token:
                    break
                token = page.next_token
        return None

    # ------------------------------------------------------------------ products: write

    async def _warehouse_list(self) -> list[Any]:
        """Get Warehouse List, read once per client."""
        if self._warehouses is None:
            data = await self._shop_call("GET", WAREHOUSES, "logistics.warehouses")
            self._warehouses = as_list(data.get("warehouses"))
        return self._warehouses

    async def _warehouse(self) -> str:
        """Where new SKUs are stocked: ``extra['warehouse_id']``, else the shop's default sales warehouse."""
        if self._warehouse_id is None:
            self._warehouse_id = inventory.default_warehouse(await self._warehouse_list())
        return self._warehouse_id

    def _package_weight(self) -> dict[str, str]:
        kilograms = self._extra("package_weight_kg")
        return {"value": kilograms, "unit": "KILOGRAM"} if kilograms else {}  # else the profile's, or none

    async def _create_listing(self, draft: ListingDraft) -> Listing:
        body = mapping.product_payload(draft, await self._warehouse(), self._currency(), self._package_weight())
        body["idempotency_key"] = draft.idempotency_key or _idempotency_key(body)
        data = await self._shop_call("POST", PRODUCTS, "product.create", body=body, retry_lost=False)
        audit = as_dict(data.get("audit")).get("status")
        status = "pending" if audit and audit != "APPROVED" else "active"
        return mapping.created_listing(draft, str(data.get("product_id") or ""), as_list(data.get("skus")), status)

    async def update_listing(self, item_id: str, draft: ListingDraft) -> Listing:
        """The CRM's content on an existing product, as a read-modify-write (``connectors.tiktok.edit``): Partial
        Edit, or Edit Product when the category moves; every SKU and property the CRM does not model is sent back
        as read or left out, so it is kept. Stock is not part of the edit: the draft's SKUs whose one warehouse
        holds another quantity get it by Update Inventory afterwards (a SKU in several warehouses keeps its stock:
        a draft has no per-warehouse split)."""
        product = await self._read_product(item_id)
        known = {v.sku for v in mapping.listing(product).variants}
        warehouse = await self._warehouse() if any(v.sku not in known for v in draft.variants) else ""
        change = edit.plan(product, draft, self._currency(), warehouse, self._extra("region") or "")
        path = f"{EDIT_PRODUCTS}/{_path_id(item_id)}" + ("" if change.full else "/partial_edit")
        data = await self._shop_call(
            "PUT" if change.full else "POST", path, "product.edit", body=change.body, retry_lost=not change.adds_skus
        )
        written = await self._edit_stock(item_id, product, change.stock)
        return edit.edited_listing(product, draft, as_list(data.get("skus")), written, warehouse)

    async def _edit_stock(self, item_id: str, product: Mapping[str, Any], wanted: Mapping[str, int]) -> dict[str, int]:
        """Update Inventory for the draft's SKUs with one warehouse; returns what was written (seller SKU -> stock)."""
        by_sku = {str(sku.get("seller_sku") or ""): sku for sku in map(as_dict, as_list(product.get("skus")))}
        slots: list[tuple[StockUpdate, Any] | ItemResult] = []
        for sku, quantity in wanted.items():
            assigned = mapping.sku_warehouses(by_sku[sku])
            update = StockUpdate(
                platform_item_id=item_id, platform_variant_id=str(by_sku[sku].get("id")), sku=sku, quantity=quantity
            )
            if len(assigned) == 1:
                slots.append(
                    (update, {"id": update.platform_variant_id, "inventory": inventory.rows_for(update, assigned, "")})
                )
        if not slots:
            return {}
        results = await self._write_skus(item_id, slots, "inventory/update", "product.inventory")
        return {result.sku: wanted[result.sku] for result in results if result.ok}

    async def update_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        """Update Inventory: one product per call, every SKU of it in that call, each SKU with every warehouse it
        is stocked in (``inventory.rows_for``). A shop with one sales warehouse needs no read; otherwise, and for
        a per-warehouse split or an update without its SKU id, the product is read first (Get Product)."""
        if not updates:
            return []
        several = len(inventory.sales_warehouses(await self._warehouse_list())) > 1
        return await self._per_product(updates, partial(self._stock_call, several=several))

    async def update_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        """Update Price: one product per call, every SKU of it in that call."""
        if not updates:
            return []
        return await self._per_product(updates, partial(self._price_call, currency=self._currency()))

    async def _per_product(
        self, updates: Sequence[U], send: Callable[[str, list[U]], Awaitable[list[ItemResult]]]
    ) -> list[ItemResult]:
        groups: dict[str, list[tuple[int, U]]] = {}
        for index, update in enumerate(updates):
            groups.setdefault(update.platform_item_id, []).append((index, update))
        jobs = [partial(self._one_product, item_id, group, send) for item_id, group in groups.items()]
        slots = [slot for outcome in await self._bounded(jobs) for slot in outcome]
        return [result for _, result in sorted(slots, key=lambda slot: slot[0])]

    async def _one_product(
        self, item_id: str, group: list[tuple[int, U]], send: Callable[[str, list[U]], Awaitable[list[ItemResult]]]
    ) -> list[Slot]:
        """One product's call; a permanent error about that product fails its items instead of the batch."""
        updates = [update for _, update in group]
        try:
            results = await send(item_id, updates)
        except PermanentError as exc:
            if isinstance(exc, ReauthorizationNeeded) or _code(exc) in errors.REQUEST_LEVEL_CODES:
                raise
            results = [ItemResult(sku=u.sku, ok=False, error_code=_code(exc), error_message=str(exc)) for u in updates]
        return [(index, result) for (index, _), result in zip(group, results, strict=True)]

    async def _resolve_variants(
        self, item_id: str, group: list[U], product: Mapping[str, Any] | None
    ) -> list[U | ItemResult]:
        """SKU ids for updates that only know the seller SKU (from the product read); unknown SKUs fail locally."""
        if all(u.platform_variant_id for u in group):
            return list(group)
        data = product if product is not None else await self._read_product(item_id)
        ids = {v.sku: v.platform_variant_id for v in mapping.listing(data).variants}
        slots: list[U | ItemResult] = []
        for update in group:
            variant_id = update.platform_variant_id or ids.get(update.sku)
            slots.append(
                update.model_copy(update={"platform_variant_id": variant_id})
                if variant_id
                else ItemResult(
                    sku=update.sku,
                    ok=False,
                    error_code=errors.SKU_NOT_FOUND,
                    error_message=f"seller SKU {update.sku} is not on product {item_id}",
                )
            )
        return slots

    async def _write_skus(
        self, item_id: str, slots: list[tuple[U, Any] | ItemResult], path: str, endpoint: str
    ) -> list[ItemResult]:
        """One write call for the (update, SKU body) slots; items already failed are passed through."""
        ready = [slot for slot in slots if not isinstance(slot, ItemResult)]
        failures: dict[str, tuple[str, str]] = {}
        if ready:
            body = {"skus": [sku_body for _, sku_body in ready]}
            data = await self._shop_call("POST", f"{PRODUCTS}/{_path_id(item_id)}/{path}", endpoint, body=body)
            failures = _sku_failures(data)
        return [slot if isinstance(slot, ItemResult) else _item_result(slot[0], failures) for slot in slots]

    async def _stock_call(self, item_id: str, group: list[StockUpdate], *, several: bool) -> list[ItemResult]:
        product = None
        if several or any(u.warehouses or not u.platform_variant_id for u in group):
            product = await self._read_product(item_id)
        stock = inventory.sku_stock(product) if product is not None else None
        default = await self._warehouse()
        slots: list[tuple[StockUpdate, Any] | ItemResult] = []
        for update in await self._resolve_variants(item_id, group, product):
            if isinstance(update, ItemResult):
                slots.append(update)
                continue
            assigned = stock.get(str(update.platform_variant_id), {}) if stock is not None else None
            rows = inventory.rows_for(update, assigned, default)
            slots.append(
                rows
                if isinstance(rows, ItemResult)
                else (update, {"id": update.platform_variant_id, "inventory": rows})
            )
        return await self._write_skus(item_id, slots, "inventory/update", "product.inventory")

    async def _price_call(self, item_id: str, group: list[PriceUpdate], *, currency: str) -> list[ItemResult]:
        slots: list[tuple[PriceUpdate, Any] | ItemResult] = [
            update
            if isinstance(update, ItemResult)
            else (
                update,
                {
                    "id": update.platform_variant_id,
                    "price": {"amount": mapping.amount(update.price), "currency": currency},
                },
            )
            for update in await self._resolve_variants(item_id, group, None)
        ]
        return await self._write_skus(item_id, slots, "prices/update", "product.prices")

    # ------------------------------------------------------------------ orders

    async def iter_orders(self, updated_from: datetime, updated_to: datetime) -> AsyncIterator[Order]:
        """Get Order List over [from, to) by update time, oldest first, every page (no window cap documented)."""
        body = {"update_time_ge": int(updated_from.timestamp()), "update_time_lt": math.ceil(updated_to.timestamp())}
        params: dict[str, Any] = {"page_size": PAGE_SIZE, "sort_field": "update_time", "sort_order": "ASC"}
        seen: set[str] = set()
        while True:
            data = await self._shop_call("POST", ORDER_SEARCH, "order.search", params=params, body=body)
            orders = [payload for payload in as_list(data.get("orders")) if isinstance(payload, dict)]
            for payload in orders:
                order = mapping.order(payload)
                if order.platform_order_id not in seen:  # an order updated while paging comes round again
                    seen.add(order.platform_order_id)
                    yield order
            token = str(data.get("next_page_token") or "")
            if not token or not orders:
                return
            params["page_token"] = token

    async def _order_details(self, ids: Sequence[str]) -> list[Order]:
        data = await self._shop_call("GET", ORDER_DETAIL, "order.detail", params={"ids": ",".join(ids)})
        return [mapping.order(payload) for payload in as_list(data.get("orders")) if isinstance(payload, dict)]

    async def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        """Get Order Detail, ≤ 50 ids a call; unknown ids are left out."""
        unique = list(dict.fromkeys(order_ids))
        chunks = [unique[i : i + ORDER_IDS_CAP] for i in range(0, len(unique), ORDER_IDS_CAP)]
        found = await self._bounded([partial(self._order_details, chunk) for chunk in chunks])
        return [order for chunk in found for order in chunk]


def _linkable(product: Mapping[str, Any]) -> bool:
    """Whether a Search Products result may be linked, checked on the answer too (never trusting the filter)."""
    return product.get("status") in LINKED_STATUSES


def _code(exc: Exception) -> str | None:
    fields = getattr(exc, "fields", {})
    code = fields.get("code") if isinstance(fields, dict) else None
    return str(code) if code is not None else None


def _path_id(value: str) -> str:
    """A platform id placed in a path: digits and letters only, so it can never change the path."""
    if not value or not value.replace("_", "").replace("-", "").isalnum():
        raise PermanentError(f"tiktok: {value!r} is not a TikTok Shop id", code="invalid_id")
    return value


def _idempotency_key(body: Mapping[str, Any]) -> str:
    """A stable key for a create body: the same draft is never created twice by TikTok (Create Product
    ``idempotency_key``, unique per shop; how long TikTok remembers a key is UNCONFIRMED)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _sku_failures(data: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Per-SKU failures of a write: ``data.errors[{code, message, detail{sku_id, extra_errors[]}}]``."""
    failures: dict[str, tuple[str, str]] = {}
    for error in as_list(data.get("errors")):
        detail = as_dict(as_dict(error).get("detail"))
        extra = next((as_dict(e) for e in as_list(detail.get("extra_errors")) if isinstance(e, dict)), {})
        code = extra.get("code") or as_dict(error).get("code") or ""
        message = extra.get("message") or as_dict(error).get("message") or ""
        failures[str(detail.get("sku_id"))] = (str(code), str(message))
    return failures


def _item_result(update: StockUpdate | PriceUpdate, failures: Mapping[str, tuple[str, str]]) -> ItemResult:
    failure = failures.get(str(update.platform_variant_id))
    if failure is None:
        return ItemResult(sku=update.sku, ok=True)
    return ItemResult(sku=update.sku, ok=False, error_code=failure[0] or None, error_message=failure[1] or "failed")
