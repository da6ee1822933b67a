"""The shared half of every platform sandbox: a local emulator the demo, the tests and the benchmarks run against.

A platform subclass serves the platform's own paths, parameters, signatures, error shapes and webhook formats.
This base keeps the state and the machinery they share:

- an in-memory store: shops, listings with variants (stock, price), orders;
- OAuth state: authorization codes, access tokens and refresh tokens with real lifetimes (``token_ttl`` and
  ``refresh_ttl`` shorten them), single-use refresh tokens where the platform has them;
- a rate limit per (app, shop) as a token bucket of one second of budget, answered with the platform's throttle;
- faults on demand: 5xx, timeouts, throttle storms, malformed bodies, writes that succeed but whose response is
  lost, and latency;
- webhook pushes to a configured URL, signed by the subclass, retried on the platform's schedule (compressed by
  ``webhook_retry_scale``);
- counters: requests, requests per second, throttled responses, writes per SKU, duplicate listings, refreshes;
- admin routes under ``/_sandbox/`` (platform-neutral JSON): reset, faults, seed shops and listings, create and
  advance orders, read counters and state.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import secrets
import time
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

import aiohttp
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class SbVariant:
    variant_id: str
    sku: str
    price: Decimal
    stock: int
    options: dict[str, str] = field(default_factory=dict)
    barcode: str | None = None
    """GTIN / EAN / UPC as the merchant entered it (kept verbatim, "" included); each platform shows it where its
    real API does (``ListingVariant.barcode`` on the client side)."""


@dataclass
class SbListing:
    item_id: str
    name: str
    description: str
    status: str
    category_id: str | None
    variants: list[SbVariant]
    created_at: float
    updated_at: float


@dataclass
class SbOrderLine:
    line_id: str
    item_id: str | None
    variant_id: str | None
    sku: str
    name: str
    quantity: int
    unit_price: Decimal


@dataclass
class SbOrder:
    order_id: str
    status: str
    created_at: float
    updated_at: float
    currency: str
    lines: list[SbOrderLine]
    buyer: dict[str, Any]
    shipping_fee: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal(0)) + self.shipping_fee


@dataclass
class SbToken:
    value: str
    expires_at: float
    used: bool = False


@dataclass
class SbShop:
    shop_id: str
    name: str
    region: str = "VN"
    extra: dict[str, str] = field(default_factory=dict)  # e.g. TikTok shop_cipher
    listings: dict[str, SbListing] = field(default_factory=dict)
    orders: dict[str, SbOrder] = field(default_factory=dict)
    access: dict[str, SbToken] = field(default_factory=dict)
    refresh: dict[str, SbToken] = field(default_factory=dict)
    authorized: bool = True


@dataclass
class Faults:
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    malformed_rate: float = 0.0
    lost_write_rate: float = 0.0
    lose_next_writes: int = 0  # the next N successful writes lose their response, whatever the rate
    latency_ms: float = 0.0
    throttle_until: float = 0.0
    timeout_seconds: float = 60.0


@dataclass
class Counters:
    requests: int = 0
    throttled: int = 0
    injected_errors: int = 0
    lost_writes: int = 0
    refreshes: int = 0
    creates: int = 0
    writes_per_sku: Counter[str] = field(default_factory=Counter)
    webhooks_sent: int = 0
    webhooks_failed: int = 0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))

    def requests_per_second(self, window: float = 5.0) -> float:
        now = time.monotonic()
        return round(sum(1 for t in self.recent if now - t <= window) / window, 1)


class SandboxBase(ABC):
    platform: ClassVar[str]
    access_ttl: ClassVar[float]
    refresh_ttl: ClassVar[float]
    single_use_refresh: ClassVar[bool] = False
    default_rate_limit: ClassVar[float | None] = None
    webhook_retry_schedule: ClassVar[Sequence[float]] = ()  # seconds after the first failure, cumulative steps

    def __init__(
        self,
        app: Mapping[str, str],
        *,
        rate_limit: float | None = None,
        token_ttl: float | None = None,
        refresh_ttl: float | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_retry_scale: float = 1.0,
        seed: int | None = None,
    ) -> None:
        self.app_credentials = dict(app)
        self.rate_limit = rate_limit if rate_limit is not None else self.default_rate_limit
        self.token_ttl = token_ttl or self.access_ttl
        self.refresh_token_ttl = refresh_ttl or self.refresh_ttl
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.webhook_retry_scale = webhook_retry_scale
        self.random = random.Random(seed)  # noqa: S311 - fault injection, not cryptography
        self.shops: dict[str, SbShop] = {}
        self.faults = Faults()
        self.counters = Counters()
        self.codes: dict[str, tuple[str, float]] = {}  # authorization code -> (shop id, expiry)
        self._ids = itertools.count(100_000_001)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._pushes: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.base_url = ""

    # ------------------------------------------------------------------ subclass hooks

    @abstractmethod
    def add_routes(self, app: web.Application) -> None:
        """The platform's own API routes."""

    @abstractmethod
    def throttle_response(self) -> web.Response:
        """The platform's throttle signal (HTTP 429, ApiCallLimit...)."""

    @abstractmethod
    def server_error_response(self) -> web.Response:
        """The platform's answer to an internal error (retryable)."""

    @abstractmethod
    def signed_push(self, shop: SbShop, event: Mapping[str, Any]) -> tuple[dict[str, str], bytes, str]:
        """(headers, body, url) of a webhook for ``event`` ({kind, ...}) signed exactly as the platform does."""

    # ------------------------------------------------------------------ ids, shops, tokens

    def new_id(self) -> str:
        return str(next(self._ids))

    def add_shop(
        self,
        shop_id: str,
        name: str | None = None,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        **extra: str,
    ) -> SbShop:
        shop = self.shops.get(shop_id) or SbShop(shop_id, name or f"Shop {shop_id}", extra=dict(extra))
        self.shops[shop_id] = shop
        if access_token or refresh_token:
            self.issue_tokens(shop, access_token, refresh_token)
        return shop

    def issue_tokens(
        self, shop: SbShop, access: str | None = None, refresh: str | None = None
    ) -> tuple[SbToken, SbToken]:
        now = time.time()
        access_token = SbToken(access or secrets.token_hex(16), now + self.token_ttl)
        refresh_token = SbToken(refresh or secrets.token_hex(16), now + self.refresh_token_ttl)
        shop.access[access_token.value] = access_token
        shop.refresh[refresh_token.value] = refresh_token
        return access_token, refresh_token

    def issue_code(self, shop_id: str) -> str:
        code = secrets.token_hex(12)
        self.codes[code] = (shop_id, time.time() + 600)
        return code

    def redeem_code(self, code: str) -> SbShop | None:
        shop_id, expires = self.codes.pop(code, ("", 0.0))
        if not shop_id or expires < time.time():
            return None
        return self.add_shop(shop_id)

    def check_access(self, shop: SbShop | None, token: str | None) -> str:
        """'ok', 'expired' or 'invalid'."""
        found = shop.access.get(token or "") if shop is not None and shop.authorized else None
        if found is None:
            return "invalid"
        return "ok" if found.expires_at > time.time() else "expired"

    def spend_refresh(self, shop: SbShop | None, token: str) -> tuple[SbToken, SbToken] | None:
        """New tokens for a valid refresh token (consumed when single-use); None when invalid or expired."""
        found = shop.refresh.get(token) if shop is not None and shop.authorized else None
        if found is None or found.used or found.expires_at <= time.time():
            return None
        self.counters.refreshes += 1
        if self.single_use_refresh:
            found.used = True
        assert shop is not None
        keep = None if self.single_use_refresh else token
        access, refresh = self.issue_tokens(shop, None, keep)
        if keep is not None:
            refresh.expires_at = found.expires_at  # not reset by a refresh (Lazada)
        return access, refresh

    def shop_by_token(self, token: str | None) -> SbShop | None:
        return next((s for s in self.shops.values() if (token or "") in s.access), None)

    # ------------------------------------------------------------------ catalog and orders

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
        now = time.time()
        listing = SbListing(self.new_id(), name, description, status, category_id, [], now, now)
        for variant in variants:
            listing.variants.append(
                SbVariant(
                    self.new_id(),
                    str(variant["sku"]),
                    Decimal(str(variant.get("price", "100000"))),
                    int(variant.get("stock", 0)),
                    dict(variant.get("options", {})),
                    _barcode(variant.get("barcode")),
                )
            )
        shop.listings[listing.item_id] = listing
        return listing

    def find_variant(self, shop: SbShop, sku: str) -> tuple[SbListing, SbVariant] | None:
        for listing in shop.listings.values():
            for variant in listing.variants:
                if variant.sku == sku:
                    return listing, variant
        return None

    def duplicate_listings(self) -> int:
        """Listings beyond the first that carry an already used SKU, over all shops."""
        duplicates = 0
        for shop in self.shops.values():
            seen: Counter[str] = Counter(v.sku for listing in shop.listings.values() for v in listing.variants)
            duplicates += sum(count - 1 for count in seen.values() if count > 1)
        return duplicates

    def add_order(
        self,
        shop: SbShop,
        lines: Sequence[Mapping[str, Any]],
        *,
        status: str,
        currency: str = "VND",
        buyer: Mapping[str, Any] | None = None,
    ) -> SbOrder:
        now = time.time()
        order = SbOrder(self.new_id(), status, now, now, currency, [], dict(buyer or {"name": "Buyer"}))
        for line in lines:
            found = self.find_variant(shop, str(line["sku"]))
            listing, variant = found if found else (None, None)
            order.lines.append(
                SbOrderLine(
                    self.new_id(),
                    listing.item_id if listing else None,
                    variant.variant_id if variant else None,
                    str(line["sku"]),
                    listing.name if listing else str(line["sku"]),
                    int(line.get("quantity", 1)),
                    variant.price if variant else Decimal(str(line.get("price", "100000"))),
                )
            )
        shop.orders[order.order_id] = order
        return order

    def record_write(self, sku: str) -> None:
        self.counters.writes_per_sku[sku] += 1

    # ------------------------------------------------------------------ the gate every platform call passes

    def take_budget(self, key: str) -> bool:
        """Token bucket of one second of budget per key; False when the caller is over the limit."""
        if self.rate_limit is None:
            return True
        now = time.monotonic()
        tokens, stamp = self._buckets.get(key, (self.rate_limit, now))
        tokens = min(self.rate_limit, tokens + (now - stamp) * self.rate_limit)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1, now)
        return True

    async def gate(self, request: web.Request, limit_key: str) -> web.StreamResponse | None:
        """Latency, rate limit and injected faults, in that order; a response ends the call."""
        self.counters.requests += 1
        self.counters.recent.append(time.monotonic())
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        if time.time() < self.faults.throttle_until or not self.take_budget(limit_key):
            self.counters.throttled += 1
            return self.throttle_response()
        return await self._injected(request)

    async def _injected(self, request: web.Request) -> web.StreamResponse | None:
        roll = self.random.random()
        if roll < self.faults.error_rate:
            self.counters.injected_errors += 1
            return self.server_error_response()
        roll -= self.faults.error_rate
        if roll < self.faults.timeout_rate:
            self.counters.injected_errors += 1
            await asyncio.sleep(self.faults.timeout_seconds)
            return self.server_error_response()
        roll -= self.faults.timeout_rate
        if roll < self.faults.malformed_rate:
            self.counters.injected_errors += 1
            return web.Response(status=200, body=b'{"truncated": ', content_type="application/json")
        return None

    def lose_response(self, request: web.Request) -> bool:
        """After a successful write: True when this response is to be lost (the connection is cut)."""
        if self.faults.lose_next_writes > 0:
            self.faults.lose_next_writes -= 1
        elif self.random.random() >= self.faults.lost_write_rate:
            return False
        self.counters.lost_writes += 1
        if request.transport is not None:
            request.transport.close()
        return True

    # ------------------------------------------------------------------ webhooks

    def push(self, shop: SbShop, event: Mapping[str, Any]) -> None:
        """Send a signed webhook for ``event`` in the background, retried on the platform's schedule."""
        if not self.webhook_url:
            return
        task = asyncio.get_running_loop().create_task(self._deliver(shop, dict(event)))
        self._pushes.add(task)
        task.add_done_callback(self._pushes.discard)

    async def _deliver(self, shop: SbShop, event: dict[str, Any]) -> None:
        headers, body, url = self.signed_push(shop, event)
        delays = [0.0, *self.webhook_retry_schedule]
        for delay in delays:
            await asyncio.sleep(delay * self.webhook_retry_scale)
            if await self._post(url, headers, body):
                self.counters.webhooks_sent += 1
                return
        self.counters.webhooks_failed += 1

    async def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> bool:
        if self._client is None:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._client.post(url, data=body, headers=dict(headers)) as response:
                return 200 <= response.status < 300
        except (TimeoutError, aiohttp.ClientError):
            return False

    async def drain_pushes(self, seconds: float = 10.0) -> None:
        if self._pushes:
            await asyncio.wait(list(self._pushes), timeout=seconds)

    # ------------------------------------------------------------------ admin routes (/_sandbox/)

    def image_url(self, name: str = "default.png") -> str:
        """An image the lab's listing profiles point at: a PNG this sandbox serves (fetched by nfsync like any
        merchant's image, through the operator-allowed loopback host)."""
        return f"{self.base_url}/_sandbox/images/{name}"

    async def _lab_image(self, _request: web.Request) -> web.StreamResponse:
        return web.Response(body=LAB_PNG, content_type="image/png")

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        self.add_routes(app)
        app.router.add_get("/_sandbox/images/{name}", self._lab_image)
        app.router.add_post("/_sandbox/reset", self._admin_reset)
        app.router.add_post("/_sandbox/faults", self._admin_faults)
        app.router.add_post("/_sandbox/config", self._admin_config)
        app.router.add_post("/_sandbox/shops", self._admin_shop)
        app.router.add_post("/_sandbox/shops/{shop_id}/listings", self._admin_listings)
        app.router.add_get("/_sandbox/shops/{shop_id}/listings", self._admin_read_listings)
        app.router.add_post("/_sandbox/shops/{shop_id}/orders", self._admin_orders)
        app.router.add_post("/_sandbox/shops/{shop_id}/orders/{order_id}/advance", self._admin_advance)
        app.router.add_get("/_sandbox/counters", self._admin_counters)
        return app

    async def _admin_reset(self, _request: web.Request) -> web.Response:
        self.shops.clear()
        self.faults, self.counters, self._buckets = Faults(), Counters(), {}
        return web.json_response({"ok": True})

    async def _admin_faults(self, request: web.Request) -> web.Response:
        body = await request.json()
        throttle = float(body.pop("throttle_seconds", 0))
        faults = Faults()
        for key, value in body.items():
            if key not in Faults.__dataclass_fields__:
                return web.json_response({"error": f"unknown fault {key!r}"}, status=400)
            setattr(faults, key, type(getattr(faults, key))(value))
        self.faults = faults
        if throttle:
            self.faults.throttle_until = time.time() + throttle
        return web.json_response({"faults": asdict(self.faults)})

    async def _admin_config(self, request: web.Request) -> web.Response:
        body = await request.json()
        for name in ("webhook_url", "webhook_secret", "rate_limit", "webhook_retry_scale"):
            if name in body:
                setattr(self, name, body[name])
        return web.json_response({"ok": True})

    async def _admin_shop(self, request: web.Request) -> web.Response:
        body = await request.json()
        shop = self.add_shop(
            str(body["shop_id"]),
            body.get("name"),
            access_token=body.get("access_token"),
            refresh_token=body.get("refresh_token"),
            **body.get("extra", {}),
        )
        return web.json_response({"shop_id": shop.shop_id, "extra": shop.extra})

    def _shop(self, request: web.Request) -> SbShop:
        shop = self.shops.get(request.match_info["shop_id"])
        if shop is None:
            raise web.HTTPNotFound(text="unknown shop")
        return shop

    async def _admin_listings(self, request: web.Request) -> web.Response:
        """{"listings": [{name, variants: [{sku, price, stock, options, barcode}]}]} or {"generate": n}."""
        shop, body = self._shop(request), await request.json()
        specs = body.get("listings") or [
            {"name": f"Generated {i}", "variants": [{"sku": f"GEN-{i:06d}", "price": "150000", "stock": 10}]}
            for i in range(int(body.get("generate", 0)))
        ]
        created = [self.add_listing(shop, s["name"], s["variants"]).item_id for s in specs]
        return web.json_response({"item_ids": created})

    async def _admin_read_listings(self, request: web.Request) -> web.Response:
        shop = self._shop(request)
        return web.json_response({"listings": [_plain(asdict(listing)) for listing in shop.listings.values()]})

    async def _admin_orders(self, request: web.Request) -> web.Response:
        """{"lines": [{sku, quantity}], "status"?: str} or {"generate": n}; each new order is pushed."""
        shop, body = self._shop(request), await request.json()
        count = int(body.get("generate", 0)) or 1
        orders = []
        for _ in range(count):
            lines = body.get("lines") or [{"sku": "GEN-000000", "quantity": 1}]
            order = self.add_order(shop, lines, status=body.get("status") or self.initial_order_status())
            self.push(shop, {"kind": "order_status_changed", "order": order})
            orders.append(order.order_id)
        return web.json_response({"order_ids": orders})

    async def _admin_advance(self, request: web.Request) -> web.Response:
        shop, body = self._shop(request), await request.json() if request.can_read_body else {}
        order = shop.orders.get(request.match_info["order_id"])
        if order is None:
            raise web.HTTPNotFound(text="unknown order")
        order.status = body.get("status") or self.next_order_status(order.status)
        order.updated_at = max(time.time(), order.updated_at + 0.001)
        self.push(shop, {"kind": "order_status_changed", "order": order})
        return web.json_response({"order_id": order.order_id, "status": order.status})

    async def _admin_counters(self, _request: web.Request) -> web.Response:
        c = self.counters
        return web.json_response(
            {
                "requests": c.requests,
                "requests_per_second": c.requests_per_second(),
                "throttled": c.throttled,
                "injected_errors": c.injected_errors,
                "lost_writes": c.lost_writes,
                "refreshes": c.refreshes,
                "creates": c.creates,
                "writes_per_sku": dict(c.writes_per_sku),
                "duplicate_listings": self.duplicate_listings(),
                "webhooks_sent": c.webhooks_sent,
                "webhooks_failed": c.webhooks_failed,
            }
        )

    def initial_order_status(self) -> str:
        return self.order_statuses[0]

    def next_order_status(self, status: str) -> str:
        statuses = self.order_statuses
        index = statuses.index(status) if status in statuses else -1
        return statuses[min(index + 1, len(statuses) - 1)]

    order_statuses: ClassVar[Sequence[str]] = ("UNPAID", "READY_TO_SHIP", "SHIPPED", "COMPLETED")

    # ------------------------------------------------------------------ running

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.build_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]  # (host, port) actually bound: port 0 resolved
        self.base_url = f"http://{host}:{bound[1]}"
        return self.base_url

    async def stop(self) -> None:
        for task in list(self._pushes):
            task.cancel()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @contextlib.asynccontextmanager
    async def running(self, host: str = "127.0.0.1", port: int = 0) -> Any:
        await self.start(host, port)
        try:
            yield self
        finally:
            await self.stop()


def _plain(value: Any) -> Any:
    """Decimals as strings for JSON."""
    return json.loads(json.dumps(value, default=str))


LAB_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c63f8cfc0000003010100c9fe92ef"
    "0000000049454e44ae426082"
)
"""A 1x1 PNG: what the sandboxes serve as the lab's product image."""


def is_jpeg_or_png(data: bytes) -> bool:
    """The image types every platform's upload takes, by their first bytes (the sandboxes' media endpoints)."""
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))


def _barcode(value: Any) -> str | None:
    """A seeded variant's ``barcode``: text as given ("" and whitespace included, so a sandbox can answer them the
    way a merchant's blank field comes back), None when absent."""
    return None if value is None else str(value)
