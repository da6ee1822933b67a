"""WooCommerce REST API v3 client (reference section 5; WC-DOC, WC-CORE).

- Credentials are the store's consumer key and secret; there are no tokens (``uses_tokens = False``). Over HTTPS
  requests carry HTTP Basic auth, over plain HTTP a one-legged OAuth 1.0a signature (``signing.sign_request``).
  A host that does not pass the ``Authorization`` header to PHP makes WooCommerce see no user: 401
  ``woocommerce_rest_cannot_*``. The client then repeats that call once with the keys as ``consumer_key``/
  ``consumer_secret`` query parameters (HTTPS only; WC-DOC _authentication.md "Authentication over HTTPS") and
  keeps doing so for that store (``QUERY_AUTH_STORES``, process memory). URLs in error messages are redacted.
- Paths live under ``{store}/wp-json/wc/v3``; the store URL comes from ``ShopRef.extra["store_url"]`` (else the
  settings' base URL). Collections page with ``page``/``per_page`` (at most 100) and say how many pages exist in
  ``X-WP-TotalPages``; writes of stock and price go through the batch endpoints, at most 100 objects a request.
- A simple product is one listing variant with ``platform_variant_id`` None; a variable product's variants are its
  variations.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

from nfsync.connectors.base.client import BaseClient, FilePart, HttpRequest, HttpResponse, ResponseLost
from nfsync.connectors.base.errors import PermanentError, ReauthorizationNeeded
from nfsync.connectors.base.models import (
    Buyer,
    ItemResult,
    Listing,
    ListingDraft,
    Order,
    PriceUpdate,
    ShopInfo,
    StockUpdate,
    TokenPair,
)
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.woocommerce.content import (
    has_option,
    holders,
    new_variation,
    package_changes,
    product_changes,
    sources_after,
    variation_changes,
)
from nfsync.connectors.woocommerce.errors import CANNOT_PREFIX, DUPLICATE_SKU, ERROR_TABLE, WEBHOOK_INVALID_ID
from nfsync.connectors.woocommerce.mapping import (
    StoreUnits,
    customer_of,
    gmt,
    is_variable,
    item_result,
    listing_of,
    order_of,
    package_body,
    parent_sku,
    product_body,
    variation_body,
    wc_id,
    wc_money,
    wc_time,
    whole_seconds,
)
from nfsync.connectors.woocommerce.signing import sign_request

API = "/wp-json/wc/v3"
PER_PAGE = 100  # WordPress REST maximum for per_page, also bounds include=<ids> lists (reference 5.3)
BATCH_CAP = 100  # objects per batch request: woocommerce_rest_batch_items_limit (WC-CORE check_batch_limit)
RECENT = timedelta(days=1)
DEFAULT_APP_NAME = "NextFlow CRM"

T = TypeVar("T")
Write = TypeVar("Write", StockUpdate, PriceUpdate)
WEBHOOK_TOPICS = (
    "order.created",
    "order.updated",
    "order.deleted",
    "product.created",
    "product.updated",
    "product.deleted",
)
"""The documented core topics whose pushes nfsync turns into work (webhooks.parse); WC-DOC _webhooks.md Topics."""
QUERY_AUTH_STORES: set[str] = set()
"""Store URLs whose host drops the ``Authorization`` header: their keys go in the query string (HTTPS only)."""
_SECRET_PARAM = re.compile(r"(consumer_secret=)[^&#\s]*")
log = logging.getLogger(__name__)


class _HeaderDropped(ReauthorizationNeeded):
    """401 ``woocommerce_rest_cannot_*`` to a request that carried the keys in the ``Authorization`` header."""


class Listed(list[Any]):
    """A JSON array answer and WordPress's ``X-WP-TotalPages`` header (None when the header is missing)."""

    def __init__(self, items: Iterable[Any], total_pages: int | None) -> None:
        super().__init__(items)
        self.total_pages = total_pages


class Client(BaseClient):
    platform = "woocommerce"
    error_table = ERROR_TABLE
    # WooCommerce has no rate limit of its own (reference 5.4): every call boots WordPress in one of the host's PHP
    # workers. 10 calls/s per store stays well inside what a small host serves while batches carry 100 items.
    default_rate = 10.0
    uses_tokens = False
    _units: StoreUnits | None = None  # the store's measurement units, read when a package is first sent

    # ------------------------------------------------------------------ platform hooks

    @property
    def app_id(self) -> str:
        return self.app.text("consumer_key")

    @property
    def store_url(self) -> str:
        """The store this client calls; a shop with no store URL is a configuration error, not a crash."""
        extra = self.shop.extra if self.shop is not None else {}
        url = (extra.get("store_url") or self.settings.base_url).rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise PermanentError("this WooCommerce shop has no store URL: set the shop's shop_url (https://...)")
        return url

    def sign(self, request: HttpRequest, token: TokenPair | None, now: float) -> HttpRequest:
        base = (request.base_url or self.store_url).rstrip("/")
        if not request.path.startswith(API + "/"):
            return replace(request, base_url=base)  # the WordPress index: public, WooCommerce does not check it
        signed = sign_request(
            method=request.method,
            url=base + request.path,
            consumer_key=self.app_id,
            consumer_secret=self.app.secret("consumer_secret"),
            timestamp=int(now),
            nonce=secrets.token_hex(16),  # 32 characters, as WooCommerce recommends
            params=request.params,
            query_auth=self.store_url in QUERY_AUTH_STORES,  # honoured over HTTPS only (signing.sign_request)
        )
        return replace(request, params=signed.query, headers={**request.headers, **signed.headers}, base_url=base)

    def _sends_header(self) -> bool:
        return urlsplit(self.store_url).scheme == "https" and self.store_url not in QUERY_AUTH_STORES

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        endpoint: str = "default",
        authed: bool = True,
        retry_lost: bool = True,
        base_url: str | None = None,
        multipart: tuple[Mapping[str, str], Sequence[FilePart]] | None = None,
    ) -> Any:
        """As the base; after a 401 that says the header never reached WooCommerce, once more with query keys."""
        arguments = {
            "params": params,
            "json_body": json_body,
            "endpoint": endpoint,
            "authed": authed,
            "retry_lost": retry_lost,
            "base_url": base_url,
            "multipart": multipart,
        }
        try:
            return await super().call(method, path, **arguments)
        except _HeaderDropped:  # nothing was applied: the request was refused before the endpoint ran
            QUERY_AUTH_STORES.add(self.store_url)
            log.warning(
                "woocommerce: %s did not pass the Authorization header to WordPress; using query-string "
                "keys for this store from now on",
                self.store_url,
            )
            return await super().call(method, path, **arguments)

    async def _send(self, request: HttpRequest) -> HttpResponse:
        try:
            return await super()._send(request)
        except ResponseLost as exc:  # a transport error may quote the URL, query keys included
            raise ResponseLost(redact_url(exc.message)) from None

    def error_of(self, response: HttpResponse) -> tuple[str | None, str]:
        body = response.json()
        if response.status < 400:
            if body is None:
                # A 2xx without JSON (a truncated body, a WAF page): the call may or may not have been applied.
                raise ResponseLost(f"{self.platform}: HTTP {response.status} without a JSON body")
            return None, ""
        if isinstance(body, dict) and body.get("code"):
            return str(body["code"]), str(body.get("message") or "")[:300]
        return None, f"HTTP {response.status}"

    def _outcome(self, response: HttpResponse, key: str) -> Any:
        # The base returns only the JSON body; collections also need X-WP-TotalPages (see the report).
        try:
            body = super()._outcome(response, key)
        except ReauthorizationNeeded as exc:
            raise self._refusal(response, exc) from None
        if isinstance(body, list):
            return Listed(body, _int(_header(response.headers, "X-WP-TotalPages")))
        return body

    def _refusal(self, response: HttpResponse, exc: ReauthorizationNeeded) -> ReauthorizationNeeded:
        """A 401 ``woocommerce_rest_cannot_*`` means WooCommerce saw no user (WC-CORE-AUTH authenticate returns
        none; the endpoint's permission check refuses): the header may have been dropped on the way."""
        code = str(exc.fields.get("code") or "")
        if response.status != 401 or not code.startswith(CANNOT_PREFIX):
            return exc
        if self._sends_header():
            return _HeaderDropped(exc.message, code=code)
        if self.store_url not in QUERY_AUTH_STORES:
            return exc
        return ReauthorizationNeeded(
            f"{self.platform}: the store saw the API keys neither in the Authorization header nor in the query "
            "string (HTTP 401 " + code + "): check that the host passes them to WordPress and that WordPress "
            "knows it is served over HTTPS; otherwise the keys were revoked or their user deleted",
            code=code,
        )

    # ------------------------------------------------------------------ authorization

    async def refresh_access(self, refresh_token: Secret) -> TokenPair:
        raise PermanentError("WooCommerce REST API keys never expire and have no refresh token")

    async def exchange_code(self, code: str, **params: str) -> TokenPair:
        raise PermanentError(
            "WooCommerce has no authorization code: /wc-auth/v1/authorize POSTs the consumer key and secret to the "
            "callback_url (key_id, user_id, consumer_key, consumer_secret, key_permissions)"
        )

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """The wc-auth approval page; ``state`` goes as ``user_id`` and comes back in the callback body."""
        name = self.app.text("app_name") if "app_name" in self.app.values else DEFAULT_APP_NAME
        query = urlencode(
            {
                "app_name": name,
                "scope": "read_write",
                "user_id": state,
                "return_url": redirect_uri,
                "callback_url": redirect_uri,
            }
        )
        return f"{self.store_url}/wc-auth/v1/authorize?{query}"

    # ------------------------------------------------------------------ shop

    async def get_shop_info(self) -> ShopInfo:
        settings = _objects(await self.call("GET", f"{API}/settings/general"))  # authenticated: checks the keys
        index = await self.call("GET", "/wp-json/")
        index = index if isinstance(index, dict) else {}
        values = {str(item.get("id")): item.get("value") for item in settings}
        country = str(values.get("woocommerce_default_country") or "")
        return ShopInfo(
            platform_shop_id=self._shop_id(),
            name=str(index.get("name") or self._shop_id()),
            region=country.split(":", maxsplit=1)[0] or None,
            url=str(index.get("home") or self.store_url),
            data={"currency": values.get("woocommerce_currency"), "timezone": index.get("timezone_string")},
        )

    def _shop_id(self) -> str:
        if self.shop is not None:
            return self.shop.platform_shop_id
        parts = urlsplit(self.store_url)
        return parts.netloc + parts.path.rstrip("/")

    # ------------------------------------------------------------------ listings

    async def iter_listings(self, updated_since: datetime | None = None) -> AsyncIterator[Listing]:
        params = {"orderby": "id", "order": "asc"}  # id order: later changes never move a product to a read page
        if updated_since is not None:
            # modified_after is exclusive and WooCommerce keeps whole seconds: "after since - 1 s" = "from since".
            since = whole_seconds(updated_since) - timedelta(seconds=1)
            params.update(modified_after=wc_time(since), dates_are_gmt="true")
        async for products in self._pages(f"{API}/products", params):
            for product in products:
                yield await self._listing(product)

    async def get_listings(self, item_ids: Sequence[str]) -> list[Listing]:
        ids = [item_id for item_id in dict.fromkeys(item_ids) if item_id.isdigit()]
        products: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids, PER_PAGE):
            params = {"include": ",".join(chunk), "per_page": PER_PAGE}
            products.update(
                {str(p["id"]): p for p in _objects(await self.call("GET", f"{API}/products", params=params))}
            )
        return [await self._listing(products[item_id]) for item_id in ids if item_id in products]

    async def find_by_sku(self, sku: str) -> Listing | None:
        """``sku`` searches products and variations alike (WC-CORE products controller, post types product and
        product_variation); a variation leads to its parent."""
        found = _objects(await self.call("GET", f"{API}/products", params={"sku": sku, "per_page": PER_PAGE}))
        match = next((product for product in found if product.get("sku") == sku), None)  # "a,b" matches a or b
        if match is None:
            return None
        if match.get("type") == "variation":
            match = await self._product(str(match.get("parent_id")))
        return await self._listing(match)

    async def _listing(self, product: dict[str, Any]) -> Listing:
        if product.get("type") != "variable" or not product.get("variations"):
            return listing_of(product, [])
        return listing_of(product, await self._variations(str(product["id"])))

    async def _product(self, item_id: str, context: str = "view") -> dict[str, Any]:
        params = {"context": context} if context != "view" else None
        product = await self.call("GET", f"{API}/products/{quote(item_id, safe='')}", params=params)
        if not isinstance(product, dict):
            raise PermanentError(f"{self.platform}: product {item_id} is not a JSON object")
        return product

    async def _variations(self, product_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        path = f"{API}/products/{quote(product_id, safe='')}/variations"
        async for variations in self._pages(path, {"orderby": "id", "order": "asc"}):
            found.extend(variations)
        return found

    async def _pages(self, path: str, params: Mapping[str, str]) -> AsyncIterator[list[dict[str, Any]]]:
        page = 1
        while True:
            body = await self.call("GET", path, params={**params, "per_page": PER_PAGE, "page": page})
            items = _objects(body)
            if items:
                yield items
            if _last_page(body, page):
                return
            page += 1

    # ------------------------------------------------------------------ listing writes

    async def _create_listing(self, draft: ListingDraft) -> Listing:
        if not is_variable(draft):
            body = product_body(draft) | await self._package(draft)
            product = await self.call("POST", f"{API}/products", json_body=body, retry_lost=False)
            return listing_of(product, [])
        parent = await self._create_parent(draft)
        product_id = str(parent["id"])
        await self._sync_variations(product_id, draft, await self._variations(product_id))
        return await self._listing(await self._product(product_id))

    async def _create_parent(self, draft: ListingDraft) -> dict[str, Any]:
        """The variable product itself; after a lost response or a duplicate-SKU refusal, the one already made."""
        try:
            body = product_body(draft) | await self._package(draft)
            return dict(await self.call("POST", f"{API}/products", json_body=body, retry_lost=False))
        except ResponseLost:
            found = await self._product_with_sku(parent_sku(draft))
            if found is None:
                raise
            return found
        except PermanentError as exc:
            found = await self._product_with_sku(parent_sku(draft)) if exc.fields.get("code") == DUPLICATE_SKU else None
            if found is None:
                raise
            return found

    async def _package(self, draft: ListingDraft) -> dict[str, Any]:
        """The profile's package in the store's units (read once per client from ``settings/products``); nothing
        when the draft has none, so a store is asked only when there is something to convert."""
        if draft.package is None:
            return {}
        if self._units is None:
            values = {}
            for setting in ("woocommerce_weight_unit", "woocommerce_dimension_unit"):
                answer = await self.call("GET", f"{API}/settings/products/{setting}")
                values[setting] = str(answer.get("value") or "") if isinstance(answer, dict) else ""
            self._units = StoreUnits(values["woocommerce_weight_unit"], values["woocommerce_dimension_unit"])
        return package_body(draft.package, self._units)

    async def _product_with_sku(self, sku: str) -> dict[str, Any] | None:
        found = _objects(await self.call("GET", f"{API}/products", params={"sku": sku, "per_page": PER_PAGE}))
        return next((product for product in found if product.get("sku") == sku), None)

    async def update_listing(self, item_id: str, draft: ListingDraft) -> Listing:
        """A read-modify-write (``content``): only changed fields, status never, lists merged, no deletes."""
        product = await self._product(item_id, context="edit")  # raw description, as it is stored
        variable = product.get("type") == "variable"
        if variable != is_variable(draft):
            raise PermanentError(
                f"{self.platform} product {item_id} is {product.get('type')}: switching between simple and variable "
                "products is not supported, create a new listing instead",
                code="type_change",
            )
        product = await self._put_changes(item_id, product, draft, variable=variable)
        if not variable:
            return listing_of(product, [])
        await self._update_variations(item_id, draft, product.get("attributes") or [])
        return await self._listing(await self._product(item_id))

    async def _put_changes(
        self, item_id: str, product: dict[str, Any], draft: ListingDraft, *, variable: bool
    ) -> dict[str, Any]:
        body = product_changes(product, draft, variable=variable)
        body |= package_changes(product, await self._package(draft))
        path = f"{API}/products/{quote(item_id, safe='')}"
        if body:
            product = dict(await self.call("PUT", path, json_body=body))
        sources = sources_after(product, body, draft.images)
        if sources:  # which attachment holds which CRM image: never downloaded again
            product = dict(await self.call("PUT", path, json_body=sources))
        return product

    async def _update_variations(self, product_id: str, draft: ListingDraft, parent: list[Any]) -> None:
        """Update the variations whose SKU the CRM knows, create the missing ones; never delete (a variation the
        CRM does not know is the merchant's). Batches of 100; not retried after a lost response (a retry of the
        whole operation reads the variations again)."""
        existing = holders(await self._variations(product_id))
        problems = [
            f"{v.sku}: {n}={o} is not a variation option of the product (not applied)"
            for v in draft.variants
            for n, o in v.options.items()
            if not has_option(parent, n, o)
        ]
        refused = {p.split(":", 1)[0] for p in problems}
        ops: list[tuple[str, Any]] = []
        for wanted in [v for v in draft.variants if v.sku not in refused]:
            found = existing.get(wanted.sku, [])
            if len(found) > 1:
                problems.append(f"{wanted.sku}: held by {len(found)} variations, none updated")
            elif found:
                changes = variation_changes(found[0], wanted, parent)
                ops += [("update", {"id": found[0]["id"], **changes})] if changes else []
            else:
                ops.append(("create", new_variation(wanted, parent)))
        await self._send_variation_ops(product_id, ops)
        if problems:
            raise PermanentError(
                f"{self.platform} product {product_id}: " + "; ".join(problems)[:450], code="variation_not_applied"
            )

    async def _sync_variations(self, product_id: str, draft: ListingDraft, existing: list[dict[str, Any]]) -> None:
        """A new product's variations (create): every draft variant the product does not hold yet."""
        known = holders(existing)
        ops = [("create", variation_body(v)) for v in draft.variants if v.sku not in known]
        await self._send_variation_ops(product_id, ops)

    async def _send_variation_ops(self, product_id: str, ops: list[tuple[str, Any]]) -> None:
        path = f"{API}/products/{quote(product_id, safe='')}/variations/batch"
        for chunk in _chunks(ops, BATCH_CAP):
            body = {kind: [value for k, value in chunk if k == kind] for kind in ("create", "update")}
            answer = await self.call("POST", path, json_body={k: v for k, v in body.items() if v}, retry_lost=False)
            self._raise_failed(product_id, answer)

    def _raise_failed(self, product_id: str, answer: Any) -> None:
        errors = [
            entry["error"]
            for kind in ("create", "update", "delete")
            for entry in (answer.get(kind) or [] if isinstance(answer, dict) else [])
            if isinstance(entry, dict) and isinstance(entry.get("error"), dict)
        ]
        if errors:
            detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors[:5])
            raise PermanentError(
                f"{self.platform}: {len(errors)} variation writes of product {product_id} failed: {detail}"[:500],
                code=str(errors[0].get("code")),
            )

    # ------------------------------------------------------------------ stock and prices

    async def update_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        return await self._write(updates, _stock_fields, refuse=_warehouse_split)

    async def update_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        return await self._write(updates, lambda u: {"regular_price": wc_money(u.price)})

    async def _write(
        self,
        updates: Sequence[Write],
        fields: Callable[[Write], dict[str, Any]],
        refuse: Callable[[Write], str | None] = lambda _: None,
    ) -> list[ItemResult]:
        """Absolute values, so a batch can be repeated safely; one result per input, in input order. An item
        ``refuse`` names a reason for fails alone; the others are written."""
        results: dict[int, ItemResult] = {}
        allowed: list[tuple[int, Write]] = []
        for index, update in enumerate(updates):
            reason = refuse(update)
            if reason is None:
                allowed.append((index, update))
            else:
                results[index] = ItemResult(
                    sku=update.sku, ok=False, error_code="warehouse_split", error_message=reason
                )
        for path, chunk in _batch_plan(allowed):
            body = {
                "update": [{"id": wc_id(u.platform_variant_id or u.platform_item_id), **fields(u)} for _, u in chunk]
            }
            answers = await self._send_batch(path, body, [u.sku for _, u in chunk])
            results.update({index: result for (index, _), result in zip(chunk, answers, strict=True)})
        return [results[index] for index in range(len(updates))]

    async def _send_batch(self, path: str, body: dict[str, Any], skus: list[str]) -> list[ItemResult]:
        try:
            answer = await self.call("POST", path, json_body=body)
        except ReauthorizationNeeded:
            raise
        except PermanentError as exc:  # the whole request refused: each of its items failed, the others go on
            code = str(exc.fields.get("code") or "rejected")
            return [ItemResult(sku=sku, ok=False, error_code=code, error_message=exc.message) for sku in skus]
        updated = answer.get("update") if isinstance(answer, dict) else None
        answers = updated if isinstance(updated, list) else []
        return [item_result(sku, answers[i] if i < len(answers) else None) for i, sku in enumerate(skus)]

    # ------------------------------------------------------------------ webhooks

    async def register_webhooks(
        self, delivery_url: str, secret: Secret, topics: Sequence[str] = WEBHOOK_TOPICS
    ) -> list[str]:
        """One active webhook per topic delivering to ``delivery_url`` and signed with ``secret``; idempotent: a
        webhook of ours (same URL and topic) is updated (secret, status active), duplicates of it deleted, a missing
        one created. Returns the webhook ids, one per topic (WC-DOC _webhooks.md; WC-CORE webhooks controller)."""
        ours = await self.webhooks_of(delivery_url)
        return [
            await self._ensure_webhook(topic, delivery_url, secret, [h for h in ours if h.get("topic") == topic])
            for topic in topics
        ]

    async def unregister_webhooks(self, delivery_url: str) -> int:
        """Delete (``force=true``: webhooks have no trash) every webhook delivering to ``delivery_url``."""
        ours = await self.webhooks_of(delivery_url)
        for hook in ours:
            await self._delete_webhook(str(hook["id"]))
        return len(ours)

    async def webhooks_of(self, delivery_url: str) -> list[dict[str, Any]]:
        """The store's webhooks (every status) that deliver to ``delivery_url``."""
        found: list[dict[str, Any]] = []
        async for hooks in self._pages(f"{API}/webhooks", {"orderby": "id", "order": "asc", "status": "all"}):
            found.extend(hook for hook in hooks if hook.get("delivery_url") == delivery_url)
        return found

    async def _ensure_webhook(self, topic: str, url: str, secret: Secret, ours: list[dict[str, Any]]) -> str:
        body = {"name": f"nfsync {topic}", "status": "active", "secret": secret.reveal()}
        if not ours:
            return await self._create_webhook({**body, "topic": topic, "delivery_url": url})
        keep, *extra = ours
        await self.call("PUT", f"{API}/webhooks/{wc_id(str(keep['id']))}", json_body=body)
        for hook in extra:
            await self._delete_webhook(str(hook["id"]))
        return str(keep["id"])

    async def _create_webhook(self, body: dict[str, Any]) -> str:
        """Not repeated blindly after a lost answer: the store is asked whether it made the webhook."""
        try:
            created = await self.call("POST", f"{API}/webhooks", json_body=body, retry_lost=False)
        except ResponseLost:
            made = [h for h in await self.webhooks_of(body["delivery_url"]) if h.get("topic") == body["topic"]]
            if not made:
                raise
            return str(made[0]["id"])
        return str(created["id"])

    async def _delete_webhook(self, hook_id: str) -> None:
        try:
            await self.call("DELETE", f"{API}/webhooks/{quote(hook_id, safe='')}", params={"force": "true"})
        except PermanentError as exc:
            if exc.fields.get("code") != WEBHOOK_INVALID_ID:  # already gone: what we wanted
                raise

    # ------------------------------------------------------------------ orders

    async def iter_orders(self, updated_from: datetime, updated_to: datetime) -> AsyncIterator[Order]:
        """WooCommerce caps neither the window nor the offset: one window, paged in id order.

        For a window ending in the last day the upper bound is applied here rather than sent: an order modified
        while we page then stays in the result set instead of leaving it and shifting a later order onto a page
        already read."""
        start, end = whole_seconds(updated_from), whole_seconds(updated_to)
        params = {
            "modified_after": wc_time(start - timedelta(seconds=1)),
            "dates_are_gmt": "true",
            "orderby": "id",
            "order": "asc",
        }
        if end < datetime.now(UTC) - RECENT:
            params["modified_before"] = wc_time(end)
        async for orders in self._pages(f"{API}/orders", params):
            for payload in orders:
                order = order_of(payload)
                if start <= order.updated_at < end:
                    yield order

    async def iter_customers(self, modified_after: datetime | None) -> AsyncIterator[tuple[Buyer, datetime]]:
        """Registered customers (``GET /customers``, WC-DOC customers) with their ``date_modified_gmt``, paged in id
        order. The reference lists no date filter for customers (UNCONFIRMED whether ``modified_after`` works there):
        none is sent and ``modified_after`` is applied here."""
        params = {"orderby": "id", "order": "asc", "role": "all"}
        async for customers in self._pages(f"{API}/customers", params):
            for payload in customers:
                modified = gmt(payload.get("date_modified_gmt")) or gmt(payload.get("date_created_gmt"))
                buyer = customer_of({**payload, "customer_id": payload.get("id")})
                if buyer is None or modified is None or (modified_after is not None and modified <= modified_after):
                    continue
                yield buyer, modified

    async def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        ids = [order_id for order_id in dict.fromkeys(order_ids) if order_id.isdigit()]
        found: dict[str, Order] = {}
        for chunk in _chunks(ids, PER_PAGE):
            params = {"include": ",".join(chunk), "per_page": PER_PAGE}
            found.update(
                {str(o["id"]): order_of(o) for o in _objects(await self.call("GET", f"{API}/orders", params=params))}
            )
        return [found[order_id] for order_id in ids if order_id in found]


# ---------------------------------------------------------------------------------------------- helpers


def _batch_plan(updates: Sequence[tuple[int, Write]]) -> list[tuple[str, list[tuple[int, Write]]]]:
    """Simple products go to /products/batch, variations to their parent's /variations/batch; 100 per request."""
    groups: dict[str, list[tuple[int, Write]]] = {}
    for index, update in updates:
        parent = quote(update.platform_item_id, safe="")
        path = (
            f"{API}/products/batch"
            if update.platform_variant_id is None
            else f"{API}/products/{parent}/variations/batch"
        )
        groups.setdefault(path, []).append((index, update))
    return [(path, list(chunk)) for path, items in groups.items() for chunk in _chunks(items, BATCH_CAP)]


def _stock_fields(update: StockUpdate) -> dict[str, Any]:
    quantity = next(iter(update.warehouses.values())) if len(update.warehouses) == 1 else update.quantity
    return {"manage_stock": True, "stock_quantity": quantity}


def _warehouse_split(update: StockUpdate) -> str | None:
    """WooCommerce core keeps one stock quantity per product or variation (WC-DOC _products.md stock_quantity):
    a split over several warehouses cannot be written, and that item alone fails."""
    if len(update.warehouses) <= 1:
        return None
    return (
        f"WooCommerce keeps one stock quantity per product; a split over {len(update.warehouses)} warehouses "
        "cannot be written (map one CRM location to the store in config.inventory.warehouses)"
    )


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _objects(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise PermanentError("woocommerce: expected a JSON array")
    return [item for item in body if isinstance(item, dict)]


def _last_page(body: Any, page: int) -> bool:
    total = body.total_pages if isinstance(body, Listed) else None
    return page >= total if total is not None else len(body) < PER_PAGE


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def redact_url(text: str) -> str:
    """``text`` with every ``consumer_secret=`` query value masked."""
    return _SECRET_PARAM.sub(r"\1***", text)
