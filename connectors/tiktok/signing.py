"""TikTok Shop Partner API (version 202309 and later): request signing and webhook verification.

Sources (see the references cited in tests/contracts):

* Request signing: partner.tiktokshop.com "Sign your API request" (processed copy
  ``lazykern/ecommerce-api-docs``, ``data/processed/tiktok/guides/.../sign-your-api-request.md``):

  1. take the query parameters except ``sign`` and ``access_token``, sort the keys alphabetically;
  2. concatenate ``{key}{value}``;
  3. prepend the request path;
  4. unless the Content-Type is ``multipart/form-data``, append the raw request body;
  5. wrap: ``app_secret + string + app_secret``;
  6. ``sign`` = lowercase hex HMAC-SHA256 of the wrapped string, keyed with the app secret.

  The timestamp is 10-digit Unix seconds, valid in [now - 5 min, now + 30 s]. The access token travels in the
  ``x-tts-access-token`` header and is not signed. How repeated query keys are signed is UNCONFIRMED: this
  module accepts one value per key.
* Webhooks: the official page only says the signature is in the ``Authorization`` header. The formula used
  here, lowercase hex HMAC-SHA256(key = app_secret, message = app_key + raw body), is UNCONFIRMED by TikTok;
  it follows independent community implementations (e.g. ``easycb/easycb-go`` ``tiktok/sign.go``
  ``VerifySign``; the hookdeck "tiktok-shop-webhooks" skill), which agree with each other.
"""

from __future__ import annotations

from collections.abc import Mapping

from nfsync.connectors.base.signing import (
    SecretLike,
    SignedRequest,
    concat_sorted,
    hex_signatures_match,
    hmac_sha256_hex,
    reject_reserved,
    require_api_path,
    reveal,
)

ACCESS_TOKEN_HEADER = "x-tts-access-token"  # noqa: S105 (a header name, not a secret)
WEBHOOK_SIGNATURE_HEADER = "Authorization"
_UNSIGNED_PARAMS = frozenset({"sign", "access_token"})
_COMMON_PARAMS = frozenset({"app_key", "timestamp", "sign", "access_token"})


def base_string(path: str, params: Mapping[str, str], body: bytes | None = None) -> bytes:
    """Steps 1-4: ``path + sorted key/value pairs (without sign, access_token) [+ raw body]``.

    Pass ``body=None`` for GET requests and for ``multipart/form-data`` bodies, which are not signed.
    """
    require_api_path(path)
    signed = {key: value for key, value in params.items() if key not in _UNSIGNED_PARAMS}
    return (path + concat_sorted(signed)).encode("utf-8") + (body or b"")


def wrap(base: bytes, app_secret: SecretLike) -> bytes:
    """Step 5: ``app_secret + base + app_secret``, the exact message that is HMAC-ed."""
    secret = reveal(app_secret).encode("utf-8")
    return secret + base + secret


def signature(base: bytes, app_secret: SecretLike) -> str:
    """Steps 5-6: ``sign`` for a base string from :func:`base_string` (lowercase hex)."""
    return hmac_sha256_hex(app_secret, wrap(base, app_secret))


def sign_request(
    *,
    app_key: str,
    app_secret: SecretLike,
    path: str,
    timestamp: int,
    access_token: SecretLike | None = None,
    params: Mapping[str, str] | None = None,
    body: bytes | None = None,
    multipart: bool = False,
) -> SignedRequest:
    """Query parameters (with ``app_key``, ``timestamp`` and ``sign``) and headers of one call.

    ``params`` are the other query parameters (``shop_cipher``, ``page_size``, ...). ``body`` must be exactly
    the bytes that will be sent; it is left out of the signature when ``multipart`` is true.
    """
    query = dict(params or {})
    reject_reserved(query, _COMMON_PARAMS)
    query.update(app_key=app_key, timestamp=str(timestamp))
    query["sign"] = signature(base_string(path, query, None if multipart else body), app_secret)
    headers = {} if access_token is None else {ACCESS_TOKEN_HEADER: reveal(access_token)}
    return SignedRequest(query=query, headers=headers)


def webhook_signature(body: bytes, app_key: str, app_secret: SecretLike) -> str:
    """The value expected in the webhook's ``Authorization`` header (formula UNCONFIRMED, see module doc)."""
    return hmac_sha256_hex(app_secret, app_key.encode("utf-8") + body)


def verify_webhook(*, body: bytes, authorization: str | None, app_key: str, app_secret: SecretLike) -> bool:
    """Whether a webhook is authentic. ``body`` must be the raw request bytes, never re-serialised JSON."""
    return hex_signatures_match(webhook_signature(body, app_key, app_secret), authorization)
