"""The item log's Literals are the values sync_logs' CHECK constraints accept: a value outside them would make the
whole COPY batch of item outcomes fail."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from nfsync.workers.sync.item_log import ENTITY_TYPES, ITEM_ACTIONS, ITEM_STATUSES

SCHEMA = files("nfsync.workers").joinpath("sql/schema.sql").read_text()


def _check_values(constraint: str) -> set[str]:
    match = re.search(rf"CONSTRAINT {constraint}\s+CHECK \(\w+ IN \(([^)]*)\)\)", SCHEMA)
    assert match, constraint
    return set(re.findall(r"'([^']*)'", match.group(1)))


@pytest.mark.parametrize(
    ("constraint", "values"),
    [
        ("sync_logs_entity_type_check", ENTITY_TYPES),
        ("sync_logs_action_check", ITEM_ACTIONS),
        ("sync_logs_status_check", ITEM_STATUSES),
    ],
)
def test_the_literals_are_the_check_constraints(constraint: str, values: tuple[str, ...]) -> None:
    assert set(values) == _check_values(constraint)
