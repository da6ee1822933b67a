"""Shopify GraphQL Admin API (``2026-04``) sandbox: a local set of shops as the connector sees them.

Facts: docs/platforms/shopify.md and tests/contracts/shopify.json (source keys SD-*, JS-API cited where used);
anything else is marked UNCONFIRMED.

Addressing. A shop is ``<name>.myshopify.com``; on loopback every shop is served below its domain, like the
WooCommerce sandbox's multisite: ``{base_url}/{shop domain}/admin/api/2026-04/graphql.json``,
``{base_url}/{shop domain}/admin/oauth/authorize`` and ``.../admin/oauth/access_token``. ``shop_ref`` gives the
client ``extra = {"shop_domain": "<name>.myshopify.com", "store_url": "{base_url}/<name>.myshopify.com"}``; against
Shopify the same ``store_url`` is ``https://<name>.myshopify.com``. A sandbox shop's domain is its ``shop_id`` when
that is already a domain, else ``<shop_id slug>.myshopify.com`` (``shop.extra["shop_domain"]``).

Emulated:

- every GraphQL call: ``X-Shopify-Access-Token`` (401 with Shopify's string ``errors`` otherwise, contract), then
  ``operationName`` one of ``operations.OPERATIONS`` with exactly that document (whitespace and commas aside;
  anything else: a GraphQL error, HTTP 200), then the variables the operation needs (types, required values,
  GIDs, Money as a decimal string, at most 250 input items: SD-LIMITS), then the cost bucket (``gql.Buckets``:
  1000 points, restoring ``rate_limit`` = 50/s by default, the operation's requested cost charged before execution
  and refunded down to the actual cost; THROTTLED and MAX_COST_EXCEEDED as the contract shows them;
  ``extensions.cost`` on every HTTP 200 GraphQL answer but MAX_COST_EXCEEDED, whose contract sample has none; a
  refusal before execution charges nothing and shows ``actualQueryCost`` 0, THROTTLED shows null);
- ``Shop``, ``Locations`` (several locations per shop: ``add_location``; stock per location: ``set_levels``),
  ``Products`` and ``Variants`` (cursor pages, ``updated_at``/``sku``/``product_id`` search terms), ``Orders``
  (``updated_at``/``created_at`` ranges, sort UPDATED_AT, the 60-day window without ``read_all_orders``, customer
  PII null without protected customer data approval) and ``Order``;
- ``SetStock`` (inventorySetQuantities 2026-04: name ``available`` only, ``reason`` from ``REASONS``, every
  quantity with ``changeFromQuantity`` - an Int compared with the stored value, ``null`` to skip - one stale
  quantity fails the whole call with CHANGE_FROM_QUANTITY_STALE, the stricter reading of the doc);
- ``SetPrices`` (productVariantsBulkUpdate: variants of that product, price >= 0, no inventory quantities; any
  userError applies nothing, as ``allowPartialUpdates`` false), ``CreateProduct`` (productSet synchronous, creation
  only: options <= 3, variants with option values, SKUs, prices and ``available`` per location, an explicit handle
  must be free);
- ``Product`` (one product by GID: description and option names too), ``OrderLines`` (an order's line items after
  a cursor), ``UpdateProduct`` (productUpdate: ProductUpdateInput fields only, title and descriptionHtml applied),
  ``CreateVariants`` (productVariantsBulkCreate: one value per product option, no id, no repeated combination,
  ``availableQuantity`` per existing location; any userError applies nothing), ``Webhooks`` and ``Unsubscribe``
  (webhookSubscriptions, webhookSubscriptionDelete) - the checks are ``sandbox/edits.py``;
- ``Subscribe`` (webhookSubscriptionCreate: topic enum, https ``uri`` or plain http to a loopback receiver,
  (topic, uri) unique), deliveries signed with the app's client secret with the seven ``X-Shopify-*`` headers,
  retried 8 times over 4 hours (scaled by ``webhook_retry_scale``), an API subscription removed after 8
  consecutive failed attempts; a shop without API subscriptions delivers to ``webhook_url`` (a subscription made
  in the app's configuration);
- ``Bulk``/``BulkPoll`` (bulkOperationRunQuery with ``operations.BULK_PRODUCTS_QUERY`` only, one at a time per
  shop, RUNNING for ``bulk_seconds`` of the sandbox clock, then COMPLETED with a JSONL ``url`` served here);
- OAuth authorization-code grant with the signed callback and single-use codes; offline tokens that never expire,
  or with ``expiring=1`` tokens of 3600 s with a rotating refresh token (refresh grant parameters UNCONFIRMED).

Not emulated: the rest of the schema and search grammar; ``on_hand`` and other quantity names; idempotency keys
(the ``@idempotent`` directive is not in the shared documents); online (per-user) tokens and the consent screen
(authorization is approved at once); scopes (every token may call everything); markets and multi-currency;
products/create, inventory_levels/* and other topics; per-variant
``updatedAt`` (a variant shows its product's); inventory writes never change ``updatedAt``; Shopify's search-index
lag after writes; HTTP 429 (REST only per SD-LIMITS).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from yarl import URL

from nfsync.connectors.base.sandbox import SandboxBase, SbListing, SbOrder, SbShop, SbToken, SbVariant
from nfsync.connectors.shopify import operations as ops
from nfsync.connectors.shopify.operations import gid
from nfsync.connectors.shopify.sandbox import auth, edits
from nfsync.connectors.shopify.sandbox import gql as g
from nfsync.connectors.shopify.sandbox import payloads as p
from nfsync.connectors.shopify.sandbox.store import BulkOp, Store, Subscription, slug

Json = dict[str, Any]
DOMAIN = r"{shop:[A-Za-z0-9][A-Za-z0-9-]*\.myshopify\.com}"
NEVER = 100 * 365 * 86_400.0  # offline tokens without expiry (SD-OFFLINE)
UNLIMITED_RESTORE_RATE = 1e9  # rate_limit=inf: the bucket never runs dry
EXPIRING_ACCESS_TTL = 3600.0  # ``expiring=1``: expires_in ~3600 s (SD-OFFLINE)
EXPIRING_REFRESH_TTL = 90 * 86_400.0  # refresh_token_expires_in: UNCONFIRMED value
AUTH_HEADER = "X-Shopify-Access-Token"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TOPICS = dict(zip(("orders/create", "orders/updated", "orders/cancelled", "products/update", "app/uninstalled"),
                  ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "PRODUCTS_UPDATE", "APP_UNINSTALLED"),
                  strict=True))  # fmt: skip
"""contract webhook_topics.values -> graphql_enum."""
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
"""inventorySetQuantities ``reason`` values: the doc names only ``correction``; the rest is Shopify's list of
inventory change reasons as remembered, UNCONFIRMED (nfsync sends ``correction``)."""
PRODUCT_STATUSES = ("ACTIVE", "ARCHIVED", "DRAFT")
MAX_OPTIONS = 3  # options per product (doc: UNCONFIRMED in excerpts)
MAX_VARIANTS = 2048  # variants per product (SD-REF 2026-01+)
FAILURES_BEFORE_REMOVAL = 8  # SD-WH-RETRY (dev.to summary; UNCONFIRMED wording)
WEBHOOK_CONNECT_TIMEOUT, WEBHOOK_TOTAL_TIMEOUT = 1.0, 5.0  # SD-WH-RETRY

_REQUESTED: contextvars.ContextVar[tuple[str, int]] = contextvars.ContextVar("shopify_requested", default=("", 0))
"""(bucket key, requested cost) of the request being served: what a throttle storm's answer reports."""


@dataclass
class Outcome:
    data: Json
    actual: int
    written: list[str] = field(default_factory=list)  # SKUs written (counters.writes_per_sku)
    pushes: list[Json] = field(default_factory=list)  # events to push after the answer is decided


Execute = Callable[[], Outcome]
Prepare = Callable[[SbShop, Json], Execute]


class Sandbox(SandboxBase):
    platform: ClassVar[str] = "shopify"
    access_ttl: ClassVar[float] = NEVER
    refresh_ttl: ClassVar[float] = NEVER
    single_use_refresh: ClassVar[bool] = True  # "a rotating refresh_token" (SD-OFFLINE)
    default_rate_limit: ClassVar[float | None] = None  # restore_rate(): the cost bucket's restore rate, points/s
    webhook_retry_schedule: ClassVar[Sequence[float]] = tuple(14_400 * 2**k / 255 for k in range(8))
    """8 retries over 4 hours, exponential (SD-WH-RETRY): ~56 s doubling up to ~7228 s, 14,400 s in all (the exact
    steps are UNCONFIRMED)."""
    order_statuses: ClassVar[Sequence[str]] = p.ORDER_FLOW

    def __init__(self, app: Mapping[str, str], **options: Any) -> None:
        super().__init__(app, **options)
        self.clock: Callable[[], float] = time.monotonic
        """The cost bucket's and the bulk operations' clock (injectable: tests advance it instead of sleeping)."""
        self.buckets = g.Buckets(self._buckets, self.now)
        self.operations: dict[str, ops.Operation] = dict(ops.OPERATIONS)
        self.store = Store(self.new_id)
        self.read_all_orders = False  # the read_all_orders scope (orders older than 60 days)
        self.protected_customer_data = False  # approved for customer name/email/phone
        self.bulk_seconds = 0.5  # how long a bulk query runs, on ``clock``
        self.cost_spent = 0  # actual cost of every executed query, all shops
        self.redirect_uris: set[str] | None = None  # the app's allowed redirection URLs (None: any http(s) URL)
        self._grants: dict[str, str] = {}  # authorization code -> scope granted
        self._prepare: dict[str, Prepare] = {
            ops.SHOP.name: self._shop_query,
            ops.LOCATIONS.name: self._locations,
            ops.PRODUCTS.name: self._products,
            ops.VARIANTS.name: self._variants,
            ops.SKU_LOOKUP.name: self._sku_lookup,
            ops.ORDERS.name: self._orders,
            ops.ORDER.name: self._order,
            ops.ORDER_LINES.name: self._order_lines,
            ops.PRODUCT.name: self._product,
            ops.UPDATE_PRODUCT.name: self._update_product,
            ops.CREATE_VARIANTS.name: self._create_variants,
            ops.WEBHOOKS.name: self._webhooks,
            ops.UNSUBSCRIBE.name: self._unsubscribe,
            ops.SET_STOCK.name: self._set_stock,
            ops.SET_PRICES.name: self._set_prices,
            ops.CREATE_PRODUCT.name: self._create_product,
            ops.SUBSCRIBE.name: self._subscribe,
            ops.BULK_RUN.name: self._bulk_run,
            ops.BULK_POLL.name: self._bulk_poll,
        }

    # ------------------------------------------------------------------ shops, locations, levels

    def now(self) -> float:
        return self.clock()

    @property
    def restore_rate(self) -> float:
        """The bucket's restore rate: ``rate_limit`` (the benchmarks and the bucket tests set Shopify's documented
        50/s), else unlimited like the other sandboxes without a rate (the bucket is then always full, and every answer
        still carries ``extensions.cost``)."""
        rate = float(self.rate_limit) if self.rate_limit is not None else UNLIMITED_RESTORE_RATE
        return min(rate, UNLIMITED_RESTORE_RATE)

    def add_shop(
        self,
        shop_id: str,
        name: str | None = None,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        **extra: str,
    ) -> SbShop:
        """A shop with its ``shop_domain``, a shop number, a currency (VND unless ``currency``) and a primary
        location ``Main``."""
        # the shop's id is its domain, as on Shopify (X-Shopify-Shop-Domain, the callback's shop): "880005" becomes
        # "880005.myshopify.com"
        domain = shop_id.lower() if shop_id.lower().endswith(".myshopify.com") else f"{slug(shop_id)}.myshopify.com"
        shop = super().add_shop(domain, name, access_token=access_token, refresh_token=refresh_token, **extra)
        shop.extra.setdefault("shop_domain", domain)
        shop.extra.setdefault("shop_number", self.new_id())
        shop.extra.setdefault("currency", "VND")
        if not self.store.listed(shop):
            self.store.add_location(shop, "Main")
        return shop

    def domain(self, shop: SbShop) -> str:
        return shop.extra["shop_domain"]

    def store_url(self, shop: SbShop) -> str:
        return f"{self.base_url}/{self.domain(shop)}"

    def shop_by_domain(self, domain: str) -> SbShop | None:
        wanted = domain.lower()
        return next((s for s in self.shops.values() if s.extra.get("shop_domain") == wanted), None)

    def add_location(self, shop: SbShop, name: str = "Second location", *, active: bool = True) -> str:
        return self.store.add_location(shop, name, active=active).location_id

    def locations(self, shop: SbShop) -> list[str]:
        return [loc.location_id for loc in self.store.listed(shop)]

    def set_levels(self, shop: SbShop, sku: str, levels: Mapping[str, int]) -> SbVariant:
        """A SKU's ``available`` per location (its stock becomes their sum)."""
        found = self.find_variant(shop, sku)
        if found is None:
            raise KeyError(sku)
        self.store.stock[found[1].variant_id] = {k: int(v) for k, v in levels.items()}
        found[1].stock = sum(levels.values())
        return found[1]

    def levels(self, shop: SbShop, sku: str) -> dict[str, int]:
        found = self.find_variant(shop, sku)
        if found is None:
            raise KeyError(sku)
        return self.store.levels(shop, found[1])

    def inventory_item_id(self, variant: SbVariant) -> str:
        return self.store.item_id(variant)

    def uninstall(self, shop: SbShop) -> None:
        """The merchant uninstalls the app: ``app/uninstalled`` pushed, then its tokens and subscriptions gone."""
        self.push(shop, {"kind": "shop_deauthorized"})
        shop.access.clear()
        shop.refresh.clear()
        self.store.subscriptions.pop(shop.shop_id, None)

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.store = Store(self.new_id)
        return await super()._admin_reset(request)

    # ------------------------------------------------------------------ routes

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(f"/{DOMAIN}/admin/api/{{version}}/graphql.json", self._graphql)
        app.router.add_get(f"/{DOMAIN}/admin/oauth/authorize", self._authorize)
        app.router.add_post(f"/{DOMAIN}/admin/oauth/access_token", self._access_token)
        app.router.add_get("/_files/bulk/{key}.jsonl", self._bulk_file)

    def take_budget(self, key: str) -> bool:
        """No per-request limit: Shopify's GraphQL limit is the cost bucket (``gql.Buckets``), checked once the
        operation's cost is known; ``rate_limit`` is that bucket's restore rate."""
        return True

    async def _graphql(self, request: web.Request) -> web.StreamResponse:
        shop = self.shop_by_domain(request.match_info["shop"])
        key = shop.shop_id if shop else "-"
        raw = await request.read()
        body = _json(raw)
        named = self.operations.get(str(body.get("operationName"))) if isinstance(body, dict) else None
        _REQUESTED.set((key, named.cost if named else 0))
        blocked = await self.gate(request, key)
        if blocked is not None:
            return blocked
        if shop is None or request.match_info["version"] != ops.API_VERSION:
            return g.not_found()  # an unknown shop or an API version the sandbox does not serve
        if self.check_access(shop, request.headers.get(AUTH_HEADER)) != "ok":
            return g.unauthorized()
        return self._serve(request, shop, key, body)

    def _serve(self, request: web.Request, shop: SbShop, key: str, body: Any) -> web.StreamResponse:
        """Document, variables, bucket, execution; a GraphQL error before execution charges nothing (refunded
        whole when the execution itself refuses, e.g. a bad cursor)."""
        requested = 0
        try:
            op = g.operation(self.operations, body)
            requested = op.cost
            if op.cost > ops.MAX_QUERY_COST:
                return g.max_cost_exceeded(op.cost)
            execute = self._prepare[op.name](shop, _variables(body))
            if not self.buckets.take(key, op.cost, self.restore_rate):
                self.counters.throttled += 1
                return g.throttled(self._cost(key, op.cost, None))
            try:
                outcome = execute()
            except g.GqlFailure:
                self.buckets.refund(key, op.cost, self.restore_rate)
                raise
        except g.GqlFailure as failure:
            return g.answer(None, self._cost(key, requested, 0), [failure.error()])
        self.buckets.refund(key, op.cost - outcome.actual, self.restore_rate)
        self.cost_spent += outcome.actual  # what the bucket really paid (nfsync bench sync: the cost-bucket minimum)
        for sku in outcome.written:
            self.record_write(sku)
        for event in outcome.pushes:
            self.push(shop, event)
        if outcome.written and self.lose_response(request):
            return web.Response()
        return g.answer(outcome.data, self._cost(key, op.cost, outcome.actual))

    def _cost(self, key: str, requested: int, actual: int | None) -> Json:
        return g.cost_json(requested, actual, self.buckets.level(key, self.restore_rate), self.restore_rate)

    # ------------------------------------------------------------------ platform answers

    def throttle_response(self) -> web.Response:
        """A throttle storm (``faults.throttle_until``): THROTTLED for whatever the request asked."""
        key, requested = _REQUESTED.get()
        return g.throttled(self._cost(key, requested, None))

    def server_error_response(self) -> web.Response:
        """HTTP 500 with a GraphQL ``INTERNAL_SERVER_ERROR`` (shape and text UNCONFIRMED: retryable either way)."""
        request_id = str(uuid.uuid4())
        error = {
            "message": f"Internal error. Looks like something went wrong on our end.\nRequest ID: {request_id}",
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        }
        return web.json_response({"errors": [error]}, status=500)

    # ------------------------------------------------------------------ queries

    def _shop_query(self, shop: SbShop, _variables: Json) -> Execute:
        data = {
            "shop": {"name": shop.name, "currencyCode": shop.extra["currency"], "myshopifyDomain": self.domain(shop)}
        }
        return lambda: Outcome(data, 1)

    def _locations(self, shop: SbShop, _variables: Json) -> Execute:
        def run() -> Outcome:
            nodes = [p.location_node(loc) for loc in self.store.listed(shop)[: ops.LOCATIONS_PAGE]]
            return Outcome({"locations": {"nodes": nodes}}, 2 + len(nodes))

        return run

    def _products(self, shop: SbShop, variables: Json) -> Execute:
        after = g.string_var(variables, "after", required=False)
        terms = g.parse_search(g.string_var(variables, "q", required=False), frozenset({"updated_at"}))
        bounds = [(t.op, g.parse_time(t.value)) for t in terms]

        def run() -> Outcome:
            rows = [
                listing
                for listing in shop.listings.values()
                if all(g.compare(listing.updated_at, op, bound) for op, bound in bounds)
            ]
            chunk = g.page(rows, lambda listing: (int(listing.item_id),), after, ops.PRODUCTS_PAGE)
            listings: list[SbListing] = chunk["nodes"]
            chunk["nodes"] = [p.product_node(self.store, listing) for listing in listings]
            actual = 2 + sum(g.product_node_cost(len(listing.variants)) for listing in listings) + 1
            return Outcome({"products": chunk}, actual)

        return run

    def _sku_lookup(self, shop: SbShop, variables: Json) -> Execute:
        """``productVariants`` in pages of ``SKU_LOOKUP_PAGE`` (the client's SKU lookups)."""
        return self._variants(shop, variables, page=ops.SKU_LOOKUP_PAGE)

    def _variants(self, shop: SbShop, variables: Json, page: int = ops.VARIANTS_PAGE) -> Execute:
        after = g.string_var(variables, "after", required=False)
        fields = frozenset({"sku", "product_id", "updated_at"})
        terms = g.parse_search(g.string_var(variables, "q", required=True), fields)
        for term in terms:
            if term.field == "updated_at":
                g.parse_time(term.value)

        def matches(listing: SbListing, variant: SbVariant) -> bool:
            for term in terms:
                if term.field == "sku" and variant.sku != term.value:
                    return False
                if term.field == "product_id" and listing.item_id != term.value:
                    return False
                if term.field == "updated_at" and not g.compare(listing.updated_at, term.op, g.parse_time(term.value)):
                    return False
            return True

        def run() -> Outcome:
            rows = [(lst, v) for lst in shop.listings.values() for v in lst.variants if matches(lst, v)]
            chunk = g.page(rows, lambda row: (int(row[1].variant_id),), after, page)
            chunk["nodes"] = [p.variant_node(self.store, lst, v, extra=True) for lst, v in chunk["nodes"]]
            actual = 2 + len(chunk["nodes"]) * (g.VARIANT_NODE + 1) + 1
            return Outcome({"productVariants": chunk}, actual)

        return run

    def _visible(self, order: SbOrder) -> bool:
        """Orders of the last 60 days only, without read_all_orders (SD-REF Order note)."""
        return self.read_all_orders or order.created_at >= time.time() - 60 * 86_400

    def _orders(self, shop: SbShop, variables: Json) -> Execute:
        after = g.string_var(variables, "after", required=False)
        terms = g.parse_search(g.string_var(variables, "q", required=True), frozenset({"updated_at", "created_at"}))
        bounds = [(t.field, t.op, g.parse_time(t.value)) for t in terms]

        def run() -> Outcome:
            rows = [
                o
                for o in shop.orders.values()
                if self._visible(o)
                and all(
                    g.compare(o.updated_at if f == "updated_at" else o.created_at, op, bound) for f, op, bound in bounds
                )
            ]
            chunk = g.page(rows, lambda o: (o.updated_at, int(o.order_id)), after, ops.ORDERS_PAGE)
            orders: list[SbOrder] = chunk["nodes"]
            chunk["nodes"] = [self._order_node(shop, o) for o in orders]
            actual = 2 + sum(g.order_node_cost(len(o.lines)) for o in orders) + 1
            return Outcome({"orders": chunk}, actual)

        return run

    def _order_node(self, shop: SbShop, order: SbOrder) -> Json:
        return p.order_node(self.store, shop, order, protected_data=self.protected_customer_data)

    def _order(self, shop: SbShop, variables: Json) -> Execute:
        number = g.id_var(variables, "id", "Order")

        def run() -> Outcome:
            order = shop.orders.get(number)
            if order is None or not self._visible(order):
                return Outcome({"order": None}, 1)
            return Outcome({"order": self._order_node(shop, order)}, g.order_node_cost(len(order.lines)))

        return run

    def _order_lines(self, shop: SbShop, variables: Json) -> Execute:
        """An order's line items after a cursor, MORE_LINES_PAGE at a time."""
        number = g.id_var(variables, "id", "Order")
        after = g.string_var(variables, "after", required=False)

        def run() -> Outcome:
            order = shop.orders.get(number)
            if order is None or not self._visible(order):
                return Outcome({"order": None}, 1)
            lines = p.line_items(order, after, ops.MORE_LINES_PAGE)
            actual = 1 + 2 + len(lines["nodes"]) * g.LINE_NODE + 1
            return Outcome({"order": {"id": gid("Order", order.order_id), "lineItems": lines}}, actual)

        return run

    def _product(self, shop: SbShop, variables: Json) -> Execute:
        number = g.id_var(variables, "id", "Product")

        def run() -> Outcome:
            listing = shop.listings.get(number)
            if listing is None:
                return Outcome({"product": None}, 1)
            node = p.full_product_node(self.store, listing)
            return Outcome({"product": node}, 1 + g.product_node_cost(len(listing.variants)))  # + options

        return run

    def _webhooks(self, shop: SbShop, variables: Json) -> Execute:
        after = g.string_var(variables, "after", required=False)

        def run() -> Outcome:
            subs = self.store.subscriptions.get(shop.shop_id, [])
            chunk = g.page(subs, lambda sub: (int(sub.sub_id),), after, ops.WEBHOOKS_PAGE)
            chunk["nodes"] = [
                {"id": gid("WebhookSubscription", s.sub_id), "topic": s.topic, "uri": s.uri} for s in chunk["nodes"]
            ]
            return Outcome({"webhookSubscriptions": chunk}, 2 + len(chunk["nodes"]) + 1)

        return run

    # ------------------------------------------------------------------ mutations

    def _update_product(self, shop: SbShop, variables: Json) -> Execute:
        """productUpdate (SD-REF): title and descriptionHtml applied; products/update pushed."""
        update = edits.product_update(variables)

        def run() -> Outcome:
            listing = shop.listings.get(update.product_id)
            errors = edits.update_errors(update, listing)
            if errors or listing is None:
                return Outcome({"productUpdate": {"product": None, "userErrors": errors}}, 10)
            listing.name = listing.name if update.title is None else update.title
            listing.description = listing.description if update.description is None else update.description
            listing.updated_at = max(time.time(), listing.updated_at + 0.001)
            node = {
                "id": gid("Product", listing.item_id),
                "title": listing.name,
                "descriptionHtml": listing.description,
                "updatedAt": g.iso(listing.updated_at),
            }
            echo = {"kind": "product_changed", "listing": listing}
            return Outcome({"productUpdate": {"product": node, "userErrors": []}}, 10, pushes=[echo])

        return run

    def _create_variants(self, shop: SbShop, variables: Json) -> Execute:
        """productVariantsBulkCreate (SD-REF): variants added to the product, ``available`` per location."""
        product_id, variants = edits.new_variants(variables)

        def refused(errors: list[Json]) -> Outcome:
            return Outcome({"productVariantsBulkCreate": {"productVariants": None, "userErrors": errors}}, 10)

        def run() -> Outcome:
            listing = shop.listings.get(product_id)
            if listing is None:
                return refused([g.user_error(["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")])
            errors = edits.variant_errors(listing, variants, lambda n: self.store.location(shop, n) is not None)
            if errors:
                return refused(errors)
            made = [self._add_variant(shop, listing, v) for v in variants]
            listing.updated_at = max(time.time(), listing.updated_at + 0.001)
            nodes = [p.variant_node(self.store, listing, v) for v in made]
            data = {"productVariantsBulkCreate": {"productVariants": nodes, "userErrors": []}}
            return Outcome(data, 10, written=[v.sku for v in made if v.sku])

        return run

    def _add_variant(self, shop: SbShop, listing: SbListing, new: edits.NewVariant) -> SbVariant:
        variant = SbVariant(self.new_id(), new.sku, new.price, sum(new.levels.values()), dict(new.options), new.barcode)
        listing.variants.append(variant)
        self.store.item_id(variant)
        if new.levels:
            self.store.stock[variant.variant_id] = dict(new.levels)
        return variant

    def _unsubscribe(self, shop: SbShop, variables: Json) -> Execute:
        """webhookSubscriptionDelete (SD-REF): an API subscription of this shop removed."""
        number = g.id_var(variables, "id", "WebhookSubscription")

        def run() -> Outcome:
            subs = self.store.subscriptions.get(shop.shop_id, [])
            found = next((s for s in subs if s.sub_id == number), None)
            if found is None:
                errors = [g.user_error(["id"], "Webhook subscription does not exist")]  # text UNCONFIRMED
                payload: Json = {"deletedWebhookSubscriptionId": None, "userErrors": errors}
            else:
                subs.remove(found)
                payload = {"deletedWebhookSubscriptionId": gid("WebhookSubscription", number), "userErrors": []}
            return Outcome({"webhookSubscriptionDelete": payload}, 10)

        return run

    def _set_stock(self, shop: SbShop, variables: Json) -> Execute:
        """inventorySetQuantities (2026-04; contract 'mutation inventorySetQuantities')."""
        data = variables.get("input")
        if not isinstance(data, dict):
            raise g.variable_error("input", "InventorySetQuantitiesInput!", data, "Expected an input object")
        name, reason = g.string_var(data, "name", required=True), g.string_var(data, "reason", required=True)
        g.string_var(data, "referenceDocumentUri", required=False)
        rows = _quantity_rows(g.input_list(data.get("quantities"), "input.quantities", "[InventoryQuantityInput!]!"))

        def run() -> Outcome:
            errors: list[Json] = []
            if name != "available":  # on_hand exists on Shopify but is not emulated
                errors.append(
                    g.user_error(["input", "name"], f"The quantity name '{name}' is not valid here.", "INVALID_NAME")
                )
            if reason not in REASONS:  # code name UNCONFIRMED
                errors.append(g.user_error(["input", "reason"], "The reason is invalid.", "INVALID_REASON"))
            targets: list[tuple[SbVariant, QuantityRow]] = []
            for row in rows:
                variant = self._variant_by_item(shop, row.item)
                problem = self._quantity_problem(shop, variant, row)
                if problem is not None:
                    errors.append(problem)
                elif variant is not None:
                    targets.append((variant, row))
            if errors:  # one refusal fails the whole call (stricter reading, doc)
                refused = {"inventoryAdjustmentGroup": None, "userErrors": errors}
                return Outcome({"inventorySetQuantities": refused}, 10)
            for variant, row in targets:
                self.store.set_level(shop, variant, row.location, row.quantity)
            group = {"id": gid("InventoryAdjustmentGroup", self.new_id())}
            data = {"inventorySetQuantities": {"inventoryAdjustmentGroup": group, "userErrors": []}}
            return Outcome(data, 10, written=[v.sku for v, _ in targets])

        return run

    def _quantity_problem(self, shop: SbShop, variant: SbVariant | None, row: QuantityRow) -> Json | None:
        """The userError of one quantity (contract codes; CHANGE_FROM_QUANTITY_REQUIRED's name UNCONFIRMED: the doc
        says only that omitting changeFromQuantity is an error from 2026-04)."""
        where = ["input", "quantities", str(row.index)]
        if variant is None:
            return g.user_error(
                [*where, "inventoryItemId"],
                "The specified inventory item could not be found.",
                "INVALID_INVENTORY_ITEM",
            )
        if self.store.location(shop, row.location) is None:
            return g.user_error(
                [*where, "locationId"], "The specified location could not be found.", "INVALID_LOCATION"
            )
        if not row.sent:
            return g.user_error(
                [*where, "changeFromQuantity"],
                "changeFromQuantity is required: send the value last read, or null to skip the check.",
                "CHANGE_FROM_QUANTITY_REQUIRED",
            )
        current = self.store.levels(shop, variant).get(row.location, 0)
        if row.change is not None and row.change != current:
            return g.user_error(
                [*where, "changeFromQuantity"],
                "The changeFromQuantity value does not match persisted value.",
                "CHANGE_FROM_QUANTITY_STALE",
            )
        return None

    def _variant_by_item(self, shop: SbShop, item_id: str) -> SbVariant | None:
        variant_id = self.store.variant_of_item(item_id)
        for listing in shop.listings.values():
            for variant in listing.variants:
                if variant.variant_id == variant_id:
                    return variant
        return None

    def _set_prices(self, shop: SbShop, variables: Json) -> Execute:
        """productVariantsBulkUpdate (contract 'mutation productVariantsBulkUpdate')."""
        product_id = g.id_var(variables, "productId", "Product")
        rows = _price_rows(g.input_list(variables.get("variants"), "variants", "[ProductVariantsBulkInput!]!"))

        def refused(errors: list[Json]) -> Outcome:
            return Outcome({"productVariantsBulkUpdate": {"productVariants": None, "userErrors": errors}}, 10)

        def run() -> Outcome:
            listing = shop.listings.get(product_id)
            if listing is None:
                return refused([g.user_error(["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")])
            by_id = {v.variant_id: v for v in listing.variants}
            errors = [error for row in rows for error in _price_errors(row, by_id)]
            if errors:  # allowPartialUpdates false: nothing applied
                return refused(errors)
            changed = []
            for row in rows:
                variant = by_id[row.variant_id]
                if row.price is not None:
                    variant.price = row.price
                changed.append(variant)
            listing.updated_at = max(time.time(), listing.updated_at + 0.001)
            nodes = [{"id": gid("ProductVariant", v.variant_id), "price": str(v.price)} for v in changed]
            data = {"productVariantsBulkUpdate": {"productVariants": nodes, "userErrors": []}}
            # products/update fires for the app's own writes too (echo; UNCONFIRMED for price-only changes)
            echo = {"kind": "product_changed", "listing": listing}
            return Outcome(data, 10, written=[v.sku for v in changed], pushes=[echo])

        return run

    def _create_product(self, shop: SbShop, variables: Json) -> Execute:
        """productSet, synchronous, creating a product (contract 'mutation productSet')."""
        data = variables.get("input")
        if not isinstance(data, dict):
            raise g.variable_error("input", "ProductSetInput!", data, "Expected an input object")
        title = g.string_var(data, "title", required=False)
        handle = g.string_var(data, "handle", required=False)
        description = g.string_var(data, "descriptionHtml", required=False) or ""
        status = g.string_var(data, "status", required=False) or "ACTIVE"  # default: UNCONFIRMED
        if status not in PRODUCT_STATUSES:
            raise g.variable_error("input.status", "ProductStatus", status, f"Expected one of {PRODUCT_STATUSES}")
        options = _options(g.input_list(data.get("productOptions") or [], "input.productOptions", "[OptionSetInput!]"))
        variants = [
            _variant_input(raw, i)
            for i, raw in enumerate(
                g.input_list(data.get("variants") or [], "input.variants", "[ProductVariantSetInput!]")
            )
        ]

        def run() -> Outcome:
            errors = self._product_errors(data, title, handle, len(options)) + self._variant_errors(
                shop, options, variants
            )
            if errors or title is None:
                return Outcome({"productSet": {"product": None, "userErrors": errors}}, 10)
            listing = self._make_product(shop, title, handle, status, variants)
            listing.description = description
            product = p.product_node(self.store, listing, variants_page=100)
            written = [v.sku for v in listing.variants if v.sku]
            return Outcome({"productSet": {"product": product, "userErrors": []}}, 10, written=written)

        return run

    def _product_errors(self, data: Json, title: str | None, handle: str | None, options: int) -> list[Json]:
        """Product-level userErrors (code names UNCONFIRMED except as the contract lists them)."""
        errors: list[Json] = []
        if "id" in data or "identifier" in data:
            errors.append(g.user_error(["input", "id"], "The sandbox's productSet only creates products.", "INVALID"))
        if not title:
            errors.append(g.user_error(["input", "title"], "Title can't be blank", "BLANK"))
        if handle and handle in self.store.handles.values():
            message = f"Handle '{handle}' already in use. Please provide a new handle."
            errors.append(g.user_error(["input", "handle"], message, "HANDLE_NOT_UNIQUE"))
        if options > MAX_OPTIONS:
            message = "Can only specify a maximum of 3 options"
            errors.append(g.user_error(["input", "productOptions"], message, "OPTIONS_OVER_LIMIT"))
        return errors

    def _make_product(
        self, shop: SbShop, title: str, handle: str | None, status: str, variants: list[Json]
    ) -> SbListing:
        """The product, its variants (one default variant when none was sent) and their levels per location."""
        specs = [
            {
                "sku": v["sku"],
                "price": str(v["price"]),
                "stock": sum(v["levels"].values()),
                "options": v["options"],
                "barcode": v["barcode"],
            }
            for v in variants
        ] or [{"sku": "", "price": "0", "stock": 0}]
        listing = self.add_listing(shop, title, specs, status=status.lower())
        self.store.handles[listing.item_id] = handle or self.store.free_handle(title)
        for index, variant in enumerate(listing.variants):
            self.store.item_id(variant)
            if index < len(variants) and variants[index]["levels"]:
                self.store.stock[variant.variant_id] = dict(variants[index]["levels"])
        self.counters.creates += 1
        return listing

    def _variant_errors(self, shop: SbShop, options: list[tuple[str, list[str]]], variants: list[Json]) -> list[Json]:
        """Each variant names one declared value of each declared option; no two variants the same combination
        (INVALID_VARIANT: contract productSet sample, code name UNCONFIRMED there); locations exist."""
        errors: list[Json] = []
        if len(variants) > MAX_VARIANTS:  # unreachable through one call (250 input items) but Shopify's limit
            errors.append(g.user_error(["input", "variants"], "Too many variants", "VARIANTS_OVER_LIMIT"))
        declared = dict(options)
        seen: set[tuple[tuple[str, str], ...]] = set()
        for i, variant in enumerate(variants):
            where = ["input", "variants", str(i)]
            chosen = variant["options"]
            valid = set(chosen) == set(declared) and all(chosen[k] in declared[k] for k in chosen)
            if not declared and not chosen and len(variants) == 1:
                valid = True
            combination = tuple(sorted(chosen.items()))
            if not valid or combination in seen:
                errors.append(g.user_error(where, "Variant is invalid", "INVALID_VARIANT"))
            seen.add(combination)
            if variant["price"] < 0:
                errors.append(
                    g.user_error([*where, "price"], "Price cannot take a negative value.", "NEGATIVE_PRICE_VALUE")
                )
            for location in variant["levels"]:
                if self.store.location(shop, location) is None:
                    errors.append(
                        g.user_error(
                            [*where, "inventoryQuantities"],
                            "The specified location could not be found.",
                            "INVALID_LOCATION",  # UNCONFIRMED for productSet
                        )
                    )
            if variant["bad_quantity_name"]:
                errors.append(
                    g.user_error([*where, "inventoryQuantities"], "Only 'available' can be set here.", "INVALID_NAME")
                )
        return errors

    def _subscribe(self, shop: SbShop, variables: Json) -> Execute:
        """webhookSubscriptionCreate (contract 'mutation webhookSubscriptionCreate')."""
        topic = variables.get("topic")
        if topic not in TOPICS.values():
            raise g.variable_error(
                "topic", "WebhookSubscriptionTopic!", topic, "Expected one of the topics the sandbox emulates"
            )
        sub = variables.get("sub")
        if not isinstance(sub, dict):
            raise g.variable_error("sub", "WebhookSubscriptionInput!", sub, "Expected an input object")
        uri = g.string_var(sub, "uri", required=False)
        fmt = g.string_var(sub, "format", required=False) or "JSON"

        def refused(errors: list[Json]) -> Outcome:
            return Outcome({"webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": errors}}, 10)

        def run() -> Outcome:
            field_path = ["webhookSubscription", "callbackUrl"]  # the contract's field for address errors
            if not uri or not _acceptable_uri(uri):
                return refused([g.user_error(field_path, "Address is invalid")])  # text UNCONFIRMED
            if fmt != "JSON":
                return refused([g.user_error(["webhookSubscription", "format"], "Format is not emulated")])
            taken = self.store.subscriptions.setdefault(shop.shop_id, [])
            if any(s.topic == topic and s.uri == uri for s in taken):
                return refused([g.user_error(field_path, "Address for this topic has already been taken")])
            created = Subscription(self.new_id(), str(topic), uri)
            taken.append(created)
            node = {"id": gid("WebhookSubscription", created.sub_id), "topic": created.topic, "uri": created.uri}
            return Outcome({"webhookSubscriptionCreate": {"webhookSubscription": node, "userErrors": []}}, 10)

        return run

    def _bulk_run(self, shop: SbShop, variables: Json) -> Execute:
        """bulkOperationRunQuery with BULK_PRODUCTS_QUERY (contract 'mutation bulkOperationRunQuery')."""
        query = g.string_var(variables, "q", required=True)
        assert query is not None

        def refused(errors: list[Json]) -> Outcome:
            return Outcome({"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": errors}}, 10)

        def run() -> Outcome:
            if g.normalise(query) != g.normalise(ops.BULK_PRODUCTS_QUERY):
                message = "Invalid bulk query: the sandbox runs only operations.BULK_PRODUCTS_QUERY"  # sandbox rule
                return refused([g.user_error(["query"], message)])
            current = self.store.bulk.get(shop.shop_id)
            if current is not None and self._bulk_status(current) in ("CREATED", "RUNNING"):
                message = "A bulk query operation for this app and shop is already in progress"
                return refused([g.user_error(None, message)])  # contract text (UNCONFIRMED), field null
            rows, roots = p.bulk_rows(self.store, shop)
            op = self.store.bulk[shop.shop_id] = _new_bulk(self.new_id(), self.clock(), rows, roots)
            self.store.files[op.key] = p.jsonl(rows)
            node = {"id": gid("BulkOperation", op.op_id), "status": "CREATED"}
            return Outcome({"bulkOperationRunQuery": {"bulkOperation": node, "userErrors": []}}, 10)

        return run

    def _bulk_status(self, op: BulkOp) -> str:
        return "RUNNING" if self.clock() - op.started < self.bulk_seconds else "COMPLETED"

    def _bulk_poll(self, shop: SbShop, _variables: Json) -> Execute:
        def run() -> Outcome:
            op = self.store.bulk.get(shop.shop_id)
            if op is None:
                return Outcome({"currentBulkOperation": None}, 1)
            status = self._bulk_status(op)
            done = status == "COMPLETED"
            node = {
                "id": gid("BulkOperation", op.op_id),
                "status": status,
                "errorCode": None,
                "objectCount": str(len(op.rows) if done else 0),  # UnsignedInt64 as a string (contract sample)
                "url": f"{self.base_url}/_files/bulk/{op.key}.jsonl" if done and op.rows else None,
                "partialDataUrl": None,
            }
            return Outcome({"currentBulkOperation": node}, 1)

        return run

    async def _bulk_file(self, request: web.Request) -> web.StreamResponse:
        """The bulk result, as the signed storage URL serves it (no token needed; 7-day expiry not emulated)."""
        key = request.match_info["key"]
        shop_op = next((op for op in self.store.bulk.values() if op.key == key), None)
        if shop_op is None or self._bulk_status(shop_op) != "COMPLETED":
            return web.Response(status=404, text="NoSuchKey")
        return web.Response(body=self.store.files[key], content_type="application/jsonl")

    # ------------------------------------------------------------------ OAuth

    async def _authorize(self, request: web.Request) -> web.StreamResponse:
        """The authorization URL (SD-OAUTH), approved at once: back to ``redirect_uri`` with ``code, hmac, host,
        shop, state, timestamp``, the hmac under the client secret (``auth.callback_hmac``)."""
        shop = self.shop_by_domain(request.match_info["shop"])
        if shop is None:
            return web.Response(status=404, text="There's no store at this address.")  # text UNCONFIRMED
        params = request.query
        for name in ("client_id", "scope", "redirect_uri", "state"):
            if not params.get(name):
                return _oauth_page(f"Oauth error invalid_request: Missing parameter {name}")  # text UNCONFIRMED
        if params["client_id"] != self.app_credentials["client_id"]:
            return _oauth_page("Oauth error invalid_request: The client_id is invalid")
        target = URL(params["redirect_uri"])
        allowed = self.redirect_uris is None or params["redirect_uri"] in self.redirect_uris
        if target.scheme not in ("http", "https") or not target.host or not allowed:
            return _oauth_page("Oauth error invalid_request: The redirect_uri is not whitelisted")
        if params.get("grant_options[]") not in (None, ""):
            return _oauth_page("Oauth error invalid_request: online (per-user) tokens are not emulated")
        code = self.issue_code(shop.shop_id)
        self._grants[code] = params["scope"]
        back = {
            "code": code,
            "host": auth.host_param(self.domain(shop)),
            "shop": self.domain(shop),
            "state": params["state"],
            "timestamp": str(int(time.time())),
        }
        back["hmac"] = auth.callback_hmac(back, self.app_credentials["client_secret"])
        raise web.HTTPFound(target.update_query(back))

    async def _access_token(self, request: web.Request) -> web.StreamResponse:
        """``POST /admin/oauth/access_token`` (SD-OAUTH, SD-OFFLINE): form or JSON body."""
        shop = self.shop_by_domain(request.match_info["shop"])
        if shop is None:
            return web.Response(status=404, text="There's no store at this address.")
        raw = await request.read()
        body = _json(raw) if request.content_type == "application/json" else dict(parse_qsl(raw.decode()))
        if not isinstance(body, dict):
            body = {}
        values = {k: str(v) for k, v in body.items() if v is not None}
        if (
            values.get("client_id") != self.app_credentials["client_id"]
            or values.get("client_secret") != self.app_credentials["client_secret"]
        ):
            return _token_error("invalid_client", "Client credentials are invalid")  # text UNCONFIRMED
        if values.get("grant_type") == "refresh_token":
            return self._refresh_grant(shop, values.get("refresh_token", ""))
        code = values.get("code", "")
        scope = self._grants.pop(code, "")
        redeemed = self.redeem_code(code) if code in self.codes and self.codes[code][0] == shop.shop_id else None
        if redeemed is None:
            return _token_error("invalid_request", "The authorization code was not found or was already used")
        shop.authorized = True
        access, refresh = self.issue_tokens(shop, f"shpat_{secrets.token_hex(16)}")
        if values.get("expiring") in ("1", "true"):
            return web.json_response(self._expiring_answer(shop, access, refresh, scope))
        return web.json_response({"access_token": access.value, "scope": scope})

    def _refresh_grant(self, shop: SbShop, token: str) -> web.Response:
        """An expiring offline token renewed: a new access token and a new refresh token, the spent one dead
        (``grant_type=refresh_token`` with ``refresh_token`` and the client credentials: parameters UNCONFIRMED)."""
        spent = self.spend_refresh(shop, token)
        if spent is None:
            return _token_error("invalid_grant", "The refresh token is invalid or expired")  # text UNCONFIRMED
        return web.json_response(self._expiring_answer(shop, *spent, self._grants.get(token, "")))

    def _expiring_answer(self, shop: SbShop, access: SbToken, refresh: SbToken, scope: str) -> Json:
        now = time.time()
        access_ttl = min(EXPIRING_ACCESS_TTL, self.token_ttl)
        refresh_ttl = min(EXPIRING_REFRESH_TTL, self.refresh_token_ttl)
        access.expires_at = now + access_ttl
        refresh.expires_at = min(refresh.expires_at, now + refresh_ttl)
        self._grants[refresh.value] = scope
        return {
            "access_token": access.value,
            "scope": scope,
            "expires_in": int(access_ttl),
            "refresh_token": refresh.value,
            "refresh_token_expires_in": int(refresh.expires_at - now),
        }

    # ------------------------------------------------------------------ webhooks

    def _event_body(self, shop: SbShop, event: Mapping[str, Any]) -> tuple[str, bytes]:
        topic = p.event_of(event)
        kind = event["kind"]
        if kind == "order_status_changed":
            payload = p.order_rest(self.store, shop, event["order"])
        elif kind == "shop_deauthorized":
            payload = p.shop_rest(shop, self.domain(shop), shop.extra["currency"])
        else:
            payload = p.product_rest(self.store, event["listing"])
        return topic, json.dumps(payload, separators=(",", ":")).encode()

    def _headers(self, shop: SbShop, topic: str, body: bytes, event_id: str, webhook_id: str) -> dict[str, str]:
        """The seven headers (contract webhook_topics.headers; SD-WH-VERIFY, SD-WH-DELIVERY)."""
        return {
            "Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": auth.webhook_hmac(body, self.app_credentials["client_secret"]),
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": self.domain(shop),
            "X-Shopify-Webhook-Id": webhook_id,  # one per delivery, the same on its retries (the dedupe key)
            "X-Shopify-Event-Id": event_id,  # one per event, the same for every subscription
            "X-Shopify-Triggered-At": g.iso(time.time()) or "",
            "X-Shopify-API-Version": ops.API_VERSION,
        }

    def signed_push(self, shop: SbShop, event: Mapping[str, Any]) -> tuple[dict[str, str], bytes, str]:
        """A delivery to ``webhook_url`` (an app-configuration subscription of every topic)."""
        topic, body = self._event_body(shop, event)
        return self._headers(shop, topic, body, str(uuid.uuid4()), str(uuid.uuid4())), body, self.webhook_url or ""

    def push(self, shop: SbShop, event: Mapping[str, Any]) -> None:
        """To every API subscription of the shop for the event's topic; a shop without API subscriptions delivers
        to the configured ``webhook_url`` (the base behaviour)."""
        subscriptions = self.store.subscriptions.get(shop.shop_id)
        if not subscriptions:
            super().push(shop, event)
            return
        topic, body = self._event_body(shop, event)
        event_id = str(uuid.uuid4())
        for sub in [s for s in subscriptions if s.topic == TOPICS[topic]]:
            headers = self._headers(shop, topic, body, event_id, str(uuid.uuid4()))
            self._spawn(self._deliver_to(shop, sub, headers, body))

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._pushes.add(task)
        task.add_done_callback(self._pushes.discard)

    async def _deliver_to(self, shop: SbShop, sub: Subscription, headers: Mapping[str, str], body: bytes) -> None:
        """The first attempt, then the retries; every failed attempt counts towards the subscription's removal."""
        for delay in (0.0, *self.webhook_retry_schedule):
            await asyncio.sleep(delay * self.webhook_retry_scale)
            if sub not in self.store.subscriptions.get(shop.shop_id, []):
                break  # removed meanwhile
            if await self._post_once(sub.uri, headers, body):
                sub.failures = 0
                self.counters.webhooks_sent += 1
                return
            sub.failures += 1
            if sub.failures >= FAILURES_BEFORE_REMOVAL:
                self.store.subscriptions[shop.shop_id].remove(sub)
                break
        self.counters.webhooks_failed += 1

    async def _post_once(self, url: str, headers: Mapping[str, str], body: bytes) -> bool:
        """One attempt within 1 s to connect and 5 s in all (SD-WH-RETRY); only a 2xx counts."""
        if self._client is None:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        timeout = aiohttp.ClientTimeout(total=WEBHOOK_TOTAL_TIMEOUT, connect=WEBHOOK_CONNECT_TIMEOUT)
        try:
            async with self._client.post(url, data=body, headers=dict(headers), timeout=timeout) as response:
                return 200 <= response.status < 300
        except (TimeoutError, aiohttp.ClientError):
            return False


# ---------------------------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class QuantityRow:
    index: int
    item: str
    location: str
    quantity: int
    sent: bool  # changeFromQuantity present (null included)
    change: int | None


def _quantity_rows(quantities: list[Any]) -> list[QuantityRow]:
    rows = []
    for i, raw in enumerate(quantities):
        where = f"input.quantities.{i}"
        if not isinstance(raw, dict):
            raise g.variable_error(where, "InventoryQuantityInput!", raw, "Expected an object")
        item = g.gid_value(raw.get("inventoryItemId"), f"{where}.inventoryItemId", "InventoryItem")
        location = g.gid_value(raw.get("locationId"), f"{where}.locationId", "Location")
        quantity = g.int_value(raw.get("quantity"), f"{where}.quantity") or 0
        change = g.int_value(raw.get("changeFromQuantity"), f"{where}.changeFromQuantity", nullable=True)
        rows.append(QuantityRow(i, item, location, quantity, "changeFromQuantity" in raw, change))
    return rows


@dataclass(frozen=True)
class PriceRow:
    index: int
    variant_id: str
    price: Decimal | None
    quantities: bool  # inventoryQuantities sent (refused on update)


def _price_rows(items: list[Any]) -> list[PriceRow]:
    rows = []
    for i, raw in enumerate(items):
        if not isinstance(raw, dict):
            raise g.variable_error(f"variants.{i}", "ProductVariantsBulkInput!", raw, "Expected an object")
        variant_id = g.gid_value(raw.get("id"), f"variants.{i}.id", "ProductVariant")
        price = g.money(raw["price"], f"variants.{i}.price") if raw.get("price") is not None else None
        if raw.get("compareAtPrice") is not None:
            g.money(raw["compareAtPrice"], f"variants.{i}.compareAtPrice")
        rows.append(PriceRow(i, variant_id, price, "inventoryQuantities" in raw))
    return rows


def _price_errors(row: PriceRow, by_id: Mapping[str, SbVariant]) -> list[Json]:
    """A variant's userErrors (contract productVariantsBulkUpdate codes)."""
    where = ["variants", str(row.index)]
    errors = []
    if row.variant_id not in by_id:
        errors.append(g.user_error([*where, "id"], "Input must be for this product.", "MUST_BE_FOR_THIS_PRODUCT"))
    if row.price is not None and row.price < 0:
        message = "The price of the variant must be greater than or equal to zero."
        errors.append(g.user_error([*where, "price"], message, "GREATER_THAN_OR_EQUAL_TO"))
    if row.quantities:
        message = "Inventory quantities can only be provided during create."  # text UNCONFIRMED
        errors.append(
            g.user_error([*where, "inventoryQuantities"], message, "NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE")
        )
    return errors


def _variables(body: Json) -> Json:
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise g.GqlFailure("Variables must be an object", "INVALID_VARIABLES")  # UNCONFIRMED
    return variables


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return None


def _options(raw: list[Any]) -> list[tuple[str, list[str]]]:
    """``productOptions: [{name, values: [{name}]}]`` as (name, values)."""
    options = []
    for i, option in enumerate(raw):
        if not isinstance(option, dict) or not isinstance(option.get("name"), str):
            raise g.variable_error(f"input.productOptions.{i}", "OptionSetInput!", option, "Expected {name, values}")
        values = [v.get("name") for v in option.get("values") or [] if isinstance(v, dict)]
        options.append((option["name"], [str(v) for v in values if v is not None]))
    return options


def _variant_input(raw: Any, i: int) -> Json:
    """A ``ProductVariantSetInput``: option values, SKU (``inventoryItem.sku``, or ``sku``), price, barcode and
    ``available`` per location."""
    where = f"input.variants.{i}"
    if not isinstance(raw, dict):
        raise g.variable_error(where, "ProductVariantSetInput!", raw, "Expected an object")
    chosen = {}
    for value in raw.get("optionValues") or []:
        if not isinstance(value, dict) or not isinstance(value.get("optionName"), str):
            raise g.variable_error(f"{where}.optionValues", "[VariantOptionValueInput!]", value, "Expected optionName")
        chosen[value["optionName"]] = str(value.get("name"))
    found = raw.get("inventoryItem")
    item: Json = found if isinstance(found, dict) else {}
    sku = item.get("sku") if item.get("sku") is not None else raw.get("sku")
    levels: dict[str, int] = {}
    bad_name = False
    for j, quantity in enumerate(
        g.input_list(
            raw.get("inventoryQuantities") or [], f"{where}.inventoryQuantities", "[ProductSetInventoryInput!]"
        )
    ):
        if not isinstance(quantity, dict):
            raise g.variable_error(
                f"{where}.inventoryQuantities.{j}", "ProductSetInventoryInput!", quantity, "Expected an object"
            )
        location = g.gid_value(quantity.get("locationId"), f"{where}.inventoryQuantities.{j}.locationId", "Location")
        amount = g.int_value(quantity.get("quantity"), f"{where}.inventoryQuantities.{j}.quantity")
        bad_name = bad_name or quantity.get("name") != "available"
        levels[location] = int(amount or 0)
    price = g.money(raw["price"], f"{where}.price") if raw.get("price") is not None else Decimal(0)
    barcode = raw.get("barcode")
    return {
        "options": chosen,
        "sku": str(sku) if sku is not None else "",
        "price": price,
        "barcode": None if barcode is None else str(barcode),
        "levels": levels,
        "bad_quantity_name": bad_name,
    }


def _acceptable_uri(uri: str) -> bool:
    """https (Shopify), or plain http to a loopback receiver (the tests' and the demo's local intake; a sandbox
    allowance, as the WooCommerce sandbox's for callback URLs)."""
    url = URL(uri)
    return bool(url.host) and (url.scheme == "https" or (url.scheme == "http" and url.host in LOOPBACK))


def _new_bulk(op_id: str, started: float, rows: list[Json], roots: int) -> BulkOp:
    return BulkOp(op_id, started, rows, secrets.token_urlsafe(24), roots)


def _oauth_page(message: str) -> web.Response:
    return web.Response(status=400, text=f"<html><body><p>{message}</p></body></html>", content_type="text/html")


def _token_error(error: str, description: str) -> web.Response:
    """Contract 'POST /admin/oauth/access_token' errors: 400 ``{error, error_description}``."""
    return web.json_response({"error": error, "error_description": description}, status=400)


__all__ = ["REASONS", "TOPICS", "Sandbox", "SbListing"]
