"""The routing layer hands handlers typed bodies and queries, never an untyped value."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import BaseModel

from nfsync.workers.api.framework import Call


class _Body(BaseModel):
    name: str


class _Other(BaseModel):
    name: str


def _call(body: BaseModel | None = None, query: BaseModel | None = None) -> Call:
    return Call(SimpleNamespace(match_info={}), None, body, query)  # type: ignore[arg-type]


def test_body_as_returns_the_validated_model() -> None:
    body = _Body(name="shop")
    assert _call(body=body).body_as(_Body) is body


def test_query_as_returns_the_validated_model() -> None:
    query = _Body(name="q")
    assert _call(query=query).query_as(_Body) is query


@pytest.mark.parametrize("value", [None, _Other(name="x")])
def test_a_route_declaring_another_model_is_a_programming_error(value: BaseModel | None) -> None:
    with pytest.raises(TypeError, match="not _Body"):
        _call(body=value).body_as(_Body)
    with pytest.raises(TypeError, match="not _Body"):
        _call(query=value).query_as(_Body)
