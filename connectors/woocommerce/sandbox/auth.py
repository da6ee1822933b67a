"""How the WooCommerce sandbox authenticates a REST request: WC-CORE ``class-wc-rest-authentication.php``.

- Over HTTPS (``is_ssl()``; here the connection's scheme or ``X-Forwarded-Proto: https``, as a WordPress behind a
  proxy is configured) the server first tries the keys in ``consumer_key``/``consumer_secret`` query parameters,
  then HTTP Basic. An unknown key there is silently "no user"; a known key with the wrong secret is 401
  "Consumer secret is invalid.".
- Otherwise (and when Basic found no credentials) it tries one-legged OAuth 1.0a with the parameters of the query,
  the form body and an ``Authorization: OAuth`` header: all five ``oauth_*`` parameters or 401
  ``woocommerce_rest_authentication_missing_parameter``; then the consumer key, the signature (``HMAC-SHA1`` or
  ``HMAC-SHA256`` keyed with ``consumer_secret + "&"`` over the home URL as the server sees it), the timestamp
  (within 15 minutes either way) and the nonce (not seen in the last 15 minutes), in that order.
- No credentials at all is not an error here: the endpoint's permission check answers 401
  ``woocommerce_rest_cannot_*`` (the sandbox wrapper does that). Basic auth over plain HTTP is therefore refused
  that way, exactly as WooCommerce does.
- Then the key's permission (read, write, read_write) must cover the method.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import unquote

from aiohttp import web

from nfsync.connectors.base.signing import signatures_match
from nfsync.connectors.woocommerce.errors import AUTHENTICATION_ERROR, MISSING_OAUTH_PARAMETER
from nfsync.connectors.woocommerce.sandbox.payloads import WcFailure
from nfsync.connectors.woocommerce.signing import base_string, signature

OAUTH_WINDOW = 15 * 60  # seconds, both for the timestamp and for remembering nonces
_OAUTH_PARAMS = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method")
_HEADER_PARAM = re.compile(r'(oauth_[a-z_-]*)=(:?"([^"]*)"|([^,]*))')  # WC-CORE parse_header, from the OAuth library
_BASIC_REALM = "WooCommerce API. Use a consumer key in the username field and a consumer secret in the password field."
_READ_METHODS = frozenset({"GET", "HEAD"})
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class ApiKey:
    key_id: int
    user_id: int
    consumer_key: str
    consumer_secret: str
    permissions: str  # read, write or read_write
    shop_id: str | None  # None: valid on every store of the sandbox (the app's sample keys)
    nonces: dict[int, str] = field(default_factory=dict)  # timestamp -> nonce, as WooCommerce stores them


class KeyStore:
    """``wp_woocommerce_api_keys``."""

    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}

    def add(
        self,
        consumer_key: str,
        consumer_secret: str,
        permissions: str = "read_write",
        *,
        shop_id: str | None = None,
        user_id: int = 1,
    ) -> ApiKey:
        key = ApiKey(len(self.keys) + 1, user_id, consumer_key, consumer_secret, permissions, shop_id)
        self.keys[consumer_key] = key
        return key

    def issue(self, shop_id: str, permissions: str, user_id: int = 1) -> ApiKey:
        """New keys as WooCommerce makes them: ``ck_``/``cs_`` and 40 hex digits."""
        return self.add(
            f"ck_{secrets.token_hex(20)}", f"cs_{secrets.token_hex(20)}", permissions, shop_id=shop_id, user_id=user_id
        )

    def find(self, consumer_key: str, shop_id: str) -> ApiKey | None:
        key = self.keys.get(consumer_key)
        return key if key is not None and key.shop_id in (None, shop_id) else None


def is_https(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


async def authenticate(
    request: web.Request, keys: KeyStore, shop_id: str, now: float, *, strip_authorization: bool = False
) -> ApiKey | None:
    """The key a request authenticates with, None when it carries no credentials; ``WcFailure`` when refused.

    ``strip_authorization``: the host does not pass the ``Authorization`` header to PHP (a documented server issue,
    WC-DOC _authentication.md "Authentication over HTTPS"): WooCommerce then sees no credentials from it."""
    authorization = "" if strip_authorization else request.headers.get("Authorization", "")
    if is_https(request):
        key = _basic(request, keys, shop_id, authorization)
        if key is not None:
            return key
    params = await _oauth_parameters(request, authorization)
    if params is None:
        return None
    key = keys.find(params["oauth_consumer_key"], shop_id)
    if key is None:
        raise WcFailure(401, AUTHENTICATION_ERROR, "Consumer key is invalid.")
    _check_signature(request, key, params)
    _check_timestamp_and_nonce(key, params["oauth_timestamp"], params["oauth_nonce"], now)
    return key


def check_permissions(key: ApiKey, method: str) -> None:
    if method in _READ_METHODS and key.permissions not in ("read", "read_write"):
        raise WcFailure(401, AUTHENTICATION_ERROR, "The API key provided does not have read permissions.")
    if method in _WRITE_METHODS and key.permissions not in ("write", "read_write"):
        raise WcFailure(401, AUTHENTICATION_ERROR, "The API key provided does not have write permissions.")


def caller_key(request: web.Request) -> str:
    """The consumer key a request claims (unverified): the rate-limit key of the sandbox."""
    query = request.query
    claimed = query.get("oauth_consumer_key") or query.get("consumer_key")
    if claimed:
        return claimed
    user, _ = _basic_credentials(request.headers.get("Authorization", ""))
    return user or "-"


# ---------------------------------------------------------------------------------------------- Basic


def _basic(request: web.Request, keys: KeyStore, shop_id: str, authorization: str) -> ApiKey | None:
    consumer_key, consumer_secret = request.query.get("consumer_key", ""), request.query.get("consumer_secret", "")
    if not (consumer_key and consumer_secret):
        consumer_key, consumer_secret = _basic_credentials(authorization)
    if not (consumer_key and consumer_secret):
        return None
    key = keys.find(consumer_key, shop_id)
    if key is None:
        return None  # WooCommerce: no user, no error; the permission check refuses the request
    if not hmac.compare_digest(key.consumer_secret.encode(), consumer_secret.encode()):
        failure = WcFailure(401, AUTHENTICATION_ERROR, "Consumer secret is invalid.")
        failure.headers = {"WWW-Authenticate": f'Basic realm="{_BASIC_REALM}"'}
        raise failure
    return key


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return user, password


# ---------------------------------------------------------------------------------------------- OAuth 1.0a


async def _oauth_parameters(request: web.Request, authorization: str) -> dict[str, str] | None:
    """Query, form body and ``Authorization: OAuth`` parameters (PHP: later values win); None when no oauth_*."""
    params = dict(request.query)
    if request.content_type == "application/x-www-form-urlencoded":
        params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    params.update(_header_parameters(authorization.strip()))
    missing = [name for name in _OAUTH_PARAMS if not params.get(name)]
    if len(missing) == len(_OAUTH_PARAMS):
        return None
    if missing:
        noun = "parameter" if len(missing) == 1 else "parameters"
        raise WcFailure(401, MISSING_OAUTH_PARAMETER, f"Missing OAuth {noun} {', '.join(missing)}")
    return params


def _header_parameters(header: str) -> dict[str, str]:
    if not header.startswith("OAuth "):
        return {}
    params = {m.group(1): unquote(m.group(3) or m.group(4)) for m in _HEADER_PARAM.finditer(header)}
    params.pop("realm", None)
    return params


def _check_signature(request: web.Request, key: ApiKey, params: dict[str, str]) -> None:
    url = f"{'https' if is_https(request) else 'http'}://{request.host}{request.path}"
    received = unquote(params["oauth_signature"].replace(" ", "+"))  # WooCommerce: rawurldecode(str_replace(...))
    method = params["oauth_signature_method"]
    if method not in ("HMAC-SHA1", "HMAC-SHA256"):
        raise WcFailure(401, AUTHENTICATION_ERROR, "Invalid signature - signature method is invalid.")
    signed = [(name, value) for name, value in params.items() if name != "oauth_signature"]
    expected = signature(base_string(request.method, url, signed), key.consumer_secret, signature_method=method)
    if not signatures_match(expected, received):
        raise WcFailure(401, AUTHENTICATION_ERROR, "Invalid signature - provided signature does not match.")


def _check_timestamp_and_nonce(key: ApiKey, raw_timestamp: str, nonce: str, now: float) -> None:
    timestamp = int(raw_timestamp) if raw_timestamp.isdigit() else 0  # PHP compares a non-number as 0
    if timestamp < now - OAUTH_WINDOW or timestamp > now + OAUTH_WINDOW:
        raise WcFailure(401, AUTHENTICATION_ERROR, "Invalid timestamp.")
    if nonce in key.nonces.values():
        raise WcFailure(401, AUTHENTICATION_ERROR, "Invalid nonce - nonce has already been used.")
    key.nonces[timestamp] = nonce  # one nonce per timestamp second, exactly as WooCommerce keeps them
    for stamp in [stamp for stamp in key.nonces if stamp < now - OAUTH_WINDOW]:
        del key.nonces[stamp]
