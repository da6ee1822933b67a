"""`nfsync bench webhooks --rate R --duration S`: the webhook endpoint under an open-loop load on loopback.

It builds ``<database>_bench``, starts ``nfsync api`` as a subprocess on a free port with a throw-away key, seeds an
organization with a TikTok Shop integration and 20 shops, pre-signs ``rate x duration`` distinct order pushes
exactly as TikTok signs them (so the generator only sends), then fires them on schedule - request i at
start + i / rate, never waiting for answers - and measures each latency from its scheduled time. Every request is
verified over its raw bytes, decrypts the integration's secret, and stores and enqueues durably before its 200.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import json
import os
import subprocess
import sys
import time
import typing
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.workers.api.auth import create_organization
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring, SecretField, generate_key_entry
from nfsync.workers.db.schema import drop_database, init_database
from nfsync.workers.engine.runtime import engine_pool
from nfsync.workers.lab.processes import free_port
from nfsync.workers.lab.seed import seed_platform_shops

SHOPS = 20
LANES = 64  # keep-alive connections of the load generator
WARMUP = 500  # requests sent (and not measured) before the run: connections, caches, prepared statements


async def _seed(settings: Settings, keyring: Keyring) -> tuple[str, list[str]]:
    spec = load_sandbox("tiktok")
    pool = await engine_pool(settings, "nfsync-bench-webhooks", max_size=2)
    try:
        org = await create_organization(pool, "bench")
        integration, _ = await seed_platform_shops(pool, org, "tiktok", SHOPS)
        where = SecretField("marketplace_integrations", "credentials", str(org), str(integration))
        secrets = keyring.encrypt_fields({"app_secret": spec.sample_app["app_secret"]}, where)
        await pool.execute(
            "UPDATE marketplace_integrations SET config = $2, credentials = $3 WHERE id = $1",
            integration,
            {"app_key": spec.sample_app["app_key"]},
            secrets,
        )
        shops = [r["shop_id"] for r in await pool.fetch("SELECT shop_id FROM marketplace_shops ORDER BY shop_id")]
        return str(integration), shops
    finally:
        await pool.close()


def _pushes(url: str, shops: list[str], count: int) -> list[tuple[dict[str, str], bytes]]:
    spec = load_sandbox("tiktok")
    sandbox = spec.sandbox(dict(spec.sample_app))
    sandbox.webhook_url = url
    pushes = []
    for i in range(count):
        shop = sandbox.add_shop(shops[i % len(shops)])
        order = sandbox.add_order(shop, [{"sku": "BENCH-1"}], status=sandbox.initial_order_status())
        headers, body, _ = sandbox.signed_push(shop, {"kind": "order_status_changed", "order": order})
        pushes.append((headers, body))
        shop.orders.clear()
    return pushes


def _start_api(settings: Settings, key: str, port: int, processes: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    env.update(
        {
            "NFSYNC_DATABASE_URL": settings.database_url,
            "NFSYNC_AMQP_URL": settings.amqp_url,
            "NFSYNC_SECRET_KEYS": key,
            "NFSYNC_LOG_LEVEL": "error",
            "NFSYNC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "NFSYNC_DB_POOL_MAX_SIZE": "6",
        }
    )
    command = [sys.executable, "-m", "nfsync.workers", "api", "--port", str(port), "--processes", str(processes)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # noqa: S603


async def _wait_ready(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("the API did not start")


def _raw_request(url: str, headers: dict[str, str], body: bytes) -> bytes:
    """The exact HTTP/1.1 request bytes (keep-alive), encoded once before the run."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Lane(asyncio.Protocol):
    """One keep-alive connection: requests go out when due, answers come back in order. A plain protocol (no
    stream reader, no future per answer): the generator shares the cores with what it measures."""

    def __init__(self, expected: int) -> None:
        self.transport: asyncio.Transport | None = None
        self.pending: collections.deque[float] = collections.deque()
        self.latencies: list[float] = []
        self.failures = 0
        self._buffer = bytearray()
        self._expected = expected
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if expected == 0:
            self.done.set_result(None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream connection's transport (uvloop's is not an asyncio.Transport subclass, but has its methods)
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        now = time.perf_counter()
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end])
            length = _content_length(head)
            if len(self._buffer) < end + 4 + length:
                return  # the body is still on its way
            del self._buffer[: end + 4 + length]
            self._answered(int(head.split(b" ", 2)[1]), now)

    def _answered(self, status: int, now: float) -> None:
        due = self.pending.popleft()
        if status == 200:
            self.latencies.append(now - due)
        else:
            self.failures += 1
        self._expected -= 1
        if self._expected == 0 and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"the API closed a connection: {exc}"))


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            return int(line[15:])
    return 0


async def _fire(url: str, pushes: list[bytes], rate: float, lanes: int = LANES) -> tuple[list[float], int, float]:
    """Open loop: request i leaves at start + i / rate on lane i % lanes, whatever the answers do. Requests due
    by the same loop turn leave together, so the generator never lags behind its schedule."""
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    conns: list[_Lane] = []
    for index in range(lanes):
        expected = len(pushes[index::lanes])
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        _, lane = await loop.create_connection(functools.partial(_Lane, expected), host, port)
        conns.append(lane)
    start = time.perf_counter() + 0.1
    sent = 0
    while sent < len(pushes):
        due = min(len(pushes), max(sent, int((time.perf_counter() - start) * rate) + 1))
        for i in range(sent, due):
            lane = conns[i % lanes]
            lane.pending.append(start + i / rate)
            assert lane.transport is not None
            lane.transport.write(pushes[i])
        sent = due
        await asyncio.sleep(max(0.0, start + sent / rate - time.perf_counter()))
    await asyncio.gather(*(c.done for c in conns))
    elapsed = time.perf_counter() - start
    for lane in conns:
        assert lane.transport is not None
        lane.transport.close()
    return [x for c in conns for x in c.latencies], sum(c.failures for c in conns), elapsed


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def run_webhook_bench(settings: Settings, rate: float, duration: float, processes: int = 1) -> dict[str, Any]:
    bench = settings.model_copy(update={"database_url": settings.database_url_for(settings.database_name + "_bench")})
    await drop_database(settings, bench.database_name)
    await init_database(bench)
    key = generate_key_entry("bench")
    port = free_port()
    api = _start_api(bench, key, port, processes)
    try:
        integration, shops = await _seed(bench, Keyring.parse(key))
        url = f"http://127.0.0.1:{port}/webhooks/tiktok/{integration}"
        count = int(rate * duration)
        raw = [_raw_request(url, headers, body) for headers, body in _pushes(url, shops, WARMUP + count)]
        await _wait_ready(f"http://127.0.0.1:{port}")
        await _fire(url, raw[:WARMUP], min(rate, 500.0))
        latencies, failures, elapsed = await _fire(url, raw[WARMUP:], rate)
    finally:
        api.terminate()
        await asyncio.to_thread(api.wait, 20)
        if api.stdout is not None:
            api.stdout.close()
        await drop_database(settings, bench.database_name)
    return {
        "scenario": "webhooks",
        "offered_rate": rate,
        "duration_s": duration,
        "requests": count,
        "api_processes": processes,
        "warmup_requests": WARMUP,
        "achieved_per_s": round(len(latencies) / elapsed, 1),
        "failures": failures,
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "targets": {"sustained_per_s": 1500, "p99_ms_at_500_per_s": 25},
    }


async def cmd_bench_webhooks(settings: Settings, args: argparse.Namespace) -> int:
    result = await run_webhook_bench(settings, args.rate, args.duration, args.api_processes)
    print(json.dumps(result) if args.json else "\n".join(f"{k:>16}: {v}" for k, v in result.items()))
    return 0


def add_commands(bench: Any) -> None:
    command = bench.add_parser("webhooks", help="webhook endpoint: achieved rate and latency under an open-loop load")
    command.add_argument("--rate", type=float, default=500.0, help="requests per second offered")
    command.add_argument("--duration", type=float, default=10.0, help="seconds")
    command.add_argument("--api-processes", type=int, default=1, help="API processes sharing the port")
    command.add_argument("--json", action="store_true")
    command.set_defaults(handler=cmd_bench_webhooks)
