"""nfsync: keeps NextFlow CRM and the marketplaces in sync. One import root: ``nfsync.workers`` (the engine, the
service, the syncs) and ``nfsync.connectors`` (one package per marketplace over a shared base). The two folders live
at the repository root; ``nfsync/workers`` and ``nfsync/connectors`` are links to them (docs/architecture.md)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nfsync")
except PackageNotFoundError:  # a checkout that was never installed
    __version__ = "0+unknown"
