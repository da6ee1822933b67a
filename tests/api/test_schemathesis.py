"""A schemathesis run against the live API: no 5xx, and every documented response matches its schema."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.api.conftest import LiveApi
from workers.api.auth import create_token


@pytest.mark.slow
@pytest.mark.timeout(400)
async def test_schemathesis_finds_no_server_error(live_api: LiveApi, tmp_path: Path) -> None:
    pool = await asyncpg.create_pool(live_api.settings.database_url, min_size=1, max_size=1)
    try:
        token = await create_token(pool, None, ["admin"], "schemathesis")
    finally:
        await pool.close()
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", f"{live_api.url}/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", "not_a_server_error,response_schema_conformance",
        "--max-examples", "15", "--seed", os.environ.get("NFSYNC_SCHEMATHESIS_SEED", "1"), "--no-color",
    ]  # fmt: skip
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "HOME": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT, env=env, cwd=tmp_path)  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 360)
    text = output.decode(errors="replace")
    (tmp_path / "schemathesis.txt").write_text(text)
    assert process.returncode == 0, text[-6000:]
