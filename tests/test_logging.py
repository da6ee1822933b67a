"""No secret reaches the log output, whatever path it takes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from nfsync.connectors.base.secret import Secret
from nfsync.workers.logs import bind_context, configure_logging, get_logger, redact, unbind_context

CANARY = "CANARY-7f3a9c1e-do-not-log"


@pytest.fixture(params=["json", "console"])
def output(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", request.param, stream)
    yield stream
    configure_logging("warning", "json", io.StringIO())


def _fail_with_local_secret() -> None:
    token = CANARY + "-local"  # a plain local variable: tracebacks must not show locals
    raise RuntimeError("upstream refused the request " + str(len(token)))


def test_canary_never_in_output(output: io.StringIO) -> None:
    secret = Secret(CANARY)
    log = get_logger("test")
    log.info("path.kwarg", access_token=CANARY, partner_key=CANARY, password=CANARY)
    log.info("path.nested", request={"headers": {"Authorization": f"Bearer {CANARY}"}, "body": [{"sign": CANARY}]})
    log.info("path.secret_object", value=secret, items=[secret])
    bind_context(refresh_token=CANARY)
    log.info("path.context")
    unbind_context("refresh_token")
    try:
        raise ValueError(f"token {secret.reveal()} was rejected")
    except ValueError:
        log.exception("path.exception_message")
    try:
        _fail_with_local_secret()
    except RuntimeError:
        log.exception("path.exception_locals")
    logging.getLogger("asyncpg").error("connection failed for %s", CANARY)
    logging.getLogger("aiohttp.client").warning("redirect to https://x/?access_token=" + CANARY)
    text = output.getvalue()
    assert "path.kwarg" in text and "path.exception_locals" in text and "connection failed" in text
    assert CANARY not in text
    assert "Traceback" in text or "frames" in text, "the exception itself is still logged"


def test_json_lines_are_structured() -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    with structlog.contextvars.bound_contextvars(task_id="t-1", organization_id="o-1"):
        get_logger("test").info("task.claimed", shop_id="s-1", idempotency_key="k-1")
    record = json.loads(stream.getvalue().splitlines()[-1])
    assert record["event"] == "task.claimed"
    assert record["task_id"] == "t-1" and record["shop_id"] == "s-1" and record["idempotency_key"] == "k-1"
    assert record["level"] == "info" and record["timestamp"].endswith("Z")


def test_debug_filtered_at_info() -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    get_logger("test").debug("noise")
    assert stream.getvalue() == ""


def test_redact_keeps_ids_and_counts() -> None:
    out = redact({"shop_id": "1", "token_version": 3, "api_key": "x", "nested": {"client_secret": "y"}})
    assert out == {"shop_id": "1", "token_version": 3, "api_key": "***", "nested": {"client_secret": "***"}}
