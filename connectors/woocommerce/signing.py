"""WooCommerce REST API v3: request authentication and webhook verification.

Sources (see the references cited in tests/contracts):

* WooCommerce REST API docs ``_authentication.md`` and core ``class-wc-rest-authentication.php``
  (``woocommerce/woocommerce``): over HTTPS the server tries HTTP Basic auth (consumer key as user, consumer
  secret as password), or ``consumer_key``/``consumer_secret`` query parameters when a proxy strips the
  ``Authorization`` header. Over plain HTTP it accepts only one-legged OAuth 1.0a: ``oauth_consumer_key``,
  ``oauth_timestamp`` (within 15 minutes), ``oauth_nonce`` (single use), ``oauth_signature_method``
  (``HMAC-SHA1`` or ``HMAC-SHA256``) and ``oauth_signature``, without ``oauth_version``.
* The OAuth signature follows RFC 5849: base string section 3.4.1 (method, base string URI, normalised
  parameters), percent-encoding section 3.6, ``HMAC-SHA*`` section 3.4.2 with the result base64-encoded. The
  server signs the query string and form fields it received, never a JSON body.
* Signing key: RFC 5849 section 3.4.2 percent-encodes the client secret before appending ``&``; WooCommerce
  core concatenates the raw secret (``$user->consumer_secret . '&'``). We follow the server, which is the
  party that verifies. Both agree for the secrets WooCommerce generates (``cs_`` + hex digits).
* Webhooks: ``X-WC-Webhook-Signature`` = base64 HMAC-SHA256(key = webhook secret, message = raw body)
  (core ``class-wc-webhook.php``). The ping WooCommerce sends when a webhook is created carries no signature.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlsplit

from nfsync.connectors.base.signing import (
    SecretLike,
    SignedRequest,
    hmac_digest,
    hmac_sha256_base64,
    reject_reserved,
    reveal,
    signatures_match,
)

WEBHOOK_SIGNATURE_HEADER = "X-WC-Webhook-Signature"
DEFAULT_SIGNATURE_METHOD = "HMAC-SHA256"
_HASH_NAMES: Mapping[str, str] = {"HMAC-SHA1": "sha1", "HMAC-SHA256": "sha256"}
_DEFAULT_PORTS: Mapping[str, int] = {"http": 80, "https": 443}
_OAUTH_PARAMS = frozenset(
    {"oauth_consumer_key", "oauth_nonce", "oauth_signature", "oauth_signature_method", "oauth_timestamp"}
)
_KEY_QUERY_PARAMS = frozenset({"consumer_key", "consumer_secret"})
# PHP turns "." and " " in parameter names into "_" and "a[b]" into arrays before WooCommerce re-signs what it
# received, so such names would produce a signature the server computes differently.
_PHP_REWRITTEN_NAME_CHARS = frozenset(".[] ")


def percent_encode(value: str) -> str:
    """RFC 5849 section 3.6: UTF-8, then every octet but ALPHA, DIGIT, ``-``, ``.``, ``_``, ``~`` as ``%XX``."""
    return quote(value, safe="-._~")


def base_string_uri(url: str) -> str:
    """RFC 5849 section 3.4.1.2: lowercase scheme and host, default port dropped, no query or fragment."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"expected an absolute http(s) URL, got {url!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if parts.port is not None and parts.port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{parts.port}"
    return f"{scheme}://{host}{parts.path or '/'}"


def normalized_parameters(params: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 section 3.4.1.3.2: encode names and values, sort by name then value, join ``n=v`` with ``&``.

    ``params`` are decoded (name, value) pairs: query parameters, form fields and ``oauth_*`` parameters,
    without ``oauth_signature`` and ``realm``. A repeated name is given once per occurrence.
    """
    pairs = sorted((percent_encode(name), percent_encode(value)) for name, value in params)
    return "&".join(f"{name}={value}" for name, value in pairs)


def base_string(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 section 3.4.1.1: ``METHOD&encode(base string URI)&encode(normalised parameters)``."""
    return "&".join(
        (method.upper(), percent_encode(base_string_uri(url)), percent_encode(normalized_parameters(params)))
    )


def _hash_name(signature_method: str) -> str:
    try:
        return _HASH_NAMES[signature_method]
    except KeyError:
        raise ValueError(f"unsupported OAuth signature method {signature_method!r}") from None


def signature(
    base: str,
    consumer_secret: SecretLike,
    *,
    signature_method: str = DEFAULT_SIGNATURE_METHOD,
    token_secret: SecretLike = "",
) -> str:
    """``oauth_signature``: base64 HMAC of ``base`` keyed with ``consumer_secret & token_secret``.

    WooCommerce is one-legged (no token), so ``token_secret`` stays empty except in spec test vectors.
    """
    key = f"{reveal(consumer_secret)}&{reveal(token_secret)}"
    digest = hmac_digest(key, base.encode("utf-8"), _hash_name(signature_method))
    return base64.b64encode(digest).decode("ascii")


def _check_oauth_params(url: str, params: Mapping[str, str]) -> None:
    if urlsplit(url).query:
        raise ValueError("pass query parameters in `params`, not in the URL, so that they are signed")
    reject_reserved(params, _OAUTH_PARAMS)
    rewritten = sorted(name for name in params if _PHP_REWRITTEN_NAME_CHARS.intersection(name))
    if rewritten:
        raise ValueError(f"parameter names PHP rewrites cannot be signed: {', '.join(rewritten)}")


def oauth_request(
    *,
    method: str,
    url: str,
    consumer_key: str,
    consumer_secret: SecretLike,
    timestamp: int,
    nonce: str,
    params: Mapping[str, str] | None = None,
    signature_method: str = DEFAULT_SIGNATURE_METHOD,
) -> SignedRequest:
    """Query parameters of a one-legged OAuth 1.0a request over plain HTTP (``params`` plus ``oauth_*``).

    ``url`` is the endpoint without query string, built from the store URL exactly as WordPress knows it.
    ``params`` are the query parameters. The JSON body of a REST call is not signed; the server would also sign
    form-encoded body fields, which this function does not produce.
    """
    query = dict(params or {})
    _check_oauth_params(url, query)
    _hash_name(signature_method)
    query.update(
        oauth_consumer_key=consumer_key,
        oauth_nonce=nonce,
        oauth_signature_method=signature_method,
        oauth_timestamp=str(timestamp),
    )
    base = base_string(method, url, query.items())
    query["oauth_signature"] = signature(base, consumer_secret, signature_method=signature_method)
    return SignedRequest(query=query)


def basic_auth_request(
    *,
    consumer_key: str,
    consumer_secret: SecretLike,
    params: Mapping[str, str] | None = None,
    in_query: bool = False,
) -> SignedRequest:
    """HTTPS only: a Basic ``Authorization`` header, or the keys as query parameters when ``in_query``."""
    query = dict(params or {})
    reject_reserved(query, _KEY_QUERY_PARAMS)
    if in_query:
        query.update(consumer_key=consumer_key, consumer_secret=reveal(consumer_secret))
        return SignedRequest(query=query)
    credentials = f"{consumer_key}:{reveal(consumer_secret)}".encode()
    return SignedRequest(query=query, headers={"Authorization": f"Basic {base64.b64encode(credentials).decode()}"})


def sign_request(
    *,
    method: str,
    url: str,
    consumer_key: str,
    consumer_secret: SecretLike,
    timestamp: int,
    nonce: str,
    params: Mapping[str, str] | None = None,
    signature_method: str = DEFAULT_SIGNATURE_METHOD,
    query_auth: bool = False,
) -> SignedRequest:
    """What WooCommerce accepts for ``url``: Basic auth over HTTPS (the keys as query parameters instead when
    ``query_auth``, for hosts that drop the ``Authorization`` header), OAuth 1.0a over plain HTTP - never the keys
    themselves over plain HTTP, whatever ``query_auth`` says.

    ``timestamp`` and ``nonce`` are only used over plain HTTP.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "https":
        return basic_auth_request(
            consumer_key=consumer_key, consumer_secret=consumer_secret, params=params, in_query=query_auth
        )
    if scheme == "http":
        return oauth_request(
            method=method,
            url=url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            timestamp=timestamp,
            nonce=nonce,
            params=params,
            signature_method=signature_method,
        )
    raise ValueError(f"expected an http or https URL, got {url!r}")


def webhook_signature(body: bytes, secret: SecretLike) -> str:
    """The value WooCommerce puts in ``X-WC-Webhook-Signature`` (base64 HMAC-SHA256 of the raw body)."""
    return hmac_sha256_base64(secret, body)


def verify_webhook(*, body: bytes, signature_header: str | None, secret: SecretLike) -> bool:
    """Whether a delivery is authentic. ``body`` must be the raw request bytes, never re-serialised JSON.

    The creation ping (form body ``webhook_id=<id>``) has no signature and therefore does not verify.
    """
    return signatures_match(webhook_signature(body, secret), signature_header)
