"""Webhooks of the WooCommerce sandbox: the REST endpoints and which deliveries a write causes.

Sources: WC-DOC _webhooks.md (woocommerce/woocommerce-rest-api-docs source/includes/wp-api-v3: properties, topics,
statuses, delivery headers, "disabled after 5 consecutive failed deliveries"); WC-CORE
``rest-api/Controllers/Version1/class-wc-rest-webhooks-v1-controller.php`` (create_item: topic checked first, then
the delivery URL, a missing secret replaced by a random 50-character one, status always ``active`` on create, 201
with ``Location``, then the ping; update_item: only the non-empty fields, ``ID is invalid.`` 400 for an unknown id;
delete_item: ``force`` or 501 ``woocommerce_rest_trash_not_supported``, unknown id 404 ``Invalid ID.``), and
``wc_is_webhook_valid_topic`` (resources coupon/customer/order/product, events created/updated/deleted/restored,
``action.woocommerce_*``/``action.wc_*``).

What fires (``class-wc-webhook.php`` topic hooks): ``product.created``/``product.updated`` for every product AND
variation written, through the API too (a variation's payload is ``GET /products/<variation id>``: type
``variation`` with ``parent_id``), once per object and request; nothing for a permanent delete (``product.deleted``
is bound to trashing). UNCONFIRMED: the sandbox delivers at once, core queues deliveries (Action Scheduler).
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from nfsync.connectors.woocommerce.sandbox.payloads import WcFailure, wc_time

RESOURCES = ("coupon", "customer", "order", "product")
EVENTS = ("created", "updated", "deleted", "restored")
STATUSES = ("active", "paused", "disabled")
MAX_FAILURES = 5  # WC-DOC: disabled after 5 consecutive failures (core counts one more: the stricter bound is kept)
INVALID_ID = "woocommerce_rest_shop_webhook_invalid_id"
Json = dict[str, Any]


@dataclass
class Webhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str = "active"
    created: float = field(default_factory=time.time)
    modified: float = field(default_factory=time.time)
    failures: int = 0

    def json(self, home: str) -> Json:
        resource, _, event = self.topic.partition(".")
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "topic": self.topic,
            "resource": resource,
            "event": event,
            "hooks": [],
            "delivery_url": self.delivery_url,
            "date_created": wc_time(self.created),
            "date_created_gmt": wc_time(self.created),
            "date_modified": wc_time(self.modified),
            "date_modified_gmt": wc_time(self.modified),
            "_links": {
                "self": [{"href": f"{home}/wp-json/wc/v3/webhooks/{self.id}"}],
                "collection": [{"href": f"{home}/wp-json/wc/v3/webhooks"}],
            },
        }


def valid_topic(topic: str) -> bool:
    if topic.startswith(("action.woocommerce_", "action.wc_")):
        return True
    resource, _, event = topic.partition(".")
    return resource in RESOURCES and event in EVENTS


def valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url


class Registry:
    """The webhooks of every store of the sandbox (ids from the shared WordPress post sequence)."""

    def __init__(self, new_id: Any) -> None:
        self._new_id = new_id
        self.by_shop: dict[str, dict[int, Webhook]] = {}

    def of(self, shop_id: str) -> dict[int, Webhook]:
        return self.by_shop.setdefault(shop_id, {})

    def active(self, shop_id: str, topic: str) -> list[Webhook]:
        return [hook for hook in self.of(shop_id).values() if hook.status == "active" and hook.topic == topic]

    def get(self, shop_id: str, hook_id: str, *, status: int, message: str) -> Webhook:
        hook = self.of(shop_id).get(int(hook_id))
        if hook is None:
            raise WcFailure(status, INVALID_ID, message)
        return hook

    def create(self, shop_id: str, body: Mapping[str, Any]) -> Webhook:
        missing = [name for name in ("topic", "delivery_url") if name not in body]
        if missing:
            raise WcFailure(
                400, "rest_missing_callback_param", f"Missing parameter(s): {', '.join(missing)}", params=missing
            )
        topic, url = str(body.get("topic") or "").lower(), str(body.get("delivery_url") or "")
        if not valid_topic(topic):
            raise WcFailure(
                400, "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic is required and must be valid."
            )
        if not valid_url(url):
            raise WcFailure(
                400,
                "woocommerce_rest_shop_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
            )
        secret = str(body.get("secret") or "") or _generated_secret()
        hook = Webhook(
            int(self._new_id()),
            str(body.get("name") or f"Webhook created on {wc_time(time.time())}"),
            topic,
            url,
            secret,
        )
        self.of(shop_id)[hook.id] = hook
        return hook

    def update(self, shop_id: str, hook_id: str, body: Mapping[str, Any]) -> Webhook:
        hook = self.get(shop_id, hook_id, status=400, message="ID is invalid.")
        _check_update(body)
        hook.topic = str(body.get("topic") or hook.topic).lower()
        hook.delivery_url = str(body.get("delivery_url") or hook.delivery_url)
        hook.secret = str(body.get("secret") or hook.secret)
        hook.name = str(body.get("name") or hook.name)
        if body.get("status"):
            hook.status, hook.failures = str(body["status"]).lower(), 0
        hook.modified = time.time()
        return hook

    def delete(self, shop_id: str, hook_id: str, force: str | None) -> Webhook:
        if (force or "").lower() not in ("true", "1"):
            raise WcFailure(501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
        hook = self.get(shop_id, hook_id, status=404, message="Invalid ID.")
        del self.of(shop_id)[hook.id]
        return hook

    def delivered(self, hook: Webhook, ok: bool) -> None:
        """``WC_Webhook::log_delivery``: a success resets the count; too many failures in a row disable it."""
        hook.failures = 0 if ok else hook.failures + 1
        if hook.failures >= MAX_FAILURES:
            hook.status = "disabled"


def _check_update(body: Mapping[str, Any]) -> None:
    if body.get("topic") and not valid_topic(str(body["topic"]).lower()):
        raise WcFailure(400, "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic must be valid.")
    if body.get("delivery_url") and not valid_url(str(body["delivery_url"])):
        raise WcFailure(
            400,
            "woocommerce_rest_shop_webhook_invalid_delivery_url",
            "Webhook delivery URL must be a valid URL starting with http:// or https://.",
        )
    if body.get("status") and str(body["status"]).lower() not in STATUSES:
        raise WcFailure(400, "woocommerce_rest_shop_webhook_invalid_status", "Webhook status must be valid.")


def _generated_secret() -> str:
    """``wp_generate_password(50, true, true)``: nfsync could never know it (hence it always sends its own)."""
    alphabet = string.ascii_letters + string.digits + "!@#$%^&*()-_ []{}<>~`+=,.;:/?|"
    return "".join(secrets.choice(alphabet) for _ in range(50))
