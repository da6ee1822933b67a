"""A paused shop's tasks wait, pending, and run once it is resumed; other shops' work goes on (issue #17)."""

from __future__ import annotations

from tests.engine.conftest import World, running_worker, wait_until


async def test_a_paused_shops_tasks_wait_until_it_is_resumed(world: World) -> None:
    paused_shop = world.shops["shopee"][0]
    await world.rt.pool.execute("UPDATE marketplace_shops SET paused_at = now() WHERE id = $1", paused_shop)
    waiting = await world.rt.service.enqueue(world.request(shop=0))
    other = await world.rt.service.enqueue(world.request(shop=1))
    async with running_worker(world):
        await wait_until(lambda: _status_is(world, other.task_id, "completed"), what="the other shop's task done")
        assert await _status(world, waiting.task_id) == "pending", "a paused shop's task was started"
        await world.rt.pool.execute("UPDATE marketplace_shops SET paused_at = NULL WHERE id = $1", paused_shop)
        await world.rt.service.wake("shopee", [], reason="resume")
        await wait_until(lambda: _status_is(world, waiting.task_id, "completed"), what="the resumed shop's task")


async def _status(world: World, task_id: object) -> str:
    return str(await world.rt.pool.fetchval("SELECT status FROM sync_tasks WHERE id = $1", task_id))


async def _status_is(world: World, task_id: object, status: str) -> bool:
    return await _status(world, task_id) == status
