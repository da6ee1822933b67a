"""Lazada push messages: verification and normalisation.

Sources: the references cited in tests/contracts (LAZ-DOC ``lazada-push-mechanism.md`` and
``webhook-apis/*.md``).

- Header ``Authorization`` = lowercase hex HMAC-SHA256(app_secret, app_key + raw body). The key is the app
  secret, so "every active secret" means the current and, during a rotation, the previous app secret.
- Body ``{"seller_id", "message_type", "data": {...}, "timestamp", "site"}``. Lazada sends no event id; duplicates
  are normal ("at least once"). The dedupe key of a trade-order message is the documented composite (site,
  seller_id, message_type, trade_order_id, trade_order_line_id, order_status, status_update_time); other
  messages use the analogous fields of their own payload.

message_type -> kind:
  0 trade order status (also returns/refunds, with ``reverse_order_id``) -> order_status_changed
  10 reverse order status (``reverse_status``) -> order_status_changed
  3 product created/published, 4 product edited -> product_changed
  5 ``action`` DELETED (the product) -> product_deleted; EDITED_DELETED (some SKUs) -> product_changed
  8 authorization token expiring within 48 h -> authorization_expiring
  13 seller status ``close`` -> shop_deauthorized (the shop can no longer be operated; Lazada has no
     deauthorization push: it simply stops pushing for a revoked seller); ``normal`` -> ignored
  anything else (6 shallow stock, 1 QC, 12 category tree, 14 fulfilment, 21 review, ...) -> ignored
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nfsync.connectors.base.client import AppCredentials
from nfsync.connectors.base.errors import ValidationFailed
from nfsync.connectors.base.models import WebhookEvent
from nfsync.connectors.lazada import signing
from nfsync.connectors.lazada.mapping import from_epoch, text

TRADE_ORDER, PRODUCT_CREATED, PRODUCT_EDITED, PRODUCT_DELETED = 0, 3, 4, 5
TOKEN_EXPIRING, REVERSE_ORDER, SELLER_STATUS = 8, 10, 13


def verify(headers: Mapping[str, str], body: bytes, app: AppCredentials, secrets: Sequence[str], url: str) -> bool:
    """Whether the raw ``body`` was signed by Lazada with one of ``secrets`` (``url`` is not signed by Lazada)."""
    received = _header(headers, signing.WEBHOOK_SIGNATURE_HEADER)
    if not received:
        return False
    app_key = app.text("app_key")
    checks = [
        signing.verify_webhook(body=body, authorization=received, app_key=app_key, app_secret=secret)
        for secret in secrets
    ]
    return any(checks)  # every secret is tried: the time taken does not reveal which one matched


def parse(headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
    """The normalised events of one verified push (Lazada sends one message per request)."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("the Lazada push body is not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.setdefault("data", {}), dict):
        raise ValidationFailed("the Lazada push body is not a Lazada message")
    kind = text(message.get("message_type"))
    handler = _HANDLERS.get(int(kind)) if kind.isdigit() else None
    return [(handler or _ignored)(message)]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _seller(message: Mapping[str, Any]) -> str | None:
    """``seller_id`` of the message; the token-expiry message carries ``"null"`` there and the id in ``data``."""
    for value in (message.get("seller_id"), message["data"].get("seller_id")):
        seller = text(value)
        if seller and seller != "null":
            return seller
    return None


def _key(message: Mapping[str, Any], *fields: Any) -> str:
    site = text(message.get("site")).lower().replace("-", "_")
    parts = [site, _seller(message) or "", text(message.get("message_type")), *(text(f) for f in fields)]
    return "lazada:" + ":".join(parts)


def _event(message: Mapping[str, Any], kind: Any, dedupe_key: str, **fields: Any) -> WebhookEvent:
    return WebhookEvent(
        kind=kind, dedupe_key=dedupe_key, platform_shop_id=_seller(message), raw=dict(message), **fields
    )


def _trade_order(message: Mapping[str, Any]) -> WebhookEvent:
    data = message["data"]
    key = _key(
        message,
        data.get("trade_order_id"),
        data.get("trade_order_line_id"),
        data.get("order_status"),
        data.get("status_update_time"),
    )
    return _event(
        message,
        "order_status_changed",
        key,
        entity_id=text(data.get("trade_order_id")) or None,
        status=text(data.get("order_status")) or None,
        occurred_at=from_epoch(data.get("status_update_time")),
    )


def _reverse_order(message: Mapping[str, Any]) -> WebhookEvent:
    data = message["data"]
    key = _key(
        message,
        data.get("trade_order_id"),
        data.get("trade_order_line_id"),
        data.get("reverse_order_id"),
        data.get("reverse_order_line_id"),
        data.get("reverse_status"),
        data.get("status_update_time"),
    )
    return _event(
        message,
        "order_status_changed",
        key,
        entity_id=text(data.get("trade_order_id")) or None,
        status=text(data.get("reverse_status")) or None,
        occurred_at=from_epoch(data.get("status_update_time")),
    )


def _product(message: Mapping[str, Any]) -> WebhookEvent:
    data = message["data"]
    action = text(data.get("action") or message.get("action"))  # the type-3 sample puts these beside ``data``
    updated = data.get("status_update_time") or message.get("status_update_time")
    deleted = text(message.get("message_type")) == str(PRODUCT_DELETED) and action.upper() == "DELETED"
    return _event(
        message,
        "product_deleted" if deleted else "product_changed",
        _key(message, data.get("item_id"), action, updated),
        entity_id=text(data.get("item_id")) or None,
        status=action or None,
        occurred_at=from_epoch(updated),
    )


def _token_expiring(message: Mapping[str, Any]) -> WebhookEvent:
    data = message["data"]
    key = _key(message, data.get("app_key"), data.get("auth_expiry_time"), message.get("timestamp"))
    return _event(
        message,
        "authorization_expiring",
        key,
        entity_id=_seller(message),
        occurred_at=from_epoch(message.get("timestamp")),
    )


def _seller_status(message: Mapping[str, Any]) -> WebhookEvent:
    status = text(message["data"].get("status"))
    if status.lower() != "close":
        return _ignored(message)
    key = _key(message, status, message.get("timestamp"))
    occurred = from_epoch(message.get("timestamp"))
    return _event(message, "shop_deauthorized", key, entity_id=_seller(message), status=status, occurred_at=occurred)


def _ignored(message: Mapping[str, Any]) -> WebhookEvent:
    canonical = json.dumps(message.get("data"), sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return _event(
        message,
        "ignored",
        _key(message, message.get("timestamp"), digest),
        occurred_at=from_epoch(message.get("timestamp")),
    )


_HANDLERS: dict[int, Callable[[Mapping[str, Any]], WebhookEvent]] = {
    TRADE_ORDER: _trade_order,
    REVERSE_ORDER: _reverse_order,
    PRODUCT_CREATED: _product,
    PRODUCT_EDITED: _product,
    PRODUCT_DELETED: _product,
    TOKEN_EXPIRING: _token_expiring,
    SELLER_STATUS: _seller_status,
}
