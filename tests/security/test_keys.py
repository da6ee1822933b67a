"""Keys (issue #13): a process with a wrong or incomplete NFSYNC_SECRET_KEYS refuses to start instead of writing
secrets the others cannot read; a secret that does not decrypt is a generic 503; secrets are refused in the public
config."""

from __future__ import annotations

import json

import asyncpg
import pytest

from nfsync.connectors.base.errors import ConfigError
from nfsync.connectors.base.secret import Secret
from nfsync.workers.config import Settings
from nfsync.workers.crypto import Keyring, generate_key_entry
from nfsync.workers.engine.runtime import runtime
from nfsync.workers.keys import rotate_keys
from tests.api.conftest import LiveApi


async def _start(settings: Settings, keyring: str) -> None:
    async with runtime(settings.model_copy(update={"secret_keys": Secret(keyring)}), "nfsync-test", broker="none"):
        pass


async def test_a_process_with_the_wrong_keyring_refuses_to_start(database: Settings) -> None:
    first = generate_key_entry("k1")
    await _start(database, first)  # the first keyring writes the check
    await _start(database, first)
    with pytest.raises(ConfigError, match="key 'k1' in NFSYNC_SECRET_KEYS is not the key"):
        await _start(database, generate_key_entry("k1"))  # same id, other key: the replica of the finding
    with pytest.raises(ConfigError, match="lacks key 'k1'"):
        await _start(database, generate_key_entry("k2"))
    with pytest.raises(ConfigError):
        conn = await asyncpg.connect(database.database_url)
        try:
            await rotate_keys(conn, Keyring.parse(generate_key_entry("k3")))
        finally:
            await conn.close()
    second = generate_key_entry("k2")
    conn = await asyncpg.connect(database.database_url)
    try:
        report = await rotate_keys(conn, Keyring.parse(f"{second},{first}"))
    finally:
        await conn.close()
    assert report.errors == []
    await _start(database, second)  # the check follows the rotation
    with pytest.raises(ConfigError, match="lacks key 'k2'"):
        await _start(database, first)


async def test_an_unreadable_secret_is_a_generic_503(live_api: LiveApi) -> None:
    _, integration = await live_api.call(
        "POST",
        "/v1/integrations",
        live_api.a.token,
        json={
            "name": "wc",
            "platform": "woocommerce",
            "config": {},
            "webhook_secret": "s3cret-hook",
            "credentials": {"consumer_key": "ck", "consumer_secret": "cs"},
        },
    )
    conn = await asyncpg.connect(live_api.settings.database_url)
    try:  # a ciphertext moved from another row: it no longer decrypts here
        moved = "SELECT credentials->>'consumer_secret' FROM marketplace_integrations WHERE id = $1"
        other = await conn.fetchval(moved, integration["id"])
        await conn.execute(
            "UPDATE marketplace_integrations SET webhook_secret = $2 WHERE id = $1", integration["id"], other
        )
    finally:
        await conn.close()
    status, body = await live_api.call(
        "POST", f"/webhooks/woocommerce/{integration['id']}", None, data=b"{}", headers={"X-WC-Webhook-Signature": "x"}
    )
    assert status == 503, body
    assert body["error"]["message"] == "a stored secret cannot be read; retry later"
    assert "api1" not in json.dumps(body), "the key id is not named to an unauthenticated caller"


@pytest.mark.parametrize(
    "config", [{"partner_key": "x"}, {"catalog": {"api_token": "x"}}, {"features": [{"password": "x"}]}]
)
async def test_secrets_are_refused_in_the_public_config(live_api: LiveApi, config: dict[str, object]) -> None:
    status, body = await live_api.call(
        "POST", "/v1/integrations", live_api.a.token, json={"name": "n", "platform": "lazada", "config": config}
    )
    assert status == 422 and "credentials" in body["error"]["details"][0]["reason"], body
    status, _ = await live_api.call(
        "POST",
        "/v1/integrations",
        live_api.a.token,
        json={"name": "n", "platform": "lazada", "config": {"app_key": "100001"}},
    )
    assert status == 201, "app_key is a public id"
