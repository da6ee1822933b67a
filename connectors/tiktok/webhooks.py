"""TikTok Shop webhooks: verification and normalisation.

Sources: the references cited in tests/contracts 4.3; TTS-DOC ``tiktok-shop-webhooks/configuration-guide.md`` and
``webhooks/**`` (one page per type). Envelope ``{type, tts_notification_id, shop_id, timestamp, data}``;
``tts_notification_id`` is the dedup key. The signature is the ``Authorization`` header, lowercase hex
HMAC-SHA256(key = app_secret, message = app_key + raw body) - a formula only community implementations confirm
(see ``connectors/tiktok/signing.py``).

TikTok has no product-deletion webhook: a deletion or deactivation reaches us as a product change (types 5, 15,
27), and re-reading the product tells which.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base.client import AppCredentials
from connectors.base.errors import ValidationFailed
from connectors.base.models import EventKind, WebhookEvent
from connectors.tiktok import signing
from connectors.tiktok.mapping import as_dict, utc

ORDER_STATUS_CHANGE = 1
PRODUCT_STATUS_CHANGE = 5  # audit results, platform status changes
SELLER_DEAUTHORIZATION = 6
UPCOMING_AUTHORIZATION_EXPIRATION = 7
PRODUCT_INFORMATION_CHANGE = 15
PRODUCT_CREATION = 16
INVENTORY_STATUS_CHANGE = 27  # low stock / out of stock
PRODUCT_TYPES = frozenset({PRODUCT_STATUS_CHANGE, PRODUCT_INFORMATION_CHANGE, PRODUCT_CREATION,
                           INVENTORY_STATUS_CHANGE})  # fmt: skip

KINDS: dict[int, EventKind] = {
    ORDER_STATUS_CHANGE: "order_status_changed",
    SELLER_DEAUTHORIZATION: "shop_deauthorized",
    UPCOMING_AUTHORIZATION_EXPIRATION: "authorization_expiring",
    **dict.fromkeys(PRODUCT_TYPES, "product_changed"),
}  # other types (cancellation 11, return 12, package 4, address 3, ...) are "ignored"


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
    if kind == ORDER_STATUS_CHANGE:
        return _text(data.get("order_id")), _text(data.get("order_status"))
    if kind in PRODUCT_TYPES:
        status = data.get("status") or data.get("current_inventory_status")
        return _text(data.get("product_id")), _text(status)
    return None, None


def _text(value: Any) -> str | None:
    """Ids arrive as strings or as numbers (the type 5 and 16 samples): always a string here."""
    return None if value is None or value == "" else str(value)


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
    shop_id = _text(payload.get("shop_id"))
    dedupe = _text(payload.get("tts_notification_id")) or ":".join(
        str(part) for part in (kind, shop_id, entity, payload.get("timestamp"))
    )  # older pushes without an id: type + shop + entity + push time
    return [WebhookEvent(
        kind=KINDS.get(kind, "ignored"), dedupe_key=dedupe, platform_shop_id=shop_id, entity_id=entity,
        status=status, occurred_at=utc(data.get("update_time")) or utc(payload.get("timestamp")), raw=payload,
    )]  # fmt: skip
