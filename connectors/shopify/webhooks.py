"""Shopify webhooks: verification and normalisation (docs/platforms/shopify.md "inbound webhook"; SD-WH-VERIFY,
SD-WH-DELIVERY, JS-API ShopifyHeader).

A delivery is a POST whose JSON body is the REST resource of the topic, with ``X-Shopify-Hmac-Sha256`` (base64
HMAC-SHA256 of the raw body under the app's client secret), ``X-Shopify-Topic`` (``orders/updated``...),
``X-Shopify-Shop-Domain``, ``X-Shopify-Webhook-Id``, ``X-Shopify-Event-Id`` (newer, SD-WH-DELIVERY),
``X-Shopify-Triggered-At`` and ``X-Shopify-API-Version``. Deliveries may repeat and come out of order: the event id
(else the webhook id) is the dedupe key; a delivery with neither falls back to shop, topic, resource id and trigger
time. The body's numeric ``id`` is not what nfsync stores: ``admin_graphql_api_id`` is the GID (doc "Global IDs"); a
body without it gets the GID built from ``id``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from nfsync.connectors.base.client import AppCredentials
from nfsync.connectors.base.models import EventKind, WebhookEvent
from nfsync.connectors.shopify.mapping import number, order_status, timestamp
from nfsync.connectors.shopify.signing import WEBHOOK_SIGNATURE_HEADER, verify_webhook

TOPIC = "X-Shopify-Topic"
SHOP_DOMAIN = "X-Shopify-Shop-Domain"
WEBHOOK_ID = "X-Shopify-Webhook-Id"
EVENT_ID = "X-Shopify-Event-Id"
TRIGGERED_AT = "X-Shopify-Triggered-At"
TOPICS: Mapping[str, tuple[EventKind, str | None]] = {
    "orders/create": ("order_status_changed", "Order"),
    "orders/updated": ("order_status_changed", "Order"),
    "orders/cancelled": ("order_status_changed", "Order"),
    "products/update": ("product_changed", "Product"),
    "app/uninstalled": ("shop_deauthorized", None),
}
"""The topics nfsync subscribes to (contract ``webhook_topics.values``) and what each becomes; others are ignored."""


def verify(headers: Mapping[str, str], body: bytes, app: AppCredentials, secrets: Sequence[str], url: str) -> bool:
    """True when ``X-Shopify-Hmac-Sha256`` matches the raw ``body`` under one of the active client secrets (the
    current one and, during a rotation, the previous one: SD-WH-VERIFY says a new secret can take up to 1 h). The URL
    is not part of the signature."""
    received = _header(headers, WEBHOOK_SIGNATURE_HEADER)
    if not received:
        return False
    results = [verify_webhook(body=body, signature_header=received, secret=secret) for secret in secrets if secret]
    return any(results)


def parse(headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
    topic = (_header(headers, TOPIC) or "").strip().lower()
    payload = _json_object(body)
    kind, gid_kind = TOPICS.get(topic, ("ignored", None))
    if payload is None:
        kind, payload = "ignored", {}
    shop = (_header(headers, SHOP_DOMAIN) or "").strip().lower() or None
    dedupe = _header(headers, EVENT_ID) or _header(headers, WEBHOOK_ID) or ""
    return [
        WebhookEvent(
            kind=kind,
            dedupe_key=dedupe or f"{shop or ''}|{topic}|{payload.get('id', '')}|{_header(headers, TRIGGERED_AT) or ''}",
            platform_shop_id=shop,
            entity_id=_entity_id(payload, gid_kind) if kind != "ignored" else None,
            status=_status(payload) if kind == "order_status_changed" else None,
            occurred_at=timestamp(_header(headers, TRIGGERED_AT)) or timestamp(payload.get("updated_at")),
            raw=payload,
        )
    ]


def _entity_id(payload: Mapping[str, Any], kind: str | None) -> str | None:
    if kind is None:
        return None
    if payload.get("admin_graphql_api_id"):
        return number(payload["admin_graphql_api_id"])
    return number(payload["id"]) or None


def _status(payload: Mapping[str, Any]) -> str:
    """The same derived key as the GraphQL order (REST ``financial_status``/``fulfillment_status`` are the lower-case
    enum names; a null fulfillment status is unfulfilled)."""
    return order_status(payload.get("cancelled_at"), payload.get("financial_status"), payload.get("fulfillment_status"))


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
