"""Lazada Open Platform client.

Sources: the references cited in tests/contracts (LAZ-DOC: signature algorithm, calling
parameters, seller authorization, API reference of the product, order, seller and system APIs, inventory guide).

- Every call is signed (``connectors.lazada.signing``): GET parameters go in the query, POST parameters are
  form-encoded (``payload`` is one of them), as the official Python SDK sends them.
- One API host per venture (``API_BASE_URLS``, under ``/rest``): each shop's calls go to its venture's host,
  known from ``ShopRef.extra["venture"]`` (the token answer's ``country`` / ``country_user_info``; a cross-border
  'cb' token serves one seller per venture) or ``["region"]`` (``api_base_url``). Token calls go to
  ``https://auth.lazada.com/rest`` for Lazada hosts, to ``ShopRef.extra["auth_base_url"]`` when given, else to the
  configured base (a sandbox).
- Limits: GetProducts ``limit`` <= 50 and ``offset`` <= 10000 (beyond: time windows, bisected while a window
  holds more than the offset cap reaches); GetOrders ``limit`` <= 100 and ``offset`` <= 4500 (getorders.json's
  Max Size; get-order.md says 5000: the stricter cap; beyond it the window slides to the last ``updated_at``
  seen, sorted by ``updated_at`` ascending); GetMultipleOrderItems <= 50 order ids; UpdateSellableQuantity
  (stock) and UpdatePriceQuantity (prices only) <= 50 SKUs per call, sent 20 at a time (the documented
  recommendation); CreateProduct <= 50 SKUs.
- Stock is SELLABLE stock both ways (``connectors.lazada.stock``): written with UpdateSellableQuantity, read as
  the sum of ``multiWarehouseInventories[].sellableQuantity`` (GetProducts asks for it with ``options=1``).
- Call budgets per endpoint class (``ENDPOINT_RATES``): 50 calls/s for the inventory API (published: "each seller
  can only call the inventory API 50 times per second"); no other limit is published ("each API will have a
  different traffic limit", product Q&A A10), so every other class gets the conservative ``default_rate`` of 10
  calls/s per (app, seller, class); ``ApiCallLimit`` pauses the class for the documented 1 s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlencode, urlsplit

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
    ResponseLost,
    ShopRef,
)
from nfsync.connectors.base.errors import PermanentError, ReauthorizationNeeded, RetryableError
from nfsync.connectors.base.models import (
    ItemResult,
    Listing,
    ListingDraft,
    ListingVariant,
    Order,
    PriceUpdate,
    ShopInfo,
    StockUpdate,
    TokenPair,
    VariantDraft,
)
from nfsync.connectors.base.policy import ErrorTable
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.lazada import mapping, signing, stock
from nfsync.connectors.lazada.errors import (
    ERROR_TABLE,
    INVALID_RESPONSE,
    ITEM_NOT_FOUND,
    ORDER_NOT_FOUND,
    PARTIAL_FAILURE,
    effective_code,
)

log = logging.getLogger(__name__)

AUTH_BASE_URL = "https://auth.lazada.com/rest"
AUTHORIZE_URL = "https://auth.lazada.com/oauth/authorize"
API_BASE_URLS = {
    "sg": "https://api.lazada.sg/rest",
    "my": "https://api.lazada.com.my/rest",
    "th": "https://api.lazada.co.th/rest",
    "vn": "https://api.lazada.vn/rest",
    "ph": "https://api.lazada.com.ph/rest",
    "id": "https://api.lazada.co.id/rest",
}
ENDPOINT_RATES: Mapping[str, float] = {"inventory": 50.0}
LAZADA_EPOCH = datetime(2012, 1, 1, tzinfo=UTC)
"""Lower bound of a product time window when none is given (Lazada opened in 2012)."""
FORM = "application/x-www-form-urlencoded;charset=utf-8"

T = TypeVar("T")
U = TypeVar("U", StockUpdate, PriceUpdate)


def batched(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class EndpointRates:
    """A RateLimiter that applies Lazada's default rate of each endpoint class (the last part of the key) unless
    the settings fix one rate for all (``ClientSettings.rate_limit``)."""

    def __init__(self, inner: RateLimiter, rates: Mapping[str, float], configured: float | None) -> None:
        self._inner = inner
        self._rates = rates
        self._configured = configured

    async def acquire(self, key: str, rate: float) -> None:
        if self._configured is None:
            rate = self._rates.get(key.rsplit(":", 1)[-1], rate)
        await self._inner.acquire(key, rate)

    async def throttled(self, key: str, pause: float) -> None:
        await self._inner.throttled(key, pause)


@dataclass
class _Cursor:
    """Where the next GetOrders window starts (None: no window left)."""

    start: datetime | None


class Client(BaseClient):
    uploads_images = True  # listings take only images uploaded through upload_image (listings/*.md)
    platform: ClassVar[str] = "lazada"
    error_table: ClassVar[ErrorTable] = ERROR_TABLE
    default_rate: ClassVar[float] = 10.0

    product_page_size: ClassVar[int] = 50
    product_offset_cap: ClassVar[int] = 10_000
    order_page_size: ClassVar[int] = 100
    order_offset_cap: ClassVar[int] = 4_500
    order_ids_cap: ClassVar[int] = 50
    write_batch_size: ClassVar[int] = 20
    create_sku_cap: ClassVar[int] = 50

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
        rates = EndpointRates(limiter, ENDPOINT_RATES, settings.rate_limit)
        super().__init__(settings, app, shop, session=session, tokens=tokens, limiter=rates)
        self._warehouses: list[str] | None = None

    # ------------------------------------------------------------------ platform hooks

    @property
    def app_id(self) -> str:
        return self.app.text("app_key")

    @property
    def region(self) -> str | None:
        """The shop's venture (sg, my, th, vn, ph, id): ``ShopRef.extra["venture"]`` (what the token answer said of
        this seller, ``mapping.token_pair``), else ``["region"]`` (the shop's region); None when unknown."""
        extra = self.shop.extra if self.shop else {}
        venture = str(extra.get("venture") or extra.get("region") or "").strip().lower()
        return venture if venture in API_BASE_URLS else None

    @property
    def api_base(self) -> str:
        return api_base_url(self.settings.base_url, self.region)

    @property
    def auth_base(self) -> str:
        configured = self.shop.extra.get("auth_base_url") if self.shop else None
        if configured:
            return _with_rest(configured)
        base = self.settings.base_url
        return AUTH_BASE_URL if not base or _on_lazada(base) else api_base_url(base, None)

    def sign(self, request: HttpRequest, token: TokenPair | None, now: float) -> HttpRequest:
        signed = signing.sign_request(
            app_key=self.app_id,
            app_secret=self.app.secret("app_secret"),
            api_path=request.path,
            timestamp_ms=int(now * 1000),
            access_token=token.access_token if token is not None else None,
            params=request.params,
        )
        if request.method.upper() == "GET":
            return replace(request, params=signed.query)
        if request.files:  # an upload: the signed params as form fields beside the file, which is not signed
            return replace(request, params={}, form={**request.form, **signed.query})
        headers = {**request.headers, "Content-Type": FORM}
        return replace(request, params={}, headers=headers, body=urlencode(signed.query).encode())

    def error_of(self, response: HttpResponse) -> tuple[str | None, str]:
        body = response.json()
        if not isinstance(body, dict):
            return (None, "") if response.status >= 400 else (INVALID_RESPONSE, "the body is not a JSON object")
        code = mapping.text(body.get("code", "0")) or "0"
        if code == "0" or (code in PARTIAL_FAILURE and _has_detail(body)):
            return None, ""  # a partial failure: the caller reads the per-SKU ``detail``
        message = mapping.text(body.get("message"))
        return effective_code(code, message), message

    async def _send(self, request: HttpRequest) -> HttpResponse:
        """A 2xx answer whose body does not parse is a lost response: the call may have been applied."""
        response = await super()._send(request)
        if response.status < 400 and not isinstance(response.json(), dict):
            self.stats["malformed"] += 1
            raise ResponseLost(f"{self.platform} {request.path}: unreadable response body")
        return response

    # ------------------------------------------------------------------ plumbing

    async def _get(self, path: str, endpoint: str, params: Mapping[str, Any]) -> dict[str, Any]:
        body = await self.call("GET", path, params=params, endpoint=endpoint, base_url=self.api_base)
        return _checked(body)

    async def _post(self, path: str, endpoint: str, params: Mapping[str, Any], *, retry_lost: bool = True) -> Any:
        """The raw body: a partial failure (``detail``) comes back for the caller to read."""
        return await self.call(
            "POST", path, params=params, endpoint=endpoint, retry_lost=retry_lost, base_url=self.api_base
        )

    async def upload_image(self, data: bytes, content_type: str) -> str:
        """UploadImage (``/image/upload``, the part ``image``, left out of the signature): the Lazada-hosted URL that
        CreateProduct's ``Images`` take (docs/platforms/listings/lazada.md)."""
        part = FilePart("image", f"image.{content_type.rsplit('/', 1)[-1]}", content_type, data)
        body = await self.call(
            "POST", "/image/upload", endpoint="image", base_url=self.api_base, multipart=({}, [part])
        )
        answer = _checked(body).get("data")
        image = answer.get("image") if isinstance(answer, dict) else None
        url = mapping.text(image.get("url")) if isinstance(image, dict) else ""
        if not url:
            raise PermanentError("lazada: the image upload answered no url")
        return url

    async def category_requirements(self, category_id: str) -> CategoryRequirements:
        """GetCategoryAttributes (``/category/attributes/get``, ``primary_category_id``): the category's attributes,
        its sale properties, and whether it marks the brand and package fields mandatory."""
        body = await self._get("/category/attributes/get", "category", {"primary_category_id": category_id})
        return mapping.category_requirements(category_id, body.get("data"))

    # ------------------------------------------------------------------ authorization

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {
            "response_type": "code",
            "force_auth": "true",
            "redirect_uri": redirect_uri,
            "client_id": self.app_id,
            "state": state,
        }
        return f"{AUTHORIZE_URL}?{urlencode(query)}"

    async def exchange_code(self, code: str, **params: str) -> TokenPair:
        """GenerateAccessToken with ``code`` only: the callback's other parameters are not Lazada's, and ``uuid`` is
        "currently invalid, do not use" (LAZ-RAW system-api/generateaccesstoken.json; the authorization guide says
        it causes an error)."""
        del params
        return await self._token_call("/auth/token/create", {"code": code})

    async def refresh_access(self, refresh_token: Secret) -> TokenPair:
        """RefreshAccessToken: a new access token; the refresh token keeps its original expiry."""
        return await self._token_call("/auth/token/refresh", {"refresh_token": refresh_token.reveal()})

    async def _token_call(self, path: str, params: Mapping[str, str]) -> TokenPair:
        body = await self.call("POST", path, params=params, endpoint="auth", authed=False, base_url=self.auth_base)
        return mapping.token_pair(_checked(body), datetime.now(UTC))

    # ------------------------------------------------------------------ shop and listings

    async def get_shop_info(self) -> ShopInfo:
        body = await self._get("/seller/get", "seller", {})
        return mapping.shop_info(body.get("data") or {}, self.region)

    async def iter_listings(self, updated_since: datetime | None = None) -> AsyncIterator[Listing]:
        """GetProducts pages; when a window holds more than the offset cap reaches, it is split in two."""
        seen: set[str] = set()
        windows: list[tuple[datetime | None, datetime | None]] = [(updated_since, None)]
        while windows:
            after, before = windows.pop()
            async for listing in self._product_window(after, before, windows):
                if listing.platform_item_id not in seen:
                    seen.add(listing.platform_item_id)
                    yield listing

    async def _product_window(
        self, after: datetime | None, before: datetime | None, windows: list[tuple[datetime | None, datetime | None]]
    ) -> AsyncIterator[Listing]:
        offset, reach = 0, self.product_offset_cap + self.product_page_size
        while True:
            products, total = await self._product_page(after, before, offset)
            if offset == 0 and total > reach:
                halves = _split(after, before)
                if halves is not None:
                    windows.extend(reversed(halves))
                    return
                log.warning("lazada: %d products updated in one second; %d are out of reach", total, total - reach)
            for product in products:
                yield mapping.listing(product)
            offset += self.product_page_size
            if len(products) < self.product_page_size or offset >= total or offset > self.product_offset_cap:
                return

    async def _product_page(
        self, after: datetime | None, before: datetime | None, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        params: dict[str, Any] = {"filter": "all", "limit": self.product_page_size, "offset": offset, "options": "1"}
        if after is not None:
            params["update_after"] = mapping.iso(after)
        if before is not None:
            params["update_before"] = mapping.iso(before)
        data = (await self._get("/products/get", "products", params)).get("data") or {}
        return list(data.get("products") or []), int(mapping.text(data.get("total_products")) or 0)

    async def get_listings(self, item_ids: Sequence[str]) -> list[Listing]:
        """GetProductItem, one item per call; items that do not exist (in this shop) are left out."""
        listings = []
        for item_id in item_ids:
            try:
                body = await self._get("/product/item/get", "products", {"item_id": item_id})
            except PermanentError as exc:
                if getattr(exc, "code", None) in ITEM_NOT_FOUND:
                    continue
                raise
            listings.append(mapping.listing(body.get("data") or {}))
        return listings

    async def find_by_sku(self, sku: str) -> Listing | None:
        """GetProducts with ``sku_seller_list`` (whole-word match); the exact SellerSku decides."""
        params = {
            "filter": "all",
            "limit": self.product_page_size,
            "options": "1",
            "sku_seller_list": json.dumps([sku]),
        }
        data = (await self._get("/products/get", "products", params)).get("data") or {}
        for product in data.get("products") or []:
            listing = mapping.listing(product)
            if any(v.sku == sku for v in listing.variants):
                return listing
        return None

    async def _create_listing(self, draft: ListingDraft) -> Listing:
        """CreateProduct; Lazada has no idempotency key (the SKU lookup of ``create_listing`` stands in)."""
        if len(draft.variants) > self.create_sku_cap:
            raise PermanentError(f"lazada creates at most {self.create_sku_cap} SKUs per product request")
        params = {"payload": mapping.create_payload(draft)}
        body = _checked(await self._post("/product/create", "product_write", params, retry_lost=False))
        return mapping.created_listing(draft, body.get("data") or {})

    async def update_listing(self, item_id: str, draft: ListingDraft) -> Listing:
        """UpdateProduct in chunks of at most 50 SKUs (attributes with the first), then the item as stored."""
        sku_ids = await self._sku_ids(item_id)
        for index, chunk in enumerate(batched(draft.variants, self.create_sku_cap)):
            sku_ids = await self._update_chunk(item_id, draft, chunk, sku_ids, attributes=index == 0)
        updated = await self.get_listings([item_id])
        if not updated:
            raise PermanentError(f"lazada item {item_id} disappeared during the update", code="208")
        return updated[0]

    async def _sku_ids(self, item_id: str) -> dict[str, str | None]:
        current = await self.get_listings([item_id])
        if not current:
            raise PermanentError(f"lazada item {item_id} does not exist in this shop", code="208")
        return {v.sku: v.platform_variant_id for v in current[0].variants}

    async def _update_chunk(
        self,
        item_id: str,
        draft: ListingDraft,
        chunk: Sequence[VariantDraft],
        sku_ids: dict[str, str | None],
        *,
        attributes: bool,
    ) -> dict[str, str | None]:
        """One UpdateProduct call. After a lost response the item is read again before the call is repeated, so
        that a SKU the lost call added goes again with its new ``SkuId`` instead of being added a second time."""
        for _ in range(self.settings.max_attempts):
            payload = mapping.update_payload(item_id, draft, chunk, sku_ids, attributes=attributes)
            try:
                _checked(await self._post("/product/update", "product_write", {"payload": payload}, retry_lost=False))
                return sku_ids
            except ResponseLost:
                self.stats["lost_updates"] += 1
                sku_ids = await self._sku_ids(item_id)
        raise RetryableError(f"{self.platform}: the update of item {item_id} never got a response")

    # ------------------------------------------------------------------ stock and prices

    async def update_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        """UpdateSellableQuantity: the SELLABLE stock (what buyers can buy), per warehouse where the seller has
        several (``connectors.lazada.stock``); ``write_batch_size`` SKUs of any items per call."""
        results: list[ItemResult] = []
        for batch in batched(updates, self.write_batch_size):
            results.extend(await self._guarded(batch, self._stock_batch))
        return results

    async def update_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        """UpdatePriceQuantity with ``Price`` only."""
        results: list[ItemResult] = []
        for batch in batched(updates, self.write_batch_size):
            results.extend(await self._guarded(batch, self._price_batch))
        return results

    async def _guarded(
        self, batch: Sequence[U], write: Callable[[Sequence[U]], Awaitable[list[ItemResult]]]
    ) -> list[ItemResult]:
        """A permanent error of the whole call fails every item of the batch (a re-authorization stops all)."""
        try:
            return await write(batch)
        except ReauthorizationNeeded:
            raise
        except PermanentError as exc:
            code = getattr(exc, "code", None)
            return [ItemResult(sku=u.sku, ok=False, error_code=code, error_message=str(exc)) for u in batch]

    async def _stock_batch(self, batch: Sequence[StockUpdate]) -> list[ItemResult]:
        """SKU ids and reported warehouses are looked up only where the update lacks one or the other matters."""
        seller = await self._seller_warehouses()
        lookup = [u.sku for u in batch if not u.platform_variant_id or (len(seller) > 1 and not u.warehouses)]
        found = await self._listed(lookup) if lookup else {}
        planned = [(u.sku, _stock_plan(u, found, seller)) for u in batch]
        return await self._write_planned("/product/stock/sellable/update", planned)

    async def _price_batch(self, batch: Sequence[PriceUpdate]) -> list[ItemResult]:
        lookup = [u.sku for u in batch if not u.platform_variant_id]
        found = await self._listed(lookup) if lookup else {}
        planned = [(u.sku, _price_plan(u, found)) for u in batch]
        return await self._write_planned("/product/price_quantity/update", planned)

    async def _write_planned(self, path: str, planned: Sequence[tuple[str, stock.Row | str]]) -> list[ItemResult]:
        """One call for the rows that could be planned; the others fail with their reason, in input order."""
        rows = [(sku, row) for sku, row in planned if not isinstance(row, str)]
        results: Iterator[ItemResult] = iter([])
        if rows:
            body = await self._post(path, "inventory", {"payload": stock.payload_xml(row for _, row in rows)})
            results = iter(_batch_results(body, rows))
        return [
            ItemResult(sku=sku, ok=False, error_message=row) if isinstance(row, str) else next(results)
            for sku, row in planned
        ]

    async def _seller_warehouses(self) -> list[str]:
        """GetMultiWarehouseBySeller (``/seller/warehouse/get``, ``addressTypes=["warehouse"]``), once per client:
        more than one warehouse makes a multi-warehouse seller (inventory-calculation-logic.md)."""
        if self._warehouses is None:
            params = {"addressTypes": json.dumps(["warehouse"])}
            self._warehouses = stock.seller_warehouses(await self._get("/seller/warehouse/get", "seller", params))
        return self._warehouses

    async def _listed(self, skus: Sequence[str]) -> dict[tuple[str, str], ListingVariant]:
        """GetProducts by ``sku_seller_list`` with the stock breakdown: (item id, SellerSku) -> variant."""
        params = {
            "filter": "all",
            "limit": self.product_page_size,
            "options": "1",
            "sku_seller_list": json.dumps(list(skus)),
        }
        data = (await self._get("/products/get", "products", params)).get("data") or {}
        listings = [mapping.listing(product) for product in data.get("products") or []]
        return {(listing.platform_item_id, v.sku): v for listing in listings for v in listing.variants}

    # ------------------------------------------------------------------ orders

    async def iter_orders(self, updated_from: datetime, updated_to: datetime) -> AsyncIterator[Order]:
        """GetOrders by ``updated_at`` ascending; past the offset cap the window restarts at the last time seen."""
        cursor, seen = _Cursor(updated_from), set[str]()
        while cursor.start is not None:
            async for order in self._order_window(cursor, updated_from, updated_to, seen):
                yield order

    async def _order_window(
        self, cursor: _Cursor, lower: datetime, upper: datetime, seen: set[str]
    ) -> AsyncIterator[Order]:
        start, cursor.start = cursor.start or lower, None
        offset = 0
        while True:
            raw = await self._orders_page(start, upper, offset)
            fresh = [o for o in raw if mapping.text(o.get("order_id")) not in seen and _within(o, lower, upper)]
            seen.update(mapping.text(o.get("order_id")) for o in fresh)
            for order in await self._with_lines(fresh):
                yield order
            offset += self.order_page_size
            if len(raw) < self.order_page_size:
                return
            if offset > self.order_offset_cap:
                cursor.start = _next_start(start, raw[-1])
                return

    async def _orders_page(self, start: datetime, upper: datetime, offset: int) -> list[dict[str, Any]]:
        params = {
            "update_after": mapping.iso(start),
            "update_before": mapping.iso(upper),
            "sort_by": "updated_at",
            "sort_direction": "ASC",
            "limit": self.order_page_size,
            "offset": offset,
        }
        data = (await self._get("/orders/get", "orders", params)).get("data") or {}
        return list(data.get("orders") or [])

    async def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        """GetOrder per id (unknown ids are left out), items 50 orders at a time."""
        raw_orders = []
        for order_id in order_ids:
            try:
                body = await self._get("/order/get", "orders", {"order_id": order_id})
            except PermanentError as exc:
                if getattr(exc, "code", None) in ORDER_NOT_FOUND:
                    continue
                raise
            raw_orders.append(body.get("data") or {})
        return await self._with_lines(raw_orders)

    async def _with_lines(self, raw_orders: Sequence[Mapping[str, Any]]) -> list[Order]:
        ids = [mapping.text(o.get("order_id")) for o in raw_orders]
        items: dict[str, list[dict[str, Any]]] = {}
        for chunk in batched(ids, self.order_ids_cap):
            params = {"order_ids": mapping.order_id_list(chunk)}
            for entry in (await self._get("/orders/items/get", "order_items", params)).get("data") or []:
                items[mapping.text(entry.get("order_id"))] = list(entry.get("order_items") or [])
        return [
            mapping.order(o, items.get(order_id, []), self.region) for o, order_id in zip(raw_orders, ids, strict=True)
        ]


# ---------------------------------------------------------------------------------------------------- helpers


def api_base_url(configured: str, venture: str | None) -> str:
    """The API host of a shop's venture (LAZ-GUIDE developers-guide/call-api-with-http-requests/api-endpoint-urls.md:
    one host per venture; the token answer says which venture a seller is in). A configured base URL on a Lazada
    host is used only while the venture is unknown. Any other configured URL overrides the table (sandboxes,
    tests); a ``{venture}`` in it is replaced by the venture, its ``/{venture}`` segment dropped when unknown."""
    if not configured or _on_lazada(configured):
        if venture in API_BASE_URLS:
            return API_BASE_URLS[venture]
        if not configured:
            raise PermanentError(
                "lazada: the shop's venture is unknown (no country in the token answer, no shop "
                "region) and the integration has no api_base_url"
            )
        return _with_rest(configured)
    if venture:
        return _with_rest(configured.replace("{venture}", venture))
    return _with_rest(configured.replace("/{venture}", ""))


def _on_lazada(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return ".lazada." in f".{host}"


def _with_rest(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if base.endswith("/rest") else f"{base}/rest"


def _has_detail(body: Mapping[str, Any]) -> bool:
    detail = body.get("detail")
    return isinstance(detail, list) and bool(detail)


def _checked(body: Any) -> dict[str, Any]:
    """The body of a successful call; a partial-failure body of a call that is not per SKU is an error."""
    if not isinstance(body, dict):
        raise ResponseLost("lazada: unreadable response body")
    code = mapping.text(body.get("code", "0")) or "0"
    if code == "0":
        return body
    reasons = "; ".join(f"{sku}: {message}" for sku, (_, message) in mapping.sku_failures(body).items())
    text = f"lazada error {code}: {mapping.text(body.get('message'))}" + (f" ({reasons})" if reasons else "")
    raise PermanentError(text[:500], code=code, status=200)


Found = Mapping[tuple[str, str], ListingVariant]


def _sku_id(update: StockUpdate | PriceUpdate, found: Found) -> tuple[str, ListingVariant | None]:
    """The update's ``SkuId`` (looked up by item and SellerSku when the update lacks it) and the SKU as read."""
    reported = found.get((update.platform_item_id, update.sku))
    sku_id = update.platform_variant_id or (reported.platform_variant_id if reported else None)
    if not sku_id:
        raise stock.NotWritable(f"lazada item {update.platform_item_id} has no SKU {update.sku}")
    return sku_id, reported


def _stock_plan(update: StockUpdate, found: Found, seller: Sequence[str]) -> stock.Row | str:
    """The row of one stock update, or why it cannot be written."""
    try:
        sku_id, reported = _sku_id(update, found)
        return stock.sellable_row(update, sku_id, reported, seller)
    except stock.NotWritable as exc:
        return str(exc)


def _price_plan(update: PriceUpdate, found: Found) -> stock.Row | str:
    try:
        return stock.price_row(update, _sku_id(update, found)[0])
    except stock.NotWritable as exc:
        return str(exc)


def _batch_results(body: Any, batch: Sequence[tuple[str, stock.Row]]) -> list[ItemResult]:
    """Per-SKU outcome of one UpdatePriceQuantity call: the SKUs its ``detail`` names failed, the others passed.

    UNCONFIRMED: whether Lazada applies the other SKUs of a call with failures is not documented; the sandbox
    does, and since the values are absolute a caller may resend any SKU reported failed."""
    body = body if isinstance(body, dict) else {}
    code = mapping.text(body.get("code", "0")) or "0"
    failures = mapping.sku_failures(body)
    matched = code == "0" or any(row.get("SellerSku") in failures or row.get("SkuId") in failures for _, row in batch)
    results = []
    for sku, row in batch:
        reason = failures.get(row.get("SellerSku", "")) or failures.get(row.get("SkuId", ""))
        if reason is None and not matched:  # a failure that names none of our SKUs: the whole batch failed
            reason = (code, mapping.text(body.get("message")))
        if reason is None:
            results.append(ItemResult(sku=sku, ok=True))
        else:
            results.append(ItemResult(sku=sku, ok=False, error_code=reason[0], error_message=reason[1] or reason[0]))
    return results


def _split(after: datetime | None, before: datetime | None) -> tuple[tuple[datetime, datetime], ...] | None:
    """Two halves of an inclusive window at second precision, or None when it is one second wide."""
    low = mapping.floor_second(after or LAZADA_EPOCH)
    high = mapping.floor_second(before or datetime.now(UTC))
    span = int((high - low).total_seconds())
    if span < 1:
        return None
    middle = low + timedelta(seconds=span // 2)
    return (low, middle), (middle + timedelta(seconds=1), high)


def _within(raw: Mapping[str, Any], lower: datetime, upper: datetime) -> bool:
    updated = mapping.parse_time(raw.get("updated_at"))
    return updated is None or mapping.floor_second(lower) <= updated < upper


def _next_start(start: datetime, last: Mapping[str, Any]) -> datetime:
    """The next window starts at the last ``updated_at`` of the page (those orders come again; ``seen`` drops
    them). Should more than the offset cap reaches share one second, the window moves one second on."""
    updated = mapping.parse_time(last.get("updated_at"))
    floor = mapping.floor_second(start)
    if updated is None or updated <= floor:
        log.warning("lazada: more orders updated at %s than GetOrders can page through", floor.isoformat())
        return floor + timedelta(seconds=1)
    return updated
