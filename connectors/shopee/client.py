"""The Shopee Open Platform v2 client.

Platform facts: the references cited in tests/contracts (SHP-DOC). In short: every call carries
``partner_id``, ``timestamp`` and ``sign`` in the query (plus ``access_token`` and ``shop_id`` for shop APIs);
POST parameters travel in a JSON body that is not signed; errors are in the JSON body. Listings are read with
``get_item_list`` (offset pages of <= 100) then ``get_item_base_info`` (<= 50 ids) and ``get_model_list`` (one
item); orders with ``get_order_list`` (<= 15-day windows, cursor pages of <= 100) then ``get_order_detail``
(<= 50 order_sn); stock and prices are written one item per call, <= 50 models per call.

Shopee publishes no rate limit for the product and order APIs (reference 2.6: UNCONFIRMED; a community report
describes slowdowns only around 1000 requests per second per partner). ``default_rate`` is therefore a
conservative 10 calls per second per (partner, shop, API module); ``ClientSettings.rate_limit`` overrides it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from nfsync.connectors.base.categories import CategoryRequirements
from nfsync.connectors.base.client import BaseClient, FilePart, HttpRequest, HttpResponse, ResponseLost
from nfsync.connectors.base.errors import PermanentError, ReauthorizationNeeded, RetryableError
from nfsync.connectors.base.models import (
    Created,
    ItemResult,
    Listing,
    ListingDraft,
    Order,
    PriceUpdate,
    ShopInfo,
    StockUpdate,
    TokenPair,
    VariantDraft,
    WebhookEvent,
)
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.shopee import mapping
from nfsync.connectors.shopee.errors import CALL_LEVEL_CODES, ERROR_TABLE, INVALID_RESPONSE, refine
from nfsync.connectors.shopee.signing import sign_request
from nfsync.connectors.shopee.webhooks import events_from_message

AUTH_CODE_PATH = "/api/v2/auth/token/get"
AUTH_REFRESH_PATH = "/api/v2/auth/access_token/get"
AUTH_PARTNER_PATH = "/api/v2/shop/auth_partner"
SHOP_INFO = "/api/v2/shop/get_shop_info"
WAREHOUSE_DETAIL = "/api/v2/shop/get_warehouse_detail"
ITEM_LIST = "/api/v2/product/get_item_list"
ITEM_BASE_INFO = "/api/v2/product/get_item_base_info"
MODEL_LIST = "/api/v2/product/get_model_list"
SEARCH_ITEM = "/api/v2/product/search_item"
ADD_ITEM = "/api/v2/product/add_item"
INIT_TIER = "/api/v2/product/init_tier_variation"
UPDATE_ITEM = "/api/v2/product/update_item"
UPDATE_STOCK = "/api/v2/product/update_stock"
UPDATE_PRICE = "/api/v2/product/update_price"
UPLOAD_IMAGE = "/api/v2/media_space/upload_image"  # a Public API: no access_token, no shop_id
ATTRIBUTE_TREE = "/api/v2/product/get_attribute_tree"
BRAND_LIST = "/api/v2/product/get_brand_list"
CHANNEL_LIST = "/api/v2/logistics/get_channel_list"  # no parameters (v2.logistics.get_channel_list)
BRAND_PAGES = 10  # get_brand_list pages of 100 read per category; beyond, the brand list is not held
ORDER_LIST = "/api/v2/order/get_order_list"
ORDER_DETAIL = "/api/v2/order/get_order_detail"
LOST_PUSHES = "/api/v2/push/get_lost_push_message"
CONFIRM_LOST_PUSHES = "/api/v2/push/confirm_consumed_lost_push_message"

PAGE_SIZE = 100  # get_item_list, search_item, get_order_list
ID_BATCH = 50  # get_item_base_info item_id_list, get_order_detail order_sn_list
MODEL_BATCH = 50  # update_stock stock_list, update_price price_list (one item per call)
ORDER_WINDOW = int(timedelta(days=15).total_seconds())
LISTED_STATUSES = ("NORMAL", "UNLIST", "BANNED", "REVIEWING")  # get_item_list takes one item_status per pass here
NOT_MULTI_WAREHOUSE = "error_not_in_whitelist"  # warehouse.error_not_in_whitelist, module prefix dropped by refine
ORDER_FIELDS = "buyer_user_id,buyer_username,estimated_shipping_fee,item_list,total_amount,pay_time"

Update = StockUpdate | PriceUpdate
U = TypeVar("U", StockUpdate, PriceUpdate)


@dataclass(frozen=True)
class LostPushes:
    """The earliest unconsumed lost pushes (Shopee keeps them 3 days); confirm ``last_message_id`` to advance."""

    events: list[WebhookEvent]
    last_message_id: int | None
    has_next_page: bool


class Client(BaseClient):
    uploads_images = True  # listings take only images uploaded through upload_image (listings/*.md)
    platform = "shopee"
    error_table = ERROR_TABLE
    default_rate = 10.0
    _locations: list[str] | None = None

    # ------------------------------------------------------------------ platform hooks

    @property
    def app_id(self) -> str:
        return self.app.text("partner_id")

    def sign(self, request: HttpRequest, token: TokenPair | None, now: float) -> HttpRequest:
        """Public sign without a token (auth, push), shop sign with one (the shop's access token and id)."""
        signed = sign_request(
            partner_id=int(self.app_id),
            partner_key=self.app.secret("partner_key"),
            path=request.path,
            timestamp=int(now),
            access_token=token.access_token if token is not None else None,
            shop_id=int(self._shop_id()) if token is not None else None,
            params=request.params,
        )
        return replace(request, params=signed.query)

    def error_of(self, response: HttpResponse) -> tuple[str | None, str]:
        body = response.json()
        if not isinstance(body, dict):
            if response.status >= 400:
                return None, ""  # no Shopee body: the HTTP status decides
            return INVALID_RESPONSE, "the response body is not a JSON object"
        code = str(body.get("error") or "")
        if not code or code == "-":  # "-" appears as a success value in a lost-push sample
            return None, ""
        message = str(body.get("message") or "")
        return refine(code, message), message

    def _shop_id(self) -> str:
        if self.shop is None:
            raise PermanentError("this Shopee call needs a shop")
        return self.shop.platform_shop_id

    async def _get(self, path: str, params: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
        return _response(await self.call("GET", path, params=params, endpoint=endpoint))

    async def _post(self, path: str, body: Any, endpoint: str, *, retry_lost: bool = True) -> dict[str, Any]:
        return _response(await self.call("POST", path, json_body=body, endpoint=endpoint, retry_lost=retry_lost))

    # ------------------------------------------------------------------ authorization

    async def exchange_code(self, code: str, **params: str) -> TokenPair:
        """``params``: the ``shop_id`` or ``main_account_id`` the redirect carried (default: this client's shop)."""
        given = [(name, params[name]) for name in ("shop_id", "main_account_id") if params.get(name)]
        owner, owner_id = given[0] if given else ("shop_id", self._shop_id())  # the default only when needed
        body = {"code": code, "partner_id": int(self.app_id), owner: int(owner_id)}  # exactly one owner
        # A code is single use: a lost answer is not blindly repeated.
        answer = await self.call(
            "POST", AUTH_CODE_PATH, json_body=body, endpoint="auth", authed=False, retry_lost=False
        )
        return mapping.token_pair(_top(answer), owner_id)

    async def refresh_access(self, refresh_token: Secret) -> TokenPair:
        """Spend the (single-use) refresh token. A lost answer is not repeated: the token may already be spent,
        and resending it would only turn a transient failure into ``error_shop_refresh_token``."""
        shop_id = self._shop_id()
        body = {"refresh_token": refresh_token.reveal(), "partner_id": int(self.app_id), "shop_id": int(shop_id)}
        answer = await self.call(
            "POST", AUTH_REFRESH_PATH, json_body=body, endpoint="auth", authed=False, retry_lost=False
        )
        return mapping.token_pair(_top(answer), shop_id)

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """The signed legacy authorization link (valid 5 minutes). Shopee has no ``state`` parameter on this link,
        so the state rides in the redirect URL's query and comes back with ``code`` and ``shop_id``."""
        redirect = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode({'state': state})}"
        signed = sign_request(
            partner_id=int(self.app_id),
            partner_key=self.app.secret("partner_key"),
            path=AUTH_PARTNER_PATH,
            timestamp=int(time.time()),
            params={"redirect": redirect},
        )
        return f"{self.settings.base_url.rstrip('/')}{AUTH_PARTNER_PATH}?{urlencode(signed.query)}"

    async def get_shop_info(self) -> ShopInfo:
        answer = await self.call("GET", SHOP_INFO, endpoint="shop")
        return mapping.shop_info(_top(answer), self._shop_id())

    # ------------------------------------------------------------------ listings

    async def iter_listings(self, updated_since: datetime | None = None) -> AsyncIterator[Listing]:
        seen: set[str] = set()
        for status in LISTED_STATUSES:
            async for ids in self._item_id_pages(status, updated_since):
                fresh = [item_id for item_id in ids if item_id not in seen]
                seen.update(fresh)
                for listing in await self.get_listings(fresh):
                    yield listing

    async def _item_id_pages(self, status: str, updated_since: datetime | None) -> AsyncIterator[list[str]]:
        window = {}
        if updated_since is not None:
            window = {"update_time_from": int(updated_since.timestamp()), "update_time_to": int(time.time())}
        offset = 0
        while True:
            params = {"offset": offset, "page_size": PAGE_SIZE, "item_status": status, **window}
            page = await self._get(ITEM_LIST, params, "product")
            ids = [str(item["item_id"]) for item in page.get("item") or []]
            if ids:
                yield ids
            following = int(page.get("next_offset") or 0)
            if not page.get("has_next_page") or not ids:
                return
            offset = following if following > offset else offset + len(ids)

    async def get_listings(self, item_ids: Sequence[str]) -> list[Listing]:
        listings: list[Listing] = []
        for chunk in mapping.chunks(list(item_ids), ID_BATCH):
            page = await self._get(ITEM_BASE_INFO, {"item_id_list": ",".join(chunk)}, "product")
            for item in page.get("item_list") or []:
                models = await self._models(str(item["item_id"])) if item.get("has_model") else None
                listings.append(mapping.listing(item, models))
        return listings

    async def _models(self, item_id: str) -> dict[str, Any]:
        return await self._get(MODEL_LIST, {"item_id": item_id}, "product")

    async def find_by_sku(self, sku: str) -> Listing | None:
        """``search_item`` by ``item_sku`` may match loosely: only an exact SKU match counts. Its paging cursor
        (``offset``/``next_offset``) is an opaque string, empty for the first page and when there is no further
        one (documented type string, sample "xsszxjcdeahx"): never parsed, only passed back."""
        cursor = ""
        while True:
            params: dict[str, Any] = {"item_sku": sku, "page_size": PAGE_SIZE}
            if cursor:
                params["offset"] = cursor
            page = await self._get(SEARCH_ITEM, params, "product")
            ids = [str(item_id) for item_id in page.get("item_id_list") or []]
            for listing in await self.get_listings(ids):
                if any(variant.sku == sku for variant in listing.variants):
                    return listing
            following = str(page.get("next_offset") or "")
            if not ids or not following or following == cursor:
                return None
            cursor = following

    # ------------------------------------------------------------------ writes

    async def create_or_adopt(self, draft: ListingDraft) -> Created:
        """The base's duplicate-free create, plus one Shopee case: when ``add_item`` went through but its answer (or
        the ``init_tier_variation`` after it) was lost, the item found by SKU has no models yet; add them. An
        adopted listing (the merchant's own) is never given models."""
        created = await super().create_or_adopt(draft)
        listing = created.listing
        lacks_models = len(listing.variants) == 1 and listing.variants[0].platform_variant_id is None
        if mapping.is_tiered(draft) and lacks_models and not created.adopted:
            await self._ensure_tiers(listing.platform_item_id, draft)
            return Created(await self._read_back(listing.platform_item_id), adopted=False)
        return created

    async def _create_listing(self, draft: ListingDraft) -> Listing:
        body = mapping.add_item_body(draft, self.shop.extra if self.shop else {})
        created = await self._post(ADD_ITEM, body, "product", retry_lost=False)
        item_id = str(created["item_id"])
        if mapping.is_tiered(draft):
            await self._ensure_tiers(item_id, draft)
        return await self._read_back(item_id)

    async def _ensure_tiers(self, item_id: str, draft: ListingDraft) -> None:
        for _ in range(self.settings.max_attempts):
            try:
                await self._post(INIT_TIER, mapping.tier_body(item_id, draft.variants), "product", retry_lost=False)
                return
            except ResponseLost:
                if (await self._models(item_id)).get("model"):
                    return
        raise RetryableError(f"shopee: init_tier_variation of item {item_id} never got a response")

    async def _read_back(self, item_id: str) -> Listing:
        found = await self.get_listings([item_id])
        if not found:
            raise RetryableError(f"shopee: item {item_id} is not readable yet")
        return found[0]

    async def update_listing(self, item_id: str, draft: ListingDraft) -> Listing:
        """Name, description, category and images with ``update_item``; prices and stock of the existing models
        with ``update_price``/``update_stock``. Adding or removing models is not supported here."""
        current = await self._read_back(item_id)
        pairs = _match_variants(current, draft)
        body: dict[str, Any] = {"item_id": int(item_id), "item_name": draft.name, "description": draft.description}
        if draft.category_id:
            body["category_id"] = mapping.platform_int(draft.category_id, "category_id")
        if draft.images:
            body["image"] = {"image_id_list": list(draft.images)}
        body |= mapping.content_fields(draft)  # update_item is partial: what the profile does not set stays
        if pairs[0][1] is None:  # no models: the item SKU is the variant SKU
            body["item_sku"] = draft.variants[0].sku
        await self._post(UPDATE_ITEM, body, "product")
        stock = [
            StockUpdate(platform_item_id=item_id, platform_variant_id=vid, sku=v.sku, quantity=v.stock)
            for v, vid in pairs
        ]
        prices = [
            PriceUpdate(platform_item_id=item_id, platform_variant_id=vid, sku=v.sku, price=v.price) for v, vid in pairs
        ]
        failed = [r for r in [*await self.update_stock(stock), *await self.update_prices(prices)] if not r.ok]
        if failed:
            reasons = "; ".join(f"{r.sku}: {r.error_message}" for r in failed)
            raise PermanentError(f"shopee: item {item_id} updated partly: {reasons}"[:500], code=failed[0].error_code)
        return await self._read_back(item_id)

    async def upload_image(self, data: bytes, content_type: str) -> str:
        """``media_space/upload_image`` (the part ``image``, ``scene`` normal: item images): the ``image_id`` that
        ``add_item``'s ``image.image_id_list`` takes. Signed as a Public API (partner, path, time)."""
        part = FilePart("image", f"image.{content_type.rsplit('/', 1)[-1]}", content_type, data)
        form = ({"scene": "normal"}, [part])
        answer = await self.call("POST", UPLOAD_IMAGE, endpoint="media", authed=False, multipart=form)
        image_id = str(mapping_of(_response(answer).get("image_info")).get("image_id") or "")
        if not image_id:
            raise PermanentError("shopee: the image upload answered no image_id")
        return image_id

    async def category_requirements(self, category_id: str) -> CategoryRequirements:
        """``get_attribute_tree`` (the category's attributes; ``category_id_list`` of one) and ``get_brand_list``
        (its ``is_mandatory``; one page of one brand is enough to read it)."""
        category = mapping.platform_int(category_id, "category_id")
        tree = await self._get(ATTRIBUTE_TREE, {"category_id_list": category, "language": "en"}, "product")
        pages = await self._brand_pages(category)
        channels = await self._get(CHANNEL_LIST, {}, "logistics")
        return mapping.category_requirements(category_id, tree, pages, channels)

    async def _brand_pages(self, category: int) -> list[Mapping[str, Any]]:
        """``get_brand_list`` pages (100 brands each, ``next_offset``), at most ``BRAND_PAGES``: a longer list is not
        held (the platform still checks the brand at add_item)."""
        pages: list[Mapping[str, Any]] = []
        offset = 0
        while len(pages) < BRAND_PAGES:
            query = {"category_id": category, "status": 1, "offset": offset, "page_size": 100}
            page = await self._get(BRAND_LIST, query, "product")
            pages.append(page)
            if not page.get("has_next_page") or not isinstance(page.get("next_offset"), int):
                break
            offset = page["next_offset"]
        return pages

    async def update_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        """Multi-warehouse shops take ``seller_stock`` per ``location_id`` (SHP-RAW update_stock): a split names the
        locations, one location takes the whole quantity, and the shop's locations missing from a split keep their
        current stock (read first). Several locations and no split fail that item only."""
        locations = await self.locations() if updates else []
        placed, refused = await self._place(updates, locations)
        return refused + await self._write(UPDATE_STOCK, "stock_list", placed, _stock_entry)

    async def locations(self) -> list[str]:
        """The shop's warehouse location ids, read once per client; [] for a shop not on the multi-warehouse
        whitelist (get_warehouse_detail answers warehouse.error_not_in_whitelist)."""
        if self._locations is None:
            try:
                answer = await self.call("GET", WAREHOUSE_DETAIL, params={}, endpoint="shop")
            except PermanentError as exc:
                if getattr(exc, "code", None) != NOT_MULTI_WAREHOUSE:
                    raise
                answer = {}
            self._locations = _location_ids(answer)
        return list(self._locations)

    async def _place(
        self, updates: Sequence[StockUpdate], locations: list[str]
    ) -> tuple[list[StockUpdate], list[ItemResult]]:
        placed: list[StockUpdate] = []
        refused: list[ItemResult] = []
        current: dict[str, dict[str, int]] = {}
        for update in updates:
            problem = _location_problem(update, locations)
            if problem:
                refused.append(ItemResult(sku=update.sku, ok=False, error_code="location", error_message=problem))
                continue
            split = dict(update.warehouses) or ({locations[0]: update.quantity} if locations else {})
            if set(split) != set(locations):
                split = {**await self._held(update, current), **split}
            placed.append(update.model_copy(update={"warehouses": split}))
        return placed, refused

    async def _held(self, update: StockUpdate, cache: dict[str, dict[str, int]]) -> dict[str, int]:
        """The model's stock per location as Shopee holds it now (for the locations a split leaves out)."""
        key = f"{update.platform_item_id}/{update.platform_variant_id}"
        if key not in cache:
            for listing in await self.get_listings([update.platform_item_id]):
                for variant in listing.variants:
                    cache[f"{listing.platform_item_id}/{variant.platform_variant_id}"] = variant.warehouses
        return cache.get(key, {})

    async def update_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        return await self._write(UPDATE_PRICE, "price_list", updates, _price_entry)

    async def _write(
        self, path: str, field: str, updates: Sequence[U], entry: Callable[[U], dict[str, Any]]
    ) -> list[ItemResult]:
        results: list[ItemResult] = []
        for item_id, chunk in _item_batches(updates):
            results += await self._write_batch(path, item_id, field, chunk, entry)
        return results

    async def _write_batch(
        self, path: str, item_id: str, field: str, updates: Sequence[U], entry: Callable[[U], dict[str, Any]]
    ) -> list[ItemResult]:
        """One item's call: per-model results from ``success_list``/``failure_list``; a business error of the whole
        call becomes a failed result for each model of the batch."""
        try:
            body = {"item_id": int(item_id), field: [entry(update) for update in updates]}
        except ValueError as exc:  # an item or model id that is not a Shopee id
            return _failed(updates, "error_param", f"not a Shopee id: {exc}")
        try:
            answer = await self._post(path, body, "product")
        except ReauthorizationNeeded:
            raise
        except PermanentError as exc:
            code = getattr(exc, "code", None)
            if code in CALL_LEVEL_CODES:
                raise
            return _failed(updates, code or "error", str(exc))
        return _item_results(updates, answer)

    # ------------------------------------------------------------------ orders

    async def iter_orders(self, updated_from: datetime, updated_to: datetime) -> AsyncIterator[Order]:
        seen: set[str] = set()
        async for order_sns in self._order_sn_pages(updated_from, updated_to):
            fresh = [sn for sn in order_sns if sn not in seen]
            seen.update(fresh)
            for order in await self.get_orders(fresh):
                yield order

    async def _order_sn_pages(self, start: datetime, end: datetime) -> AsyncIterator[list[str]]:
        for time_from, time_to in order_windows(start, end):
            cursor = ""
            while True:
                params: dict[str, Any] = {
                    "time_range_field": "update_time",
                    "time_from": time_from,
                    "time_to": time_to,
                    "page_size": PAGE_SIZE,
                    "response_optional_fields": "order_status",
                }
                if cursor:
                    params["cursor"] = cursor
                page = await self._get(ORDER_LIST, params, "order")
                sns = [str(entry["order_sn"]) for entry in page.get("order_list") or []]
                if sns:
                    yield sns
                cursor = str(page.get("next_cursor") or "")
                if not page.get("more") or not cursor:
                    break

    async def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        orders: list[Order] = []
        for chunk in mapping.chunks(list(order_ids), ID_BATCH):
            params = {"order_sn_list": ",".join(chunk), "response_optional_fields": ORDER_FIELDS}
            page = await self._get(ORDER_DETAIL, params, "order")
            orders += [mapping.order(detail) for detail in page.get("order_list") or []]
        return orders

    # ------------------------------------------------------------------ lost pushes (Shopee only)

    async def get_lost_pushes(self) -> LostPushes:
        """The earliest (up to 100) pushes Shopee failed to deliver in the last 3 days and nobody confirmed."""
        page = _response(await self.call("GET", LOST_PUSHES, endpoint="push", authed=False))
        events = [event for entry in page.get("push_message_list") or [] for event in _lost_events(entry)]
        last = page.get("last_message_id")
        return LostPushes(events, int(last) if last else None, bool(page.get("has_next_page")))

    async def confirm_lost_pushes(self, last_message_id: int) -> None:
        """Mark every lost push up to ``last_message_id`` consumed (a watermark, not a per-message ack)."""
        await self.call(
            "POST", CONFIRM_LOST_PUSHES, json_body={"last_message_id": last_message_id}, endpoint="push", authed=False
        )


# ---------------------------------------------------------------------------------------------------- helpers


def order_windows(start: datetime, end: datetime) -> list[tuple[int, int]]:
    """[start, end) as inclusive whole-second windows of at most 15 days, for ``get_order_list``."""
    first, stop = math.floor(start.timestamp()), math.ceil(end.timestamp())
    windows = []
    while first < stop:
        last = min(first + ORDER_WINDOW, stop) - 1
        windows.append((first, last))
        first = last + 1
    return windows


def _response(answer: Any) -> dict[str, Any]:
    """The ``response`` object of a business API answer."""
    payload = answer.get("response") if isinstance(answer, dict) else None
    return payload if isinstance(payload, dict) else {}


def _top(answer: Any) -> dict[str, Any]:
    """The whole answer, for the APIs that answer at the top level (token APIs, ``get_shop_info``)."""
    return answer if isinstance(answer, dict) else {}


def _model_id(update: Update) -> int:
    return int(update.platform_variant_id) if update.platform_variant_id else 0


def _stock_entry(update: StockUpdate) -> dict[str, Any]:
    split = [{"location_id": location, "stock": stock} for location, stock in update.warehouses.items()]
    return {"model_id": _model_id(update), "seller_stock": split or [{"stock": update.quantity}]}


def _location_ids(answer: Any) -> list[str]:
    listed = answer.get("response") if isinstance(answer, dict) else None
    return [str(w["location_id"]) for w in listed or [] if isinstance(w, dict) and w.get("location_id")]


def _location_problem(update: StockUpdate, locations: list[str]) -> str | None:
    unknown = sorted(set(update.warehouses) - set(locations))
    if unknown:
        return f"location(s) {', '.join(unknown)} are not warehouses of this shop ({', '.join(locations) or 'none'})"
    if len(locations) > 1 and not update.warehouses:
        return (
            f"the shop has {len(locations)} warehouse locations ({', '.join(locations)}): map CRM stock "
            "locations to them in config.inventory.warehouses"
        )
    return None


def _price_entry(update: PriceUpdate) -> dict[str, Any]:
    return {"model_id": _model_id(update), "original_price": mapping.price_number(update.price)}


def _failed(updates: Sequence[Update], code: str, message: str) -> list[ItemResult]:
    return [ItemResult(sku=update.sku, ok=False, error_code=code, error_message=message) for update in updates]


def _item_batches(updates: Sequence[U]) -> list[tuple[str, Sequence[U]]]:
    """One item per call, at most MODEL_BATCH models per call, in input order."""
    by_item: dict[str, list[U]] = {}
    for update in updates:
        by_item.setdefault(update.platform_item_id, []).append(update)
    return [(item_id, chunk) for item_id, group in by_item.items() for chunk in mapping.chunks(group, MODEL_BATCH)]


def _item_results(chunk: Sequence[Update], answer: Mapping[str, Any]) -> list[ItemResult]:
    failures = {
        str(f.get("model_id")): str(f.get("failed_reason") or "failed") for f in answer.get("failure_list") or []
    }
    successes = {str(s.get("model_id")) for s in answer.get("success_list") or []}
    results = []
    for update in chunk:
        model = str(_model_id(update))
        if model in failures:
            results.append(
                ItemResult(sku=update.sku, ok=False, error_code="failure_list", error_message=failures[model])
            )
        elif model in successes:
            results.append(ItemResult(sku=update.sku, ok=True))
        else:
            results.append(
                ItemResult(
                    sku=update.sku,
                    ok=False,
                    error_code="no_result",
                    error_message="the model is missing from Shopee's answer",
                )
            )
    return results


def _match_variants(current: Listing, draft: ListingDraft) -> list[tuple[VariantDraft, str | None]]:
    """(draft variant, model id) pairs; a model-less item pairs its one variant whatever the SKU."""
    if len(current.variants) == 1 and current.variants[0].platform_variant_id is None:
        if mapping.is_tiered(draft):
            raise PermanentError("shopee: turning an item without models into one with models is not supported")
        return [(draft.variants[0], None)]
    by_sku = {variant.sku: variant.platform_variant_id for variant in current.variants}
    missing = [variant.sku for variant in draft.variants if variant.sku not in by_sku]
    if missing:
        raise PermanentError(f"shopee: adding models on update is not supported ({', '.join(missing)})"[:500])
    return [(variant, by_sku[variant.sku]) for variant in draft.variants]


def _lost_events(entry: Mapping[str, Any]) -> list[WebhookEvent]:
    """A lost-push entry: ``data`` is the original push body as a JSON string (or already an object)."""
    data = entry.get("data")
    message = mapping_of(data)
    if "code" not in message:
        message = {
            "shop_id": entry.get("shop_id"),
            "code": entry.get("code"),
            "timestamp": entry.get("timestamp"),
            "data": message,
        }
    return events_from_message(message)


def mapping_of(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}
