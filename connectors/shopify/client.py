"""Shopify GraphQL Admin API client, 2026-04 (issue #19; docs/platforms/shopify.md, tests/contracts/shopify.json).

- Every call is ``POST https://{shop}/admin/api/2026-04/graphql.json`` with ``X-Shopify-Access-Token`` and the body
  ``{"query", "variables", "operationName"}``; the documents, page sizes and requested costs are
  ``connectors.shopify.operations`` (shared with the sandbox). The shop id is the shop's ``*.myshopify.com`` domain,
  checked against ``SHOP_DOMAIN_PATTERN`` before any call (ValidationFailed otherwise); a configured ``base_url``
  (an operator-allowed sandbox or proxy) replaces ``https://{shop}``.
- Calls are planned by requested cost (``connectors.shopify.cost``): the shop's bucket model is charged before each
  call and set from ``extensions.cost.throttleStatus`` after it; THROTTLED waits until the bucket holds the cost.
- Ids are full GIDs. Stock is written per location with ``inventorySetQuantities`` (``available``, reason
  ``correction``, at most 250 quantities a call) with ``changeFromQuantity: null``: nfsync's stock writes are absolute
  values from the CRM, the source of truth (the doc's "null only when the CRM is declared the source of truth"), and
  the client never reads per-location levels (no such operation), so it has no value to compare with. Prices go
  through ``productVariantsBulkUpdate`` per product, as decimal strings. New products through ``productSet``
  (creation only: it replaces list fields, so it would delete merchant variants on an update).
- ``update_listing`` is a read-modify-write of one product (PRODUCT): ``productUpdate`` with the title and
  description when they differ, prices and stock of the variants it holds, ``productVariantsBulkCreate`` for the
  draft's SKUs it lacks; nothing deleted, status and options never changed, images not written (module mapping).
- Orders are read with their first 30 line items; an order with more pages through the rest (ORDER_LINES).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import aiohttp

from nfsync.connectors.base.client import BaseClient, HttpRequest, HttpResponse, ResponseLost
from nfsync.connectors.base.errors import (
    PermanentError,
    ReauthorizationNeeded,
    RetryableError,
    ValidationFailed,
)
from nfsync.connectors.base.models import (
    ItemResult,
    Listing,
    ListingDraft,
    Order,
    PriceUpdate,
    ShopInfo,
    StockUpdate,
    TokenPair,
    VariantDraft,
)
from nfsync.connectors.base.outbound import check_connect_target, check_url
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.shopify import errors, operations
from nfsync.connectors.shopify.cost import bucket_for, cost_of, throttle_wait
from nfsync.connectors.shopify.errors import ERROR_TABLE, error_index, top_level_error, user_error_code, user_errors
from nfsync.connectors.shopify.mapping import (
    as_dict,
    as_gid,
    decimal_string,
    inventory_items,
    listing_of,
    more_lines,
    new_variant_input,
    nodes,
    option_mismatch,
    order_of,
    product_changes,
    product_set_input,
    query_time,
)
from nfsync.connectors.shopify.operations import GRAPHQL_PATH, MAX_INPUT_ITEMS, OPERATIONS, Operation, gid_number
from nfsync.connectors.shopify.signing import verify_callback

GRAPHQL = "graphql"  # the limiter endpoint of every GraphQL call (one cost bucket per app and shop)
OAUTH = "oauth"
DEFAULT_SCOPES = "read_products,write_products,read_orders,read_inventory,write_inventory,read_locations"
"""Asked for when the app credentials name no ``scopes`` (UNCONFIRMED that ``locations`` needs read_locations)."""
WEBHOOK_TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "products/update", "app/uninstalled")
"""Contract ``webhook_topics.values``; the GraphQL enum is the upper-case name with ``_`` (``ORDERS_CREATE``)."""
TAKEN = "already been taken"  # a duplicate (topic, uri): "Address for this topic has already been taken" (UNCONFIRMED)
FINAL_BULK = frozenset({"FAILED", "CANCELED", "EXPIRED"})
_SHOP_DOMAIN = re.compile(operations.SHOP_DOMAIN_PATTERN)
_BARE_SKU = re.compile(r"[A-Za-z0-9._/-]+")
log = logging.getLogger(__name__)

T = TypeVar("T")
Row = tuple[int, dict[str, Any]]  # (index of the update it writes, one input item)


def check_shop(domain: str) -> str:
    """The shop domain, when it is a ``*.myshopify.com`` domain (docs/platforms/shopify.md transport rule)."""
    if not _SHOP_DOMAIN.fullmatch(domain or ""):
        raise ValidationFailed(f"a Shopify shop must be its <name>.myshopify.com domain, not {domain!r}")
    return domain.lower()


REPLAN_SECONDS = 0.25  # a call waiting for cost looks again this often (answers may have refunded points)


class Client(BaseClient):
    secret_signs_calls = False  # calls carry X-Shopify-Access-Token; the secret signs OAuth callbacks and webhooks
    platform = "shopify"
    error_table = ERROR_TABLE
    # Shopify limits GraphQL by cost, not calls (connectors.shopify.cost); this calls/s fence only bounds bursts.
    default_rate = 1000.0
    bulk_poll_first = 0.5  # seconds before the first poll of a bulk operation; doubles up to bulk_poll_max
    bulk_poll_max = 5.0
    bulk_timeout = 1800.0  # seconds a bulk catalog export may take before the client pages instead
    bulk_download_timeout = 600.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._locations: list[str] | None = None
        self._items: dict[str, str] = {}  # variant GID -> InventoryItem GID, from every variant read

    # ------------------------------------------------------------------ platform hooks

    @property
    def app_id(self) -> str:
        return self.app.text("client_id")

    def shop_domain(self) -> str:
        return check_shop(self.shop.platform_shop_id if self.shop is not None else "")

    def _origin(self, shop: str) -> str:
        """``https://{shop}``; with a configured ``base_url`` (an operator-allowed sandbox or proxy, which serves
        every shop under its domain like a multisite) ``{base_url}/{shop}``."""
        base = self.settings.base_url.rstrip("/")
        return f"{base}/{shop}" if base else f"https://{shop}"

    def sign(self, request: HttpRequest, token: TokenPair | None, now: float) -> HttpRequest:
        headers = dict(request.headers)
        if token is not None:
            headers["X-Shopify-Access-Token"] = token.access_token.reveal()
        return replace(request, headers=headers, base_url=request.base_url or self._origin(self.shop_domain()))

    def error_of(self, response: HttpResponse) -> tuple[str | None, str]:
        body = response.json()
        found = top_level_error(body)
        if response.status >= 400:
            return (found[0] or None, found[1]) if found else (None, f"HTTP {response.status}")
        if body is None:  # a 2xx without JSON: the call may or may not have been applied
            raise ResponseLost(f"{self.platform}: HTTP {response.status} without a JSON body")
        if found is None:
            return None, ""
        return found[0] or errors.GRAPHQL_ERROR, found[1]

    def retry_after(self, response: HttpResponse) -> float | None:
        """THROTTLED: until the bucket holds the requested cost again (``throttleStatus``); else ``Retry-After``."""
        wait = throttle_wait(cost_of(response.json()))
        return wait if wait is not None else super().retry_after(response)

    async def _send(self, request: HttpRequest) -> HttpResponse:
        """Each attempt of a GraphQL call is charged to the shop's cost bucket first, and settled by its answer."""
        operation = _operation(request)
        if operation is None:
            return await super()._send(request)
        bucket = bucket_for(self.limiter_key(GRAPHQL))
        expected = bucket.expected(operation.name, operation.cost)
        try:
            wait = bucket.reserve(operation.cost, time.monotonic(), expected, operation.name)
            if wait > 0:
                self.stats["cost_waits"] += 1
            while wait > 0:  # re-planned as other calls' answers arrive
                await asyncio.sleep(min(wait, REPLAN_SECONDS))
                wait = bucket.still_to_wait(operation.cost, time.monotonic(), operation.name)
            response = await super()._send(request)
        except BaseException:
            bucket.release(operation.cost, expected, operation.name)
            raise
        bucket.settle(operation.cost, cost_of(response.json()), time.monotonic(), expected, operation.name)
        return response

    async def graphql(
        self, operation: Operation, variables: Mapping[str, Any] | None = None, *, retry_lost: bool = True
    ) -> dict[str, Any]:
        """One operation of operations.py; its ``data``."""
        self.shop_domain()  # refused before any call
        body = {"query": operation.document, "variables": dict(variables or {}), "operationName": operation.name}
        answer = await self.call("POST", GRAPHQL_PATH, json_body=body, endpoint=GRAPHQL, retry_lost=retry_lost)
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise PermanentError(f"{self.platform} {operation.name}: an answer without data")
        return data

    # ------------------------------------------------------------------ authorization

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """The shop's approval page (SD-OAUTH); an empty ``grant_options[]`` asks for an offline token."""
        if self.shop is None:
            raise ValidationFailed("Shopify authorizes per shop: the connect needs the shop's myshopify.com domain")
        shop = self.shop_domain()
        scopes = self.app.text("scopes") if "scopes" in self.app.values else DEFAULT_SCOPES
        query = urlencode(
            {
                "client_id": self.app_id,
                "scope": scopes,
                "redirect_uri": redirect_uri,
                "state": state,
                "grant_options[]": "",
            }
        )
        return f"{self._origin(shop)}/admin/oauth/authorize?{query}"

    def verify_callback(self, query: Mapping[str, str]) -> bool:
        """The callback's ``hmac`` over its whole query (``code``, ``shop``, ``state``, ``timestamp``, ``host``) and
        the 90-s timestamp window (SD-OAUTH; JS-API); the service checks it before anything is stored or sent."""
        return verify_callback(query, self.app.secret("client_secret"), now=time.time())

    @staticmethod
    def callback_shop(query: Mapping[str, str]) -> str | None:
        return check_shop(query["shop"]) if query.get("shop") else None

    async def exchange_code(self, code: str, **params: str) -> TokenPair:
        """The callback's code for an offline token, at the shop the callback names (its signature was checked by
        ``verify_callback`` first)."""
        shop = check_shop(params.get("shop") or (self.shop.platform_shop_id if self.shop else ""))
        body = {"client_id": self.app_id, "client_secret": self.app.text("client_secret"), "code": code}
        # SD-OFFLINE: expiring offline tokens (expires_in + a rotating refresh token) since 2025-12-10, required of
        # public apps from 2027-01-01; a custom app may keep non-expiring ones (app credential offline_tokens).
        if self.app.values.get("offline_tokens") != "non-expiring":
            body["expiring"] = "1"
        return await self._token_call(shop, body)

    async def refresh_access(self, refresh_token: Secret) -> TokenPair:
        """Expiring offline tokens only (SD-OFFLINE, since 2025-12-10); a non-expiring token has no refresh token and
        never reaches here. The refresh grant's parameters are UNCONFIRMED (not on a stored page)."""
        body = {
            "client_id": self.app_id,
            "client_secret": self.app.text("client_secret"),
            "grant_type": "refresh_token",
            "refresh_token": refresh_token.reveal(),
        }
        return await self._token_call(self.shop_domain(), body)

    async def _token_call(self, shop: str, body: dict[str, str]) -> TokenPair:
        try:
            answer = await self.call(
                "POST",
                "/admin/oauth/access_token",
                json_body=body,
                endpoint=OAUTH,
                authed=False,
                base_url=self._origin(shop),
                retry_lost=False,
            )
        except ReauthorizationNeeded:
            raise
        except PermanentError as exc:  # a used or expired code, a refused refresh token (contract: reauthorize)
            raise ReauthorizationNeeded(
                f"re-authorization needed: {exc.message}", code=exc.fields.get("code")
            ) from None
        data = as_dict(answer)
        if not data.get("access_token"):
            raise PermanentError("shopify: the token answer has no access_token")
        now = datetime.now(UTC)
        expires, refresh_expires = data.get("expires_in"), data.get("refresh_token_expires_in")
        return TokenPair(
            access_token=Secret(str(data["access_token"])),
            refresh_token=Secret(str(data["refresh_token"])) if data.get("refresh_token") else None,
            access_expires_at=now + timedelta(seconds=int(expires)) if expires else None,
            refresh_expires_at=now + timedelta(seconds=int(refresh_expires)) if refresh_expires else None,
            platform_account_id=shop,
            shop_ids=[shop],
            extra={"scope": str(data.get("scope") or "")},
        )

    # ------------------------------------------------------------------ shop

    async def get_shop_info(self) -> ShopInfo:
        shop = as_dict((await self.graphql(operations.SHOP)).get("shop"))
        domain = str(shop.get("myshopifyDomain") or self.shop_domain())
        return ShopInfo(
            platform_shop_id=self.shop_domain(),
            name=str(shop.get("name") or domain),
            url=f"https://{domain}",
            data={"currency": shop.get("currencyCode"), "myshopify_domain": domain},
        )

    async def _active_locations(self) -> list[str]:
        """The shop's active locations (LOCATIONS, read once per client)."""
        if self._locations is None:
            found = nodes((await self.graphql(operations.LOCATIONS)).get("locations"))
            self._locations = [str(n["id"]) for n in found if n.get("id") and n.get("isActive", True)]
        return self._locations

    async def _default_location(self) -> str | None:
        """Where a stock write without a split goes: the shop's ``warehouse_id`` (a Location GID or number, mapped
        in the shop's data), else the shop's one active location; None when it has several."""
        configured = (self.shop.extra if self.shop else {}).get("warehouse_id")
        if configured:
            return as_gid("Location", configured)
        locations = await self._active_locations()
        return locations[0] if len(locations) == 1 else None

    # ------------------------------------------------------------------ listings: read

    async def iter_listings(self, updated_since: datetime | None = None) -> AsyncIterator[Listing]:
        """Changed products (``updated_at:>=``) page by page; the whole catalog through a bulk export (JSONL) when
        no time is given, falling back to pages when the export cannot run."""
        if updated_since is None:
            exported = await self._bulk_products()
            if exported is not None:
                for listing in exported:
                    yield listing
                return
        query = None if updated_since is None else f"updated_at:>='{query_time(updated_since)}'"
        after: str | None = None
        while True:
            data = await self.graphql(operations.PRODUCTS, {"after": after, "q": query})
            connection = as_dict(data.get("products"))
            for product in nodes(connection):
                yield await self._complete(product)
            after = _next_cursor(connection, after)
            if after is None:
                return

    async def _complete(self, product: Mapping[str, Any]) -> Listing:
        """A product node with all its variants: a full first page means there may be more (VARIANTS)."""
        variants = nodes(product.get("variants"))
        if len(variants) >= operations.PRODUCT_VARIANTS_PAGE:
            variants = await self._product_variants(str(product["id"]))
        self._items.update(inventory_items(variants))
        return listing_of(product, variants)

    async def _product_variants(self, product_id: str) -> list[dict[str, Any]]:
        return await self._variants(f"product_id:{gid_number(product_id)}")

    async def _variants(self, query: str, operation: Operation = operations.VARIANTS) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            data = await self.graphql(operation, {"after": after, "q": query})
            connection = as_dict(data.get("productVariants"))
            found.extend(nodes(connection))
            after = _next_cursor(connection, after)
            if after is None:
                break
        self._items.update(inventory_items(found))
        return found

    async def get_listings(self, item_ids: Sequence[str]) -> list[Listing]:
        """PRODUCT by id, its variants completed by VARIANTS ``product_id:`` past the first page; a product that
        no longer exists is left out."""
        found = []
        for item_id in dict.fromkeys(as_gid("Product", i) for i in item_ids if i):
            product = await self._product(item_id)
            if product is not None:
                found.append(listing_of(*product))
        return found

    async def _product(self, product_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The product node and all its variants, or None when there is no such product."""
        node = (await self.graphql(operations.PRODUCT, {"id": product_id})).get("product")
        if not isinstance(node, dict) or not node.get("id"):
            return None
        variants = nodes(node.get("variants"))
        if len(variants) >= operations.PRODUCT_VARIANTS_PAGE:
            variants = await self._product_variants(product_id)
        self._items.update(inventory_items(variants))
        return node, variants

    async def find_by_sku(self, sku: str) -> Listing | None:
        """VARIANTS ``sku:<sku>`` (search may match loosely: only an exact SKU counts), then that product."""
        for variant in await self._variants(f"sku:{_search_value(sku)}", operations.SKU_LOOKUP):
            product_id = as_dict(variant.get("product")).get("id")
            if variant.get("sku") == sku and product_id:
                listings = await self.get_listings([str(product_id)])
                return listings[0] if listings else None
        return None

    async def _bulk_products(self) -> list[Listing] | None:
        """BULK_RUN + BULK_POLL + the JSONL at ``url`` (SD-REF bulk operations); None when the export cannot run
        (another one in progress, a failed or expired export, or no result in ``bulk_timeout``)."""
        data = await self.graphql(operations.BULK_RUN, {"q": operations.BULK_PRODUCTS_QUERY})
        payload = as_dict(data.get("bulkOperationRunQuery"))
        problems = user_errors(payload)
        operation_id = as_dict(payload.get("bulkOperation")).get("id")
        if problems or not operation_id:
            log.warning("shopify: bulk export not started (%s); paging instead", _messages(problems))
            return None
        deadline, pause = time.monotonic() + self.bulk_timeout, self.bulk_poll_first
        while time.monotonic() < deadline:
            await asyncio.sleep(pause)
            pause = min(self.bulk_poll_max, pause * 2)
            current = as_dict((await self.graphql(operations.BULK_POLL)).get("currentBulkOperation"))
            status = str(current.get("status") or "")
            if current.get("id") != operation_id or status in FINAL_BULK:
                log.warning("shopify: bulk export %s ended %s (%s); paging instead", operation_id, status, current)
                return None
            if status == "COMPLETED":
                url = current.get("url")
                if not url:
                    return []  # no objects: Shopify gives no file
                return self._bulk_listings(await self._download(str(url)))
        log.warning("shopify: bulk export %s did not finish in %ss; paging instead", operation_id, self.bulk_timeout)
        return None

    async def _download(self, url: str) -> bytes:
        outbound = self.settings.outbound
        if outbound is not None:
            check_url(url, None, outbound, what="bulk operation url")
            check_connect_target(urlsplit(url).hostname or "", outbound)
        timeout = aiohttp.ClientTimeout(sock_connect=self.settings.connect_timeout, total=self.bulk_download_timeout)
        try:
            async with self._session.get(url, timeout=timeout, allow_redirects=False) as raw:
                if raw.status != 200:
                    raise RetryableError(f"shopify: the bulk result answered HTTP {raw.status}")
                return await raw.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise RetryableError(f"shopify: the bulk result could not be read: {type(exc).__name__}") from None

    def _bulk_listings(self, body: bytes) -> list[Listing]:
        """JSONL: one object a line; a variant carries ``__parentId`` (its product's GID)."""
        products: dict[str, dict[str, Any]] = {}
        children: dict[str, list[dict[str, Any]]] = {}
        for line in body.splitlines():
            if not line.strip():
                continue
            item = as_dict(json.loads(line))
            parent = item.get("__parentId")
            if parent:
                children.setdefault(str(parent), []).append(item)
            elif item.get("id"):
                products[str(item["id"])] = item
        listings = []
        for product_id, product in products.items():
            variants = children.get(product_id, [])
            self._items.update(inventory_items(variants))
            listings.append(listing_of(product, variants))
        return listings

    # ------------------------------------------------------------------ listings: write

    async def _create_listing(self, draft: ListingDraft) -> Listing:
        """``productSet`` (synchronous) for a new product only; its variants' quantities at the default location."""
        variables = {"input": product_set_input(draft, await self._default_location())}
        data = await self.graphql(operations.CREATE_PRODUCT, variables, retry_lost=False)
        payload = as_dict(data.get("productSet"))
        problems = user_errors(payload)
        product = as_dict(payload.get("product"))
        if problems or not product.get("id"):
            raise PermanentError(
                f"shopify: the product was not created: {_messages(problems) or 'no product in the answer'}"[:500],
                code=user_error_code(problems[0]) if problems else errors.USER_ERROR,
            )
        return await self._complete(product)

    async def update_listing(self, item_id: str, draft: ListingDraft) -> Listing:
        """A read-modify-write: ``productUpdate`` with the title and description when they differ, the prices and
        stock of the variants the product holds (by SKU), and ``productVariantsBulkCreate`` for the draft's SKUs it
        lacks (one value for each of the product's options). Nothing is deleted; status, options and the merchant's
        other variants stay. Problems fail the call after every safe write, each named."""
        product_id = as_gid("Product", item_id)
        found = await self._product(product_id)
        if found is None:
            raise PermanentError(f"shopify: product {product_id} not found", code="PRODUCT_DOES_NOT_EXIST")
        node, variants = found
        problems = await self._update_content(product_id, node, draft)
        by_sku = {str(v.get("sku") or ""): str(v["id"]) for v in variants if v.get("id")}
        known = [v for v in draft.variants if v.sku in by_sku]
        location = await self._default_location()
        results = await self.update_prices(
            [
                PriceUpdate(platform_item_id=product_id, platform_variant_id=by_sku[v.sku], sku=v.sku, price=v.price)
                for v in known
            ]
        )
        if location is not None:
            results += await self.update_stock(
                [
                    StockUpdate(
                        platform_item_id=product_id, platform_variant_id=by_sku[v.sku], sku=v.sku, quantity=v.stock
                    )
                    for v in known
                ]
            )
        problems += [f"{r.sku}: {r.error_message}" for r in results if not r.ok]
        missing = [v for v in draft.variants if v.sku not in by_sku]
        problems += await self._add_variants(product_id, node, missing, location)
        if problems:
            raise PermanentError(
                f"shopify product {product_id}: " + "; ".join(problems)[:450], code="variation_not_applied"
            )
        updated = await self._product(product_id)
        if updated is None:
            raise RetryableError(f"shopify: product {product_id} was not found after its update")
        return listing_of(*updated)

    async def _update_content(self, product_id: str, node: Mapping[str, Any], draft: ListingDraft) -> list[str]:
        """UPDATE_PRODUCT with what changed (``product_changes``); the userErrors' messages, [] when it applied."""
        changes = product_changes(node, draft)
        if not changes:
            return []
        data = await self.graphql(operations.UPDATE_PRODUCT, {"product": {"id": product_id, **changes}})
        problems = user_errors(as_dict(data.get("productUpdate")))
        return [f"{', '.join(changes)} not updated: {_messages(problems)}"] if problems else []

    async def _add_variants(
        self, product_id: str, node: Mapping[str, Any], missing: Sequence[VariantDraft], location: str | None
    ) -> list[str]:
        """CREATE_VARIANTS for SKUs the product lacks, at most 250 a call; the refused ones' reasons. Not retried
        after a lost answer (a retry of the whole update reads the product again and finds what was created)."""
        names = [str(o.get("name")) for o in map(as_dict, nodes({"nodes": node.get("options")})) if o.get("name")]
        problems = []
        fitting = []
        for variant in missing:
            reason = option_mismatch(variant, names)
            if reason is None:
                fitting.append(variant)
            else:
                problems.append(f"{variant.sku}: not added: {reason}")
        for chunk in _chunks(fitting, MAX_INPUT_ITEMS):
            variables = {"productId": product_id, "variants": [new_variant_input(v, names, location) for v in chunk]}
            data = await self.graphql(operations.CREATE_VARIANTS, variables, retry_lost=False)
            payload = as_dict(data.get("productVariantsBulkCreate"))
            self._items.update(inventory_items(nodes({"nodes": payload.get("productVariants")})))
            refused = user_errors(payload)
            if refused:
                skus = ", ".join(v.sku for v in chunk)
                problems.append(f"variants {skus} not added: {_messages(refused)}")
        return problems

    # ------------------------------------------------------------------ stock and prices

    async def update_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        """``inventorySetQuantities`` per location: a split (``warehouses``: Location GIDs or numbers) writes each
        of its locations and leaves the others as they are; no split writes the default location, and an item for a
        shop with several active locations fails alone (nothing guessed). At most 250 quantities a call."""
        if not updates:
            return []
        locations = await self._active_locations()
        default = await self._default_location()
        resolved = await self._resolve(updates)
        failed: dict[int, ItemResult] = {}
        rows: list[Row] = []
        for index, update in enumerate(updates):
            variant = resolved.get(index)
            item = self._items.get(variant or "")
            if variant is None or item is None:
                failed[index] = _failure(
                    update.sku, errors.SKU_NOT_FOUND, f"SKU {update.sku} is not on {update.platform_item_id}"
                )
                continue
            targets = _stock_targets(update, locations, default)
            if isinstance(targets, ItemResult):
                failed[index] = targets
                continue
            rows += [
                (
                    index,
                    {"inventoryItemId": item, "locationId": where, "quantity": quantity, "changeFromQuantity": None},
                )
                for where, quantity in targets.items()
            ]
        for chunk in _chunks(rows, MAX_INPUT_ITEMS):
            failed.update(
                await self._write_rows(
                    chunk,
                    updates,
                    self._send_stock,
                    "quantities",
                )
            )
        return [failed.get(index) or ItemResult(sku=u.sku, ok=True) for index, u in enumerate(updates)]

    async def _send_stock(self, items: list[dict[str, Any]]) -> Any:
        variables = {"input": {"name": "available", "reason": "correction", "quantities": items}}
        return (await self.graphql(operations.SET_STOCK, variables)).get("inventorySetQuantities")

    async def update_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]:
        """``productVariantsBulkUpdate`` per product, ``{id, price}`` items (decimal strings), 250 a call."""
        if not updates:
            return []
        resolved = await self._resolve(updates)
        failed: dict[int, ItemResult] = {}
        groups: dict[str, list[Row]] = {}
        for index, update in enumerate(updates):
            variant = resolved.get(index)
            if variant is None:
                failed[index] = _failure(
                    update.sku, errors.SKU_NOT_FOUND, f"SKU {update.sku} is not on {update.platform_item_id}"
                )
                continue
            row = {"id": variant, "price": decimal_string(update.price)}
            groups.setdefault(as_gid("Product", update.platform_item_id), []).append((index, row))
        for product_id, rows in groups.items():
            send = partial(self._send_prices, product_id)
            for chunk in _chunks(rows, MAX_INPUT_ITEMS):
                failed.update(await self._write_rows(chunk, updates, send, "variants"))
        return [failed.get(index) or ItemResult(sku=u.sku, ok=True) for index, u in enumerate(updates)]

    async def _send_prices(self, product_id: str, items: list[dict[str, Any]]) -> Any:
        variables = {"productId": product_id, "variants": items}
        return (await self.graphql(operations.SET_PRICES, variables)).get("productVariantsBulkUpdate")

    async def _resolve(self, updates: Sequence[StockUpdate | PriceUpdate]) -> dict[int, str]:
        """Update index -> variant GID; a product is read (VARIANTS ``product_id:``) when an update lacks its
        variant id or the variant's inventory item is not known yet."""
        found: dict[int, str] = {}
        wanted: dict[str, list[int]] = {}
        for index, update in enumerate(updates):
            variant = as_gid("ProductVariant", update.platform_variant_id) if update.platform_variant_id else None
            if variant is not None and (isinstance(update, PriceUpdate) or variant in self._items):
                found[index] = variant
            else:
                wanted.setdefault(as_gid("Product", update.platform_item_id), []).append(index)
        for product_id, indexes in wanted.items():
            variants = await self._product_variants(product_id)
            by_id = {str(v.get("id")) for v in variants}
            by_sku = {str(v.get("sku") or ""): str(v.get("id")) for v in variants}
            for index in indexes:
                update = updates[index]
                variant = as_gid("ProductVariant", update.platform_variant_id) if update.platform_variant_id else None
                choice = variant if variant in by_id else by_sku.get(update.sku) if variant is None else None
                if choice:
                    found[index] = choice
        return found

    async def _write_rows(
        self,
        rows: Sequence[Row],
        updates: Sequence[StockUpdate | PriceUpdate],
        send: Callable[[list[dict[str, Any]]], Awaitable[Any]],
        list_name: str,
    ) -> dict[int, ItemResult]:
        """One mutation for the rows; a user error naming an input item fails that item's update, and the rows not
        named are sent again without it (values are absolute, so a repeat is safe: whether Shopify applied them
        beside a refused item is UNCONFIRMED; the sandbox refuses the whole call). A user error naming no item, or a
        request-level permanent error, fails every update of the rows."""
        failed: dict[int, ItemResult] = {}
        pending = list(rows)
        while pending:
            try:
                payload = await send([item for _, item in pending])
            except ReauthorizationNeeded:
                raise
            except PermanentError as exc:
                code = str(exc.fields.get("code") or "rejected")
                return failed | {i: _failure(updates[i].sku, code, exc.message) for i, _ in pending}
            problems = user_errors(payload)
            if not problems:
                return failed
            named: dict[int, dict[str, Any]] = {}
            for entry in problems:
                position = error_index(entry, list_name)
                if position is None or position >= len(pending):
                    if user_error_code(entry) in errors.RETRYABLE_USER_ERRORS:
                        raise RetryableError(f"shopify: {entry.get('message')}", code=user_error_code(entry))
                    return failed | {
                        i: _failure(updates[i].sku, user_error_code(entry), str(entry.get("message")))
                        for i, _ in pending
                    }
                named.setdefault(position, entry)
            for position, entry in named.items():
                index = pending[position][0]
                failed.setdefault(
                    index, _failure(updates[index].sku, user_error_code(entry), str(entry.get("message")))
                )
            pending = [row for row in pending if row[0] not in failed]
        return failed

    # ------------------------------------------------------------------ webhooks

    async def register_webhooks(
        self, delivery_url: str, secret: Secret | None = None, topics: Sequence[str] = WEBHOOK_TOPICS
    ) -> list[str]:
        """One subscription per topic delivering JSON to ``delivery_url`` (SUBSCRIBE, ``webhookSubscriptionCreate``).
        Shopify signs every delivery with the app's client secret: ``secret`` is not used. A subscription that already
        exists (same topic and address: "already been taken") is kept; the ids of those created are returned."""
        created = []
        for topic in topics:
            variables = {"topic": topic.upper().replace("/", "_"), "sub": {"uri": delivery_url, "format": "JSON"}}
            payload = as_dict((await self.graphql(operations.SUBSCRIBE, variables)).get("webhookSubscriptionCreate"))
            problems = [p for p in user_errors(payload) if TAKEN not in str(p.get("message") or "")]
            if problems:
                raise PermanentError(f"shopify: webhook {topic} not created: {_messages(problems)}"[:500])
            subscription = as_dict(payload.get("webhookSubscription"))
            if subscription.get("id"):
                created.append(str(subscription["id"]))
        return created

    async def unregister_webhooks(self, delivery_url: str) -> int:
        """Every API subscription delivering to ``delivery_url`` (WEBHOOKS, every page) removed with UNSUBSCRIBE
        (``webhookSubscriptionDelete``); how many were removed. Subscriptions to other addresses stay."""
        doomed = []
        after: str | None = None
        while True:
            connection = as_dict(
                (await self.graphql(operations.WEBHOOKS, {"after": after})).get("webhookSubscriptions")
            )
            doomed += [str(n["id"]) for n in nodes(connection) if n.get("id") and n.get("uri") == delivery_url]
            after = _next_cursor(connection, after)
            if after is None:
                break
        removed = 0
        for sub_id in doomed:
            payload = as_dict(
                (await self.graphql(operations.UNSUBSCRIBE, {"id": sub_id})).get("webhookSubscriptionDelete")
            )
            problems = user_errors(payload)
            if problems:
                raise PermanentError(f"shopify: webhook subscription {sub_id} not removed: {_messages(problems)}"[:500])
            removed += 1
        return removed

    # ------------------------------------------------------------------ orders

    async def iter_orders(self, updated_from: datetime, updated_to: datetime) -> AsyncIterator[Order]:
        """ORDERS over ``updated_at:>='from' updated_at:<'to'``, sorted by UPDATED_AT, every page. Only the last 60
        days are readable without ``read_all_orders`` (SD-REF Order)."""
        query = f"updated_at:>='{query_time(updated_from)}' updated_at:<'{query_time(updated_to)}'"
        after: str | None = None
        seen: set[str] = set()
        while True:
            data = await self.graphql(operations.ORDERS, {"after": after, "q": query})
            connection = as_dict(data.get("orders"))
            for node in nodes(connection):
                order = await self._order(node)
                if order.platform_order_id not in seen:  # an order updated while paging comes round again
                    seen.add(order.platform_order_id)
                    yield order
            after = _next_cursor(connection, after)
            if after is None:
                return

    async def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        found = []
        for order_id in dict.fromkeys(as_gid("Order", o) for o in order_ids if o):
            node = (await self.graphql(operations.ORDER, {"id": order_id})).get("order")
            if isinstance(node, dict) and node.get("id"):
                found.append(await self._order(node))
        return found

    async def _order(self, node: Mapping[str, Any]) -> Order:
        """The order with every line item: past the first ORDER_LINES_PAGE, ORDER_LINES pages through the rest."""
        if more_lines(node):
            node = await self._all_lines(node)
        return order_of(node)

    async def _all_lines(self, node: Mapping[str, Any]) -> dict[str, Any]:
        lines = as_dict(node.get("lineItems"))
        found = nodes(lines)
        after = _next_cursor(lines, None)
        while after is not None:
            data = await self.graphql(operations.ORDER_LINES, {"id": str(node["id"]), "after": after})
            page = as_dict(as_dict(data.get("order")).get("lineItems"))
            if not page:
                raise RetryableError(f"shopify: order {node.get('id')} could not be read again for its line items")
            found.extend(nodes(page))
            after = _next_cursor(page, after)
        self.stats["orders_lines_paged"] += 1
        return {**node, "lineItems": {"nodes": found, "pageInfo": {"hasNextPage": False, "endCursor": None}}}


# ---------------------------------------------------------------------------------------------- helpers


def _operation(request: HttpRequest) -> Operation | None:
    """The operations.py operation a GraphQL request sends (by ``operationName``); None for other requests."""
    if request.path != GRAPHQL_PATH or not request.body:
        return None
    try:
        name = json.loads(request.body).get("operationName")
    except (ValueError, AttributeError):
        return None
    return OPERATIONS.get(str(name))


def _next_cursor(connection: Mapping[str, Any], previous: str | None) -> str | None:
    page = as_dict(connection.get("pageInfo"))
    cursor = page.get("endCursor")
    if not page.get("hasNextPage") or not cursor or cursor == previous:
        return None
    return str(cursor)


def _stock_targets(update: StockUpdate, locations: Sequence[str], default: str | None) -> dict[str, int] | ItemResult:
    if update.warehouses:
        wanted = {as_gid("Location", where): quantity for where, quantity in update.warehouses.items()}
        unknown = [where for where in wanted if where not in locations]
        if unknown:
            return _failure(
                update.sku,
                errors.LOCATION_UNKNOWN,
                f"{', '.join(unknown)} is not an active location of the shop ({', '.join(locations)}); nothing written",
            )
        return wanted
    if default is not None:
        return {default: update.quantity}
    return _failure(
        update.sku,
        errors.WAREHOUSE_SPLIT_REQUIRED,
        f"the shop has {len(locations)} active locations and this update gives no per-location split (map CRM "
        "locations to Shopify locations in config.inventory.warehouses, or set the shop's warehouse_id)",
    )


def _failure(sku: str, code: str, message: str) -> ItemResult:
    return ItemResult(sku=sku, ok=False, error_code=code, error_message=message[:500])


def _messages(problems: Iterable[Mapping[str, Any]]) -> str:
    return "; ".join(str(p.get("message") or "") for p in problems)


def _search_value(value: str) -> str:
    """A search-syntax value: bare when it is plain, else double-quoted (quoting rules UNCONFIRMED)."""
    if _BARE_SKU.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


__all__ = ["WEBHOOK_TOPICS", "Client", "check_shop"]
