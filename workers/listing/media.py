"""Fetching a listing's images from their source URLs, before they are uploaded through a platform's media API.

Every fetch goes through the outbound policy (``connectors/base/outbound.py``): https only (http for a host the
operator allows), no address literal that is not public, and names resolved by the guarded resolver, which refuses
a host whose addresses are all private, loopback, link-local (cloud metadata) or reserved - checked after DNS, so a
public name pointing inward does not pass. Redirects are followed by hand, at most ``max_redirects``, each hop
checked again. A body is read up to ``max_bytes`` (a declared length over it is refused before reading) within
``timeout`` seconds, and must be a JPEG, PNG or WebP by its first bytes, whatever its Content-Type says. The
operator may allow named hosts (``NFSYNC_OUTBOUND_ALLOWED_HOSTS``: the sandboxes' images in tests and the demo);
nothing a tenant sets can.

A refusal is ``MediaRefused`` (a permanent error with the reason), an item failure for the product that needs the
image.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

import aiohttp

from nfsync.connectors.base.client import BaseClient
from nfsync.connectors.base.errors import PermanentError
from nfsync.connectors.base.outbound import GuardedResolver, OutboundPolicy, OutboundRefused, ResolvedInward, check_url
from nfsync.workers.db.queries import QUERIES
from nfsync.workers.listing.store import Executor

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # Shopee upload_image's limit, the largest of the platforms (listings/*.md)
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024
SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}


class MediaRefused(PermanentError):
    """An image nfsync will not fetch or cannot use, with the reason."""


@dataclass(frozen=True)
class MediaLimits:
    max_bytes: int = MAX_IMAGE_BYTES
    timeout: float = 15.0
    max_redirects: int = 3


@dataclass(frozen=True)
class FetchedImage:
    url: str  # as the profile gave it
    content: bytes
    content_type: str  # by the first bytes: image/jpeg, image/png or image/webp

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def image_type(head: bytes) -> str | None:
    """The image type of a body by its first bytes (RIFF....WEBP for WebP), None when it is none of the three."""
    for kind, signatures in SIGNATURES.items():
        if head.startswith(signatures):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class ImageFetcher:
    """One session for the process, every connection through the guarded resolver."""

    def __init__(self, policy: OutboundPolicy, limits: MediaLimits | None = None) -> None:
        self._policy = policy
        self._limits = limits or MediaLimits()
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._policy))
            timeout = aiohttp.ClientTimeout(total=self._limits.timeout)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(self, url: str) -> FetchedImage:
        try:
            return await asyncio.wait_for(self._fetch(url), self._limits.timeout)
        except TimeoutError:
            raise MediaRefused(f"image {url}: no answer within {self._limits.timeout:g} s") from None
        except (ResolvedInward, OutboundRefused) as exc:
            raise MediaRefused(f"image {url}: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            inward = isinstance(exc.os_error, ResolvedInward)
            reason = str(exc.os_error) if inward else f"cannot connect ({exc.os_error.strerror or exc.os_error})"
            raise MediaRefused(f"image {url}: {reason}") from None
        except aiohttp.ClientError as exc:
            raise MediaRefused(f"image {url}: {type(exc).__name__}: {exc}") from None

    async def _fetch(self, url: str) -> FetchedImage:
        target = url
        for _ in range(self._limits.max_redirects + 1):
            check_url(target, None, self._policy, "image URL")
            async with self._http().get(target, allow_redirects=False) as response:
                if response.status in REDIRECTS and response.headers.get("Location"):
                    target = urljoin(target, response.headers["Location"])
                    continue
                if response.status != 200:
                    raise MediaRefused(f"image {url}: the server answered {response.status}")
                return await self._image(url, response)
        raise MediaRefused(f"image {url}: more than {self._limits.max_redirects} redirects")

    async def _image(self, url: str, response: aiohttp.ClientResponse) -> FetchedImage:
        cap = self._limits.max_bytes
        if response.content_length is not None and response.content_length > cap:
            raise MediaRefused(f"image {url}: {response.content_length} bytes, more than the {cap} allowed")
        chunks, size = [], 0
        async for chunk in response.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > cap:  # a body that lied about its length, or declared none
                raise MediaRefused(f"image {url}: more than the {cap} bytes allowed")
            chunks.append(chunk)
        body = b"".join(chunks)
        kind = image_type(body[:16])
        if kind is None:
            raise MediaRefused(f"image {url}: not a JPEG, PNG or WebP image")
        return FetchedImage(url, body, kind)


async def platform_images(
    db: Executor,
    client: BaseClient,
    fetcher: ImageFetcher,
    owner: tuple[uuid.UUID, uuid.UUID],
    urls: Sequence[str],
) -> dict[str, str]:
    """Each source URL's reference on the shop's platform (``owner``: shop id, organization id): recorded for the URL
    (nothing fetched), else fetched and found by its SHA-256 (the same bytes under another URL), else uploaded.
    A platform that fetches URLs itself (WooCommerce) keeps them. A URL whose image changes later keeps its first
    upload: a new image needs a new URL (UNCONFIRMED whether platforms re-fetch; nfsync never does)."""
    wanted = list(dict.fromkeys(urls))
    if not client.uploads_images or not wanted:
        return {url: url for url in wanted}
    shop_id, organization_id = owner
    found = {r["source_url"]: r["platform_ref"] for r in await db.fetch(QUERIES["media_by_url"], shop_id, wanted)}
    for url in (u for u in wanted if u not in found):
        image = await fetcher.fetch(url)
        ref = await db.fetchval(QUERIES["media_by_sha256"], shop_id, image.sha256)
        if ref is None:
            ref = await client.upload_image(image.content, image.content_type)
        size = len(image.content)
        await db.execute(
            QUERIES["media_store"], shop_id, url, organization_id, image.sha256, ref, image.content_type, size
        )
        found[url] = ref
    return found
