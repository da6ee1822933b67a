"""Structured logging: structlog, JSON when not on a terminal, context variables, redaction.

Log events have stable names (``task.claimed``, ``keys.rotated``...). Secrets never reach the output:
values under secret-looking keys are masked, :class:`Secret` values render as ``***``, tracebacks carry no
local variables, and a last pass scrubs every remembered secret value from the rendered line — which also
covers a secret that slipped into an exception message. Standard-library loggers (asyncpg, aiohttp,
aio-pika) go through the same chain.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from nfsync.connectors.base.secret import MASK, Secret, scrub_known_secrets

_SECRET_KEY = re.compile(
    r"(secret|token|passw|credential|authorization|api[_-]?key|private[_-]?key|partner[_-]?key|app[_-]?key"
    r"|consumer[_-]?key|signature|^sign$|cookie|auth[_-]?data|^key$|keyring|secret_keys)",
    re.IGNORECASE,
)
_NOT_SECRET_KEYS = frozenset({"idempotency_key", "dedupe_key", "routing_key", "key_id", "key_ids", "token_version"})

get_logger = structlog.get_logger
bind_context = structlog.contextvars.bind_contextvars
unbind_context = structlog.contextvars.unbind_contextvars
bound_context = structlog.contextvars.bound_contextvars


def is_secret_key(name: str) -> bool:
    return name not in _NOT_SECRET_KEYS and not name.endswith("_id") and bool(_SECRET_KEY.search(name))


def redact(value: Any, key: str = "") -> Any:
    """Mask secrets inside any structure of dicts, lists and tuples."""
    if isinstance(value, Secret):
        return MASK
    if key and is_secret_key(key) and value is not None:
        return MASK
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    return value


def redact_processor(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    return {key: redact(value, key) for key, value in event_dict.items()}


def scrub_rendered(_logger: WrappedLogger, _name: str, rendered: Any) -> Any:
    """Runs after the renderer: remove any remembered secret value from the final text."""
    if isinstance(rendered, str):
        return scrub_known_secrets(rendered)
    if isinstance(rendered, bytes):
        return scrub_known_secrets(rendered.decode()).encode()
    return rendered


def _renderer(json_output: bool) -> Processor:
    if json_output:
        return structlog.processors.JSONRenderer(default=repr)
    return structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_processor,
        structlog.processors.StackInfoRenderer(),
    ]


class _DropDuplicatedNoise(logging.Filter):
    """aiormq logs an ERROR for every failed connect attempt; our own ``broker.connect_retry`` and the one-line
    start-up error already say it, so that record is dropped (reconnect warnings of aio-pika still pass)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "aiormq.connection" and str(record.msg).startswith("error when creating transport"))


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog and the standard library once per process (safe to call again).

    structlog events are handed to the standard library's handler, whose formatter renders them and every
    third-party record through one chain: redaction, traceback without locals, renderer, scrub.
    """
    out = stream or sys.stderr
    json_output = fmt == "json" or (fmt == "auto" and not out.isatty())
    exc_formatter: Processor = (
        structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False))
        if json_output
        else structlog.processors.format_exc_info
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.addFilter(_DropDuplicatedNoise())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_shared_processors(),
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                exc_formatter,
                _renderer(json_output),
                scrub_rendered,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.getLevelName(level.upper()))
