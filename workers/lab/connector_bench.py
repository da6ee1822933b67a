"""`nfsync bench connector` and `nfsync sandbox`.

bench connector, per platform:
- calls per second through the full client stack (signing, token provider, limiter, retries, parsing) against an
  unthrottled in-process sandbox, ``--concurrency`` calls in flight;
- limiter utilisation: ``--processes`` OS processes share one limiter key (PostgreSQL limiter) against a sandbox
  that enforces ``--rate`` calls per second with the platform's throttle; reports the calls the sandbox served per
  second over the window, the share of the limit used, and how many throttled responses it sent (target: zero);
- image uploads (platforms whose listings take only images uploaded through their media API): distinct
  ``IMAGE_BYTES`` PNG files uploaded one at a time per shop, as the media pipeline does (workers/listing/media.py),
  unthrottled and against a sandbox enforcing ``--rate``: uploads per second per shop, and throttled responses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from nfsync.connectors.base.auth import LocalRateLimiter, MemoryTokenProvider, RateLimiter
from nfsync.connectors.base.client import AppCredentials, BaseClient, ClientSettings
from nfsync.connectors.base.models import TokenPair
from nfsync.connectors.base.sandbox import LAB_PNG, SandboxBase, SbShop
from nfsync.connectors.base.sandboxes import SandboxSpec, load_sandbox
from nfsync.connectors.base.secret import Secret
from nfsync.connectors.base.spec import PLATFORM_PACKAGES
from nfsync.workers.config import Settings
from nfsync.workers.db.schema import drop_database, init_database
from nfsync.workers.engine.runtime import engine_pool, install_stop_signals
from nfsync.workers.ratelimit import PostgresRateLimiter

SHOP_ID, ACCESS, REFRESH = "500600700", "bench-access-token-000001", "bench-refresh-token-000001"


def build_client(
    spec: SandboxSpec,
    base_url: str,
    shop: SbShop,
    session: aiohttp.ClientSession,
    *,
    limiter: RateLimiter,
    rate: float,
) -> BaseClient:
    tokens = None
    if spec.client.uses_tokens:
        tokens = MemoryTokenProvider(
            TokenPair(
                access_token=Secret(ACCESS),
                refresh_token=Secret(REFRESH),
                access_expires_at=datetime.now(UTC) + timedelta(hours=2),
            )
        )
    settings = ClientSettings(base_url=base_url, rate_limit=rate)
    client = spec.client(
        settings,
        AppCredentials(dict(spec.sample_app)),
        spec.shop_ref(shop, base_url),
        session=session,
        tokens=tokens,
        limiter=limiter,
    )
    if tokens is not None:
        tokens.bind(client.refresh_access)
    return client


async def _hammer(client: BaseClient, until: float, concurrency: int) -> int:
    calls = 0

    async def loop() -> None:
        nonlocal calls
        while time.time() < until:
            await client.get_shop_info()
            calls += 1

    await asyncio.gather(*[loop() for _ in range(concurrency)])
    return calls


async def calls_per_second(spec: SandboxSpec, seconds: float, concurrency: int) -> float:
    sandbox = spec.sandbox(dict(spec.sample_app), rate_limit=math.inf)  # explicitly unlimited
    async with sandbox.running(), aiohttp.ClientSession() as session:
        shop = sandbox.add_shop(SHOP_ID, "Bench shop", access_token=ACCESS, refresh_token=REFRESH)
        client = build_client(spec, sandbox.base_url, shop, session, limiter=LocalRateLimiter(), rate=1e9)
        started = time.time()
        calls = await _hammer(client, started + seconds, concurrency)
        return calls / (time.time() - started)


async def limiter_utilisation(
    settings: Settings, spec: SandboxSpec, *, processes: int, seconds: float, rate: float
) -> dict[str, Any]:
    """``processes`` processes share one limiter key against a sandbox enforcing ``rate``."""
    sandbox: SandboxBase = spec.sandbox(dict(spec.sample_app), rate_limit=rate)
    async with sandbox.running():
        shop = sandbox.add_shop(SHOP_ID, "Bench shop", access_token=ACCESS, refresh_token=REFRESH)
        start = time.time() + 3.0  # every process connected before the window opens
        children = [
            _spawn_child(settings, spec.name, sandbox.base_url, shop.extra, rate=rate, start=start, seconds=seconds)
            for _ in range(processes)
        ]
        await asyncio.sleep(max(0.0, start - time.time()))
        before = (sandbox.counters.requests, sandbox.counters.throttled)
        await asyncio.sleep(seconds)
        served = sandbox.counters.requests - before[0]
        throttled = sandbox.counters.throttled - before[1]
        outputs = await asyncio.gather(*[asyncio.to_thread(child.communicate, None, 60) for child in children])
    client_calls = sum(int(out[0] or 0) for out in outputs)
    ok = served - throttled
    return {
        "processes": processes,
        "rate_limit": rate,
        "seconds": seconds,
        "served_per_s": round(ok / seconds, 1),
        "utilisation": round(ok / (rate * seconds), 3),
        "throttled": throttled,
        "client_calls": client_calls,
    }


IMAGE_BYTES = 256 * 1024  # a typical product photo after compression; under Lazada's 1 MB upload limit


def _image(number: int) -> bytes:
    """A distinct PNG-signed file of ``IMAGE_BYTES`` (the sandboxes check the signature and the size)."""
    head = LAB_PNG + number.to_bytes(8, "big")
    return head + bytes(IMAGE_BYTES - len(head))


async def upload_rate(spec: SandboxSpec, *, seconds: float, rate: float) -> dict[str, Any]:
    """Uploads per second of one shop, one at a time (the pipeline's per-shop lock), against a sandbox enforcing
    ``rate`` calls per second (``math.inf``: unthrottled)."""
    sandbox = spec.sandbox(dict(spec.sample_app), rate_limit=rate)
    async with sandbox.running(), aiohttp.ClientSession() as session:
        shop = sandbox.add_shop(SHOP_ID, "Bench shop", access_token=ACCESS, refresh_token=REFRESH)
        limit = rate if math.isfinite(rate) else 1e9
        client = build_client(spec, sandbox.base_url, shop, session, limiter=LocalRateLimiter(), rate=limit)
        uploads, started = 0, time.time()
        while time.time() - started < seconds:
            await client.upload_image(_image(uploads), "image/png")
            uploads += 1
        elapsed = time.time() - started
        return {"uploads_per_s": round(uploads / elapsed, 1), "throttled": sandbox.counters.throttled}


async def image_uploads(spec: SandboxSpec, *, seconds: float, rate: float) -> dict[str, Any] | None:
    if not spec.client.uploads_images:
        return None
    unthrottled = await upload_rate(spec, seconds=seconds, rate=math.inf)
    limited = await upload_rate(spec, seconds=seconds, rate=rate)
    return {
        "image_bytes": IMAGE_BYTES,
        "rate_limit": rate,
        "unthrottled_per_s": unthrottled["uploads_per_s"],
        "uploads_per_s": limited["uploads_per_s"],
        "share_of_limit": round(limited["uploads_per_s"] / rate, 3),
        "throttled": limited["throttled"],
    }


def _spawn_child(
    settings: Settings, platform: str, url: str, extra: dict[str, str], *, rate: float, start: float, seconds: float
) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    env.update({"NFSYNC_DATABASE_URL": settings.database_url, "NFSYNC_LOG_LEVEL": "error"})
    command = [
        sys.executable,
        "-m",
        "nfsync.workers.lab.connector_bench",
        platform,
        url,
        json.dumps(extra),
        str(rate),
        str(start),
        str(seconds),
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)  # noqa: S603 - fixed argv


async def _child(platform: str, url: str, extra: dict[str, str], *, rate: float, start: float, seconds: float) -> int:
    """One limiter-sharing process: calls as fast as the global limiter allows inside [start, start + seconds)."""
    spec = load_sandbox(platform)
    settings = Settings()
    pool = await engine_pool(settings, "nfsync-bench-connector", max_size=2)
    try:
        async with aiohttp.ClientSession() as session:
            shop = SbShop(SHOP_ID, "Bench shop", extra=extra)  # the sandbox shop's extras (shop_cipher, store_url)
            client = build_client(spec, url, shop, session, limiter=PostgresRateLimiter(pool), rate=rate)
            await asyncio.sleep(max(0.0, start - time.time()))
            return await _hammer(client, start + seconds, 4)
    finally:
        await pool.close()


async def run_connector_bench(settings: Settings, args: argparse.Namespace) -> list[dict[str, Any]]:
    bench = settings.model_copy(update={"database_url": settings.database_url_for(settings.database_name + "_bench")})
    await drop_database(settings, bench.database_name)
    await init_database(bench)
    results = []
    try:
        for name in PLATFORM_PACKAGES if args.platform == "all" else [args.platform]:
            spec = load_sandbox(name)
            unthrottled = await calls_per_second(spec, args.seconds, args.concurrency)
            limited = await limiter_utilisation(
                bench, spec, processes=args.processes, seconds=args.seconds, rate=args.rate
            )
            images = await image_uploads(spec, seconds=args.seconds, rate=args.rate)
            results.append(
                {
                    "scenario": "connector",
                    "platform": name,
                    "calls_per_s": round(unthrottled),
                    "concurrency": args.concurrency,
                    "limiter": limited,
                    **({"images": images} if images else {}),
                }
            )
    finally:
        await drop_database(settings, bench.database_name)
    return results


async def cmd_bench_connector(settings: Settings, args: argparse.Namespace) -> int:
    for result in await run_connector_bench(settings, args):
        print(json.dumps(result) if args.json else _human(result))
    return 0


def _human(result: dict[str, Any]) -> str:
    limited, images = result["limiter"], result.get("images")
    line = (
        f"{result['platform']}: {result['calls_per_s']} calls/s unthrottled; limiter {limited['processes']} "
        f"processes at {limited['rate_limit']}/s: {limited['served_per_s']}/s served "
        f"({limited['utilisation']:.1%} of the limit), {limited['throttled']} throttled"
    )
    if images:
        line += (
            f"; image uploads ({images['image_bytes'] // 1024} KiB, one at a time per shop): "
            f"{images['unthrottled_per_s']}/s unthrottled, {images['uploads_per_s']}/s at {images['rate_limit']}/s "
            f"({images['share_of_limit']:.1%}), {images['throttled']} throttled"
        )
    return line


async def cmd_sandbox(_settings: Settings, args: argparse.Namespace) -> int:
    spec = load_sandbox(args.platform)
    app = dict(spec.sample_app)
    app.update(dict(pair.split("=", 1) for pair in args.app))
    sandbox = spec.sandbox(
        app,
        rate_limit=args.rate_limit,
        token_ttl=args.token_ttl,
        webhook_url=args.webhook_url,
        webhook_retry_scale=args.webhook_retry_scale,
    )
    await sandbox.start(args.host, args.port)
    shop = sandbox.add_shop(args.shop, access_token=args.access_token, refresh_token=args.refresh_token)
    names = ", ".join(sorted(app))
    print(
        f"{spec.name} sandbox on {sandbox.base_url}; app credentials: {names} (as given or the sample values); "
        f"pre-authorized shop {shop.shop_id} {json.dumps(shop.extra)}; admin routes under /_sandbox/",
        flush=True,
    )
    stop = asyncio.Event()
    install_stop_signals(stop.set)
    await stop.wait()
    await sandbox.stop()
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], bench: Any) -> None:
    connector = bench.add_parser("connector", help="connector calls/s and global limiter utilisation")
    connector.add_argument("--platform", default="all", choices=[*PLATFORM_PACKAGES, "all"])
    connector.add_argument("--seconds", type=float, default=10.0)
    connector.add_argument("--concurrency", type=int, default=16)
    connector.add_argument("--processes", type=int, default=3)
    connector.add_argument("--rate", type=float, default=50.0, help="the sandbox's limit (calls/s) for utilisation")
    connector.add_argument("--json", action="store_true")
    connector.set_defaults(handler=cmd_bench_connector)

    sandbox = sub.add_parser("sandbox", help="run a platform sandbox (a local emulator of its API)")
    sandbox.add_argument("--platform", required=True, choices=PLATFORM_PACKAGES)
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=0, help="0 = any free port")
    sandbox.add_argument("--shop", default="100200300", help="pre-authorized shop id")
    sandbox.add_argument("--access-token", default=None)
    sandbox.add_argument("--refresh-token", default=None)
    sandbox.add_argument(
        "--app",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="app credential under the platform's name (partner_id=..., app_key=...)",
    )
    sandbox.add_argument("--rate-limit", type=float, default=None, help="calls/s per (app, shop)")
    sandbox.add_argument("--token-ttl", type=float, default=None, help="shorten the access-token lifetime (s)")
    sandbox.add_argument("--webhook-url", default=None)
    sandbox.add_argument("--webhook-retry-scale", type=float, default=1.0, help="compress the retry schedule")
    sandbox.set_defaults(handler=cmd_sandbox)


if __name__ == "__main__":
    platform, url, extra, rate, start, seconds = sys.argv[1:7]
    print(
        asyncio.run(
            _child(platform, url, json.loads(extra), rate=float(rate), start=float(start), seconds=float(seconds))
        )
    )
