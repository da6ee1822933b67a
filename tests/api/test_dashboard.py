"""The /ops dashboard in Debian's headless Chromium, driven by Playwright: it loads, a number changes while tasks
run, Retry works, and a screenshot is kept as a test artifact (artifacts/dashboard.png)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from nfsync.workers import ops_snapshot
from nfsync.workers.api.auth import create_token
from nfsync.workers.engine.runtime import engine_pool
from nfsync.workers.engine.worker import Worker
from nfsync.workers.lab.diagnostics import REGISTRY
from tests.api.conftest import LiveApi

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def _db(api: LiveApi, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(api.settings.database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def _enqueue(api: LiveApi, shop: int, task_type: str, diag: dict[str, object]) -> str:
    status, created = await api.call(
        "POST",
        "/v1/sync-tasks",
        api.a.token,
        json={
            "integration_id": str(api.a.integration),
            "shop_id": str(api.a.shops[shop]),
            "task_type": task_type,
            "direction": "crm_to_marketplace",
            "filter_criteria": {"diag": diag},
        },
    )
    assert status == 201, created
    return str(created["task_id"])


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)")
async def test_dashboard_in_headless_chromium(live_api: LiveApi) -> None:
    from playwright.async_api import async_playwright

    token = await create_token_for(live_api)
    for shop in range(3):
        await _enqueue(live_api, shop, "order_sync", {"sleep": 0.2})
    failing = await _enqueue(live_api, 0, "inventory_sync", {"fail": "permanent"})
    settings = live_api.settings.model_copy(update={"idle_poll_seconds": 0.2})
    pool = await engine_pool(settings, "dashboard-test-worker", max_size=4)
    worker = Worker(settings, REGISTRY, ["shopee"], pool=pool, connection=None, concurrency=4)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        page = await browser.new_page(viewport={"width": 1400, "height": 1100})
        try:
            await page.goto(f"{live_api.url}/ops?token={token}")
            done = page.locator('#queues tr[data-platform="shopee"] td[data-field="completed_60m"]')
            await done.wait_for(timeout=10_000)
            assert await done.inner_text() == "0"
            await worker.start()
            await page.wait_for_function(
                """() => document.querySelector('#queues tr[data-platform="shopee"] td[data-field="completed_60m"]')
                        ?.textContent === '3'""",
                timeout=20_000,
            )
            retry = page.locator(f'button[data-action="retry"][data-task="{failing}"]')
            await retry.wait_for(timeout=20_000)
            assert await page.locator(f'button[data-action="cancel"][data-task="{failing}"]').count() == 0, (
                "a failed task cannot be cancelled: no Cancel button"
            )
            for key, label in (("tasks", "task wake-ups"), ("commands", "AMQP commands")):
                row = page.locator(f'#dead-letters tr[data-queue="{key}"]')
                assert await row.locator('td[data-field="label"]').inner_text() == label
                assert (await row.locator('td[data-field="ready"]').inner_text()).isdigit(), key
            await page.wait_for_selector(".chart svg rect.bar", timeout=10_000)
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            attempt = await _db(live_api, "SELECT attempt FROM sync_tasks WHERE id = $1::uuid", failing)
            await retry.click()
            deadline = time.monotonic() + 10
            # the retried task is pending again - or already ran again (the worker is still polling)
            while (
                await _db(
                    live_api,
                    "SELECT status = 'pending' OR attempt > $2 FROM sync_tasks WHERE id = $1::uuid",
                    failing,
                    attempt,
                )
                is not True
            ):
                assert time.monotonic() < deadline, "Retry did not reach the task"
                await page.wait_for_timeout(100)
        finally:
            await browser.close()
            await worker.shutdown()
            await pool.close()
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


async def create_token_for(api: LiveApi) -> str:
    pool = await asyncpg.create_pool(api.settings.database_url, min_size=1, max_size=1)
    try:
        return await create_token(pool, None, ["admin"], "dashboard")
    finally:
        await pool.close()


async def _open(browser: Any, api: LiveApi, token: str) -> Any:
    page = await (await browser.new_context(viewport={"width": 1400, "height": 1100})).new_page()
    await page.goto(f"{api.url}/ops?token={token}")
    await page.locator('#queues tr[data-platform="shopee"]').wait_for(timeout=10_000)
    return page


async def _unknown_cell(page: Any, selector: str) -> str:
    """The tooltip of a cell that shows "-" (it must have one)."""
    cell = page.locator(selector)
    assert await cell.inner_text() == "-", selector
    title = await cell.get_attribute("title")
    assert title, f"{selector} shows - without saying why"
    return str(title)


async def _no_blanks(page: Any) -> None:
    text = await page.locator("main").inner_text()
    assert "undefined" not in text and "NaN" not in text and "null" not in text, text


SHOPEE = '#queues tr[data-platform="shopee"]'


async def _operator_view(page: Any, failed: str) -> None:
    row = f'#failing tr[data-task="{failed}"]'
    await page.locator(f'{row} button[data-action="retry"]').wait_for(timeout=10_000)
    assert await page.locator('#failing button[data-action="cancel"]').count() == 0, "a failed task cannot be cancelled"
    assert await _unknown_cell(page, f"{row} td.error") == "no error message was recorded"
    assert await _unknown_cell(page, f'{SHOPEE} td[data-field="unacked"]') == ops_snapshot.NOTE_NO_MANAGEMENT
    assert (await page.locator(f'{SHOPEE} td[data-field="ready"]').inner_text()).isdigit()
    notes = await page.locator("#queues-notes li").all_inner_texts()
    assert notes == [f"- in the broker columns: {ops_snapshot.NOTE_NO_MANAGEMENT}"]
    for key in ("tasks", "commands"):
        dead = f'#dead-letters tr[data-queue="{key}"]'
        assert await _unknown_cell(page, f'{dead} td[data-field="unacked"]') == ops_snapshot.NOTE_NO_MANAGEMENT
    assert await page.locator("#webhooks tbody tr.empty").inner_text() == "nothing here: no webhook received"
    assert await page.locator("#workers").inner_text() == "nothing here: no live worker"
    await _no_blanks(page)


async def _read_only_tenant_view(page: Any, failed: str) -> None:
    row = f'#failing tr[data-task="{failed}"]'
    await page.locator(row).wait_for(timeout=10_000)
    assert await page.locator(f"{row} button").count() == 0, "no button the token cannot use (no tasks:write)"
    assert "tasks:write" in await _unknown_cell(page, f'{row} td[data-field="actions"]')
    assert "operator tokens only" in await _unknown_cell(page, f'{SHOPEE} td[data-field="ready"]')
    assert "operator tokens only" in await page.locator("#dead-letters tbody tr.empty").inner_text()
    await _no_blanks(page)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize("live_api", [{"rabbitmq_management_url": "http://127.0.0.1:1"}], indirect=True)
async def test_dashboard_says_what_it_cannot_show(live_api: LiveApi) -> None:
    """Without the management API, no worker, no webhook: empty tables say so and every "-" says why; a token
    without tasks:write gets no button, and a tenant sees why the broker figures are not there."""
    from playwright.async_api import async_playwright

    failed = await _enqueue(live_api, 0, "inventory_sync", {})
    await _db(live_api, "UPDATE sync_tasks SET status = 'failed', error_message = NULL WHERE id = $1::uuid", failed)
    reader = await live_api.token(live_api.a.org, ["ops:read"])
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            await _operator_view(await _open(browser, live_api, await create_token_for(live_api)), failed)
            tenant = await _open(browser, live_api, reader)
            await _read_only_tenant_view(tenant, failed)
            await _db(live_api, "UPDATE sync_tasks SET status = 'completed' WHERE id = $1::uuid", failed)
            empty = tenant.locator("#failing tbody tr.empty")
            await empty.wait_for(timeout=10_000)  # the next refresh (every 2 s)
            assert await empty.inner_text() == "nothing here: no failed task"
        finally:
            await browser.close()
