"""The emulators are off the production import path (issue #14, item 5): the platform packages, the engine, the
service and the webhook intake import no sandbox, its payloads or its sample credentials; the one way to reach an
emulator is ``connectors.base.sandboxes.load_sandbox``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nfsync.connectors.base.sandbox import SandboxBase
from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.connectors.base.spec import PLATFORM_PACKAGES, load

PRODUCTION = [
    *(f"nfsync.connectors.{name}" for name in PLATFORM_PACKAGES),
    "nfsync.workers.api.app",
    "nfsync.workers.api.webhooks",
    "nfsync.workers.sync",
    "nfsync.workers.engine.worker",
    "nfsync.workers.engine.scheduler",
]


def test_production_modules_import_no_emulator() -> None:
    """Before: every PlatformSpec held its Sandbox class, so a webhook push imported the Shopee emulator into the
    API process. A fresh interpreter, so what this test process already imported does not count."""
    probe = "; ".join(f"import {module}" for module in PRODUCTION)
    probe += "; import sys; print('\\n'.join(m for m in sys.modules if '.sandbox' in m))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.split() == []


@pytest.mark.parametrize("name", PLATFORM_PACKAGES)
def test_each_platform_has_one_sandbox_behind_the_loader(name: str) -> None:
    kit = load_sandbox(name)
    assert issubclass(kit.sandbox, SandboxBase) and kit.sandbox.platform == name
    assert kit.platform is load(name) and kit.client is load(name).client
    assert kit.sample_app and not hasattr(load(name), "sandbox")


def test_an_unknown_platform_has_no_sandbox() -> None:
    with pytest.raises(ModuleNotFoundError):
        load_sandbox("nonesuch")
