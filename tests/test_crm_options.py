"""A variant's options read as two text arrays (issue #20: no JSON decoding per variant) give exactly what
``jsonb_object_agg`` gave before, names in jsonb's key order and the last value of a repeated name: the connectors
see that order (Shopify's product options, for one)."""

from __future__ import annotations

import json

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nfsync.workers.crm import options_of

NAMES = st.sampled_from(["Size", "Color", "Kích cỡ", "Màu", "a", "B", "ab", "Ä", "🙂", "size", "Size "])
VALUES = st.sampled_from(["M", "Red", "Đỏ", "", "x" * 40])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(NAMES, VALUES), max_size=5))
async def test_arrays_give_what_jsonb_object_agg_gave(conn: asyncpg.Connection, pairs: list[tuple[str, str]]) -> None:
    names, values = [n for n, _ in pairs], [v for _, v in pairs]
    row = await conn.fetchrow(
        "SELECT jsonb_object_agg(k, v ORDER BY i)::text AS agg, array_agg(k ORDER BY i) AS names, "
        "array_agg(v ORDER BY i) AS vals FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(k, v, i)",
        names,
        values,
    )
    before = {} if row["agg"] is None else json.loads(row["agg"])
    after = options_of(row["names"], row["vals"])
    assert list(after.items()) == [(str(k), str(v)) for k, v in before.items()]
