"""`/asyncapi.json`: the AMQP interfaces as an AsyncAPI 3.0.0 document, generated from the models that run (the
command body, its reply and error reply, the events), like ``/openapi.json`` for HTTP.

It describes nfsync itself, the application: it receives the enqueue command on ``nfsync.commands`` (and replies),
sends what it cannot run to the dead-letter queue, and sends the events on ``nfsync.events``. A client does the
opposite of each operation. Every payload schema is a model's ``model_json_schema()`` (an event's is
``event_schema``, the file ``docs/events/<type>.schema.json`` holds): the models' ``$defs`` are moved into
``components/schemas`` and their references rewritten there, nothing is written by hand.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from nfsync.workers.api.amqp_commands import AUTH_HEADER, ERROR_HEADER, ERROR_TYPE, REPLY_TYPE, REQUIRED_SCOPE
from nfsync.workers.api.auth import TOKEN_PREFIX
from nfsync.workers.api.framework import ErrorBody
from nfsync.workers.api.tasks import SyncTaskCreate
from nfsync.workers.command_queues import COMMANDS_EXCHANGE, COMMANDS_QUEUE, CREATE_KEY, DEAD_EXCHANGE, DEAD_QUEUE
from nfsync.workers.engine.events import CONTENT_TYPE, DATA_MODELS, EVENT_TYPES, EVENTS_EXCHANGE, event_schema
from nfsync.workers.engine.models import EnqueueResult

ASYNCAPI = "3.0.0"
AMQP_BINDING = "0.3.0"
SCHEMA_REF = "#/components/schemas/{name}"
LOCAL_REF = "#/$defs/"
JSON = "application/json"
DESCRIPTION = f"""NextFlow CRM <-> marketplaces sync service: its AMQP interfaces (the HTTP API is `/openapi.json`).

This document is written from **nfsync's point of view**: nfsync *receives* the enqueue command and replies, and
*sends* the dead letters and the events. A client does the opposite: it sends the command (and receives the reply
on its `reply_to` queue) and receives the events through a queue of its own bound to `{EVENTS_EXCHANGE}`.

- **The enqueue command**: the body of `POST /v1/sync-tasks` on the topic exchange `{COMMANDS_EXCHANGE}`, routing
  key `{CREATE_KEY}`, with an API token holding `{REQUIRED_SCOPE}` in the message header `{AUTH_HEADER}`
  (`Bearer {TOKEN_PREFIX}...`). A command with the AMQP property `reply_to` is answered there, with its
  `correlation_id`: the enqueue result (AMQP `type` `{REPLY_TYPE}`), or, for a command that cannot run, the
  service's one error body `{{"error": {{"code", "message", "details": [{{"path", "reason"}}]}}}}` (AMQP `type`
  `{ERROR_TYPE}`; the codes of the HTTP API: `unauthorized`, `forbidden`, `validation_failed`, `not_found`,
  `bad_request`, `unavailable`, `internal`). A command that cannot run is also dead-lettered to `{DEAD_QUEUE}`.
- **The events**: CloudEvents 1.0 JSON messages (`{CONTENT_TYPE}`) on the topic exchange `{EVENTS_EXCHANGE}`,
  routing key = the event type, published in order and at least once (deduplicate by the event `id`)."""


def build_asyncapi(version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (SyncTaskCreate, EnqueueResult, ErrorBody):
        schemas[model.__name__] = hoist(model.model_json_schema(), schemas)
    messages = {
        "syncTaskCreate": _command(),
        "syncTaskCreated": _reply(EnqueueResult, REPLY_TYPE, "The enqueue result: the task created or coalesced"),
        "commandRefused": _reply(ErrorBody, ERROR_TYPE, "The error: why the command cannot run (never its token)"),
        "commandDeadLetter": _dead_letter(),
    }
    channels: dict[str, Any] = {
        "syncTaskCreate": _commands_channel(),
        "syncTaskCreateReply": {
            "address": None,
            "title": "The command's reply queue",
            "description": "The queue the command names in its AMQP `reply_to` property, published to through the "
            "default exchange; a command without `reply_to` gets no reply.",
            "messages": {name: _ref("components/messages", name) for name in ("syncTaskCreated", "commandRefused")},
        },
        "commandDeadLetters": _dead_letter_channel(),
    }
    operations: dict[str, Any] = {
        "receiveSyncTaskCreate": _receive_command(),
        "sendCommandDeadLetter": {
            "action": "send",
            "channel": _ref("channels", "commandDeadLetters"),
            "summary": "A command that cannot run is dead-lettered (then acked)",
            "messages": [_ref("channels/commandDeadLetters/messages", "commandDeadLetter")],
            "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": AMQP_BINDING}},
        },
    }
    for event_type in EVENT_TYPES:
        name = _camel(event_type)
        data = DATA_MODELS[event_type]
        messages[name] = _event(event_type, hoist(event_schema(event_type), schemas, {"Data": data.__name__}))
        channels[name] = _event_channel(event_type, name)
        operations[f"send{name[0].upper()}{name[1:]}"] = _send_event(event_type, name)
    return {
        "asyncapi": ASYNCAPI,
        "info": {"title": "nfsync", "version": version, "description": DESCRIPTION},
        "defaultContentType": JSON,
        "servers": {"rabbitmq": _server()},
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "broker": {"type": "userPassword", "description": "The RabbitMQ user of the deployment"},
                "apiToken": {
                    "type": "httpApiKey",
                    "name": AUTH_HEADER,
                    "in": "header",
                    "description": f"An nfsync API token with the `{REQUIRED_SCOPE}` scope, as `Bearer "
                    f"{TOKEN_PREFIX}...` in the AMQP message header `{AUTH_HEADER}` (the headers table, not the "
                    "connection); the task is enqueued for the token's organization.",
                },
            },
            "correlationIds": {
                "amqpCorrelationId": {
                    "location": "$message.header#/correlation_id",
                    "description": "The AMQP `correlation_id` property: a reply carries the command's.",
                }
            },
        },
    }


def hoist(schema: dict[str, Any], schemas: dict[str, Any], rename: dict[str, str] | None = None) -> dict[str, Any]:
    """``schema`` (a model's JSON Schema) without its ``$defs``: they move into ``schemas`` (``components/schemas``,
    under their name or ``rename[name]``) and every ``#/$defs/<name>`` points there. Two different schemas under one
    name are a programming error."""
    names = rename or {}
    schema = copy.deepcopy(schema)
    schema.pop("$schema", None)
    for name, definition in schema.pop("$defs", {}).items():
        moved = _rewrite(definition, names)
        if schemas.setdefault(names.get(name, name), moved) != moved:
            raise ValueError(f"two different schemas are named {names.get(name, name)!r}")
    rewritten: dict[str, Any] = _rewrite(schema, names)
    return rewritten


def _rewrite(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(LOCAL_REF):
            name = ref.removeprefix(LOCAL_REF)
            node = {**node, "$ref": SCHEMA_REF.format(name=names.get(name, name))}
        return {key: value if key == "$ref" else _rewrite(value, names) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite(item, names) for item in node]
    return node


def _ref(where: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/{where}/{name}"}


def _camel(event_type: str) -> str:
    """``shop.authorization_expiring`` -> ``shopAuthorizationExpiring``."""
    head, *rest = event_type.replace("_", ".").split(".")
    return head + "".join(part.title() for part in rest)


def _server() -> dict[str, Any]:
    return {
        "host": "{broker}",
        "protocol": "amqp",
        "protocolVersion": "0.9.1",
        "title": "RabbitMQ",
        "description": "The RabbitMQ of `NFSYNC_AMQP_URL` (quorum queues: RabbitMQ 3.8 or later).",
        "variables": {"broker": {"default": "127.0.0.1:5672", "description": "host:port of `NFSYNC_AMQP_URL`"}},
        "security": [_ref("components/securitySchemes", "broker")],
    }


def _exchange(name: str) -> dict[str, Any]:
    return {"name": name, "type": "topic", "durable": True, "autoDelete": False}


def _commands_channel() -> dict[str, Any]:
    return {
        "address": CREATE_KEY,
        "title": "The enqueue command",
        "description": f"Routing key `{CREATE_KEY}` on the topic exchange `{COMMANDS_EXCHANGE}`; nfsync consumes "
        f"it from the quorum queue `{COMMANDS_QUEUE}` (a delivery limit, dead letters to `{DEAD_EXCHANGE}`).",
        "messages": {"syncTaskCreate": _ref("components/messages", "syncTaskCreate")},
        "bindings": {
            "amqp": {"is": "routingKey", "exchange": _exchange(COMMANDS_EXCHANGE), "bindingVersion": AMQP_BINDING}
        },
    }


def _dead_letter_channel() -> dict[str, Any]:
    return {
        "address": DEAD_QUEUE,
        "title": "Dead-lettered commands",
        "description": f"The quorum queue `{DEAD_QUEUE}`, bound to the fanout exchange `{DEAD_EXCHANGE}`: the "
        "commands that could not run, and those the command queue's delivery limit gave up on.",
        "messages": {"commandDeadLetter": _ref("components/messages", "commandDeadLetter")},
        "bindings": {
            "amqp": {
                "is": "queue",
                "queue": {"name": DEAD_QUEUE, "durable": True, "exclusive": False, "autoDelete": False},
                "bindingVersion": AMQP_BINDING,
            }
        },
    }


def _receive_command() -> dict[str, Any]:
    replies = [_ref("channels/syncTaskCreateReply/messages", name) for name in ("syncTaskCreated", "commandRefused")]
    return {
        "action": "receive",
        "channel": _ref("channels", "syncTaskCreate"),
        "summary": "Enqueue a sync task (the AMQP form of POST /v1/sync-tasks)",
        "description": "A valid command enqueues (an `idempotency_key` makes a redelivery harmless) and is acked; "
        "one that cannot run is dead-lettered and acked. With `reply_to`, either is answered. While the database "
        "is down the command is requeued.",
        "security": [_ref("components/securitySchemes", "apiToken")],
        "messages": [_ref("channels/syncTaskCreate/messages", "syncTaskCreate")],
        "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING}},
        "reply": {
            "address": {
                "location": "$message.header#/reply_to",
                "description": "The command's AMQP `reply_to` property: a queue name, through the default exchange.",
            },
            "channel": _ref("channels", "syncTaskCreateReply"),
            "messages": replies,
        },
    }


def _command() -> dict[str, Any]:
    headers = {
        "type": "object",
        "required": [AUTH_HEADER],
        "properties": {
            AUTH_HEADER: {
                "type": "string",
                "pattern": f"^[Bb][Ee][Aa][Rr][Ee][Rr] +{TOKEN_PREFIX}",
                "description": f"`Bearer {TOKEN_PREFIX}...`: an API token with the `{REQUIRED_SCOPE}` scope. It is "
                "never kept: the dead letter and the error reply leave it out.",
            }
        },
    }
    return {
        "name": CREATE_KEY,
        "title": "Enqueue a sync task",
        "summary": "The body of POST /v1/sync-tasks; the organization is the token's, never the body's",
        "contentType": JSON,
        "headers": headers,
        "payload": _ref("components/schemas", SyncTaskCreate.__name__),
        "correlationId": _ref("components/correlationIds", "amqpCorrelationId"),
    }


def _reply(model: type[BaseModel], kind: str, summary: str) -> dict[str, Any]:
    return {
        "name": kind,
        "summary": summary,
        "description": "Published to the command's `reply_to` queue with its `correlation_id`.",
        "contentType": JSON,
        "payload": _ref("components/schemas", model.__name__),
        "correlationId": _ref("components/correlationIds", "amqpCorrelationId"),
        "bindings": {"amqp": {"messageType": kind, "bindingVersion": AMQP_BINDING}},
    }


def _dead_letter() -> dict[str, Any]:
    return {
        "name": "sync-task.create.dead",
        "summary": "A command that could not run, as it came, without its credential",
        "description": "The body, content type and `correlation_id` of the command, unchanged (the body may not be "
        f"JSON); its headers without `{AUTH_HEADER}`, plus `{ERROR_HEADER}`. Persistent.",
        "headers": {
            "type": "object",
            "required": [ERROR_HEADER],
            "properties": {
                ERROR_HEADER: {"type": "string", "maxLength": 1000, "description": "Why the command cannot run"},
                AUTH_HEADER: False,
            },
        },
        "payload": {"description": "The command's body, byte for byte"},
        "correlationId": _ref("components/correlationIds", "amqpCorrelationId"),
    }


def _event(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    doc = " ".join((DATA_MODELS[event_type].__doc__ or "").replace("``", "`").split())  # reST literals -> CommonMark
    return {
        "name": event_type,
        "title": event_type,
        "summary": f"The CloudEvents 1.0 event `{event_type}` (JSON, structured mode)",
        "description": f"AMQP properties: `message_id` = the event `id`, `type` = `{event_type}`, `timestamp`; "
        f"persistent. Its `data`: {doc}",
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "required": ["organization_id", "shop_id"],
            "properties": {
                "organization_id": {"type": "string", "format": "uuid", "description": "The organization's id"},
                "shop_id": {
                    "anyOf": [{"type": "string", "format": "uuid"}, {"const": ""}],
                    "description": "The shop's id; empty when the event concerns no shop",
                },
            },
        },
        "payload": payload,
        "bindings": {"amqp": {"messageType": event_type, "bindingVersion": AMQP_BINDING}},
    }


def _event_channel(event_type: str, name: str) -> dict[str, Any]:
    return {
        "address": event_type,
        "title": event_type,
        "description": f"Routing key `{event_type}` on the topic exchange `{EVENTS_EXCHANGE}`: bind a queue of your "
        "own with it (or a pattern, e.g. `task.#`).",
        "messages": {name: _ref("components/messages", name)},
        "bindings": {
            "amqp": {"is": "routingKey", "exchange": _exchange(EVENTS_EXCHANGE), "bindingVersion": AMQP_BINDING}
        },
    }


def _send_event(event_type: str, name: str) -> dict[str, Any]:
    return {
        "action": "send",
        "channel": _ref("channels", name),
        "summary": f"Publish `{event_type}` once its change committed (from the outbox, in order, at least once)",
        "messages": [_ref(f"channels/{name}/messages", name)],
        "bindings": {"amqp": {"deliveryMode": 2, "timestamp": True, "bindingVersion": AMQP_BINDING}},
    }
