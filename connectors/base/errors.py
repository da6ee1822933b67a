"""The one error taxonomy of nfsync.

Every exception nfsync raises on purpose derives from :class:`NfsyncError`. The class says what the caller
must do; the docstring is the default message; structured fields are attributes. Third-party exceptions are
translated at exactly one boundary with ``raise ... from exc``.

This module lives in ``connectors.base`` because ``connectors`` is the lower layer: ``workers`` imports it,
never the other way round. The service's own failures (database, broker, schema, secrets) are in
``nfsync.workers.errors``, on the same root.
"""

from __future__ import annotations

from typing import Any


class NfsyncError(Exception):
    """nfsync failed."""

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        self.message = message or (self.__class__.__doc__ or self.__class__.__name__).strip().splitlines()[0]
        self.fields = fields
        for name, value in fields.items():
            setattr(self, name, value)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class ConfigError(NfsyncError):
    """A setting is missing or malformed."""


class ValidationFailed(NfsyncError):
    """The input is invalid."""


class NotFound(NfsyncError):
    """The object does not exist (or belongs to another organization)."""


class TaskError(NfsyncError):
    """The work of a task failed."""


class RetryableError(TaskError):
    """A transient failure: try again later (after ``retry_after`` seconds when the platform said so)."""

    retry_after: float | None

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **fields: object) -> None:
        super().__init__(message, retry_after=retry_after, **fields)


class PermanentError(TaskError):
    """A failure that retrying cannot fix."""


class ReauthorizationNeeded(PermanentError):
    """The platform refused the refresh token: the account needs re-authorization."""


class Throttled(RetryableError):
    """The platform said we call too often; everyone using this key slows down."""


class TokenRefreshNeeded(TaskError):
    """The access token was refused as expired: refresh it, then retry once."""


class ItemFailed(TaskError):
    """One item of a batch failed; the rest of the batch went through (see the per-item results)."""
