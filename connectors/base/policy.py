"""What to do about a platform's answer: one table per platform over a shared default.

A rule matches on the HTTP status and/or the platform's body error code; the first match wins; the default
says 401 -> refresh, 429 and 5xx -> throttle/retry, other 4xx -> permanent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class Action(Enum):
    OK = "ok"
    RETRY = "retry"
    THROTTLE = "throttle"
    REFRESH = "refresh"
    REAUTHORIZE = "reauthorize"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Rule:
    action: Action
    status: int | None = None
    code: str | None = None
    code_prefix: str | None = None

    def matches(self, status: int, code: str | None) -> bool:
        if self.status is not None and self.status != status:
            return False
        if self.code is not None and self.code != code:
            return False
        return not (self.code_prefix is not None and not (code or "").startswith(self.code_prefix))


@dataclass(frozen=True)
class ErrorTable:
    rules: Sequence[Rule]

    def classify(self, status: int, code: str | None) -> Action:
        for rule in self.rules:
            if rule.matches(status, code):
                return rule.action
        return default_action(status, code)


def default_action(status: int, code: str | None) -> Action:
    if status == 401:
        return Action.REFRESH
    if status == 429:
        return Action.THROTTLE
    if status >= 500:
        return Action.RETRY
    if status >= 400:
        return Action.PERMANENT
    return Action.OK if not code else Action.PERMANENT
