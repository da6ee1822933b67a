"""The service's own errors: the services it depends on (PostgreSQL, RabbitMQ), the database schema, and the
secrets it keeps. They sit on the one taxonomy's root (``nfsync.connectors.base.errors.NfsyncError``), which the
connectors share; no connector raises these.
"""

from __future__ import annotations

from nfsync.connectors.base.errors import NfsyncError


class DependencyUnavailable(NfsyncError):
    """A service nfsync depends on cannot be reached."""


class DatabaseUnavailable(DependencyUnavailable):
    """PostgreSQL cannot be reached."""


class BrokerUnavailable(DependencyUnavailable):
    """RabbitMQ cannot be reached."""


class SchemaError(NfsyncError):
    """The database schema is not what this release of nfsync expects."""


class SecretError(NfsyncError):
    """A secret cannot be encrypted or decrypted."""


class UnknownKeyError(SecretError):
    """The value was encrypted with a key id that is not in NFSYNC_SECRET_KEYS."""


class DecryptionError(SecretError):
    """The value does not decrypt: wrong key, tampered, or copied from another row or column."""
