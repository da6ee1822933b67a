"""``/asyncapi.json``: the AMQP interfaces as an AsyncAPI 3.0.0 document, checked by independent validators - the
official JavaScript parser (``@asyncapi/parser``: the specification's JSON Schema, references, runtime expressions)
and the official JSON Schema of AsyncAPI 3.0.0 (``@asyncapi/specs``, the parser's own dependency) through
jsonschema_rs - and against the models that run: every event type and the command are there, each payload is its
model's schema, each operation uses its own channel's messages.

The validator is installed by ``make asyncapi-validator`` (npm ci from tests/asyncapi/package-lock.json into
.cache/asyncapi); without Node.js the validation test is skipped.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from importlib.metadata import version
from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel

from nfsync.workers.api.amqp_commands import AUTH_HEADER
from nfsync.workers.api.asyncapi import build_asyncapi
from nfsync.workers.api.framework import ErrorBody
from nfsync.workers.api.tasks import SyncTaskCreate
from nfsync.workers.command_queues import COMMANDS_EXCHANGE, CREATE_KEY, DEAD_QUEUE
from nfsync.workers.engine.events import CONTENT_TYPE, EVENT_TYPES, EVENTS_EXCHANGE, event_schema
from nfsync.workers.engine.models import EnqueueResult
from tests.api.conftest import LiveApi
from tests.conftest import REPO

VALIDATOR = REPO / ".cache" / "asyncapi"
SCRIPT = REPO / "tests" / "asyncapi" / "validate.mjs"
OFFICIAL_SCHEMA = VALIDATOR / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"
ERROR, WARNING = 0, 1  # the parser's diagnostic severities (2 and 3 are information and hints)


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points to in ``root`` (the models have no cycles)."""
    if isinstance(node, list):
        return [_resolve(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str):
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return {**_resolve(target, root), **_resolve(siblings, root)}
    return {key: _resolve(value, root) for key, value in node.items()}


def _model_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's own JSON Schema, its ``$defs`` resolved in place."""
    resolved: dict[str, Any] = _resolve(schema, schema)
    resolved.pop("$defs", None)
    resolved.pop("$schema", None)
    return resolved


def _channel_of(document: dict[str, Any], address: str) -> tuple[str, dict[str, Any]]:
    [found] = [(name, channel) for name, channel in document["channels"].items() if channel.get("address") == address]
    return found


def _operations_on(document: dict[str, Any], channel: str) -> list[dict[str, Any]]:
    return [op for op in document["operations"].values() if op["channel"] == {"$ref": f"#/channels/{channel}"}]


def _payload(document: dict[str, Any], message_ref: dict[str, str]) -> Any:
    return _resolve(_resolve(message_ref, document)["payload"], document)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


async def test_the_served_document_passes_the_official_asyncapi_validators(live_api: LiveApi) -> None:
    status, document = await live_api.call("GET", "/asyncapi.json", None)  # public, like /openapi.json
    assert status == 200 and document == build_asyncapi(version("nfsync"))
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the AsyncAPI validator (@asyncapi/parser) cannot run")
    if (
        not (VALIDATOR / "node_modules" / "@asyncapi" / "parser" / "package.json").exists()
        or not OFFICIAL_SCHEMA.exists()
    ):
        pytest.fail(f"the AsyncAPI validator is not installed in {VALIDATOR}: run `make asyncapi-validator`")
    report = await _parse(node, document)
    problems = [d for d in report["diagnostics"] if d["severity"] in (ERROR, WARNING)]
    assert report["parsed"] and not problems, problems
    official = jsonschema_rs.validator_for(json.loads(OFFICIAL_SCHEMA.read_text()))
    assert not [error.message for error in official.iter_errors(document)]
    broken = dict(document, operations={"receiveSyncTaskCreate": {"channel": {"$ref": "#/channels/nowhere"}}})
    assert not (await _parse(node, broken))["parsed"], "the validator finds nothing wrong: it checks nothing"
    assert not official.is_valid(broken)


async def _parse(node: str, document: dict[str, Any]) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        str(VALIDATOR),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(json.dumps(document).encode()), 60)
    assert process.returncode == 0, err.decode()
    report: dict[str, Any] = json.loads(out)
    return report


def test_every_event_type_and_the_command_are_documented_from_their_models() -> None:
    document = build_asyncapi("0.0.0")
    assert document["asyncapi"] == "3.0.0" and document["info"]["version"] == "0.0.0"
    assert {server["protocol"] for server in document["servers"].values()} == {"amqp"}
    for event_type in EVENT_TYPES:
        name, channel = _channel_of(document, event_type)
        assert channel["bindings"]["amqp"]["exchange"] == {
            "name": EVENTS_EXCHANGE,
            "type": "topic",
            "durable": True,
            "autoDelete": False,
        }
        [operation] = _operations_on(document, name)
        assert operation["action"] == "send"
        [message] = operation["messages"]
        assert _resolve(message, document)["contentType"] == CONTENT_TYPE
        assert _payload(document, message) == _model_schema(event_schema(event_type)), event_type

    name, channel = _channel_of(document, CREATE_KEY)
    assert channel["bindings"]["amqp"]["exchange"]["name"] == COMMANDS_EXCHANGE
    [command] = _operations_on(document, name)
    assert command["action"] == "receive"
    [message] = command["messages"]
    assert _resolve(message, document)["headers"]["required"] == [AUTH_HEADER]
    assert _payload(document, message) == _model_schema(SyncTaskCreate.model_json_schema())
    reply = command["reply"]
    assert reply["address"]["location"] == "$message.header#/reply_to"
    assert _resolve(reply["channel"], document)["address"] is None
    replies: list[type[BaseModel]] = [EnqueueResult, ErrorBody]
    assert [_payload(document, ref) for ref in reply["messages"]] == [
        _model_schema(model.model_json_schema()) for model in replies
    ]
    for ref in [message, *reply["messages"]]:
        assert _resolve(ref, document)["correlationId"]["location"] == "$message.header#/correlation_id"

    dead, _ = _channel_of(document, DEAD_QUEUE)
    assert [op["action"] for op in _operations_on(document, dead)] == ["send"]


def test_every_reference_resolves_and_operations_use_their_channels_messages() -> None:
    """What the parser leaves unchecked: an operation's (and its reply's) messages are its channel's."""
    document = build_asyncapi("0.0.0")
    for ref in _refs(document):
        assert ref.startswith("#/") and _resolve({"$ref": ref}, document) is not None, ref
    assert not [ref for ref in _refs(document) if "$defs" in ref]
    for operation_id, operation in document["operations"].items():
        parts: list[dict[str, Any]] = [operation, *([operation["reply"]] if "reply" in operation else [])]
        for part in parts:
            channel = part["channel"]["$ref"]
            assert channel.startswith("#/channels/"), operation_id
            own = {f"{channel}/messages/{name}" for name in _resolve(part["channel"], document)["messages"]}
            assert {ref["$ref"] for ref in part["messages"]} <= own, operation_id
    assert all(isinstance(value, dict) for value in document["components"]["schemas"].values())


def test_the_validator_is_pinned() -> None:
    """The Makefile installs exactly what the lockfile names (no range), and the lockfile pins every package."""
    manifest = json.loads((REPO / "tests" / "asyncapi" / "package.json").read_text())
    lock = json.loads((REPO / "tests" / "asyncapi" / "package-lock.json").read_text())
    pinned = manifest["dependencies"]["@asyncapi/parser"]
    assert pinned[0].isdigit() and lock["packages"]["node_modules/@asyncapi/parser"]["version"] == pinned
    assert all("integrity" in entry for key, entry in lock["packages"].items() if key)
