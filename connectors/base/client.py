"""The client every marketplace connector builds on.

A platform subclass supplies how to sign a request (``sign``), how to read its error code out of a response
(``error_of``), its error table, and the marketplace operations. This class owns the rest, identically for every
platform: one aiohttp session per process and platform (passed in), connect and read timeouts, the global rate
limiter (acquired before every call, told about every throttle), retries with tenacity (capped exponential backoff
with full jitter, honouring ``Retry-After``), one token refresh on an expired token, and the translation of
transport failures and platform errors into the one error taxonomy.
"""

from __future__ import annotations

import io
import json
import random
import secrets
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from nfsync.connectors.base.auth import RateLimiter, TokenProvider
from nfsync.connectors.base.categories import CategoryRequirements
from nfsync.connectors.base.errors import (
    PermanentError,
    ReauthorizationNeeded,
    RetryableError,
    Throttled,
    TokenRefreshNeeded,
)
from nfsync.connectors.base.models import (
    Created,
    ItemResult,
    Listing,
    ListingDraft,
    Order,
    PriceUpdate,
    ShopInfo,
    StockUpdate,
    TokenPair,
)
from nfsync.connectors.base.outbound import OutboundPolicy, OutboundRefused, ResolvedInward, check_connect_target
from nfsync.connectors.base.policy import Action, ErrorTable
from nfsync.connectors.base.secret import Secret


class MissingCredential(PermanentError):
    """The integration lacks an app credential the platform needs."""


class ResponseLost(RetryableError):
    """The request may have been applied but no response arrived (timeout, dropped connection)."""


@dataclass(frozen=True)
class ClientSettings:
    base_url: str
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 6
    backoff_base: float = 0.25
    backoff_cap: float = 20.0
    rate_limit: float | None = None  # calls per second per (app, shop, endpoint class); None = platform default
    outbound: OutboundPolicy | None = None  # None: no address checks (a sandbox driven directly by tests or benches)


@dataclass(frozen=True)
class AppCredentials:
    """The app's credentials under the platform's own names (partner_id/partner_key, app_key/app_secret,
    consumer_key/consumer_secret)."""

    values: Mapping[str, str | Secret]

    def _value(self, name: str) -> str | Secret:
        if name not in self.values:
            raise MissingCredential(f"the integration has no app credential {name!r} (set it in config or credentials)")
        return self.values[name]

    def text(self, name: str) -> str:
        value = self._value(name)
        return value.reveal() if isinstance(value, Secret) else value

    def secret(self, name: str) -> Secret:
        value = self._value(name)
        return value if isinstance(value, Secret) else Secret(value)


@dataclass(frozen=True)
class ShopRef:
    """Which shop a client talks to: the platform's shop id and what else the platform needs (TikTok's
    ``shop_cipher``, Lazada's region, WooCommerce's store URL)."""

    platform_shop_id: str
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FilePart:
    """A file in a multipart/form-data body (a platform's media upload)."""

    name: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    base_url: str | None = None  # another host (auth servers)
    form: Mapping[str, str] = field(default_factory=dict)  # multipart fields (with ``files``), encoded when sent
    files: tuple[FilePart, ...] = ()  # a multipart/form-data request when not empty (a media upload)


def encode_multipart(fields: Mapping[str, str], files: Sequence[FilePart]) -> tuple[bytes, str]:
    """The body and the Content-Type of a multipart/form-data request (RFC 7578), with a random boundary."""
    boundary = f"nfsync-{secrets.token_hex(16)}"
    chunks: list[bytes] = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for part in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{part.name}"; filename="{part.filename}"\r\n'
            f"Content-Type: {part.content_type}\r\n\r\n"
        )
        chunks += [head.encode(), part.data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


LARGE_BODY = 1024 * 1024


def _payload(body: bytes | None) -> bytes | io.BytesIO | None:
    """A large body (an image upload) as a stream, which aiohttp writes without blocking the loop."""
    return io.BytesIO(body) if body is not None and len(body) > LARGE_BODY else body


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except (ValueError, UnicodeDecodeError):
            return None


class BaseClient(ABC):
    platform: ClassVar[str]
    error_table: ClassVar[ErrorTable]
    default_rate: ClassVar[float] = 10.0
    uses_tokens: ClassVar[bool] = True  # False for API-key platforms (WooCommerce)
    secret_signs_calls: ClassVar[bool] = True  # False where API calls carry only the access token (Shopify)
    uploads_images: ClassVar[bool] = False  # listings take only images uploaded through the platform's media API

    def __init__(
        self,
        settings: ClientSettings,
        app: AppCredentials,
        shop: ShopRef | None,
        *,
        session: aiohttp.ClientSession,
        tokens: TokenProvider | None,
        limiter: RateLimiter,
    ) -> None:
        self.settings = settings
        self.app = app
        self.shop = shop
        self._session = session
        self._tokens = tokens
        self._limiter = limiter
        self.stats: Counter[str] = Counter()

    # ------------------------------------------------------------------ platform hooks

    @abstractmethod
    def sign(self, request: HttpRequest, token: TokenPair | None, now: float) -> HttpRequest:
        """The request as the platform wants it signed (query, headers), at Unix time ``now``."""

    @abstractmethod
    def error_of(self, response: HttpResponse) -> tuple[str | None, str]:
        """(error code, message) from a response; (None, "") when it is a success."""

    def retry_after(self, response: HttpResponse) -> float | None:
        value = response.headers.get("Retry-After")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def limiter_key(self, endpoint: str) -> str:
        shop = self.shop.platform_shop_id if self.shop else "-"
        return f"{self.platform}:{self.app_id}:{shop}:{endpoint}"

    @property
    @abstractmethod
    def app_id(self) -> str:
        """The public id of the app (partner_id, app_key, consumer_key) - part of the limiter key."""

    # ------------------------------------------------------------------ the call

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        endpoint: str = "default",
        authed: bool = True,
        retry_lost: bool = True,
        base_url: str | None = None,
        multipart: tuple[Mapping[str, str], Sequence[FilePart]] | None = None,
    ) -> Any:
        """One API call with everything around it; returns the parsed JSON body. ``multipart``: form fields and
        files sent as multipart/form-data instead of a JSON body."""
        body = None if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        form, files = multipart if multipart is not None else ({}, ())
        query = {k: str(v) for k, v in (params or {}).items()}
        request = HttpRequest(method, path, query, headers, body, base_url, dict(form), tuple(files))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(
                lambda exc: isinstance(exc, RetryableError) and (retry_lost or not isinstance(exc, ResponseLost))
            ),
            reraise=True,
        )
        refreshed: list[bool] = [False]
        async for attempt in retrying:
            with attempt:
                return await self._attempt(request, endpoint, authed, refreshed)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * 2 ** (state.attempt_number - 1))
        delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
        exc = state.outcome.exception() if state.outcome else None
        after = exc.retry_after if isinstance(exc, RetryableError) else None
        return max(delay, after or 0.0)

    async def _attempt(self, request: HttpRequest, endpoint: str, authed: bool, refreshed: list[bool]) -> Any:
        key = self.limiter_key(endpoint)
        await self._limiter.acquire(key, self.settings.rate_limit or self.default_rate)
        token = await self._tokens.current() if authed and self._tokens is not None else None
        response = await self._send(self.sign(request, token, time.time()))
        try:
            return self._outcome(response, key)
        except Throttled as exc:
            await self._limiter.throttled(key, exc.retry_after or 1.0)
            raise
        except TokenRefreshNeeded:
            if refreshed[0] or token is None or self._tokens is None:
                raise ReauthorizationNeeded(f"{self.platform} refused a freshly refreshed token") from None
            refreshed[0] = True
            await self._tokens.refresh(token)
            raise RetryableError("access token refreshed", retry_after=0.0) from None

    async def _send(self, request: HttpRequest) -> HttpResponse:
        url = (request.base_url or self.settings.base_url).rstrip("/") + request.path
        if self.settings.outbound is not None:
            check_connect_target(urlsplit(url).hostname or "", self.settings.outbound)
        timeout = aiohttp.ClientTimeout(sock_connect=self.settings.connect_timeout, total=self.settings.read_timeout)
        self.stats["calls"] += 1
        body, headers = request.body, dict(request.headers)
        if request.files:  # encoded here, after signing: a platform may add signed fields to the form
            body, headers["Content-Type"] = encode_multipart(request.form, request.files)
        try:
            async with self._session.request(
                request.method,
                url,
                params=request.params,
                headers=headers,
                data=_payload(body),
                timeout=timeout,
                allow_redirects=False,  # a redirect could lead anywhere: platforms' APIs send none
            ) as raw:
                return HttpResponse(raw.status, dict(raw.headers), await raw.read())
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ResolvedInward):
                raise OutboundRefused(str(exc.os_error)) from None
            self.stats["transport_errors"] += 1
            raise ResponseLost(f"{self.platform} {request.path}: {type(exc).__name__}: {exc}") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.stats["transport_errors"] += 1
            raise ResponseLost(f"{self.platform} {request.path}: {type(exc).__name__}: {exc}") from None

    def _outcome(self, response: HttpResponse, key: str) -> Any:
        code, message = self.error_of(response)
        action = (
            Action.OK if code is None and response.status < 400 else self.error_table.classify(response.status, code)
        )
        if action is Action.OK:
            return response.json()
        return self._raise(action, response, code, message)

    def _raise(self, action: Action, response: HttpResponse, code: str | None, message: str) -> Any:
        text = f"{self.platform} error {code or response.status}: {message}"[:500]
        if action is Action.THROTTLE:
            self.stats["throttled"] += 1
            raise Throttled(text, retry_after=self.retry_after(response) or 1.0, code=code)
        if action is Action.RETRY:
            raise RetryableError(text, retry_after=self.retry_after(response), code=code)
        if action is Action.REFRESH:
            raise TokenRefreshNeeded(text, code=code)
        if action is Action.REAUTHORIZE:
            raise ReauthorizationNeeded(f"re-authorization needed: {text}", code=code)
        raise PermanentError(text, code=code, status=response.status)

    # ------------------------------------------------------------------ marketplace operations

    @abstractmethod
    async def refresh_access(self, refresh_token: Secret) -> TokenPair:
        """Spend a refresh token at the platform (the TokenProvider decides when)."""

    @abstractmethod
    async def exchange_code(self, code: str, **params: str) -> TokenPair:
        """Exchange an authorization code for tokens."""

    def verify_callback(self, query: Mapping[str, str]) -> bool:
        """Whether the OAuth callback's whole query (``code`` and ``state`` included) is authentic, for platforms that
        sign their redirect (Shopify's ``hmac``); the others rely on ``state`` alone."""
        return True

    @staticmethod
    def callback_shop(query: Mapping[str, str]) -> str | None:
        """The shop a callback's query names, if any (``shop_id``; Shopify's ``shop`` domain)."""
        return query.get("shop_id") or None

    @abstractmethod
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where to send the merchant to approve the app."""

    @abstractmethod
    async def get_shop_info(self) -> ShopInfo: ...

    @abstractmethod
    def iter_listings(self, updated_since: datetime | None = None) -> AsyncIterator[Listing]:
        """Every listing (with variants) changed since a time, all pages."""

    @abstractmethod
    async def get_listings(self, item_ids: Sequence[str]) -> list[Listing]: ...

    @abstractmethod
    async def find_by_sku(self, sku: str) -> Listing | None:
        """The listing holding this seller SKU, if any (before creating, and after a lost create)."""

    @abstractmethod
    async def _create_listing(self, draft: ListingDraft) -> Listing:
        """One create call (subclasses); use ``create_listing``."""

    @abstractmethod
    async def update_listing(self, item_id: str, draft: ListingDraft) -> Listing: ...

    @abstractmethod
    async def update_stock(self, updates: Sequence[StockUpdate]) -> list[ItemResult]:
        """Absolute quantities, batched to the platform's cap; per-item results."""

    @abstractmethod
    async def update_prices(self, updates: Sequence[PriceUpdate]) -> list[ItemResult]: ...

    @abstractmethod
    def iter_orders(self, updated_from: datetime, updated_to: datetime) -> AsyncIterator[Order]:
        """Orders updated in [from, to), windowed and paged as the platform requires."""

    @abstractmethod
    async def get_orders(self, order_ids: Sequence[str]) -> list[Order]: ...

    async def upload_image(self, data: bytes, content_type: str) -> str:
        """Upload an image through the platform's media API; the reference its listing calls take. A platform that
        fetches image URLs itself (WooCommerce) has no such API."""
        raise PermanentError(f"{self.platform} takes image URLs: it has no image upload")

    async def category_requirements(self, category_id: str) -> CategoryRequirements:
        """What the platform's category asks of a listing (attributes, sale properties, its rules). A platform with
        no category requirements (WooCommerce) asks for nothing."""
        return CategoryRequirements(category_id=category_id)

    async def create_listing(self, draft: ListingDraft) -> Listing:
        return (await self.create_or_adopt(draft)).listing

    async def create_or_adopt(self, draft: ListingDraft) -> Created:
        """Create without ever making a duplicate: look the SKU up first, and again after a lost response. A
        listing that already held the SKU is adopted, not written to (its content stays the merchant's).

        Subclasses make the create call with ``call(..., retry_lost=False)``: a create whose response was lost
        is never blindly repeated; only a lookup by SKU decides whether to send it again."""
        sku = draft.variants[0].sku
        existing = await self.find_by_sku(sku)
        if existing is not None:
            return Created(existing, adopted=True)
        for _ in range(self.settings.max_attempts):
            try:
                return Created(await self._create_listing(draft), adopted=False)
            except ResponseLost:
                self.stats["lost_creates"] += 1
                found = await self.find_by_sku(sku)
                if found is not None:
                    return Created(found, adopted=False)  # our own create, whose answer was lost
        raise RetryableError(f"{self.platform}: the create of {sku} never got a response")
