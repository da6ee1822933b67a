"""Shopee pushes: verification and normalisation.

Sources: the references cited in tests/contracts (SHP-DOC developer guide 18 "Push Mechanism") for the
signature, the order-status payload (code 3) and the dedupe composite. The shapes of the other pushes are not in
that reference; they follow a secondary survey of the same Shopee pages (GitHub copies of the push-mechanism
pages): code 1/2 carry ``data.shop_id`` (sometimes spelled ``shopid``) or ``data.shop_id_list``; code 12 carries
``data.shop_expire_soon`` (a page of shop ids, no top-level shop id); codes 6 (banned item), 8 (reserved stock
change), 16 (violation item) and 22 (item price update) carry ``data.item_id``.

Shopee has no event id. The dedupe key of an order-status push is the documented composite
``shop_id:code:ordersn:status:update_time``; every other push is keyed by shop, code and a digest of the whole
message, which is stable when Shopee redelivers the same push.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from nfsync.connectors.base.client import AppCredentials
from nfsync.connectors.base.errors import ValidationFailed
from nfsync.connectors.base.models import EventKind, WebhookEvent
from nfsync.connectors.shopee.signing import WEBHOOK_SIGNATURE_HEADER, verify_webhook

ORDER_STATUS, SHOP_AUTHORIZED, SHOP_DEAUTHORIZED, AUTHORIZATION_EXPIRING = 3, 1, 2, 12
PRODUCT_CODES = frozenset({6, 8, 16, 22})  # banned item, reserved stock change, violation item, item price update
_DELETED_STATUSES = frozenset({"SELLER_DELETE", "SHOPEE_DELETE", "DELETED"})


def verify(headers: Mapping[str, str], body: bytes, app: AppCredentials, secrets: Sequence[str], url: str) -> bool:
    """Whether ``body`` (the exact raw bytes) was signed by Shopee for ``url`` with one of the active partner keys.

    ``app`` is not needed: Shopee signs pushes with the partner key, which the caller passes in ``secrets`` (every
    key still active during a rotation)."""
    del app
    received = header(headers, WEBHOOK_SIGNATURE_HEADER)
    if not received:
        return False
    return any(
        verify_webhook(callback_url=url, body=body, authorization=received, partner_key=secret)
        for secret in secrets
        if secret
    )


def parse(headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
    """The events of one push (a code 12 push names several shops: one event each)."""
    del headers
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("the Shopee push body is not JSON") from None
    if not isinstance(message, dict):
        raise ValidationFailed("the Shopee push body is not a JSON object")
    return events_from_message(message)


def events_from_message(message: Mapping[str, Any]) -> list[WebhookEvent]:
    """Normalise one push message (a live push body, or one entry of the lost-push list)."""
    code = _int(message.get("code"))
    handler = _HANDLERS.get(code) or (_product_events if code in PRODUCT_CODES else _ignored)
    return handler(message)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value by case-insensitive name."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


# ---------------------------------------------------------------------------------------------------- handlers


def _order_events(message: Mapping[str, Any]) -> list[WebhookEvent]:
    data = _data(message)
    shop = _shop_of(message, data)
    order_sn, status, updated = str(data.get("ordersn") or ""), str(data.get("status") or ""), data.get("update_time")
    if not order_sn:
        return _ignored(message)
    key = f"{shop}:{ORDER_STATUS}:{order_sn}:{status}:{updated}"
    return [
        _event("order_status_changed", key, message, shop=shop, entity=order_sn, status=status or None, when=updated)
    ]


def _deauthorized_events(message: Mapping[str, Any]) -> list[WebhookEvent]:
    data = _data(message)
    shops = _ids([data.get("shop_id"), data.get("shopid"), message.get("shop_id"), *_list(data.get("shop_id_list"))])
    return _per_shop("shop_deauthorized", message, shops, str(data.get("authorize_type") or "") or None)


def _expiring_events(message: Mapping[str, Any]) -> list[WebhookEvent]:
    data = _data(message)
    shops = _ids(_list(data.get("shop_expire_soon")))
    return _per_shop("authorization_expiring", message, shops, None, data.get("expire_before"))


def _product_events(message: Mapping[str, Any]) -> list[WebhookEvent]:
    data = _data(message)
    item = data.get("item_id")
    if item is None:
        return _ignored(message)
    status = str(data.get("item_status") or data.get("status") or "") or None
    kind: EventKind = "product_deleted" if status in _DELETED_STATUSES else "product_changed"
    shop = _shop_of(message, data)
    when = data.get("update_time") or message.get("timestamp")
    return [_event(kind, _digest_key(message, shop), message, shop=shop, entity=str(item), status=status, when=when)]


def _ignored(message: Mapping[str, Any]) -> list[WebhookEvent]:
    shop = _shop_of(message, _data(message))
    return [_event("ignored", _digest_key(message, shop), message, shop=shop, when=message.get("timestamp"))]


_HANDLERS: dict[int | None, Callable[[Mapping[str, Any]], list[WebhookEvent]]] = {
    ORDER_STATUS: _order_events,
    SHOP_DEAUTHORIZED: _deauthorized_events,
    AUTHORIZATION_EXPIRING: _expiring_events,
}


# ---------------------------------------------------------------------------------------------------- helpers


def _per_shop(
    kind: EventKind, message: Mapping[str, Any], shops: list[str], status: str | None, when: Any = None
) -> list[WebhookEvent]:
    if not shops:
        return _ignored(message)
    occurred = when or message.get("timestamp")
    return [
        _event(kind, _digest_key(message, shop), message, shop=shop, status=status, when=occurred) for shop in shops
    ]


def _event(
    kind: EventKind,
    key: str,
    message: Mapping[str, Any],
    *,
    shop: str | None,
    entity: str | None = None,
    status: str | None = None,
    when: Any = None,
) -> WebhookEvent:
    return WebhookEvent(
        kind=kind,
        dedupe_key=key,
        platform_shop_id=shop,
        entity_id=entity,
        status=status,
        occurred_at=_time(when),
        raw=dict(message),
    )


def _digest_key(message: Mapping[str, Any], shop: str | None) -> str:
    canonical = json.dumps(message, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return f"{shop or '-'}:{message.get('code')}:{digest}"


def _data(message: Mapping[str, Any]) -> Mapping[str, Any]:
    data = message.get("data")
    if isinstance(data, str):  # the lost-push API returns data as a JSON string
        try:
            data = json.loads(data)
        except ValueError:
            return {}
    return data if isinstance(data, dict) else {}


def _shop_of(message: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    ids = _ids([message.get("shop_id"), data.get("shop_id"), data.get("shopid")])
    return ids[0] if ids else None


def _ids(values: Sequence[Any]) -> list[str]:
    """Non-empty ids as strings, first occurrence kept (Shopee's samples repeat ids)."""
    return list(dict.fromkeys(str(value) for value in values if value not in (None, "", 0)))


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _time(value: Any) -> datetime | None:
    seconds = _int(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds else None
