"""WooCommerce REST API v3 sandbox: a local WordPress + WooCommerce as the connector sees it.

Every sandbox shop is one store, served like a sub-directory multisite at ``{base_url}/{shop_id}`` (``/wp-json/...``
and ``/wc-auth/v1/authorize`` below it); the first shop is also served at the root. Emulated as WooCommerce does
(reference section 5, WC-CORE; see ``sandbox/auth``, ``sandbox/query``, ``sandbox/store``):

- authentication: OAuth 1.0a over plain HTTP (signature, 15-minute timestamp window, nonce reuse), Basic or
  query keys only when the request is HTTPS (``X-Forwarded-Proto: https``), key permissions, and the exact
  401 answers; keys never expire (``access_ttl``/``refresh_ttl`` only satisfy the base class);
- product content with core's write semantics (``sandbox/content``): status set as sent, ``categories``,
  ``images`` and ``attributes`` replace the whole list, an image ``src`` is downloaded into a new attachment on
  every call, global (``pa_*``) attributes and their terms, ``meta_data`` upserted by key, variation attributes
  matched to the parent's variation attributes (non-matches silently skipped), batch deletes permanent;
- registered customers (``GET /customers``, ``sandbox/customers``; ``add_customer``);
- products (simple and variable), variations, their batch endpoints (at most 100 objects, else 413), orders,
  ``settings/general`` and the WordPress index, with WordPress's argument checks (``per_page`` <= 100), paging
  headers (``X-WP-Total``, ``X-WP-TotalPages``, ``Link``), exclusive whole-second date bounds, SKU uniqueness;
- webhooks: the ``/webhooks`` endpoints (``sandbox/webhooks``: create with the creation ping, list, read,
  update, delete with ``force`` only), deliveries to every active webhook of the topic with ``X-WC-Webhook-*``
  headers and base64 HMAC-SHA256 of the raw body under that webhook's secret, no retries, disabled after 5 failures
  in a row; ``product.created``/``product.updated`` echoed for every product or variation an API write touched
  (nfsync's own writes included) once webhooks are registered. A store without registered webhooks delivers to
  the configured ``webhook_url`` with ``webhook_secret`` (a webhook made by hand);
- the wc-auth key flow: ``/wc-auth/v1/authorize`` creates keys and POSTs them to ``callback_url``.

Not emulated:

- WordPress users and capabilities: every key belongs to an administrator; only the key's read/write permission
  is checked. Key revocation and user deletion exist only by editing ``sandbox.keys``.
- The wc-auth login and approval screens: the request is approved at once; ``callback_url`` may be plain HTTP
  when it points at a loopback address (WooCommerce demands HTTPS).
- TLS by default: the listener is plain HTTP unless the sandbox gets a ``tls`` identity
  (``tls.self_signed``); ``X-Forwarded-Proto: https`` also marks a request as HTTPS (as ``is_ssl()``
  behind a proxy configured for it). ``strip_authorization`` makes it a host that does not pass the
  ``Authorization`` header to PHP.
- Store timezone: UTC, so local and ``_gmt`` dates are equal and ``dates_are_gmt`` changes nothing.
- Product types other than simple and variable; sale prices; parent-level stock and price of a variable
  product; trash (deletes are permanent, as batch deletes are); the ``woocommerce_manage_stock`` store option
  (stock is always managed); the ``search``, ``search_sku``, ``slug``, ``category``, ``type`` and price filters
  (ignored); orderings by price, popularity, rating or menu order (id order instead). Categories are kept as sent
  but not checked against a category registry; image downloads never fail for an http(s) URL
  (``sandbox/content``).
- Parent ``date_modified``: every variation write also bumps its product (WooCommerce may not).
- Order writes (status changes, notes, refunds) through the API: orders change through the ``/_sandbox/`` routes.
- Webhook delivery queues (core delivers through Action Scheduler; the sandbox at once) and the 10-second
  suppression of ``updated`` right after a creation from the admin screens; the webhooks ``batch`` endpoint.
- Host rate limits: none unless ``rate_limit`` is set; then HTTP 429 with ``Retry-After: 1`` and a WordPress-style
  error body (the shape is host-dependent, UNCONFIRMED).
- ``Link`` headers leave out authentication parameters (WooCommerce echoes the whole query string).
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import partial
from typing import Any, ClassVar

from aiohttp import web
from yarl import URL

from nfsync.connectors.base.sandbox import Handler, SandboxBase, SbListing, SbShop, SbVariant
from nfsync.connectors.woocommerce.errors import (
    BATCH_TOO_LARGE,
    INVALID_JSON,
    INVALID_PARAMETER,
    ORDER_INVALID_ID,
    PRODUCT_INVALID_ID,
)
from nfsync.connectors.woocommerce.sandbox.auth import KeyStore, authenticate, caller_key, check_permissions
from nfsync.connectors.woocommerce.sandbox.customers import SbCustomer, list_customers
from nfsync.connectors.woocommerce.sandbox.payloads import (
    STATUS_TO_WC,
    WC_VERSION,
    WP_VERSION,
    WcFailure,
    index_json,
    no_route,
    order_json,
    product_json,
    product_setting_json,
    settings_json,
    variation_as_product_json,
    variation_json,
)
from nfsync.connectors.woocommerce.sandbox.query import (
    ORDER_ORDERBY,
    PRODUCT_ORDERBY,
    Query,
    Row,
    page_headers,
    parse_query,
    select,
)
from nfsync.connectors.woocommerce.sandbox.store import Catalog
from nfsync.connectors.woocommerce.sandbox.tls import Tls
from nfsync.connectors.woocommerce.sandbox.webhooks import STATUSES as WEBHOOK_STATUSES
from nfsync.connectors.woocommerce.sandbox.webhooks import Registry, Webhook
from nfsync.connectors.woocommerce.signing import webhook_signature

API = "/wp-json/wc/v3"
SITE = "/{site:[A-Za-z0-9_.-]+}"
EDIT = ("POST", "PUT", "PATCH")  # WP_REST_Server::EDITABLE
BATCH_LIMIT = 100  # woocommerce_rest_batch_items_limit
KEY_LIFETIME = 100 * 365 * 86400.0
DEFAULT_WEBHOOK_SECRET = "sandbox-webhook-secret-0000"  # noqa: S105 - a fake secret for the local sandbox
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
LIST = ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
VIEW = ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
CREATE = ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
EDIT_DENIED = ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.")
BATCH = ("woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource.")
DELETE_DENIED = ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource.")
WEBHOOK_ORDERBY = ("date", "id", "include", "title", "slug")
CRITICAL_ERROR = (
    '<p>There has been a critical error on this website.</p><p><a href="https://wordpress.org/'
    'documentation/article/faq-troubleshooting/">Learn more about troubleshooting WordPress.</a></p>'
)

ApiHandler = Callable[[web.Request, SbShop], Awaitable[web.StreamResponse]]
Json = dict[str, Any]


class Sandbox(SandboxBase):
    platform = "woocommerce"
    access_ttl = KEY_LIFETIME
    refresh_ttl = KEY_LIFETIME
    single_use_refresh = False
    default_rate_limit = None  # WooCommerce REST v3 has no rate limit of its own (reference 5.4)
    webhook_retry_schedule = ()  # no retries: a failed delivery is lost (reference 5.2)
    order_statuses: ClassVar[tuple[str, ...]] = ("pending", "processing", "completed")

    def __init__(
        self, app: Mapping[str, str], *, tls: Tls | None = None, strip_authorization: bool = False, **options: Any
    ) -> None:
        """``tls``: serve HTTPS with this identity (``tls.self_signed``); ``strip_authorization``: act as a
        host that does not pass the ``Authorization`` header to PHP."""
        super().__init__(app, **options)
        self.tls = tls
        self.strip_authorization = strip_authorization
        self.webhook_secret = self.webhook_secret or DEFAULT_WEBHOOK_SECRET
        self.keys = KeyStore()
        self.keys.add(app["consumer_key"], app["consumer_secret"])  # the app's keys work on every store
        self.catalog = Catalog(self.new_id)
        self.hooks = Registry(self.new_id)
        self._webhook_ids: dict[tuple[str, str], str] = {}
        self.customers: dict[str, list[SbCustomer]] = {}  # registered customers per store (GET /customers)

    def new_id(self) -> str:
        """WordPress post ids: one sequence for products, variations and orders (starting at 200000001)."""
        return str(int(super().new_id()) + 100_000_000)

    def store_url(self, shop: SbShop) -> str:
        return f"{self.base_url}/{shop.shop_id}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """As the base, over TLS when the sandbox has an identity (then ``base_url`` is ``https://``)."""
        if self.tls is None:
            return await super().start(host, port)
        self._runner = web.AppRunner(self.build_app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port, ssl_context=self.tls.server).start()
        self.base_url = f"https://{host}:{self._runner.addresses[0][1]}"
        return self.base_url

    # ------------------------------------------------------------------ routes

    def add_routes(self, app: web.Application) -> None:
        app.middlewares.append(_rest_no_route)
        for prefix in (SITE, ""):
            self._add_site_routes(app.router, prefix)

    def _add_site_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        base = prefix + API
        for path in (prefix + "/wp-json", prefix + "/wp-json/"):
            router.add_get(path, self._public(self._index))
        router.add_get(prefix + "/wc-auth/v1/authorize", self._public(self._authorize))
        routes: list[tuple[tuple[str, ...], str, ApiHandler, tuple[str, str]]] = [
            (("GET",), "/settings/general", self._settings, LIST),
            (("GET",), r"/settings/products/{id}", self._product_setting, VIEW),
            (("GET",), "/products", self._products, LIST),
            (("POST",), "/products", self._create_product, CREATE),
            (EDIT, "/products/batch", self._products_batch, BATCH),
            (("GET",), r"/products/{id:\d+}", self._product, VIEW),
            (EDIT, r"/products/{id:\d+}", self._update_product, EDIT_DENIED),
            (("GET",), r"/products/{pid:\d+}/variations", self._variations, LIST),
            (("POST",), r"/products/{pid:\d+}/variations", self._create_variation, CREATE),
            (EDIT, r"/products/{pid:\d+}/variations/batch", self._variations_batch, BATCH),
            (EDIT, r"/products/{pid:\d+}/variations/{id:\d+}", self._update_variation, EDIT_DENIED),
            (("GET",), "/orders", self._orders, LIST),
            (("GET",), "/customers", self._customers, LIST),
            (("GET",), r"/orders/{id:\d+}", self._order, VIEW),
            (("GET",), "/webhooks", self._webhooks, LIST),
            (("POST",), "/webhooks", self._create_webhook, CREATE),
            (("GET",), r"/webhooks/{id:\d+}", self._webhook, VIEW),
            (EDIT, r"/webhooks/{id:\d+}", self._update_webhook, EDIT_DENIED),
            (("DELETE",), r"/webhooks/{id:\d+}", self._delete_webhook, DELETE_DENIED),
        ]
        for methods, path, handler, denial in routes:
            endpoint = self._api(handler, denial)
            for method in methods:
                router.add_route(method, base + path, endpoint)

    def _public(self, handler: ApiHandler) -> Handler:
        """Every request: the store, then the gate (latency, rate limit, faults), then WordPress's error shapes."""

        async def endpoint(request: web.Request) -> web.StreamResponse:
            shop = self._site(request)
            gated = await self.gate(request, f"{caller_key(request)}:{shop.shop_id if shop else '-'}")
            if gated is not None:
                return gated
            if shop is None:
                return no_route()
            try:
                return await handler(request, shop)
            except WcFailure as failure:
                return failure.response()

        return endpoint

    def _api(self, handler: ApiHandler, denial: tuple[str, str]) -> Handler:
        """A WooCommerce endpoint: authenticated, else the endpoint's own permission refusal (401)."""

        async def authorized(request: web.Request, shop: SbShop) -> web.StreamResponse:
            key = await authenticate(
                request, self.keys, shop.shop_id, time.time(), strip_authorization=self.strip_authorization
            )
            if key is None:
                raise WcFailure(401, *denial)
            check_permissions(key, request.method)
            return await handler(request, shop)

        return self._public(authorized)

    def _site(self, request: web.Request) -> SbShop | None:
        site = request.match_info.get("site")
        if site is not None:
            return self.shops.get(site)
        return next(iter(self.shops.values()), None)

    def _home(self, request: web.Request) -> str:
        site = request.match_info.get("site")
        return f"{request.scheme}://{request.host}" + (f"/{site}" if site else "")

    def _written(self, request: web.Request, skus: list[str], response: web.Response) -> web.Response:
        """After a successful write (one SKU per object written, "" when it has none): count it per SKU, and maybe
        lose the response (the write stays applied)."""
        if not skus:
            return response  # nothing was written (every item of the batch failed)
        for sku in filter(None, skus):
            self.record_write(sku)
        return web.Response() if self.lose_response(request) else response

    # ------------------------------------------------------------------ store

    async def _index(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        return web.json_response(index_json(shop, self._home(request)))

    async def _settings(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        return web.json_response(settings_json(shop))

    async def _product_setting(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        """``GET /settings/products/<id>``: the measurement units (``shop.extra`` ``weight_unit`` and
        ``dimension_unit``, default kg and cm as WooCommerce installs them)."""
        found = product_setting_json(shop, request.match_info["id"])
        if found is None:
            raise WcFailure(404, "rest_setting_setting_invalid", "Invalid setting.")
        return web.json_response(found)

    # ------------------------------------------------------------------ products

    async def _products(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        query, home = parse_query(request.query, PRODUCT_ORDERBY), self._home(request)
        skus = _sku_list(request.query.get("sku", ""))
        # With sku the products endpoint also searches variations (post types product and product_variation).
        found = (
            self.catalog.sku_matches(shop, skus) if skus else [(listing, None) for listing in shop.listings.values()]
        )
        return self._collection(
            request, [self._product_row(listing, variant, home) for listing, variant in found], query
        )

    async def _product(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        product_id, home = request.match_info["id"], self._home(request)
        listing = shop.listings.get(product_id)
        if listing is not None:
            return web.json_response(self._product_json(listing, home))
        owner = self.catalog.variation_owner(shop, product_id)  # wc_get_product() also loads variations
        if owner is None:
            raise WcFailure(404, PRODUCT_INVALID_ID, "Invalid ID.")
        return web.json_response(variation_as_product_json(*owner, home))

    async def _create_product(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        body = await _json_object(request)
        if body.get("id"):
            raise WcFailure(400, "woocommerce_rest_product_exists", "Cannot create existing product.")
        listing = self.catalog.create_product(shop, body)
        self.counters.creates += 1
        self._echo(shop, [{"kind": "product_created", "listing": listing}])
        answer = web.json_response(self._product_json(listing, self._home(request)), status=201)
        return self._written(request, self._product_skus(listing), answer)

    async def _update_product(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        listing = self.catalog.update_product(shop, request.match_info["id"], await _json_object(request))
        self._echo(shop, [{"kind": "product_changed", "listing": listing}])
        answer = web.json_response(self._product_json(listing, self._home(request)))
        return self._written(request, self._product_skus(listing), answer)

    async def _products_batch(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        body, home, written, events = await _batch_body(request), self._home(request), list[str](), list[Json]()

        def create(item: Json) -> Json:
            listing = self.catalog.create_product(shop, item)
            self.counters.creates += 1
            written.extend(self._product_skus(listing))
            events.append({"kind": "product_created", "listing": listing})
            return self._product_json(listing, home)

        def update(item: Json) -> Json:
            listing = self.catalog.update_product(shop, str(item.get("id") or 0), item)
            written.extend(self._product_skus(listing))
            events.append({"kind": "product_changed", "listing": listing})
            return self._product_json(listing, home)

        def delete(product_id: str) -> Json:
            listing = self.catalog.product(shop, product_id)
            answer = self._product_json(listing, home)  # rendered while it still is a product
            written.extend(self._product_skus(listing))
            self.catalog.delete_product(shop, product_id)
            return answer  # permanent: no product.deleted (bound to trashing)

        answer = web.json_response(_run_batch(body, create, update, delete))
        self._echo(shop, events)
        return self._written(request, written, answer)

    def _product_json(self, listing: SbListing, home: str) -> Json:
        parent_sku, variable = self.catalog.parent_skus.get(listing.item_id, ""), self.catalog.is_variable(listing)
        rendered = product_json(listing, home, variable=variable, parent_sku=parent_sku)
        return {**rendered, **self.catalog.content.render(listing, home, variable=variable)}

    def _variation_json(self, listing: SbListing, variant: SbVariant, home: str) -> Json:
        return {
            **variation_json(listing, variant, home),
            **self.catalog.content.variation_fields(listing, variant, home),
        }

    def _product_skus(self, listing: SbListing) -> list[str]:
        if self.catalog.is_variable(listing):
            return [self.catalog.parent_skus.get(listing.item_id, "")]
        return [listing.variants[0].sku]

    def _product_row(self, listing: SbListing, variant: SbVariant | None, home: str) -> Row:
        if variant is None:
            return Row(
                int(listing.item_id),
                listing.created_at,
                listing.updated_at,
                listing.name,
                STATUS_TO_WC.get(listing.status, listing.status),
                partial(self._product_json, listing, home),
            )
        return Row(
            int(variant.variant_id),
            listing.created_at,
            listing.updated_at,
            listing.name,
            "publish",
            partial(variation_as_product_json, listing, variant, home),
        )

    # ------------------------------------------------------------------ variations

    async def _variations(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        query, home = parse_query(request.query, PRODUCT_ORDERBY), self._home(request)
        listing = shop.listings.get(request.match_info["pid"])
        variants = listing.variants if listing is not None and self.catalog.is_variable(listing) else []
        skus = _sku_list(request.query.get("sku", ""))
        rows = [
            Row(
                int(v.variant_id),
                listing.created_at,
                listing.updated_at,
                v.sku,
                "publish",
                partial(self._variation_json, listing, v, home),
            )
            for v in variants
            if listing is not None and (not skus or v.sku in skus)
        ]
        return self._collection(request, rows, query)

    async def _create_variation(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        body = await _json_object(request)
        listing, variant = self.catalog.create_variation(shop, request.match_info["pid"], body)
        self._echo(shop, [{"kind": "variation_created", "listing": listing, "variant": variant}])
        answer = web.json_response(self._variation_json(listing, variant, self._home(request)), status=201)
        return self._written(request, [variant.sku], answer)

    async def _update_variation(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        ids, body = request.match_info, await _json_object(request)
        listing, variant = self.catalog.update_variation(shop, ids["pid"], ids["id"], body)
        self._echo(shop, [{"kind": "variation_changed", "listing": listing, "variant": variant}])
        answer = web.json_response(self._variation_json(listing, variant, self._home(request)))
        return self._written(request, [variant.sku], answer)

    async def _variations_batch(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        body, home, written, events = await _batch_body(request), self._home(request), list[str](), list[Json]()
        product_id = request.match_info["pid"]

        def create(item: Json) -> Json:
            listing, variant = self.catalog.create_variation(shop, product_id, item)
            written.append(variant.sku)
            events.append({"kind": "variation_created", "listing": listing, "variant": variant})
            return self._variation_json(listing, variant, home)

        def update(item: Json) -> Json:
            listing, variant = self.catalog.update_variation(shop, product_id, str(item.get("id") or 0), item)
            written.append(variant.sku)
            events.append({"kind": "variation_changed", "listing": listing, "variant": variant})
            return self._variation_json(listing, variant, home)

        def delete(variation_id: str) -> Json:
            listing, variant = self.catalog.delete_variation(shop, product_id, variation_id)
            written.append(variant.sku)
            return self._variation_json(listing, variant, home)

        answer = web.json_response(_run_batch(body, create, update, delete))
        self._echo(shop, events)
        return self._written(request, written, answer)

    # ------------------------------------------------------------------ orders

    async def _orders(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        query = parse_query(request.query, ORDER_ORDERBY)
        rows = [
            Row(
                int(o.order_id),
                o.created_at,
                o.updated_at,
                o.order_id,
                o.status,
                partial(order_json, shop, o, variable=self.catalog.is_variable),
            )
            for o in shop.orders.values()
        ]
        return self._collection(request, rows, query)

    async def _order(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        order = shop.orders.get(request.match_info["id"])
        if order is None:
            raise WcFailure(404, ORDER_INVALID_ID, "Invalid ID.")
        return web.json_response(order_json(shop, order, variable=self.catalog.is_variable))

    def add_customer(self, shop: SbShop, email: str, first_name: str, last_name: str, **fields: Any) -> SbCustomer:
        """A registered customer of the store (a WordPress user with the customer role)."""
        customers = self.customers.setdefault(shop.shop_id, [])
        customer = SbCustomer(int(self.new_id()), email, first_name, last_name, **fields)
        customers.append(customer)
        return customer

    async def _customers(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        items, total, pages = list_customers(self.customers.get(shop.shop_id, []), request.query)
        query = parse_query({k: v for k, v in request.query.items() if k in ("page", "per_page")}, ORDER_ORDERBY)
        return web.json_response(items, headers=page_headers(request.url, query, total, pages))

    def _collection(self, request: web.Request, rows: list[Row], query: Query) -> web.Response:
        page, total, pages = select(rows, query)
        headers = page_headers(request.url, query, total, pages)
        return web.json_response([row.payload() for row in page], headers=headers)

    # ------------------------------------------------------------------ webhooks

    async def _webhooks(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        wanted, home = request.query.get("status", "all"), self._home(request)
        query = parse_query({k: v for k, v in request.query.items() if k != "status"}, WEBHOOK_ORDERBY)
        if wanted not in ("all", *WEBHOOK_STATUSES):
            raise WcFailure(
                400,
                INVALID_PARAMETER,
                "Invalid parameter(s): status",
                params={"status": "status is not one of all, active, paused and disabled."},
            )
        rows = [
            Row(h.id, h.created, h.modified, h.name, h.status, partial(h.json, home))
            for h in self.hooks.of(shop.shop_id).values()
            if wanted in ("all", h.status)
        ]
        return self._collection(request, rows, query)

    async def _create_webhook(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        hook = self.hooks.create(shop.shop_id, await _json_object(request))
        home = self._home(request)
        self._spawn(self._ping(hook))  # after the answer is made, as core sends it (its outcome is ignored)
        return web.json_response(hook.json(home), status=201, headers={"Location": f"{home}{API}/webhooks/{hook.id}"})

    async def _webhook(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        hook = self.hooks.get(shop.shop_id, request.match_info["id"], status=400, message="ID is invalid.")
        return web.json_response(hook.json(self._home(request)))

    async def _update_webhook(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        hook = self.hooks.update(shop.shop_id, request.match_info["id"], await _json_object(request))
        return web.json_response(hook.json(self._home(request)))

    async def _delete_webhook(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        hook = self.hooks.delete(shop.shop_id, request.match_info["id"], request.query.get("force"))
        return web.json_response(hook.json(self._home(request)))

    async def _ping(self, hook: Webhook) -> None:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})",
        }
        await self._post(hook.delivery_url, headers, f"webhook_id={hook.id}".encode())

    # ------------------------------------------------------------------ wc-auth

    async def _authorize(self, request: web.Request, shop: SbShop) -> web.StreamResponse:
        """``/wc-auth/v1/authorize``, approved at once: new keys POSTed to callback_url, then back to return_url."""
        params = request.query
        problem = _authorize_problem(params)
        if problem:
            return _auth_error(problem)
        key = self.keys.issue(shop.shop_id, params["scope"])
        payload = {
            "key_id": key.key_id,
            "user_id": params["user_id"],
            "consumer_key": key.consumer_key,
            "consumer_secret": key.consumer_secret,
            "key_permissions": key.permissions,
        }
        headers = {"Content-Type": "application/json;charset=utf-8"}
        if not await self._post(params["callback_url"], headers, json.dumps(payload).encode()):
            del self.keys.keys[key.consumer_key]  # WooCommerce deletes keys it could not deliver
            return _auth_error("An error occurred in the request and at the time were unable to send the consumer data")
        raise web.HTTPFound(URL(params["return_url"]).update_query(success="1", user_id=params["user_id"]))

    # ------------------------------------------------------------------ platform answers and pushes

    def throttle_response(self) -> web.Response:
        failure = WcFailure(429, "rest_too_many_requests", "Too many requests. Please wait and try again.")
        failure.headers = {"Retry-After": "1"}
        return failure.response()

    def server_error_response(self) -> web.Response:
        body = {**WcFailure(500, "internal_server_error", CRITICAL_ERROR).body(), "additional_errors": []}
        return web.json_response(body, status=500)

    def signed_push(self, shop: SbShop, event: Mapping[str, Any]) -> tuple[dict[str, str], bytes, str]:
        """A delivery to the sandbox's configured ``webhook_url`` (a store with no webhook registered through the
        API: as if the merchant had made one by hand with ``webhook_secret``)."""
        topic, payload = self._push_payload(shop, event)
        headers, body = self._delivery(shop, topic, payload, self.webhook_secret or "", self._webhook_id(shop, topic))
        return headers, body, self.webhook_url or ""

    def _delivery(
        self, shop: SbShop, topic: str, payload: Json, secret: str, hook_id: str
    ) -> tuple[dict[str, str], bytes]:
        body = json.dumps(payload, separators=(",", ":")).encode()
        resource, _, action = topic.partition(".")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})",
            "X-WC-Webhook-Source": self.store_url(shop) + "/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": action,
            "X-WC-Webhook-Signature": webhook_signature(body, html.unescape(secret)),  # core decodes entities
            "X-WC-Webhook-ID": hook_id,
            "X-WC-Webhook-Delivery-ID": secrets.token_hex(16),  # wp_hash(id . time): per delivery
        }
        return headers, body

    def push(self, shop: SbShop, event: Mapping[str, Any]) -> None:
        """To every active webhook of the store registered for the event's topic; a store with none registered
        through the API delivers to the configured ``webhook_url`` (the base behaviour)."""
        if not self.hooks.of(shop.shop_id):
            super().push(shop, event)
            return
        topic, payload = self._push_payload(shop, event)
        for hook in self.hooks.active(shop.shop_id, topic):
            headers, body = self._delivery(shop, topic, payload, hook.secret, str(hook.id))
            self._spawn(self._deliver_to(hook, headers, body))

    def _echo(self, shop: SbShop, events: list[Json]) -> None:
        """Core fires product.created/updated for every object an API write touched, nfsync's own included: the
        sandbox does so to the webhooks registered through the API."""
        if self.hooks.of(shop.shop_id):
            for event in events:
                self.push(shop, event)

    async def _deliver_to(self, hook: Webhook, headers: Mapping[str, str], body: bytes) -> None:
        """One attempt, never retried; only a 2xx counts (WC-DOC _webhooks.md Logging)."""
        ok = await self._post(hook.delivery_url, headers, body)
        self.hooks.delivered(hook, ok)
        if ok:
            self.counters.webhooks_sent += 1
        else:
            self.counters.webhooks_failed += 1

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._pushes.add(task)
        task.add_done_callback(self._pushes.discard)

    def ping_push(self, shop: SbShop, topic: str = "order.updated") -> tuple[dict[str, str], bytes, str]:
        """The unsigned ping WooCommerce POSTs when a webhook is created: form body ``webhook_id=<id>``."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})",
        }
        return headers, f"webhook_id={self._webhook_id(shop, topic)}".encode(), self.webhook_url or ""

    def _push_payload(self, shop: SbShop, event: Mapping[str, Any]) -> tuple[str, Json]:
        """(topic, the REST resource): ``order.created/updated``, ``product.created/updated`` (a variation's too, with
        its ``/products/<id>`` payload), ``product.deleted``."""
        kind, home = event["kind"], self.store_url(shop)
        if kind == "order_status_changed":
            order = event["order"]
            topic = "order.created" if order.updated_at == order.created_at else "order.updated"
            return topic, order_json(shop, order, variable=self.catalog.is_variable)
        if kind in ("product_changed", "product_created"):
            topic = "product.created" if kind == "product_created" else "product.updated"
            return topic, self._product_json(event["listing"], home)
        if kind in ("variation_changed", "variation_created"):
            listing, variant = event["listing"], event["variant"]
            payload = {
                **variation_as_product_json(listing, variant, home),
                **self.catalog.content.variation_fields(listing, variant, home),
            }
            return ("product.created" if kind == "variation_created" else "product.updated"), payload
        if kind == "product_deleted":
            return "product.deleted", {"id": int(event["item_id"])}
        raise ValueError(f"the WooCommerce sandbox does not push {kind!r} events")

    def _webhook_id(self, shop: SbShop, topic: str) -> str:
        """One webhook per (store, topic), as a merchant registers them."""
        return self._webhook_ids.setdefault((shop.shop_id, topic), str(len(self._webhook_ids) + 1))


# ---------------------------------------------------------------------------------------------- helpers


@web.middleware
async def _rest_no_route(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown paths and methods under ``/wp-json`` get WordPress's ``rest_no_route``."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        if "/wp-json" not in request.path:
            raise
        return no_route()


async def _json_object(request: web.Request) -> Json:
    if not request.body_exists:  # (not can_read_body: a middleware may have read it already; read() caches it)
        return {}
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise WcFailure(400, INVALID_JSON, "Invalid JSON body passed.") from None
    return body if isinstance(body, dict) else {}


async def _batch_body(request: web.Request) -> Json:
    body = await _json_object(request)
    total = sum(len(body.get(kind) or []) for kind in ("create", "update", "delete"))
    if total > BATCH_LIMIT:
        message = f"Unable to accept more than {BATCH_LIMIT} items for this request."
        raise WcFailure(413, BATCH_TOO_LARGE, message)
    return body


def _run_batch(
    body: Json, create: Callable[[Json], Json], update: Callable[[Json], Json], delete: Callable[[str], Json]
) -> dict[str, list[Json]]:
    """``WC_REST_Controller::batch_items``: creates, then updates, then deletes; a failed item is
    ``{"id", "error": {code, message, data}}`` and the others go on."""
    answer: dict[str, list[Json]] = {}
    for item in [i for i in body.get("create") or [] if isinstance(i, dict)]:
        answer.setdefault("create", []).append(_attempt(partial(create, item), 0))
    for item in [i for i in body.get("update") or [] if isinstance(i, dict)]:
        answer.setdefault("update", []).append(_attempt(partial(update, item), item.get("id")))
    for raw in body.get("delete") or []:
        item_id = str(raw)
        if item_id.isdigit() and int(item_id):
            answer.setdefault("delete", []).append(_attempt(partial(delete, item_id), int(item_id)))
    return answer


def _attempt(action: Callable[[], Json], failed_id: Any) -> Json:
    try:
        return action()
    except WcFailure as failure:
        return {
            "id": failed_id,
            "error": {
                "code": failure.code,
                "message": failure.message,
                "data": {"status": failure.status, **failure.data},
            },
        }


def _sku_list(raw: str) -> set[str]:
    """``sku=a,b``: each part, and the whole string too (WC-CORE products controller)."""
    parts = {part for part in raw.split(",") if part}
    return parts | {raw} if len(parts) > 1 else parts


def _authorize_problem(params: Mapping[str, str]) -> str | None:
    """WC_Auth's checks, in its order."""
    for name in ("app_name", "scope", "user_id", "return_url", "callback_url"):
        if not params.get(name):
            return f"Missing parameter {name}"
    if params["scope"] not in ("read", "write", "read_write"):
        return f"Invalid scope {params['scope']}"
    for name in ("return_url", "callback_url"):
        url = URL(params[name])
        if url.scheme not in ("http", "https") or not url.host:
            return f"The {name} is not a valid URL"
    callback = URL(params["callback_url"])
    if callback.scheme != "https" and callback.host not in LOOPBACK:
        return "The callback_url needs to be over SSL"
    return None


def _auth_error(message: str) -> web.Response:
    """``wp_die()`` as WC_Auth calls it: an HTML page with status 401."""
    text = f"<html><body><p>Error: {html.escape(message)}.</p></body></html>"
    return web.Response(status=401, text=text, content_type="text/html")
