"""Shopify GraphQL Admin API: what to do about each answer (docs/platforms/shopify.md; tests/contracts/shopify.json).

- A GraphQL answer is HTTP 200 even when it failed: top-level ``errors[]`` carry ``extensions.code``.
  ``THROTTLED`` (``data`` absent, ``extensions.cost`` present with ``actualQueryCost: null``; SD-RATE-OLD) is
  throttling: the wait comes from the cost bucket (``cost.throttle_wait``). ``MAX_COST_EXCEEDED`` (requested cost
  over 1000, refused before execution; SD-RATE-OLD) repeats whatever we do: permanent. ``INTERNAL_SERVER_ERROR`` is
  retried (UNCONFIRMED code name); any other code, or an error without one, is permanent.
- HTTP 401 (bad or revoked token, body ``{"errors": "[API] Invalid API key or access token ..."}``): refresh, as the
  other connectors do; a non-expiring offline token has no refresh token, so the token provider turns it into
  re-authorization (workers/tokens.py), and a refreshed token refused again is re-authorization (BaseClient).
- HTTP 403 (a scope the app lacks, UNCONFIRMED text): permanent. HTTP 429 (REST-style, documented for REST only by
  SD-LIMITS; reported for GraphQL by a community thread, UNCONFIRMED): throttled. 5xx: retried (shared default).
- ``userErrors`` of a mutation payload are not top-level errors: the client turns them into failed ``ItemResult``
  values (stock, prices) or a ``PermanentError`` (a create), item by item (``user_errors``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nfsync.connectors.base.policy import Action, ErrorTable, Rule

THROTTLED = "THROTTLED"
MAX_COST_EXCEEDED = "MAX_COST_EXCEEDED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"  # UNCONFIRMED code name for a transient GraphQL failure
GRAPHQL_ERROR = "GRAPHQL_ERROR"
"""Not a Shopify code: a top-level error without ``extensions.code`` (a syntax or validation error of ours)."""
USER_ERROR = "USER_ERROR"
"""Not a Shopify code: a ``userErrors`` entry without ``code`` (``webhookSubscriptionCreate``, ``bulkOperationRunQuery``
declare ``field message`` only)."""
STALE = "CHANGE_FROM_QUANTITY_STALE"
RETRYABLE_USER_ERRORS = frozenset({"IDEMPOTENCY_CONCURRENT_REQUEST"})  # contract: kind "retryable" (SD-REF)
WAREHOUSE_SPLIT_REQUIRED = "warehouse_split_required"
"""Not a Shopify code: a stock update without a per-location split for a shop with several active locations."""
LOCATION_UNKNOWN = "location_unknown"
"""Not a Shopify code: a per-location split naming a location that is not an active location of the shop."""
SKU_NOT_FOUND = "sku_not_found"
"""Not a Shopify code: the update's variant (or SKU) is not on the product."""

ERROR_TABLE = ErrorTable(
    [
        Rule(Action.THROTTLE, code=THROTTLED),
        Rule(Action.PERMANENT, code=MAX_COST_EXCEEDED),
        Rule(Action.RETRY, status=200, code=INTERNAL_SERVER_ERROR),
        Rule(Action.REFRESH, status=401),
        Rule(Action.PERMANENT, status=403),
        Rule(Action.THROTTLE, status=429),
    ]
)


def top_level_error(body: Any) -> tuple[str, str] | None:
    """(code, message) of the first top-level GraphQL error; None when the answer has none.

    An HTTP error body may carry ``errors`` as a plain string (the 401 and 429 samples): that is returned with code
    ``""`` so the HTTP status decides."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if not errors:
        return None
    if isinstance(errors, str):
        return "", errors[:300]
    first = errors[0] if isinstance(errors, list) and errors else errors
    if not isinstance(first, Mapping):
        return GRAPHQL_ERROR, str(first)[:300]
    extensions = first.get("extensions")
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    return str(code or GRAPHQL_ERROR), str(first.get("message") or "")[:300]


def user_errors(payload: Any) -> list[dict[str, Any]]:
    """A mutation payload's ``userErrors`` entries."""
    entries = payload.get("userErrors") if isinstance(payload, Mapping) else None
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []  # type: ignore[misc]


def error_index(entry: Mapping[str, Any], list_name: str) -> int | None:
    """The input item a user error is about: ``field`` ``[..., list_name, "<i>", ...]`` (``["input", "quantities",
    "0", "changeFromQuantity"]``, ``["variants", "0", "price"]``); None when it names no item (the whole call)."""
    field = entry.get("field")
    if not isinstance(field, list):
        return None
    for position, part in enumerate(field[:-1]):
        if part == list_name and str(field[position + 1]).isdigit():
            return int(field[position + 1])
    return None


def user_error_code(entry: Mapping[str, Any]) -> str:
    return str(entry.get("code") or USER_ERROR)
