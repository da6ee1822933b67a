"""Webhook intake under hostile callers (issue #13): nothing is read for an unknown URL, sizes and read times are
bounded, unknown integrations and bad signatures look alike, and an authentic push no parser can read is stored and
answered 200 - never a 5xx the platform would retry forever. Plus a Hypothesis fuzz of the four platforms' parsers
through the intake's parse step."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nfsync.connectors.base.spec import PLATFORM_PACKAGES, load
from nfsync.connectors.shopee import signing as shopee_signing
from nfsync.workers.api.webhooks import parse_push
from tests.api.conftest import LiveApi
from tests.api.test_webhooks import SHOP, Hook, hook

__all__ = ["hook"]
UNKNOWN = "/webhooks/shopee/00000000-0000-0000-0000-000000000000"


def _signed(hook: Hook, body: bytes) -> dict[str, str]:
    signature = shopee_signing.webhook_signature(hook.api.url + hook.path, body, hook.sandbox._partner_key)
    return {shopee_signing.WEBHOOK_SIGNATURE_HEADER: signature, "Content-Type": "application/json"}


async def _stalled(live_api: LiveApi, path: str, declared: int, sent: bytes = b"") -> tuple[int, bytes]:
    """Headers announcing ``declared`` bytes, then only ``sent``: the server must answer without the rest."""
    host, port = live_api.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
        )
        writer.write(head.encode() + sent)
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 8)
    finally:
        writer.close()
    return int(answer.split(b" ", 2)[1]), answer


@pytest.mark.parametrize("hook", ["shopee"], indirect=True)
async def test_unknown_integration_and_bad_signature_look_alike(hook: Hook) -> None:
    body = b'{"code": 3}'
    unknown = await hook.api.call("POST", UNKNOWN, None, data=body, headers=_signed(hook, body))
    forged = await hook.api.call("POST", hook.path, None, data=body, headers={"Authorization": "forged"})
    assert unknown == forged and unknown[0] == 401, (unknown, forged)


@pytest.mark.parametrize("hook", ["shopee"], indirect=True)
async def test_nothing_is_read_for_an_unknown_url_or_a_declared_oversize(hook: Hook) -> None:
    """Before: the body was read (up to 1 MiB, with no deadline) before the integration was looked up."""
    status, _ = await _stalled(hook.api, UNKNOWN, declared=1_000_000)
    assert status == 401
    status, _ = await _stalled(hook.api, hook.path, declared=5 * 1024 * 1024)
    assert status == 413


@pytest.mark.parametrize("live_api", [{"webhook_read_timeout": 0.5}], indirect=True)
@pytest.mark.parametrize("hook", ["shopee"], indirect=True)
async def test_a_body_that_never_arrives_is_cut_off(live_api: LiveApi, hook: Hook) -> None:
    status, _ = await _stalled(live_api, hook.path, declared=100, sent=b'{"code"')
    assert status == 408


HOSTILE = {
    "deep": b"[" * 5000 + b"]" * 5000,
    "infinity": b'{"code":3,"shop_id":770001,"timestamp":Infinity,"data":{"ordersn":"X1","status":"READY"}}',
    "time out of range": b'{"code":3,"shop_id":770001,"timestamp":99999999999999999999,'
    b'"data":{"ordersn":"X2","status":"READY_TO_SHIP","update_time":99999999999999999999}}',
    "nul": b'{"code":3,"shop_id":770001,"data":{"ordersn":"X\\u0000","status":"READY"}}',
}


@pytest.mark.parametrize("hook", ["shopee"], indirect=True)
@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_an_authentic_push_no_parser_can_read_is_stored_not_a_5xx(hook: Hook, name: str) -> None:
    body = HOSTILE[name]
    for _ in range(2):
        status, _ = await hook.api.call("POST", hook.path, None, data=body, headers=_signed(hook, body))
        assert status == 200, name
    rows = await hook.rows("SELECT event_type, status, error_message, task_id FROM marketplace_webhooks")
    assert len(rows) == 1, "stored once however often it comes"
    assert rows[0]["event_type"] == "unparseable" and rows[0]["status"] == "failed" and rows[0]["task_id"] is None
    assert rows[0]["error_message"]
    assert await hook.rows("SELECT id FROM sync_tasks") == []


LONG_FIELDS = {
    "order id": ({"ordersn": "X" * 300, "status": "READY_TO_SHIP"}, 770001),
    "shop id": ({"ordersn": "X1", "status": "READY_TO_SHIP"}, int("7" * 150)),
}


@pytest.mark.parametrize("hook", ["shopee"], indirect=True)
@pytest.mark.parametrize("name", sorted(LONG_FIELDS))
async def test_an_authentic_push_with_an_id_no_platform_issues_is_stored_and_costs_no_task(
    hook: Hook, name: str
) -> None:
    """Before: a 300-character order id did not fit marketplace_webhooks.entity_id (nor a 150-digit shop id its
    platform_shop_id): a 422, and the push was lost; a shop id that long also fell back to the only shop."""
    data, shop_id = LONG_FIELDS[name]
    body = json.dumps({"code": 3, "shop_id": shop_id, "timestamp": 1, "data": data}).encode()
    for _ in range(2):
        status, _ = await hook.api.call("POST", hook.path, None, data=body, headers=_signed(hook, body))
        assert status == 200
    rows = await hook.rows("SELECT status, error_message, task_id, dedupe_key FROM marketplace_webhooks")
    assert [(r["status"], r["task_id"]) for r in rows] == [("ignored", None)], "stored once, no work"
    assert "longer than 100" in rows[0]["error_message"]
    assert len(rows[0]["dedupe_key"]) <= 255
    assert await hook.rows("SELECT id FROM sync_tasks") == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
shaped = st.fixed_dictionaries(
    {"code": st.integers(-5, 40), "shop_id": st.integers(0, 2**70) | st.text(max_size=8)},
    optional={
        "data": json_values,
        "timestamp": st.integers() | st.floats() | st.text(max_size=8),
        "type": st.text(max_size=20),
        "message_type": st.integers(-2, 20),
        "shop_cipher": st.text(max_size=8),
        "topic": st.text(max_size=20),
        "id": json_values,
        "status": st.text(max_size=12),
    },
)


@pytest.mark.parametrize("platform", PLATFORM_PACKAGES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=shaped | json_values, raw=st.binary(max_size=64), use_raw=st.booleans())
def test_no_parser_input_escapes_the_intake(platform: str, payload: Any, raw: bytes, use_raw: bool) -> None:
    body = raw if use_raw else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "updated",
        "X-WC-Webhook-Source": SHOP,
    }
    events, reason = parse_push(load(platform), headers, body)  # must not raise, whatever the body
    assert (reason is None) or events == []
    for event in events:
        assert len(event.dedupe_key) > 0
