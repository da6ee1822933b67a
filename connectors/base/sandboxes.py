"""The one way to reach a platform's emulator: ``load_sandbox(name)`` imports ``connectors.<name>.sandbox`` only when
called. Production code (the engine, the service, the webhook intake) loads ``connectors.base.spec.load`` and never
imports an emulator, its payloads or its sample credentials; the demo, the benchmarks, chaos and the tests do."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nfsync.connectors.base.client import AppCredentials, BaseClient, ShopRef
from nfsync.connectors.base.sandbox import SandboxBase, SbShop
from nfsync.connectors.base.spec import PlatformSpec, WebhookParser, WebhookVerifier, load


@dataclass(frozen=True)
class SandboxSpec:
    """What each ``connectors.<name>.sandbox`` package exports as ``SANDBOX``."""

    platform: PlatformSpec
    sandbox: type[SandboxBase]
    sample_app: Mapping[str, str]
    """App credentials under the platform's names, for a sandbox started pre-authorized (tests, demo)."""
    shop_ref: Callable[[SbShop, str], ShopRef]
    """The ShopRef a client needs for a sandbox shop, given the sandbox base URL."""

    def webhook_secrets(self, app: AppCredentials, sandbox: SandboxBase) -> list[str]:
        """The secrets a receiver verifies this sandbox's pushes with: the app credential the platform signs with
        (``PlatformSpec.push_signed_with``), or the sandbox's own webhook secret."""
        field = self.platform.push_signed_with
        if field == "webhook_secret":
            return [sandbox.webhook_secret] if sandbox.webhook_secret else []
        return [app.text(field)]

    @property
    def name(self) -> str:
        return self.platform.name

    @property
    def client(self) -> type[BaseClient]:
        return self.platform.client

    @property
    def verify_webhook(self) -> WebhookVerifier:
        return self.platform.verify_webhook

    @property
    def parse_webhook(self) -> WebhookParser:
        return self.platform.parse_webhook


def load_sandbox(name: str) -> SandboxSpec:
    load(name)  # an unknown platform fails the same way as everywhere else
    spec = getattr(importlib.import_module(f"nfsync.connectors.{name}.sandbox"), "SANDBOX", None)
    if not isinstance(spec, SandboxSpec):
        raise LookupError(f"nfsync.connectors.{name}.sandbox exports no SANDBOX spec")
    return spec
