"""Shopify: the OAuth callback HMAC and the webhook HMAC (docs/platforms/shopify.md, "OAuth: callback HMAC" and
"inbound webhook").

* Callback (SD-OAUTH; JS-API ``hmac-validator.ts`` ``generateLocalHmac``): ``hmac`` is the lowercase **hex**
  HMAC-SHA256, under the app's client secret, of the callback's query parameters without ``hmac`` (and ``signature``),
  sorted by key and joined ``key=value`` with ``&``. JS-API also refuses a ``timestamp`` more than 90 s old: a library
  rule, not a documented server rule (UNCONFIRMED), kept here as the window (``CALLBACK_TOLERANCE``). Test vectors
  (secret ``hush``): HMAC-VECTOR, third-party copies of Shopify's old OAuth example (official origin UNCONFIRMED).
* Webhook (SD-WH-VERIFY): ``X-Shopify-Hmac-Sha256`` is the standard base64 HMAC-SHA256 of the **raw** body under the
  app's client secret. No documented body/secret/digest vector exists (contract ``webhook_topics.test_vector``: null).
"""

from __future__ import annotations

from collections.abc import Mapping

from nfsync.connectors.base.signing import (
    SecretLike,
    hex_signatures_match,
    hmac_sha256_base64,
    hmac_sha256_hex,
    signatures_match,
)

WEBHOOK_SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
CALLBACK_TOLERANCE = 90.0  # seconds (JS-API; UNCONFIRMED as a server rule)
_UNSIGNED = frozenset({"hmac", "signature"})


def callback_message(params: Mapping[str, str]) -> str:
    """The signed text of a callback: every parameter but ``hmac``/``signature``, sorted by key, ``k=v`` joined
    with ``&`` (values as received, decoded from the query string)."""
    return "&".join(f"{key}={params[key]}" for key in sorted(params) if key not in _UNSIGNED)


def callback_hmac(params: Mapping[str, str], secret: SecretLike) -> str:
    return hmac_sha256_hex(secret, callback_message(params).encode("utf-8"))


def verify_callback(params: Mapping[str, str], secret: SecretLike, *, now: float | None = None) -> bool:
    """Whether a callback's query is authentic: its ``hmac`` matches (constant time) and, when ``now`` is given, its
    ``timestamp`` lies within ``CALLBACK_TOLERANCE`` seconds of it (a few seconds ahead allowed for clock skew)."""
    if not hex_signatures_match(callback_hmac(params, secret), params.get("hmac")):
        return False
    if now is None:
        return True
    try:
        stamp = float(params.get("timestamp", ""))
    except ValueError:
        return False
    return -CALLBACK_TOLERANCE <= now - stamp <= CALLBACK_TOLERANCE


def webhook_signature(body: bytes, secret: SecretLike) -> str:
    """The value Shopify puts in ``X-Shopify-Hmac-Sha256``."""
    return hmac_sha256_base64(secret, body)


def verify_webhook(*, body: bytes, signature_header: str | None, secret: SecretLike) -> bool:
    """Whether a delivery is authentic; ``body`` must be the raw request bytes, never re-serialised JSON."""
    return signatures_match(webhook_signature(body, secret), signature_header)
