"""A string that never shows itself: masked in ``repr``/``str``, compared in constant time.

Every value wrapped in :class:`Secret` is also remembered (bounded, most recent first) so that the logging
layer can scrub it from any rendered line, even one that reached the output through an exception message.
"""

from __future__ import annotations

import hmac
from collections import OrderedDict
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

MASK = "***"
_MIN_SCRUB_LENGTH = 6
_MAX_REMEMBERED = 10_000
_remembered: OrderedDict[str, None] = OrderedDict()


def remember_secret_value(value: str) -> None:
    """Register a plaintext secret so rendered log lines never contain it."""
    if len(value) < _MIN_SCRUB_LENGTH:
        return
    _remembered[value] = None
    _remembered.move_to_end(value)
    while len(_remembered) > _MAX_REMEMBERED:
        _remembered.popitem(last=False)


def scrub_known_secrets(text: str) -> str:
    """Replace every remembered secret value occurring in ``text`` with the mask."""
    if not _remembered:
        return text
    for value in reversed(_remembered):
        if value in text:
            text = text.replace(value, MASK)
    return text


class Secret:
    """A secret string. ``reveal()`` is the only way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value
        remember_secret_value(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        from_str = core_schema.no_info_plain_validator_function(_coerce_secret)
        return core_schema.json_or_python_schema(
            json_schema=core_schema.chain_schema([core_schema.str_schema(), from_str]),
            python_schema=from_str,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda _: MASK),
        )


def _coerce_secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise ValueError("expected a string")
