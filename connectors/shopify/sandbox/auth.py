"""The Shopify sandbox's signatures (written here, not shared with the client's ``connectors/shopify/signing``, so
each side checks the other):

- the OAuth callback ``hmac``: lowercase hex HMAC-SHA256 under the app's client secret of the callback query
  without ``hmac`` (and ``signature``), keys sorted, ``key=value`` joined by ``&`` (SD-OAUTH; JS-API
  ``generateLocalHmac``; contract auth.callback.hmac and its two HMAC-VECTOR test vectors). Values are joined as
  they are, unescaped (the contract's rule; the legacy escaping of ``&``/``%`` in values is UNCONFIRMED and never
  needed for the values the sandbox sends: hex codes, the domain, base64 ``host``, digits, and the client's ``state``
  - a ``state`` holding ``&`` or ``=`` would be ambiguous);
- webhooks: ``X-Shopify-Hmac-Sha256`` = base64 HMAC-SHA256 of the raw body under the app's client secret
  (SD-WH-VERIFY; contract webhook_topics.signature).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

CALLBACK_EXCLUDED = frozenset({"hmac", "signature"})


def callback_message(params: Mapping[str, str]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in CALLBACK_EXCLUDED)


def callback_hmac(params: Mapping[str, str], client_secret: str) -> str:
    digest = hmac.new(client_secret.encode(), callback_message(params).encode(), hashlib.sha256)
    return digest.hexdigest()


def webhook_hmac(body: bytes, client_secret: str) -> str:
    return base64.b64encode(hmac.new(client_secret.encode(), body, hashlib.sha256).digest()).decode()


def host_param(domain: str) -> str:
    """The callback's ``host``: base64 of the shop's admin host (``{shop}/admin``, unpadded). Shopify's exact
    value (it has moved to ``admin.shopify.com/store/{name}``) is UNCONFIRMED: clients must treat it as opaque."""
    return base64.urlsafe_b64encode(f"{domain}/admin".encode()).decode().rstrip("=")
