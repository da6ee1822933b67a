"""The global limiter, proven as the issue asks: three OS processes share one key for 20 s against a sandbox that
enforces the limit with the platform's throttle - zero throttled responses, at least 95% of the limit used."""

from __future__ import annotations

import pytest

from nfsync.connectors.base.sandboxes import load_sandbox
from nfsync.workers.config import Settings
from nfsync.workers.lab.connector_bench import limiter_utilisation


@pytest.mark.slow
async def test_three_processes_share_one_limit_without_throttles(database: Settings) -> None:
    result = await limiter_utilisation(database, load_sandbox("shopee"), processes=3, seconds=20.0, rate=50.0)
    assert result["throttled"] == 0, result
    assert result["utilisation"] >= 0.95, result
    assert result["client_calls"] >= 0.95 * 50 * 20
