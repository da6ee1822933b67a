"""Shopee Open Platform v2: request signing and push (webhook) verification.

Sources (see the references cited in tests/contracts):

* Request signing: open.shopee.com developer guide "Authorization and Authentication" (developer-guide.20)
  and its "Signature calculation" section (processed copy ``lazykern/ecommerce-api-docs``,
  ``data/processed/shopee/guides/getting-started/api-calls.md``). The base string is a plain concatenation,
  no separators:

  - public API: ``partner_id + api_path + timestamp``
  - shop API: ``partner_id + api_path + timestamp + access_token + shop_id``
  - merchant API: ``partner_id + api_path + timestamp + access_token + merchant_id``

  ``sign`` = lowercase hex HMAC-SHA256 with the partner key's UTF-8 bytes as key (the key is used verbatim,
  never hex-decoded). The common parameters travel in the query string for GET and POST alike; a POST's JSON
  body is not signed.
* Push: developer guide "Push Mechanism" (developer-guide.18). Header ``Authorization`` = hex
  HMAC-SHA256(partner_key, callback_url + "|" + raw body). Whether Shopee signs the callback URL with a query
  string is UNCONFIRMED: pass exactly the URL registered with Shopee.

No official (key, inputs, expected sign) vector exists for Shopee; the documented base strings are the test.
Timestamps are Unix seconds and are valid for 5 minutes.
"""

from __future__ import annotations

from collections.abc import Mapping

from nfsync.connectors.base.signing import (
    SecretLike,
    SignedRequest,
    hex_signatures_match,
    hmac_sha256_hex,
    reject_reserved,
    require_api_path,
    reveal,
)

WEBHOOK_SIGNATURE_HEADER = "Authorization"
_COMMON_PARAMS = frozenset({"partner_id", "timestamp", "access_token", "shop_id", "merchant_id", "sign"})


def _owner(shop_id: int | None, merchant_id: int | None) -> tuple[str, int]:
    """The one account a shop or merchant API call acts for: ``("shop_id", id)`` or ``("merchant_id", id)``."""
    if shop_id is not None and merchant_id is None:
        return "shop_id", shop_id
    if merchant_id is not None and shop_id is None:
        return "merchant_id", merchant_id
    raise ValueError("a call with an access token needs exactly one of shop_id and merchant_id")


def base_string(
    *,
    partner_id: int,
    path: str,
    timestamp: int,
    access_token: SecretLike | None = None,
    shop_id: int | None = None,
    merchant_id: int | None = None,
) -> str:
    """The string Shopee signs: public call without ``access_token``, shop or merchant call with it."""
    require_api_path(path)
    head = f"{partner_id}{path}{timestamp}"
    if access_token is None:
        if shop_id is not None or merchant_id is not None:
            raise ValueError("a public API call (no access token) carries neither shop_id nor merchant_id")
        return head
    _, owner_id = _owner(shop_id, merchant_id)
    return f"{head}{reveal(access_token)}{owner_id}"


def signature(base: str, partner_key: SecretLike) -> str:
    """``sign``: lowercase hex HMAC-SHA256 of ``base`` keyed with the partner key."""
    return hmac_sha256_hex(partner_key, base.encode("utf-8"))


def sign_request(
    *,
    partner_id: int,
    partner_key: SecretLike,
    path: str,
    timestamp: int,
    access_token: SecretLike | None = None,
    shop_id: int | None = None,
    merchant_id: int | None = None,
    params: Mapping[str, str] | None = None,
) -> SignedRequest:
    """The full query string of a call: the caller's (unsigned) ``params`` plus the signed common parameters."""
    business = dict(params or {})
    reject_reserved(business, _COMMON_PARAMS)
    base = base_string(
        partner_id=partner_id,
        path=path,
        timestamp=timestamp,
        access_token=access_token,
        shop_id=shop_id,
        merchant_id=merchant_id,
    )
    query = {**business, "partner_id": str(partner_id), "timestamp": str(timestamp)}
    if access_token is not None:
        owner_name, owner_id = _owner(shop_id, merchant_id)
        query["access_token"] = reveal(access_token)
        query[owner_name] = str(owner_id)
    query["sign"] = signature(base, partner_key)
    return SignedRequest(query=query)


def webhook_base_string(callback_url: str, body: bytes) -> bytes:
    """``callback_url + "|" + raw body``, as bytes: the body is signed exactly as received."""
    return callback_url.encode("utf-8") + b"|" + body


def webhook_signature(callback_url: str, body: bytes, partner_key: SecretLike) -> str:
    """The value Shopee puts in the push's ``Authorization`` header (lowercase hex)."""
    return hmac_sha256_hex(partner_key, webhook_base_string(callback_url, body))


def verify_webhook(*, callback_url: str, body: bytes, authorization: str | None, partner_key: SecretLike) -> bool:
    """Whether a push is authentic. ``body`` must be the raw request bytes, never re-serialised JSON."""
    return hex_signatures_match(webhook_signature(callback_url, body, partner_key), authorization)
