"""Shopify signatures (connectors/shopify/signing.py): the OAuth callback HMAC and the webhook HMAC.

The callback vectors are HMAC-VECTOR of docs/platforms/shopify.md (tests/contracts/shopify.json
``auth.callback.test_vectors``): secret ``hush``, Shopify's old OAuth worked example as copied by third parties
(hexdocs ``exshopify`` Shopify.HMAC, ``shopify_oauth``); it is on no stored shopify.dev page, so its official origin
is UNCONFIRMED; the digests were recomputed with Python ``hmac`` when the doc was written. No webhook vector is
documented (contract ``webhook_topics.test_vector`` null): the webhook tests check the documented construction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from nfsync.connectors.base.secret import Secret
from nfsync.connectors.shopify.signing import (
    CALLBACK_TOLERANCE,
    callback_hmac,
    callback_message,
    verify_callback,
    verify_webhook,
    webhook_signature,
)

CONTRACT = json.loads((Path(__file__).parents[1] / "contracts" / "shopify.json").read_text())
VECTORS = CONTRACT["auth"]["callback"]["test_vectors"]
WITH_STATE = (
    "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173"
)


def test_the_documented_vectors_are_the_ones_tested() -> None:
    assert [v["secret"] for v in VECTORS] == ["hush", "hush"]
    assert VECTORS[0]["message"] == WITH_STATE
    assert VECTORS[0]["hmac"] == "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
    assert VECTORS[1]["hmac"] == "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"


@pytest.mark.parametrize("vector", VECTORS, ids=["with-state", "without-state"])
def test_callback_hmac_matches_the_vectors(vector: dict[str, str]) -> None:
    params = dict(parse_qsl(vector["message"]))
    assert callback_message(params) == vector["message"]
    assert callback_hmac(params, Secret(vector["secret"])) == vector["hmac"]
    # hmac (and signature) are left out of the signed text, whatever order the query came in
    received = {"hmac": vector["hmac"], "signature": "ignored", **dict(reversed(list(params.items())))}
    assert callback_message(received) == vector["message"]
    assert verify_callback(received, "hush")
    assert verify_callback({**received, "hmac": vector["hmac"].upper()}, "hush")  # hex case does not matter


@pytest.mark.parametrize(
    "tamper",
    [
        {"shop": "other-shop.myshopify.com"},
        {"code": "0907a61c0c8d55e99db179b68161bc01"},
        {"timestamp": "1337178174"},
        {"state": "0.1"},
        {"host": "added"},
        {"hmac": "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"[:-1] + "0"},
        {"hmac": ""},
    ],
)
def test_tampered_callbacks_are_refused(tamper: dict[str, str]) -> None:
    params = {**dict(parse_qsl(WITH_STATE)), "hmac": VECTORS[0]["hmac"], **tamper}
    assert not verify_callback(params, "hush")


def test_wrong_secret_and_missing_hmac_are_refused() -> None:
    params = {**dict(parse_qsl(WITH_STATE)), "hmac": VECTORS[0]["hmac"]}
    assert not verify_callback(params, "hush!")
    params.pop("hmac")
    assert not verify_callback(params, "hush")


def test_timestamp_window() -> None:
    params = {**dict(parse_qsl(WITH_STATE)), "hmac": VECTORS[0]["hmac"]}
    stamp = 1337178173
    assert verify_callback(params, "hush", now=stamp + CALLBACK_TOLERANCE)
    assert not verify_callback(params, "hush", now=stamp + CALLBACK_TOLERANCE + 1)
    assert not verify_callback(params, "hush", now=stamp - CALLBACK_TOLERANCE - 1)


def test_webhook_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"id":9554194432293,"admin_graphql_api_id":"gid://shopify/Product/9554194432293"}'
    expected = base64.b64encode(hmac.new(b"hush", body, hashlib.sha256).digest()).decode()
    assert webhook_signature(body, Secret("hush")) == expected
    assert verify_webhook(body=body, signature_header=expected, secret="hush")
    assert verify_webhook(body=body, signature_header=f" {expected}\n", secret="hush")
    assert not verify_webhook(body=body + b" ", signature_header=expected, secret="hush")  # re-serialised body
    assert not verify_webhook(body=body, signature_header=expected, secret="other")
    assert not verify_webhook(body=body, signature_header=None, secret="hush")
    hex_digest = hmac.new(b"hush", body, hashlib.sha256).hexdigest()
    assert not verify_webhook(body=body, signature_header=hex_digest, secret="hush")  # hex is the callback's form
