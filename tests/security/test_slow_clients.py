"""Slow and stalling clients (issue #13): a connection that trickles its request head, or never sends one, is closed
after ``api_header_timeout``; a JSON body that does not arrive within the read deadline is a 408, on every route.

Before: aiohttp's runner kept such connections for an hour (its idle limit) and JSON bodies had no deadline."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.api.conftest import LiveApi

FAST = {"api_header_timeout": 0.6, "webhook_read_timeout": 0.6}


async def _connect(live_api: LiveApi) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = live_api.url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """Everything the server sends until it closes; fails if it has not closed within ``seconds``."""
    return await asyncio.wait_for(reader.read(), seconds)


async def _trickle(writer: asyncio.StreamWriter, chunks: list[bytes], gap: float) -> None:
    for chunk in chunks:
        writer.write(chunk)
        await writer.drain()
        await asyncio.sleep(gap)


@pytest.mark.parametrize("live_api", [FAST], indirect=True)
async def test_a_trickled_request_head_is_cut_off(live_api: LiveApi) -> None:
    reader, writer = await _connect(live_api)
    head = [b"GET /v1/sync-tasks HTTP/1.1\r\n", *(f"X-Slow-{i}: a\r\n".encode() for i in range(200))]
    sender = asyncio.create_task(_trickle(writer, head, 0.05))  # one header line every 50 ms: 10 s in all
    try:
        started = time.monotonic()
        assert await _closed_within(reader, 5.0) == b""
        assert time.monotonic() - started < 5.0
        assert not sender.done(), "the server waited for the whole head"
    finally:
        sender.cancel()
        writer.close()


@pytest.mark.parametrize("live_api", [FAST], indirect=True)
async def test_a_silent_connection_is_closed(live_api: LiveApi) -> None:
    reader, writer = await _connect(live_api)
    try:
        assert await _closed_within(reader, 5.0) == b""
    finally:
        writer.close()


@pytest.mark.parametrize("live_api", [FAST], indirect=True)
async def test_an_idle_keep_alive_connection_is_closed_after_its_answer(live_api: LiveApi) -> None:
    reader, writer = await _connect(live_api)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        answer = await _closed_within(reader, 5.0)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
    finally:
        writer.close()


@pytest.mark.parametrize("live_api", [FAST], indirect=True)
async def test_a_json_body_that_never_arrives_is_a_408(live_api: LiveApi) -> None:
    reader, writer = await _connect(live_api)
    try:
        head = (
            "POST /v1/sync-tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n"
            f"Authorization: Bearer {live_api.a.token}\r\n\r\n"
        )
        writer.write(head.encode() + b'{"platform": "shopee"')
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
        assert answer.split(b" ", 2)[1] == b"408", answer[:80]
    finally:
        writer.close()


@pytest.mark.parametrize("live_api", [FAST], indirect=True)
@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("PUT", "/v1/listing-profiles/{integration}/defaults", "application/json"),
        ("POST", "/v1/listing-profiles/{integration}/import", "application/x-ndjson"),
    ],
)
async def test_a_listing_profile_body_that_never_arrives_is_a_408(
    live_api: LiveApi, method: str, path: str, kind: str
) -> None:
    """The profile routes: a JSON body through the framework, the import's raw body through its own reader."""
    reader, writer = await _connect(live_api)
    try:
        head = (
            f"{method} {path.format(integration=live_api.a.integration)} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: {kind}\r\nContent-Length: 400\r\nAuthorization: Bearer {live_api.a.token}\r\n\r\n"
        )
        writer.write(head.encode() + b'{"profile": {')
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
        assert answer.split(b" ", 2)[1] == b"408", answer[:80]
    finally:
        writer.close()
