"""TikTok Shop webhooks: verification and normalisation.

Sources: the references cited in tests/contracts 4.3; TTS-DOC ``tiktok-shop-webhooks/configuration-guide.md`` and
``webhooks/**`` (one page per type). Envelope ``{type, tts_notification_id, shop_id, timestamp, data}``;
``tts_notification_id`` is the dedup key (whether a retry keeps it is not stated: UNCONFIRMED; a duplicate only re-reads
an order or a product). Cancellation (11) and return/refund (12) pushes carry no order status: they become
``order_status_changed`` so the order is read again. The signature is the ``Authorization`` header, lowercase hex
HMAC-SHA256(key = app_secret, message = app_key + raw body) - a formula only community implementations confirm
(see ``connectors/tiktok/signing.py``).

TikTok has no product-deletion webhook: a deletion or deactivation reaches us as a product change (types 5, 15,
27), and re-reading the product tells which.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from nfsync.connectors.base.client import AppCredentials
from nfsync.connectors.base.errors import ValidationFailed
from nfsync.connectors.base.models import EventKind, WebhookEvent
from nfsync.connectors.tiktok import signing
from nfsync.connectors.tiktok.mapping import as_dict, utc

ORDER_STATUS_CHANGE = 1
PRODUCT_STATUS_CHANGE = 5  # audit results, platform status changes
SELLER_DEAUTHORIZATION = 6
UPCOMING_AUTHORIZATION_EXPIRATION = 7
CANCELLATION_STATUS_CHANGE = 11  # data: order_id, cancellations_role, cancel_status, cancel_id, create_time
RETURN_STATUS_CHANGE = 12  # data: order_id, return_role, return_type, return_status, return_id, create/update_time
PRODUCT_INFORMATION_CHANGE = 15
PRODUCT_CREATION = 16
INVENTORY_STATUS_CHANGE = 27  # low stock / out of stock
PRODUCT_TYPES = frozenset(
    {PRODUCT_STATUS_CHANGE, PRODUCT_INFORMATION_CHANGE, PRODUCT_CREATION, INVENTORY_STATUS_CHANGE}
)
ORDER_TYPES = frozenset({ORDER_STATUS_CHANGE, CANCELLATION_STATUS_CHANGE, RETURN_STATUS_CHANGE})
"""Pushes after which the order is read again: its status, and a cancellation or a return/refund request moving
(lazykern/ecommerce-api-docs@eba059e ``data/processed/tiktok/guides/webhooks/order/11-cancellation-status-change.md``
and ``webhooks/return-and-refund/12-return-status-change.md``)."""
STATUS_FIELD = {
    ORDER_STATUS_CHANGE: "order_status",
    CANCELLATION_STATUS_CHANGE: "cancel_status",
    RETURN_STATUS_CHANGE: "return_status",
}
CHANGE_ID_FIELDS = {
    CANCELLATION_STATUS_CHANGE: ("cancel_id", "cancel_status"),
    RETURN_STATUS_CHANGE: ("return_id", "return_status", "update_time"),
}
"""What tells one cancellation or return state change from another when a push has no ``tts_notification_id``."""

KINDS: dict[int, EventKind] = {
    **dict.fromkeys(ORDER_TYPES, "order_status_changed"),
    SELLER_DEAUTHORIZATION: "shop_deauthorized",
    UPCOMING_AUTHORIZATION_EXPIRATION: "authorization_expiring",
    **dict.fromkeys(PRODUCT_TYPES, "product_changed"),
}  # other types (package 4, address 3, audit 37, ...) are "ignored"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def verify(headers: Mapping[str, str], body: bytes, app: AppCredentials, secrets: Sequence[str], url: str) -> bool:
    """Whether the push is authentic: the raw body signed with any active app secret (rotation). ``url`` is not
    part of TikTok's signature."""
    received = _header(headers, signing.WEBHOOK_SIGNATURE_HEADER)
    if not received:
        return False
    app_key = app.text("app_key")
    return any(
        signing.verify_webhook(body=body, authorization=received, app_key=app_key, app_secret=secret)
        for secret in secrets
        if secret
    )


def _entity_and_status(kind: int, data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    if kind in ORDER_TYPES:
        return _text(data.get("order_id")), _text(data.get(STATUS_FIELD[kind]))
    if kind in PRODUCT_TYPES:
        status = data.get("status") or data.get("current_inventory_status")
        return _text(data.get("product_id")), _text(status)
    return None, None


def _text(value: Any) -> str | None:
    """Ids arrive as strings or as numbers (the type 5 and 16 samples): always a string here."""
    return None if value is None or value == "" else str(value)


def _dedupe_key(payload: Mapping[str, Any], kind: int, entity: str | None) -> str:
    """``tts_notification_id``; for a push without one, the type, shop and entity with what identifies the change
    (a cancellation or return: its id and status; other types: the push time)."""
    notification = _text(payload.get("tts_notification_id"))
    if notification:
        return notification
    data = as_dict(payload.get("data"))
    change = [data.get(name) for name in CHANGE_ID_FIELDS[kind]] if kind in CHANGE_ID_FIELDS else []
    parts = [kind, payload.get("shop_id"), entity, *(change or [payload.get("timestamp")])]
    return ":".join(str(part) for part in parts)


def parse(headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
    """One event per push (TikTok sends one notification per request)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("tiktok webhook: the body is not JSON") from exc
    if not isinstance(payload, dict) or "type" not in payload:
        raise ValidationFailed("tiktok webhook: not a TikTok Shop notification envelope")
    try:
        kind = int(payload["type"])
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("tiktok webhook: 'type' is not a number") from exc
    data = as_dict(payload.get("data"))
    entity, status = _entity_and_status(kind, data)
    return [
        WebhookEvent(
            kind=KINDS.get(kind, "ignored"),
            dedupe_key=_dedupe_key(payload, kind, entity),
            platform_shop_id=_text(payload.get("shop_id")),
            entity_id=entity,
            status=status,
            occurred_at=utc(data.get("update_time")) or utc(payload.get("timestamp")),
            raw=payload,
        )
    ]
