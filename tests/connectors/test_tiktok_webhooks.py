"""TikTok Shop cancellation and return/refund pushes (issue #14): types 11 and 12 become ``order_status_changed`` so
the order is read again, deduplicated on ``tts_notification_id`` (or, without one, on the request and its status);
a type nfsync does not handle stays ``ignored``.

The documented pushes are the project's own data in tests/contracts/tiktok.json (``webhook_samples``), each with its
public source. Before: types 11 and 12 were ``ignored``, so a cancelled or refunded order was never re-read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from nfsync.connectors.base.client import AppCredentials
from nfsync.connectors.tiktok import PLATFORM, webhooks
from nfsync.connectors.tiktok.sandbox import SANDBOX
from tests.connectors.test_tiktok import APP, SHOP_ID, Env, _seed, env

__all__ = ["env"]
CONTRACT: dict[str, Any] = json.loads((Path(__file__).parents[1] / "contracts" / "tiktok.json").read_text())
SAMPLES = {kind: sample for kind, sample in CONTRACT["webhook_samples"].items() if kind != "source"}


def _body(push: dict[str, Any], **changes: Any) -> bytes:
    return json.dumps({**push, **changes}).encode()


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_documented_push_is_parsed_as_the_docs_imply(kind: str) -> None:
    sample = SAMPLES[kind]
    [event] = webhooks.parse({}, _body(sample["push"]))
    wanted = sample["expected"]
    got = {"kind": event.kind, "entity_id": event.entity_id, "status": event.status, "dedupe_key": event.dedupe_key}
    assert got == wanted, sample["source"]
    assert event.platform_shop_id == sample["push"]["shop_id"] and event.raw == sample["push"]
    data = sample["push"]["data"]
    assert event.occurred_at == datetime.fromtimestamp(data.get("update_time", sample["push"]["timestamp"]), UTC)


@pytest.mark.parametrize("kind", ["11", "12"])
def test_every_documented_request_status_is_an_order_push(kind: str) -> None:
    sample = SAMPLES[kind]
    field = "cancel_status" if kind == "11" else "return_status"
    for status in sample["enums"][field]:
        push = {**sample["push"], "data": {**sample["push"]["data"], field: status}}
        [event] = webhooks.parse({}, _body(push))
        assert (event.kind, event.status) == ("order_status_changed", status)


def test_without_a_notification_id_the_key_is_the_request_and_its_status() -> None:
    """A retried push (same request, same status, later envelope time) keeps its key; another status of the same
    request, or a request of another type on the same order, gets another."""
    push = {key: value for key, value in SAMPLES["12"]["push"].items() if key != "tts_notification_id"}
    [first] = webhooks.parse({}, _body(push))
    [retry] = webhooks.parse({}, _body(push, timestamp=push["timestamp"] + 120))
    moved = {**push, "data": {**push["data"], "return_status": "AWAITING_BUYER_SHIP", "update_time": 1644413000}}
    [later] = webhooks.parse({}, _body(moved))
    cancel = {key: value for key, value in SAMPLES["11"]["push"].items() if key != "tts_notification_id"}
    [cancelled] = webhooks.parse({}, _body(cancel))
    order = {
        "type": 1,
        "shop_id": SHOP_ID,
        "timestamp": push["timestamp"],
        "data": {"order_id": push["data"]["order_id"], "order_status": "CANCEL"},
    }
    [status] = webhooks.parse({}, _body(order))
    assert first.dedupe_key == retry.dedupe_key
    assert len({first.dedupe_key, later.dedupe_key, cancelled.dedupe_key, status.dedupe_key}) == 4
    assert first.dedupe_key.startswith("12:") and cancelled.dedupe_key.startswith("11:")


async def test_the_sandbox_pushes_a_signed_return_and_cancellation(env: Env) -> None:
    _seed(env, 1)
    order = env.sandbox.add_order(env.shop, [{"sku": "TT-00000-0"}], status="AWAITING_SHIPMENT")
    app = AppCredentials(APP)
    for kind, status in (
        ("cancellation_status_changed", "CANCELLATION_REQUEST_SUCCESS"),
        ("return_status_changed", "RETURN_OR_REFUND_REQUEST_COMPLETE"),
    ):
        headers, body, _ = env.sandbox.signed_push(env.shop, {"kind": kind, "order": order, "status": status})
        assert PLATFORM.verify_webhook(headers, body, app, SANDBOX.webhook_secrets(app, env.sandbox), "")
        [event] = PLATFORM.parse_webhook(headers, body)
        assert (event.kind, event.entity_id, event.status) == ("order_status_changed", order.order_id, status)
