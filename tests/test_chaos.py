"""The chaos suite in its reduced form (`nfsync chaos --quick`): crashes, broker and database restarts, flaky
sandboxes - then every invariant it checks must hold."""

from __future__ import annotations

import pytest

from nfsync.workers.config import Settings
from nfsync.workers.lab.chaos import QUICK, passed, run_chaos, summary_line


@pytest.mark.timeout(600)
@pytest.mark.disruptive
async def test_reduced_chaos_run_keeps_every_invariant(database: Settings) -> None:
    result, events = await run_chaos(database, QUICK)
    line = summary_line(result, events)
    print(line)  # the one-line summary in the test log
    assert passed(result), line
    assert result["tasks"] > 0 and result["completed"] > 0
    assert result["injected_5xx_and_timeouts"] > 0 and result["lost_write_responses"] > 0, line
    assert {"SIGKILL worker-shopee-1", "rabbitmq stop_app", "postgresql restart -m immediate"} <= set(events), line
