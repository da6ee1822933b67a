"""`nfsync sandbox` as a user runs it: it starts, says where, serves the admin routes, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import sys

import aiohttp


async def test_sandbox_command_serves_and_stops() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFSYNC_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nfsync.workers",
        "sandbox",
        "--platform",
        "lazada",
        "--shop",
        "4242",
        "--access-token",
        "tok",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        assert "pre-authorized shop 4242" in line and "app_secret" in line and "sandbox-app-secret" not in line
        async with aiohttp.ClientSession() as session, session.get(match.group(1) + "/_sandbox/counters") as resp:
            assert resp.status == 200 and "requests" in await resp.json()
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0
