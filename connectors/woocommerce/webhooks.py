"""WooCommerce webhooks: verification and normalisation (reference section 5.2; WC-CORE ``class-wc-webhook.php``).

A delivery is a POST whose JSON body is the REST resource (``/wc/v3/orders/{id}``, ``/wc/v3/products/{id}``; only
``{"id"}`` for ``*.deleted``), with headers ``X-WC-Webhook-Source`` (the store URL), ``-Topic``
(``order.updated``...), ``-Resource``, ``-Event``, ``-ID`` (the webhook), ``-Delivery-ID`` (per delivery, not per
event) and ``-Signature`` = base64 HMAC-SHA256(webhook secret, raw body). WooCommerce never retries; the ping sent
when a webhook is created is a form body ``webhook_id=<id>`` without a signature.

Echoes: WooCommerce fires ``product.updated`` for every product and variation an API write touched, nfsync's own
stock and price writes included (WC-CORE ``class-wc-webhook.php`` topic hooks). ``is_echo`` recognises such a push
by what nfsync last pushed for that object (``product_mappings``), so it does not become a pointless pull.

There is no event id: ``dedupe_key`` is the documented composite (webhook id, resource id, ``date_modified_gmt``),
prefixed with the store so that two stores' small webhook ids cannot collide. ``platform_shop_id`` is the store
URL without scheme and trailing slash (``shop.example.com``, ``example.com/shop``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nfsync.connectors.base.client import AppCredentials
from nfsync.connectors.base.models import EventKind, WebhookEvent
from nfsync.connectors.woocommerce.mapping import gmt, money
from nfsync.connectors.woocommerce.signing import WEBHOOK_SIGNATURE_HEADER, verify_webhook

TOPIC = "X-WC-Webhook-Topic"
SOURCE = "X-WC-Webhook-Source"
WEBHOOK_ID = "X-WC-Webhook-ID"
_CHANGED = frozenset({"created", "updated", "restored", "published"})
ECHO_BEFORE = timedelta(seconds=120)
"""How long before nfsync records a write the store may have stamped it (the write, its answer, the batch around
it). UNCONFIRMED bound: a longer gap turns an echo into a pull again, which is safe."""
ECHO_AFTER = timedelta(seconds=5)
"""Clock difference allowed the other way (the store's clock ahead of ours). UNCONFIRMED: a store clock that is
behind ours lets a merchant change with nfsync's values, within that lag after nfsync's write, pass as an echo."""


def verify(headers: Mapping[str, str], body: bytes, app: AppCredentials, secrets: Sequence[str], url: str) -> bool:
    """True when ``X-WC-Webhook-Signature`` matches the raw ``body`` under one of the active webhook secrets.

    Every secret is tried (rotation) with a constant-time comparison; the URL is not part of the signature."""
    received = _header(headers, WEBHOOK_SIGNATURE_HEADER)
    if not received:
        return False  # the creation ping, or not WooCommerce
    results = [verify_webhook(body=body, signature_header=received, secret=secret) for secret in secrets if secret]
    return any(results)


def parse(headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
    topic = _header(headers, TOPIC)
    if not topic:
        return [_ping(body)]
    payload = _json_object(body)
    resource, _, action = topic.partition(".")
    kind = _kind(resource, action) if payload is not None else "ignored"
    payload = payload or {}
    source = _store(_header(headers, SOURCE) or "")
    resource_id = str(payload.get("id", ""))
    modified = payload.get("date_modified_gmt")
    return [
        WebhookEvent(
            kind=kind,
            dedupe_key="|".join([source, _header(headers, WEBHOOK_ID) or "", resource_id, str(modified or action)]),
            platform_shop_id=source or None,
            entity_id=_entity_id(payload) or None,
            status=str(payload["status"]) if payload.get("status") else None,
            occurred_at=gmt(modified),
            raw=payload,
        )
    ]


def _kind(resource: str, action: str) -> EventKind:
    """Orders: any change (deleted included: the handler re-reads and finds it gone); products: changed or deleted;
    customers, coupons and ``action.*`` topics are ignored."""
    if resource == "order":
        return "order_status_changed"
    if resource == "product":
        return "product_deleted" if action == "deleted" else "product_changed" if action in _CHANGED else "ignored"
    return "ignored"


def _entity_id(payload: Mapping[str, Any]) -> str:
    """The order or product id; a variation's change is its parent product's (``product.updated`` fires for both)."""
    if payload.get("type") == "variation" and payload.get("parent_id"):
        return str(payload["parent_id"])
    return str(payload.get("id", ""))


def _ping(body: bytes) -> WebhookEvent:
    form = parse_qs(body.decode("utf-8", "replace"))
    webhook_id = (form.get("webhook_id") or [""])[0]
    return WebhookEvent(kind="ignored", dedupe_key=f"ping|{webhook_id}", raw={"webhook_id": webhook_id})


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _store(source: str) -> str:
    parts = urlsplit(source)
    return (parts.netloc + parts.path).rstrip("/")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """WooCommerce's creation ping: a form body ``webhook_id=<id>`` and no signature (WC-DOC webhooks)."""
    signed = any(name.lower() == "x-wc-webhook-signature" for name in headers)
    return not signed and body.startswith(b"webhook_id=")


def is_echo(payload: Mapping[str, Any], mappings: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a ``product.*`` push only reports nfsync's own last write: the pushed object (a simple product or a
    variation) is mapped, its ``stock_quantity`` and ``regular_price`` are what nfsync last pushed for it, and its
    ``date_modified_gmt`` falls around the time nfsync recorded that push.

    ``mappings``: rows with ``platform_item_id``, ``platform_variant_id``, ``last_pushed_stock``,
    ``last_pushed_price`` and ``pushed_at`` (aware UTC). A variable product's own push is never an echo: it has no
    stock or price of its own to compare, and its changes (status, new variations, name) are the merchant's."""
    kind, object_id = payload.get("type"), str(payload.get("id", ""))
    if kind == "variation":
        rows = [m for m in mappings if str(m.get("platform_variant_id")) == object_id]
    elif kind == "simple":
        rows = [m for m in mappings if str(m.get("platform_item_id")) == object_id and not m.get("platform_variant_id")]
    else:
        return False
    return (
        len(rows) == 1
        and _same_values(payload, rows[0])
        and _pushed_then(gmt(payload.get("date_modified_gmt")), rows[0].get("pushed_at"))
    )


def _same_values(payload: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    stock, price = row.get("last_pushed_stock"), row.get("last_pushed_price")
    if stock is None or price is None or not payload.get("manage_stock"):
        return False
    return payload.get("stock_quantity") == stock and money(payload.get("regular_price")) == Decimal(str(price))


def _pushed_then(modified: datetime | None, pushed_at: Any) -> bool:
    if modified is None or not isinstance(pushed_at, datetime) or pushed_at.tzinfo is None:
        return False
    return pushed_at - ECHO_BEFORE <= modified <= pushed_at + ECHO_AFTER
