"""Secrets at rest: round trip, unique nonces, binding to the row, bad keys, and rotation in the database."""

from __future__ import annotations

import json

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nfsync.connectors.base.errors import ConfigError
from nfsync.connectors.base.secret import Secret
from nfsync.workers.crypto import Keyring, SecretField, generate_key_entry, key_id_of
from nfsync.workers.errors import DecryptionError, UnknownKeyError
from nfsync.workers.keys import count_by_key_id, rotate_keys
from tests.conftest import make_integration, make_organization

WHERE = SecretField("marketplace_accounts", "access_token", "org-1", "row-1")
KEYRING = Keyring.parse(generate_key_entry("k1"))


@given(st.text(max_size=300))
def test_round_trip(plaintext: str) -> None:
    token = KEYRING.encrypt(plaintext, WHERE)
    assert key_id_of(token) == "k1"
    assert KEYRING.decrypt(token, WHERE).reveal() == plaintext


def test_fresh_nonce_every_time() -> None:
    tokens = {KEYRING.encrypt("same", WHERE) for _ in range(200)}
    assert len(tokens) == 200


@pytest.mark.parametrize(
    "elsewhere",
    [
        SecretField("marketplace_accounts", "access_token", "org-1", "row-2"),
        SecretField("marketplace_accounts", "refresh_token", "org-1", "row-1"),
        SecretField("marketplace_accounts", "access_token", "org-2", "row-1"),
        SecretField("marketplace_integrations", "access_token", "org-1", "row-1"),
    ],
)
def test_ciphertext_is_bound_to_its_place(elsewhere: SecretField) -> None:
    token = KEYRING.encrypt("shpk-token", WHERE)
    with pytest.raises(DecryptionError, match="copied from another row or column"):
        KEYRING.decrypt(token, elsewhere)


def test_tampered_and_unknown_key() -> None:
    token = KEYRING.encrypt("value", WHERE)
    body = token.rsplit(":", 1)[1]
    flipped = token[: -len(body)] + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(DecryptionError):
        KEYRING.decrypt(flipped, WHERE)
    other = Keyring.parse(generate_key_entry("k9"))
    with pytest.raises(UnknownKeyError, match="key id 'k1', which is not in NFSYNC_SECRET_KEYS"):
        other.decrypt(token, WHERE)
    with pytest.raises(DecryptionError, match="not an nfsync ciphertext"):
        KEYRING.decrypt("encrypted:abc", WHERE)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "holds no key"),
        ("k1", "must look like"),
        ("k1:!!!", "not valid base64"),
        ("k1:AAAA", "AES-256 needs 32"),
        (f"{generate_key_entry('a')},{generate_key_entry('a')}", "appears twice"),
    ],
)
def test_keyring_parse_errors(text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        Keyring.parse(text)


def test_primary_is_first_and_all_keys_decrypt() -> None:
    old = generate_key_entry("old")
    new = generate_key_entry("new")
    token = Keyring.parse(old).encrypt("v", WHERE)
    both = Keyring.parse(f"{new},{old}")
    assert both.primary == "new" and both.decrypt(token, WHERE).reveal() == "v"
    assert key_id_of(both.encrypt("v", WHERE)) == "new"


def test_secret_type_is_masked() -> None:
    secret = Secret("hunter2-canary")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{secret}"
    assert secret.reveal() == "hunter2-canary"
    assert secret == Secret("hunter2-canary") and secret != Secret("other")
    with pytest.raises(TypeError):
        __import__("pickle").dumps(secret)


async def _account(conn: asyncpg.Connection, keyring: Keyring, org: str, integration: str, n: int) -> str:
    account = str(
        await conn.fetchval(
            "INSERT INTO marketplace_accounts (organization_id, integration_id, name, platform, platform_account_id)"
            " VALUES ($1, $2, $3, 'shopee', $3) RETURNING id",
            org,
            integration,
            f"acct-{n}",
        )
    )
    where = SecretField("marketplace_accounts", "access_token", org, account)
    auth = keyring.encrypt_fields(
        {"partner_key": f"pk-{n}"}, SecretField("marketplace_accounts", "auth_data", org, account)
    )
    await conn.execute(
        "UPDATE marketplace_accounts SET access_token = $2, refresh_token = $3, auth_data = $4 WHERE id = $1",
        account,
        keyring.encrypt(f"access-{n}", where),
        keyring.encrypt(f"refresh-{n}", SecretField("marketplace_accounts", "refresh_token", org, account)),
        json.dumps(auth),
    )
    return account


async def test_rotation_moves_every_value_to_the_primary(conn: asyncpg.Connection) -> None:
    old_entry, new_entry = generate_key_entry("old"), generate_key_entry("new")
    old = Keyring.parse(old_entry)
    org = await make_organization(conn)
    integration = await make_integration(conn, org)
    secret_where = SecretField("marketplace_integrations", "webhook_secret", org, integration)
    await conn.execute(
        "UPDATE marketplace_integrations SET webhook_secret = $2, credentials = $3 WHERE id = $1",
        integration,
        old.encrypt("whsec", secret_where),
        json.dumps(
            old.encrypt_fields(
                {"partner_key": "pk"},
                SecretField("marketplace_integrations", "credentials", org, integration),
            )
        ),
    )
    accounts = [await _account(conn, old, org, integration, n) for n in range(5)]
    await conn.execute(
        """INSERT INTO "Configuration" (id, code, "group", credential) VALUES ('c1', 'x', 'g', $1)""",
        old.encrypt("cfg", SecretField("Configuration", "credential", "SYSTEM", "c1")),
    )
    assert await count_by_key_id(conn) == {"old": 1 + 1 + 5 * 3 + 1}

    both = Keyring.parse(f"{new_entry},{old_entry}")
    report = await rotate_keys(conn, both, batch_size=2)
    assert report.errors == [] and report.reencrypted == 18
    assert report.after == {"new": 18}, "zero values left on the old key"

    new_only = Keyring.parse(new_entry)
    row = await conn.fetchrow("SELECT * FROM marketplace_accounts WHERE id = $1", accounts[3])
    where = SecretField("marketplace_accounts", "refresh_token", org, accounts[3])
    assert new_only.decrypt(row["refresh_token"], where).reveal() == "refresh-3"
    again = await rotate_keys(conn, both, batch_size=2)
    assert again.reencrypted == 0, "a second run has nothing to do (resumable)"


async def test_rotation_reports_values_it_cannot_read(conn: asyncpg.Connection) -> None:
    lost = Keyring.parse(generate_key_entry("lost"))
    org = await make_organization(conn)
    integration = await make_integration(conn, org)
    await _account(conn, lost, org, integration, 1)
    report = await rotate_keys(conn, Keyring.parse(generate_key_entry("new")), batch_size=10)
    assert report.rows == 0 and len(report.errors) == 1
    assert "not in NFSYNC_SECRET_KEYS" in report.errors[0]
    assert report.after == {"lost": 3}
