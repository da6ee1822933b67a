"""Lazada Open Platform: request signing and push (webhook) verification.

Sources (see the references cited in tests/contracts):

* Request signing: open.lazada.com "Signature algorithm" (processed copy ``lazykern/ecommerce-api-docs``,
  ``data/processed/lazada/guides/developers-guide/call-api-with-http-requests/signature-algorithm.md``):
  take every request parameter (system and business) except ``sign``, sort by name in ASCII order, concatenate
  ``key1value1key2value2...``, prepend the API path, append the separate request body if there is one (Java
  SDK ``signApiRequest(params, body, ...)``), then ``sign`` = UPPERCASE hex HMAC-SHA256 with the app secret's
  UTF-8 bytes as key. The timestamp is in milliseconds and must be within 7200 s of UTC.
* Push: "Lazada push mechanism". Header ``Authorization`` = hex HMAC-SHA256(app_secret, app_key + raw body);
  the official Java sample lowercases the hex (unlike the request ``sign``).

Contradiction in the sources: the official Java and C# samples skip parameters with an empty value when
signing, the official Python sample signs them (as ``key`` followed by nothing). :func:`sign_request` therefore
drops empty-valued parameters from the request altogether, so the question never reaches Lazada.
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

SIGN_METHOD = "sha256"
WEBHOOK_SIGNATURE_HEADER = "Authorization"
_SYSTEM_PARAMS = frozenset({"app_key", "timestamp", "sign_method", "access_token", "sign"})


def base_string(api_path: str, params: Mapping[str, str], body: bytes | None = None) -> bytes:
    """``api_path + sorted key/value pairs (without sign) [+ body]``, UTF-8 encoded.

    ``params`` are all system and business parameters as sent. ``body`` is only for a request whose body is
    not made of those parameters (form-encoded POST parameters belong in ``params``).
    """
    require_api_path(api_path)
    signed = {key: value for key, value in params.items() if key != "sign"}
    return (api_path + concat_sorted(signed)).encode("utf-8") + (body or b"")


def signature(base: bytes, app_secret: SecretLike) -> str:
    """``sign``: UPPERCASE hex HMAC-SHA256 of ``base`` keyed with the app secret."""
    return hmac_sha256_hex(app_secret, base).upper()


def sign_request(
    *,
    app_key: str,
    app_secret: SecretLike,
    api_path: str,
    timestamp_ms: int,
    access_token: SecretLike | None = None,
    params: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> SignedRequest:
    """All parameters of a call (query for GET, form fields for POST), including ``sign``.

    Business ``params`` with an empty value are dropped (see the module docstring).
    """
    business = {key: value for key, value in (params or {}).items() if value != ""}
    reject_reserved(business, _SYSTEM_PARAMS)
    query = {**business, "app_key": app_key, "timestamp": str(timestamp_ms), "sign_method": SIGN_METHOD}
    if access_token is not None:
        query["access_token"] = reveal(access_token)
    query["sign"] = signature(base_string(api_path, query, body), app_secret)
    return SignedRequest(query=query)


def webhook_signature(body: bytes, app_key: str, app_secret: SecretLike) -> str:
    """The value Lazada puts in the push's ``Authorization`` header (lowercase hex)."""
    return hmac_sha256_hex(app_secret, app_key.encode("utf-8") + body)


def verify_webhook(*, body: bytes, authorization: str | None, app_key: str, app_secret: SecretLike) -> bool:
    """Whether a push is authentic. ``body`` must be the raw request bytes, never re-serialised JSON."""
    return hex_signatures_match(webhook_signature(body, app_key, app_secret), authorization)
