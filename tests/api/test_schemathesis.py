"""A schemathesis run against the live API (positive and negative data: its default mode "all"), as an operator and
as a tenant: no 5xx, and every documented response matches its schema."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.api.conftest import LiveApi


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("caller", ["operator", "tenant"])
async def test_schemathesis_finds_no_server_error(live_api: LiveApi, tmp_path: Path, caller: str) -> None:
    if caller == "operator":
        token = await live_api.token(None, ["admin"])
    else:
        token = await live_api.token(
            live_api.a.org, ["tasks:read", "tasks:write", "integrations:write", "ops:read", "ops:write"]
        )
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{live_api.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--mode",
        "all",
        "--max-examples",
        "15",
        "--seed",
        os.environ.get("NFSYNC_SCHEMATHESIS_SEED", "1"),
        "--no-color",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "HOME": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, cwd=tmp_path
    )
    output, _ = await asyncio.wait_for(process.communicate(), 360)
    text = output.decode(errors="replace")
    (tmp_path / "schemathesis.txt").write_text(text)
    assert process.returncode == 0, text[-6000:]
