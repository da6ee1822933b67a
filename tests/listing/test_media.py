"""Fetching images from their source URLs (issue #16): the guard against server-side request forgery, the size,
type and time limits, and redirects checked at every hop. A local server plays the image host; the operator's
allow-list (NFSYNC_OUTBOUND_ALLOWED_HOSTS) is what lets the tests reach it at all."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from nfsync.connectors.base.outbound import OutboundPolicy
from nfsync.workers.listing.media import ImageFetcher, MediaLimits, MediaRefused, image_type

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 300
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x02" * 50
ALLOWED = OutboundPolicy(frozenset({"127.0.0.1"}))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _stall(_request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(2.5)  # past the fetcher's 2 s
    return web.Response(body=PNG)


async def _endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()  # no Content-Length: only the bytes read can tell
    await response.prepare(request)
    for _ in range(64):
        await response.write(b"\xff\xd8\xff" + b"\x00" * 65_536)
    return response


@pytest.fixture
async def host() -> AsyncIterator[str]:
    port = _free_port()
    app = web.Application()
    app.router.add_get("/a.png", _respond(PNG, "image/png"))
    app.router.add_get("/a.jpg", _respond(JPEG, "text/plain"))  # the bytes decide, not the header
    app.router.add_get("/a.webp", _respond(WEBP, "image/webp"))
    app.router.add_get("/page", _respond(b"<html>not an image</html>", "image/png"))
    app.router.add_get("/big", _respond(b"\xff\xd8\xff" + b"\x00" * 5000, "image/jpeg"))
    app.router.add_get("/endless", _endless)
    app.router.add_get("/slow", _stall)
    app.router.add_get("/gone", _respond(b"", "text/plain", 404))
    app.router.add_get("/to-png", _redirect("/a.png"))
    app.router.add_get("/inward", _redirect(f"https://localhost:{port}/a.png"))
    app.router.add_get("/metadata", _redirect("https://169.254.169.254/latest/meta-data/"))
    app.router.add_get("/loop", _redirect("/loop"))
    app.router.add_get("/downgrade", _redirect("http://images.example.com/a.png"))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _respond(body: bytes, kind: str, status: int = 200) -> Handler:
    async def handle(_request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status, headers={"Content-Type": kind})

    return handle


def _redirect(location: str) -> Handler:
    async def handle(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": location})

    return handle


@pytest.fixture
async def fetcher() -> AsyncIterator[ImageFetcher]:
    made = ImageFetcher(ALLOWED, MediaLimits(max_bytes=4096, timeout=2.0, max_redirects=3))
    try:
        yield made
    finally:
        await made.close()


async def test_an_image_is_fetched_and_typed_by_its_bytes(host: str, fetcher: ImageFetcher) -> None:
    image = await fetcher.fetch(f"{host}/a.png")
    assert (image.content, image.content_type, image.sha256) == (PNG, "image/png", hashlib.sha256(PNG).hexdigest())
    assert (await fetcher.fetch(f"{host}/a.jpg")).content_type == "image/jpeg"
    assert (await fetcher.fetch(f"{host}/a.webp")).content_type == "image/webp"
    assert (await fetcher.fetch(f"{host}/to-png")).content == PNG, "a redirect within the allowed host is followed"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/page", "not a JPEG, PNG or WebP image"),
        ("/big", "5003 bytes, more than the 4096 allowed"),
        ("/endless", "more than the 4096 bytes allowed"),
        ("/slow", "no answer within 2 s"),
        ("/gone", "the server answered 404"),
        ("/inward", "localhost resolves to no public address"),
        ("/metadata", "169.254.169.254 is not a public address"),
        ("/loop", "more than 3 redirects"),
        ("/downgrade", "must use https"),
    ],
)
async def test_what_is_refused_and_why(host: str, fetcher: ImageFetcher, path: str, reason: str) -> None:
    with pytest.raises(MediaRefused, match=reason.replace(".", r"\.")):
        await fetcher.fetch(host + path)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/a.png", "must use https"),
        ("https://127.0.0.1:9/a.png", "127.0.0.1 is not a public address"),
        ("https://[::1]:9/a.png", "::1 is not a public address"),
        ("https://10.1.2.3/a.png", "10.1.2.3 is not a public address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is not a public address"),
        ("https://localhost:9/a.png", "localhost resolves to no public address"),
        ("file:///etc/passwd", "must be an absolute URL with a host"),
    ],
)
async def test_without_the_operators_allowance_nothing_inside_is_reached(url: str, reason: str) -> None:
    """The guard itself: no host allowed, every private, loopback or link-local target refused before any byte."""
    strict = ImageFetcher(OutboundPolicy(), MediaLimits(timeout=2.0))
    try:
        with pytest.raises(MediaRefused, match=reason.replace(".", r"\.").replace("[", r"\[")):
            await strict.fetch(url)
    finally:
        await strict.close()


def test_image_types_by_signature() -> None:
    assert [image_type(b) for b in (PNG[:16], JPEG[:16], WEBP[:16], b"GIF89a", b"")] == [
        "image/png",
        "image/jpeg",
        "image/webp",
        None,
        None,
    ]
