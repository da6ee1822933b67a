"""Small helpers shared by the platform signing modules.

Every platform signs with an HMAC over a platform-specific base string. What is shared is tiny: reading a
secret that may or may not be wrapped in :class:`Secret`, computing the HMAC, comparing a received signature in
constant time, the ``key1value1key2value2`` concatenation (Lazada and TikTok Shop), and the value a signing
function hands back to a client (:class:`SignedRequest`). The base strings themselves live in each platform
package, next to the source they follow.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from nfsync.connectors.base.secret import Secret

SecretLike: TypeAlias = Secret | str
"""A credential as it reaches a signing function: wrapped in :class:`Secret` (preferred) or a plain string."""


def reveal(secret: SecretLike) -> str:
    """The plaintext of ``secret``, whether it is a :class:`Secret` or already a ``str``."""
    if isinstance(secret, Secret):
        return secret.reveal()
    if isinstance(secret, str):
        return secret
    raise TypeError("a secret must be a Secret or a str")


def hmac_digest(key: SecretLike, message: bytes, algorithm: str = "sha256") -> bytes:
    """Raw HMAC of ``message``; the key is the secret's UTF-8 bytes (never hex- or base64-decoded)."""
    return hmac.new(reveal(key).encode("utf-8"), message, algorithm).digest()


def hmac_sha256_hex(key: SecretLike, message: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``message``."""
    return hmac_digest(key, message).hex()


def hmac_sha256_base64(key: SecretLike, message: bytes) -> str:
    """Standard (padded) base64 HMAC-SHA256 of ``message``."""
    return base64.b64encode(hmac_digest(key, message)).decode("ascii")


def signatures_match(expected: str, received: str | None) -> bool:
    """Constant-time comparison of a computed signature with the one a request carried.

    A missing or empty ``received`` never matches. Surrounding whitespace of the received header value is
    ignored; nothing else is normalised (use :func:`hex_signatures_match` for hex digests).
    """
    if not received:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.strip().encode("utf-8"))


def hex_signatures_match(expected_hex: str, received: str | None) -> bool:
    """Like :func:`signatures_match` for hex digests: the case of the received hex digits does not matter."""
    if not received:
        return False
    return signatures_match(expected_hex.lower(), received.lower())


def concat_sorted(params: Mapping[str, str]) -> str:
    """``key1value1key2value2...`` with keys in ascending code-point (for ASCII keys: ASCII) order."""
    return "".join(f"{key}{params[key]}" for key in sorted(params))


def require_api_path(path: str) -> None:
    """Reject anything that is not a bare API path such as ``/api/v2/shop/get_shop_info``."""
    if not path.startswith("/") or "?" in path or "#" in path or "://" in path:
        raise ValueError(f"expected an API path without host or query string, got {path!r}")


def reject_reserved(params: Mapping[str, str], reserved: frozenset[str]) -> None:
    """Refuse caller parameters that would collide with the parameters the signing function sets itself."""
    clash = sorted(reserved.intersection(params))
    if clash:
        raise ValueError(f"these parameters are set by the signing function: {', '.join(clash)}")


@dataclass(frozen=True, repr=False)
class SignedRequest:
    """The query parameters and headers that authenticate one request.

    Values are plaintext (they go on the wire), so ``repr`` lists names only: a signed request that ends up in
    a log line or a traceback does not leak an access token, a consumer secret or a Basic credential.
    """

    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"SignedRequest(query={sorted(self.query)}, headers={sorted(self.headers)})"
