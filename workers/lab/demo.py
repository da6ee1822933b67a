"""`nfsync demo` (and `make demo`): the whole service end to end in one process, against the four sandboxes.

1. a fresh database (``--database``, dropped and recreated), a secret key for the run when NFSYNC_SECRET_KEYS is
   unset (never shown), an organization, an API token, a merchant catalog of ``--variants`` variants;
2. the four platform sandboxes (``--rate`` calls/s each), the HTTP API, the scheduler and one worker running the
   real sync handlers for all four platforms;
3. one shop per platform connected over the API (OAuth for Shopee, Lazada and TikTok Shop; API keys for
   WooCommerce), on the catalog's sale channel;
4. shop_sync, then a full product_sync of the catalog to every shop; sandbox orders that come back by webhook and
   must land in the CRM exactly once; a CRM stock change that must reach every shop (its latency is measured);
   two combos and an add-on, and a change of the combos' shared component that must reach every shop's combos;
5. a summary: a table and the commands to run next, or ``--json`` one JSON object on stdout (and nothing else
   there). ``--keep-running`` leaves it all up until Ctrl-C.

RabbitMQ: its own virtual host, ``nfsync-demo`` (created through the management API, kept for the next run), so that
it never takes another installation's wake-ups or commands on the same broker; without the management API, the
configured NFSYNC_AMQP_URL and a warning.

Every phase shares one deadline (``--timeout``); a phase that misses it, or a task that fails, ends the demo
with one line naming what did not happen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import asyncpg
from aiohttp import web

from nfsync.connectors.base.errors import NfsyncError, ValidationFailed
from nfsync.connectors.base.listing import ListingRules
from nfsync.connectors.base.sandbox import SandboxBase
from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.base.spec import PLATFORM_PACKAGES, load
from nfsync.workers import crm
from nfsync.workers.api.app import api_runner, api_state
from nfsync.workers.api.auth import create_organization, create_token
from nfsync.workers.config import Settings, mask_url
from nfsync.workers.crypto import generate_key_entry
from nfsync.workers.db.schema import drop_database, init_database
from nfsync.workers.engine.events import EventPublisher
from nfsync.workers.engine.runtime import Runtime, install_stop_signals, runtime
from nfsync.workers.engine.scheduler import Scheduler
from nfsync.workers.engine.subscribers import SubscriberDelivery
from nfsync.workers.engine.worker import Worker
from nfsync.workers.lab.demo_data import DemoCatalog, add_addon, add_combo, seed_catalog
from nfsync.workers.lab.demo_hints import Hint, make_hint
from nfsync.workers.lab.demo_shops import ApiClient, DemoShop, connect
from nfsync.workers.lab.demo_view import Snapshot, View, make_view
from nfsync.workers.lab.queries import QUERIES
from nfsync.workers.lab.vhosts import VhostUnavailable, create_vhost
from nfsync.workers.logs import configure_logging, get_logger
from nfsync.workers.sync import REGISTRY
from nfsync.workers.upkeep import upkeep_for

log = get_logger(__name__)
PLATFORMS = PLATFORM_PACKAGES
SHOP_IDS = {"shopee": "880001", "lazada": "880002", "tiktok": "880003", "woocommerce": "880004", "shopify": "880005"}
TOKEN_SCOPES = ["tasks:read", "tasks:write", "integrations:write", "ops:read", "ops:write"]
TERMINAL = frozenset({"completed", "failed", "cancelled"})
POLL_SECONDS = 0.2
STOCK_POLL_SECONDS = 0.05
VIEW_REFRESH_SECONDS = 0.5
VIEW_TASKS = 100  # the newest tasks the view looks at
WORKER_CONCURRENCY = 8
POOL_SIZE = 24  # the worker's claims, outcomes, heartbeats and handlers, the scheduler, the view
NEW_STOCK_BASE = 300  # above any seeded on-hand quantity (0-199): every change is a real change
COMBO_COMPONENT_AVAILABLE = 3  # the shared component's new available quantity: it then limits both combos
DEMO_VHOST = "nfsync-demo"  # the demo's own RabbitMQ virtual host: no other installation's wake-ups or commands
NOT_RERUN = frozenset({"json", "keep_running"})  # the options the --keep-running hint does not repeat
_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class DemoFailed(NfsyncError):
    """The demo did not complete."""


@dataclass(frozen=True)
class DemoOptions:
    database: str = "nfsync_demo"
    variants: int = 2000
    rate: int = 50
    port: int = 0
    orders: int = 5
    stock_changes: int = 3
    timeout: float = 600.0
    json: bool = False
    keep_running: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DemoOptions:
        options = cls(
            database=args.database,
            variants=args.variants,
            rate=args.rate,
            port=args.port,
            orders=args.orders,
            stock_changes=args.stock_changes,
            timeout=args.timeout,
            json=args.json,
            keep_running=args.keep_running,
        )
        if options.variants < 1 or options.rate < 1 or options.orders < 1 or options.timeout <= 0:
            raise ValidationFailed("--variants, --rate, --orders and --timeout must be positive")
        if not 1 <= options.stock_changes <= options.variants // 2:
            raise ValidationFailed("--stock-changes must be between 1 and half of --variants")
        return options

    def rerun_args(self) -> list[str]:
        """The options that differ from the defaults, as flags (--json and --keep-running left out)."""
        args: list[str] = []
        for option in fields(self):
            value = getattr(self, option.name)
            if option.name in NOT_RERUN or value == option.default:
                continue
            args += _flag(option.name, value)
        return args


def _flag(name: str, value: object) -> list[str]:
    flag = "--" + name.replace("_", "-")
    return [flag] if isinstance(value, bool) else [flag, str(value)]


class Deadline:
    """The one deadline every phase shares."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def until(
        self,
        check: Callable[[], Awaitable[bool]],
        what: str,
        *,
        interval: float = POLL_SECONDS,
        detail: Callable[[], str] | None = None,
    ) -> None:
        """Poll ``check`` until it holds; DemoFailed naming ``what`` (and ``detail()``, how far it got) when the
        deadline passes first."""
        while not await check():
            if self.elapsed() > self.seconds:
                where = f" ({detail()})" if detail is not None else ""
                raise DemoFailed(f"{what}: not done within the {self.seconds:g} s deadline{where}")
            await asyncio.sleep(interval)


@dataclass
class Demo:
    options: DemoOptions
    settings: Settings
    view: View
    rt: Runtime
    api: ApiClient
    org: uuid.UUID
    catalog: DemoCatalog
    sandboxes: dict[str, SandboxBase]
    deadline: Deadline
    shops: list[DemoShop] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def pool(self) -> asyncpg.Pool:
        return self.rt.pool

    @contextlib.asynccontextmanager
    async def phase(self, name: str, title: str) -> AsyncIterator[None]:
        self.view.phase(title)
        started = time.monotonic()
        yield
        self.phases[name] = round(time.monotonic() - started, 2)


# ---------------------------------------------------------------------------------------------------- set-up


async def fresh_database(settings: Settings, name: str) -> Settings:
    """Drop and recreate ``name`` on the configured server, with schema.sql applied."""
    demo = settings.model_copy(update={"database_url": settings.database_url_for(name)})
    await drop_database(settings, name)
    await init_database(demo)
    return demo


def demo_broker(settings: Settings) -> Settings:
    """The settings pointed at the demo's own RabbitMQ virtual host (created, or reused, through the management API),
    so that the demo neither takes another installation's wake-ups and commands nor hands it its own. Without the
    management API: the configured URL, and one warning."""
    try:
        amqp_url = create_vhost(settings.amqp_url, settings.rabbitmq_management_url, DEMO_VHOST)
    except VhostUnavailable as exc:
        log.warning(
            "demo.vhost_unavailable",
            vhost=DEMO_VHOST,
            amqp_url=mask_url(settings.amqp_url),
            error=str(exc),
            consequence="the demo shares the configured vhost with any other installation on this broker",
        )
        return settings
    return settings.model_copy(update={"amqp_url": amqp_url})


def amqp_vhost(settings: Settings) -> str:
    """The virtual host of the AMQP URL (``/`` when the URL names none)."""
    path = urlsplit(settings.amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def demo_settings(settings: Settings, api_url: str) -> Settings:
    """A key for this run when none is configured (kept in memory only), the API's own URL for webhook URLs and
    Shopee's push signatures, and an idle poll of at most a second (wake-ups are shared with other processes)."""
    keys = settings.secret_keys or Secret(generate_key_entry("demo"))
    return settings.model_copy(
        update={
            "secret_keys": keys,
            "public_base_url": api_url,
            "idle_poll_seconds": min(settings.idle_poll_seconds, 1.0),
        }
    )


def listen_socket(port: int) -> socket.socket:
    """Bound before anything starts, so that the URL (port 0: a free one) is known to the settings."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise DemoFailed(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    return sock


def make_sandbox(platform: str, rate: int) -> SandboxBase:
    spec = load_sandbox(platform)
    hook_secret = secrets.token_urlsafe(24) if platform == "woocommerce" else None  # signs WooCommerce pushes
    return spec.sandbox(dict(spec.sample_app), rate_limit=float(rate), webhook_secret=hook_secret)


@contextlib.asynccontextmanager
async def serve_api(settings: Settings, sock: socket.socket) -> AsyncIterator[None]:
    async with api_state(settings) as state:
        runner = api_runner(state)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
            yield
        finally:
            await runner.cleanup()


@contextlib.asynccontextmanager
async def run_worker(settings: Settings, rt: Runtime) -> AsyncIterator[Worker]:
    async with REGISTRY.open_resources(settings, rt.pool) as resources:
        worker = Worker(
            settings,
            REGISTRY,
            PLATFORMS,
            pool=rt.pool,
            connection=rt.connection,
            concurrency=WORKER_CONCURRENCY,
            resources=resources,
        )
        await worker.start()
        try:
            yield worker
        finally:
            await worker.shutdown()


async def snapshot(pool: asyncpg.Pool) -> Snapshot:
    tasks = await pool.fetch(QUERIES["demo_tasks"], VIEW_TASKS)
    queues = await pool.fetch(QUERIES["ops_queue_stats"], None, list(PLATFORMS))
    return Snapshot([dict(r) for r in tasks], [dict(r) for r in queues])


@contextlib.asynccontextmanager
async def watching(view: View, pool: asyncpg.Pool) -> AsyncIterator[None]:
    """Refresh the live view from the database in the background (not at all with --json)."""

    async def loop() -> None:
        while True:
            try:
                view.refresh(await snapshot(pool))
            except _DB_ERRORS as exc:  # a missed refresh is no reason to stop the demo
                log.warning("demo.view_refresh_failed", error=str(exc) or type(exc).__name__)
            await asyncio.sleep(VIEW_REFRESH_SECONDS)

    job = asyncio.create_task(loop(), name="demo-view") if view.live else None
    try:
        yield
    finally:
        if job is not None:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job


@contextlib.asynccontextmanager
async def environment(settings: Settings, options: DemoOptions, view: View) -> AsyncIterator[Demo]:
    """Everything the demo runs, started in order and stopped in reverse."""
    deadline = Deadline(options.timeout)
    view.phase("preparing the database")
    async with contextlib.AsyncExitStack() as stack:
        sock = listen_socket(options.port)
        stack.callback(sock.close)
        api_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = demo_settings(await fresh_database(settings, options.database), api_url)
        rt = await stack.enter_async_context(runtime(settings, "nfsync-demo", pool_size=POOL_SIZE))
        org, token, catalog = await seed(rt.pool, options.variants)
        view.note(f"seeded a catalog of {len(catalog.product_ids)} products, {len(catalog.variant_ids)} variants")
        sandboxes = {p: make_sandbox(p, options.rate) for p in PLATFORMS}
        for sandbox in sandboxes.values():
            await stack.enter_async_context(sandbox.running())
        await stack.enter_async_context(serve_api(settings, sock))
        session = await stack.enter_async_context(aiohttp.ClientSession())
        await stack.enter_async_context(run_worker(settings, rt))
        events = EventPublisher(settings, rt.pool, rt.connection) if rt.connection is not None else None
        upkeep = await stack.enter_async_context(upkeep_for(settings, rt.pool))
        await stack.enter_async_context(SubscriberDelivery.from_settings(settings, rt.pool).running())
        await stack.enter_async_context(Scheduler(settings, rt.pool, rt.service, events, upkeep).running())
        await stack.enter_async_context(watching(view, rt.pool))
        api = ApiClient(session, api_url, token.reveal())
        yield Demo(options, settings, view, rt, api, org, catalog, sandboxes, deadline)


async def seed(pool: asyncpg.Pool, variants: int) -> tuple[uuid.UUID, Secret, DemoCatalog]:
    """The organization, its API token (a Secret: scrubbed from any log line) and the merchant's catalog."""
    org = await create_organization(pool, "Demo")
    token = Secret(await create_token(pool, org, TOKEN_SCOPES, "demo"))
    async with pool.acquire() as conn:
        catalog = await seed_catalog(conn, organization_id=org, variants=variants)
    return org, token, catalog


def bundle_parts(demo: Demo) -> list[str]:
    """Five plain variants for the demo's bundles: neither the incomplete product's nor the stock-change ones."""
    catalog = demo.catalog
    eligible = [
        v
        for v in catalog.variant_ids[: len(catalog.variant_ids) - demo.options.stock_changes]
        if catalog.product_of[v] != incomplete_product(demo)
    ]
    middle = len(eligible) // 2
    return eligible[middle : middle + 5]


async def add_bundles(demo: Demo) -> None:
    """Two combos (2 x a + b; b + c) and one add-on (e free with every d), on the channel before the catalog push."""
    parts = bundle_parts(demo)
    if len(parts) < 5:
        demo.view.note("too few variants for the demo's combos: none added")
        return
    a, b, c, d, e = parts
    async with demo.pool.acquire() as conn:
        await add_combo(conn, demo.catalog, [(a, Decimal(2)), (b, Decimal(1))], name="duo", price=Decimal(499000))
        await add_combo(conn, demo.catalog, [(b, Decimal(1)), (c, Decimal(1))], name="pair", price=Decimal(299000))
        await add_addon(conn, d, e)
    skus = demo.catalog.skus
    demo.view.note(
        f"combos {', '.join(skus[x] for x in demo.catalog.combos)} sell from their components' stock; "
        f"{skus[e]} comes free with {skus[d]}"
    )


# ---------------------------------------------------------------------------------------------------- phases


async def connect_shops(demo: Demo) -> None:
    async with demo.phase("connect", "connecting one shop per platform over the API"):
        for platform in PLATFORMS:
            shop = await connect(
                demo.api,
                demo.sandboxes[platform],
                shop_id=SHOP_IDS[platform],
                channel=demo.catalog.sale_channel_id,
                rate=demo.options.rate,
            )
            demo.shops.append(shop)
            demo.view.note(f"connected {shop.label} ({shop.connected_by})")
        await profile_incomplete_product(demo)


INCOMPLETE_CATEGORY = "100017"  # the sandboxes' Women's T-shirts: a mandatory Material (sandbox_categories.py)


def incomplete_product(demo: Demo) -> str:
    """The product the demo lists in a category whose mandatory attribute its profile lacks: a failed item with the
    reason on the platforms that check (issue #16), and no call for it."""
    return demo.catalog.product_ids[0]


async def profile_incomplete_product(demo: Demo) -> None:
    product = incomplete_product(demo)
    for shop in demo.shops:
        if load(shop.platform).listing != ListingRules():
            path = f"/v1/listing-profiles/{shop.integration_id}/products/{product}"
            await demo.api.call("PUT", path, {"category_id": INCOMPLETE_CATEGORY})
    demo.view.note(f"product {product} is given category {INCOMPLETE_CATEGORY} without its mandatory Material")


async def enqueue(demo: Demo, shop: DemoShop, task_type: str, direction: str) -> uuid.UUID:
    """Through the API, as any other system would."""
    body = {
        "integration_id": str(shop.integration_id),
        "shop_id": str(shop.shop_id),
        "task_type": task_type,
        "direction": direction,
    }
    created = await demo.api.call("POST", "/v1/sync-tasks", body)
    return uuid.UUID(created["task_id"])


async def run_tasks(demo: Demo, task_type: str, direction: str, what: str) -> dict[uuid.UUID, asyncpg.Record]:
    """One task per shop, waited for; their final rows by shop id. A failed or cancelled task ends the demo."""
    ids = [await enqueue(demo, shop, task_type, direction) for shop in demo.shops]
    rows: dict[uuid.UUID, asyncpg.Record] = {}

    async def finished() -> bool:
        for row in await demo.pool.fetch(QUERIES["demo_tasks_by_id"], ids):
            if row["status"] in ("failed", "cancelled"):
                raise DemoFailed(f"{what}: {row['platform']} {task_type} {row['status']}: {row['error_message']}")
            rows[row["shop_id"]] = row
        return len(rows) == len(ids) and all(row["status"] in TERMINAL for row in rows.values())

    def unfinished() -> str:
        return ", ".join(f"{r['platform']} {r['status']}" for r in rows.values() if r["status"] not in TERMINAL)

    await demo.deadline.until(finished, what, detail=unfinished)
    return rows


async def sync_catalog(demo: Demo) -> dict[uuid.UUID, asyncpg.Record]:
    async with demo.phase("shop_sync", "shop_sync: reading each shop from its platform"):
        await run_tasks(demo, "shop_sync", "marketplace_to_crm", "shop_sync")
    async with demo.phase("catalog", f"product_sync: pushing {demo.options.variants} variants to every shop"):
        rows = await run_tasks(demo, "product_sync", "crm_to_marketplace", "catalog push (product_sync)")
    for shop in demo.shops:
        row = rows[shop.shop_id]
        demo.view.note(f"{shop.label}: {row['successful_items']} listings pushed, {row['failed_items']} failed")
        for failure in await demo.pool.fetch(QUERIES["demo_failed_items"], row["id"]):
            demo.view.note(f"{shop.label}: {failure['entity_id']}: {failure['error_message']}")
    return rows


def order_variants(demo: Demo) -> list[str]:
    """The variants the demo's orders buy: spread over the catalog, never the stock-change ones."""
    unlisted = incomplete_product(demo)
    variants = [
        v
        for v in demo.catalog.variant_ids[: len(demo.catalog.variant_ids) - demo.options.stock_changes]
        if demo.catalog.product_of[v] != unlisted
    ]
    count = demo.options.orders * len(demo.shops)
    return [variants[(i * 97) % len(variants)] for i in range(count)]


async def place_orders(demo: Demo) -> list[tuple[DemoShop, str]]:
    """Sandbox orders, each announced by the platform's signed push to the API's webhook URL (all at once, as a
    busy shop sends them)."""
    placed = []
    variants = iter(order_variants(demo))
    for shop in demo.shops:
        for number in range(demo.options.orders):
            sku = demo.catalog.skus[next(variants)]
            order = shop.sandbox.add_order(
                shop.sb_shop, [{"sku": sku, "quantity": 1 + number % 2}], status=shop.sandbox.initial_order_status()
            )
            shop.sandbox.push(shop.sb_shop, {"kind": "order_status_changed", "order": order})
            placed.append((shop, order.order_id))
    for shop in demo.shops:
        await shop.sandbox.drain_pushes()
    return placed


async def import_orders(demo: Demo) -> dict[str, Any]:
    """Orders placed on every platform; waits until each is a CRM order, and checks none is there twice."""
    async with demo.phase("orders", "orders: placed on the platforms, imported by webhook"):
        placed = await place_orders(demo)
        keys = ([s.platform for s, _ in placed], [s.sb_shop.shop_id for s, _ in placed], [o for _, o in placed])
        copies: dict[tuple[str, str], int] = {}

        async def imported() -> bool:
            for row in await demo.pool.fetch(QUERIES["demo_order_copies"], *keys):
                copies[(row["platform"], row["order_id"])] = row["copies"]
            return all(count >= 1 for count in copies.values())

        def missing() -> str:
            refused = sum(shop.sandbox.counters.webhooks_failed for shop in demo.shops)
            return f"{sum(1 for n in copies.values() if n)} of {len(placed)} imported, {refused} pushes refused"

        await demo.deadline.until(imported, "order import", detail=missing)
    total = await demo.pool.fetchval(QUERIES["demo_orders_total"])
    duplicates = sum(count - 1 for count in copies.values()) + (total - len(copies))
    if duplicates:
        raise DemoFailed(f"order import: {duplicates} order(s) were imported more than once")
    demo.view.note(f"{len(placed)} orders imported into the CRM by webhook, each exactly once")
    per_shop = {
        shop.platform: sum(1 for (p, _), n in copies.items() if p == shop.platform and n) for shop in demo.shops
    }
    return {"placed": len(placed), "imported": total, "duplicates": duplicates, "per_shop": per_shop}


async def change_stock(demo: Demo) -> dict[str, Any]:
    """New CRM stock for a few listed variants; how long until every shop shows it."""
    async with demo.phase("stock", "stock change: CRM -> every shop"):
        variants = demo.catalog.variant_ids[-demo.options.stock_changes :]
        quantities = [NEW_STOCK_BASE + 7 * i for i in range(len(variants))]
        started = time.monotonic()
        rows = await demo.pool.fetch(QUERIES["demo_stock_set"], variants, quantities)
        wanted = {demo.catalog.skus[r["variant_id"]]: r["available"] for r in rows}
        seen: dict[uuid.UUID, float] = {}

        async def everywhere() -> bool:
            for shop in demo.shops:
                if shop.shop_id not in seen and _shows(shop, wanted):
                    seen[shop.shop_id] = time.monotonic() - started
            return len(seen) == len(demo.shops)

        def behind() -> str:
            return "not yet on " + ", ".join(s.label for s in demo.shops if s.shop_id not in seen)

        await demo.deadline.until(
            everywhere, f"stock change of {len(variants)} variants", interval=STOCK_POLL_SECONDS, detail=behind
        )
    latency = {shop: round(seconds * 1000) for shop, seconds in seen.items()}
    demo.view.note(f"stock change seen on every shop after {max(latency.values())} ms")
    return {"variants": sorted(wanted), "latency_ms": max(latency.values()), "per_shop": latency}


async def change_component(demo: Demo) -> dict[str, Any]:
    """New CRM stock for the component both combos share; how long until every shop offers the combos what they
    can now make."""
    combos = demo.catalog.combos
    if not combos:
        return {"combos": [], "latency_ms": None, "per_shop": {}, "seen_on_every_shop": False}
    component = bundle_parts(demo)[1]
    async with demo.phase("combo", "component change: CRM -> every combo on every shop"):
        started = time.monotonic()
        await demo.pool.execute(QUERIES["demo_stock_set_available"], component, COMBO_COMPONENT_AVAILABLE)
        async with demo.pool.acquire() as conn:
            found = await crm.bundles_around(conn, combos)
        offers = {demo.catalog.skus[c]: found.offer(c) for c in combos}
        wanted = {sku: offer.available for sku, offer in offers.items()}
        seen: dict[uuid.UUID, float] = {}

        async def everywhere() -> bool:
            for shop in demo.shops:
                if shop.shop_id not in seen and _shows(shop, wanted):
                    seen[shop.shop_id] = time.monotonic() - started
            return len(seen) == len(demo.shops)

        await demo.deadline.until(everywhere, "combo stock after a component change", interval=STOCK_POLL_SECONDS)
    latency = {shop: round(seconds * 1000) for shop, seconds in seen.items()}
    made = ", ".join(f"{sku} {offer.available} (limited by {offer.limited_by_sku})" for sku, offer in offers.items())
    demo.view.note(
        f"component {demo.catalog.skus[component]} now {COMBO_COMPONENT_AVAILABLE} available: combos {made} on every "
        f"shop after {max(latency.values())} ms"
    )
    return {
        "component": demo.catalog.skus[component],
        "combos": wanted,
        "limited_by": {sku: offer.limited_by_sku for sku, offer in offers.items()},
        "latency_ms": max(latency.values()),
        "per_shop": latency,
        "seen_on_every_shop": len(latency) == len(demo.shops),
    }


def _shows(shop: DemoShop, wanted: Mapping[str, int]) -> bool:
    for sku, quantity in wanted.items():
        found = shop.sandbox.find_variant(shop.sb_shop, sku)
        if found is None or found[1].stock != quantity:
            return False
    return True


# ---------------------------------------------------------------------------------------------------- summary


async def summarize(
    demo: Demo, catalog_rows: dict[uuid.UUID, asyncpg.Record], orders: dict[str, Any], stock: dict[str, Any]
) -> dict[str, Any]:
    shop_ids = [s.shop_id for s in demo.shops]
    listed = {r["shop_id"]: r["variants"] for r in await demo.pool.fetch(QUERIES["demo_listed_variants"], shop_ids)}
    shops = [_shop_summary(s, catalog_rows[s.shop_id], listed.get(s.shop_id, 0), orders, stock) for s in demo.shops]
    for shop, summary in zip(demo.shops, shops, strict=True):
        failures = await demo.pool.fetch(QUERIES["demo_failed_items"], catalog_rows[shop.shop_id]["id"])
        summary["failed_items"] = [{"entity_id": f["entity_id"], "reason": f["error_message"]} for f in failures]
    return {
        "ok": True,
        "database": demo.options.database,
        "variants": len(demo.catalog.variant_ids),
        "combos": len(demo.catalog.combos),
        "products": len(demo.catalog.product_ids),
        "rate_limit": demo.options.rate,
        "shops": shops,
        "incomplete_product": {
            "product_id": incomplete_product(demo),
            "variants": sum(1 for p in demo.catalog.product_of.values() if p == incomplete_product(demo)),
            "category_id": INCOMPLETE_CATEGORY,
        },
        "orders": {k: orders[k] for k in ("placed", "imported", "duplicates")},
        "stock_change": {
            "variants": stock["variants"],
            "latency_ms": stock["latency_ms"],
            "seen_on_every_shop": len(stock["per_shop"]) == len(demo.shops),
        },
        "phases_seconds": demo.phases,
        "wall_seconds": round(demo.deadline.elapsed(), 2),
        "dashboard_url": f"{demo.api.base_url}/ops",
        "amqp_vhost": amqp_vhost(demo.settings),
        "token_hint": token_hint(demo).command,
        "hints": hints(demo),
    }


def _shop_summary(
    shop: DemoShop, row: asyncpg.Record, listed: int, orders: dict[str, Any], stock: dict[str, Any]
) -> dict[str, Any]:
    """The shop's catalog push (items, calls, throttles, duration), its orders and its stock-change latency."""
    result = row["result"] if isinstance(row["result"], dict) else {}
    seconds = (row["completed_at"] - row["started_at"]).total_seconds()
    return {
        "platform": shop.platform,
        "shop": shop.sb_shop.shop_id,
        "connected_by": shop.connected_by,
        "items_successful": row["successful_items"],
        "items_failed": row["failed_items"],
        "variants_listed": listed,
        "calls": int(result.get("calls", 0)),
        "throttled": int(result.get("throttled", 0)),
        "catalog_seconds": round(seconds, 2),
        "orders_placed": orders["placed"] // len(orders["per_shop"]),
        "orders_imported": orders["per_shop"][shop.platform],
        "stock_latency_ms": stock["per_shop"][shop.shop_id],
    }


def hints(demo: Demo) -> list[Hint]:
    """What to run next: the demo's tasks (its database stays), and the live dashboard (``--keep-running``)."""
    tasks = make_hint(
        _password_note(demo, f"the demo's tasks (database {demo.options.database} stays until the next run)"),
        _database_env(demo),
        ["tasks", "list"],
    )
    if demo.options.keep_running:
        return [tasks, token_hint(demo)]
    rerun = make_hint(
        "the live dashboard: the demo again, left running", {}, ["demo", *demo.options.rerun_args(), "--keep-running"]
    )
    return [tasks, rerun]


def token_hint(demo: Demo) -> Hint:
    """How to get a dashboard token: the demo's own token is never shown."""
    return make_hint(
        _password_note(demo, f"a token for the dashboard ({demo.api.base_url}/ops)"),
        _database_env(demo),
        ["tokens", "create", "--org", str(demo.org), "--scopes", "ops:read,tasks:write"],
    )


def _database_env(demo: Demo) -> dict[str, str]:
    """The demo's database for a command run beside it; a password stays masked (see _password_note)."""
    return {"NFSYNC_DATABASE_URL": mask_url(demo.settings.database_url)}


def _password_note(demo: Demo, purpose: str) -> str:
    masked = mask_url(demo.settings.database_url) != demo.settings.database_url
    return f"{purpose}; type the database password in place of ***" if masked else purpose


async def run_demo(settings: Settings, options: DemoOptions, view: View) -> dict[str, Any]:
    async with environment(settings.with_local_sandboxes(), options, view) as demo:
        await connect_shops(demo)
        await add_bundles(demo)
        catalog_rows = await sync_catalog(demo)
        orders = await import_orders(demo)
        stock = await change_stock(demo)
        combo = await change_component(demo)
        summary = await summarize(demo, catalog_rows, orders, stock)
        summary["combo_stock"] = {k: v for k, v in combo.items() if k != "per_shop"}
        view.refresh(await snapshot(demo.pool))
        view.finish(summary)
        if options.keep_running:
            await keep_running(view, summary["dashboard_url"])
        return summary


async def keep_running(view: View, dashboard: str) -> None:
    stop = asyncio.Event()
    install_stop_signals(stop.set)
    view.note(f"everything keeps running until Ctrl-C ({dashboard})")
    await stop.wait()


# ---------------------------------------------------------------------------------------------------- command


async def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    options = DemoOptions.from_args(args)
    configure_logging("warning", settings.log_format)
    settings = await asyncio.to_thread(demo_broker, settings)
    view = make_view(options.json)
    try:
        await run_demo(settings, options, view)
    finally:
        view.close()
    return 0


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="the whole service end to end against the four sandboxes (a fresh database)")
    demo.add_argument("--database", default="nfsync_demo", help="database to drop and recreate (default nfsync_demo)")
    demo.add_argument("--variants", type=int, default=2000, help="catalog size in variants (default 2000)")
    demo.add_argument("--rate", type=int, default=50, help="calls/s per shop, sandboxes and integrations (default 50)")
    demo.add_argument("--port", type=int, default=0, help="API port on 127.0.0.1 (default: a free one)")
    demo.add_argument("--orders", type=int, default=5, help="orders placed per shop (default 5)")
    demo.add_argument("--stock-changes", type=int, default=3, help="variants whose stock changes (default 3)")
    demo.add_argument("--timeout", type=float, default=600.0, help="seconds for the whole run (default 600)")
    demo.add_argument("--json", action="store_true", help="no live view: the summary as one JSON object on stdout")
    demo.add_argument("--keep-running", action="store_true", help="leave everything up until Ctrl-C")
    demo.set_defaults(handler=cmd_demo)
