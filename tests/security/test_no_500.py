"""Input never causes a 5xx: each case here answered 500 before its fix (issue #13) and must now be a 4xx with the
one error shape. Raw sockets send what an HTTP client library would refuse to send."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from nfsync.workers.api.oauth import sign_state
from nfsync.workers.crypto import Keyring
from tests.api.conftest import KEY_ENTRY, LiveApi


async def raw_request(live_api: LiveApi, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send exact bytes; returns the status code and the body of the answer."""
    host, port = live_api.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 5)
    try:
        writer.write(head + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


def _task(live_api: LiveApi, **extra: Any) -> dict[str, Any]:
    return {
        "integration_id": str(live_api.a.integration),
        "shop_id": str(live_api.a.shops[0]),
        "task_type": "inventory_sync",
        "direction": "crm_to_marketplace",
        **extra,
    }


@pytest.mark.parametrize("token", [b"nfs_\xe9\xff", "nfs_\u00e9\u00e8".encode(), b"x" * 5000])
async def test_a_strange_bearer_token_is_401(live_api: LiveApi, token: bytes) -> None:
    head = b"GET /v1/sync-tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
    status, body = await raw_request(live_api, head)
    assert status == 401, body
    assert json.loads(body)["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"scheduled_at": "9999-12-31T23:59:59-14:00"}, "request.scheduled_at"),
        ({"scheduled_at": "0001-01-01T00:00:00+14:00"}, "request.scheduled_at"),
        ({"filter_criteria": {"variant_ids": "not-a-list"}}, "request.filter_criteria"),
        ({"filter_criteria": {"updated_after": "yesterday"}}, "request.filter_criteria"),
        (
            {"filter_criteria": {"product_ids": ["p1"]}},
            "request.filter_criteria",
        ),  # inventory_sync reads no product ids
        ({"filter_criteria": {"variant_ids": ["v"] * 50_001}}, "request.filter_criteria"),
        ({"filter_criteria": {"variant_ids": ["x" * 256]}}, "request.filter_criteria"),
        ({"filter_criteria": {"diag": {"sleep": 1e308, "steps": -1}}}, "request.filter_criteria"),
        ({"filter_criteria": {"variant_ids": [[["nested"]]]}}, "request.filter_criteria"),
    ],
)
async def test_out_of_range_values_in_a_task_are_422(live_api: LiveApi, extra: dict[str, Any], path: str) -> None:
    status, body = await live_api.call("POST", "/v1/sync-tasks", live_api.a.token, json=_task(live_api, **extra))
    assert status == 422, body
    assert [d["path"] for d in body["error"]["details"]] == [path]


async def test_an_idempotency_key_header_over_255_characters_is_422(live_api: LiveApi) -> None:
    status, body = await live_api.call(
        "POST", "/v1/sync-tasks", live_api.a.token, json=_task(live_api), headers={"Idempotency-Key": "k" * 256}
    )
    assert status == 422 and body["error"]["details"][0]["path"] == "request.idempotency_key", body


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 40 + b"1" + b"}" * 40, b"[" * 40 + b"]" * 40])
async def test_deeply_nested_json_is_422(live_api: LiveApi, body: bytes) -> None:
    head = (
        b"POST /v1/sync-tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer "
        + live_api.a.token.encode()
    )
    status, answer = await raw_request(live_api, head, body)
    assert status == 422, answer
    assert json.loads(answer)["error"]["code"] == "validation_failed"


async def test_a_token_expiry_out_of_range_is_422(live_api: LiveApi) -> None:
    status, body = await live_api.call(
        "POST",
        f"/v1/integrations/{live_api.a.integration}/accounts",
        live_api.a.token,
        json={
            "name": "x",
            "platform_account_id": "1",
            "access_token": "t",
            "token_expires_at": "9999-12-31T23:59:59-14:00",
        },
    )
    assert status == 422 and body["error"]["details"][0]["path"] == "body.token_expires_at", body


async def test_the_oauth_callback_refuses_a_non_numeric_shop_id(live_api: LiveApi) -> None:
    state = sign_state(Keyring.parse(KEY_ENTRY), live_api.a.integration)
    status, body = await live_api.call("GET", f"/oauth/callback/shopee?code=c&state={state}&shop_id=abc", None)
    assert status == 422 and "shop_id" in body["error"]["message"], body
    other = sign_state(Keyring.parse(KEY_ENTRY), uuid.uuid4())  # signed, but never handed out
    status, _ = await live_api.call("GET", f"/oauth/callback/shopee?code=c&state={other}&shop_id=1", None)
    assert status == 422
