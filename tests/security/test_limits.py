"""Request rate limits (issue #13): a token or an address over its budget gets 429 with Retry-After; webhooks are
not limited by address."""

from __future__ import annotations

import pytest

from nfsync.workers.api.limits import RequestLimiter
from tests.api.conftest import LiveApi

TIGHT = {"api_rate_per_token": 5.0, "api_rate_per_ip": 5.0}  # bursts of 10


@pytest.mark.parametrize("live_api", [TIGHT], indirect=True)
async def test_a_token_over_its_budget_gets_429(live_api: LiveApi) -> None:
    statuses = [(await live_api.call("GET", "/v1/sync-tasks", live_api.a.token))[0] for _ in range(25)]
    assert statuses.count(429) >= 10 and statuses[:5] == [200] * 5, statuses
    assert (await live_api.call("GET", "/v1/sync-tasks", live_api.b.token))[0] == 200, "each token its own budget"
    async with live_api.session.get(
        live_api.url + "/v1/sync-tasks", headers={"Authorization": f"Bearer {live_api.a.token}"}
    ) as response:
        assert response.status == 429 and int(response.headers["Retry-After"]) >= 1
        assert (await response.json())["error"]["code"] == "too_many_requests"


@pytest.mark.parametrize("live_api", [TIGHT], indirect=True)
async def test_guessing_tokens_is_limited_by_address(live_api: LiveApi) -> None:
    statuses = [(await live_api.call("GET", "/v1/sync-tasks", f"nfs_guess{i}"))[0] for i in range(25)]
    assert set(statuses) == {401, 429} and statuses.count(429) >= 10, statuses


def test_the_bucket_refills_and_forgets_old_keys() -> None:
    limiter = RequestLimiter(rate=1.0, max_keys=2)
    assert [limiter.wait("a", now=0.0) for _ in range(3)][:2] == [0.0, 0.0]
    assert limiter.wait("a", now=0.0) == pytest.approx(1.0)
    assert limiter.wait("a", now=2.0) == 0.0, "refilled at the rate"
    limiter.wait("b", now=2.0)
    limiter.wait("c", now=2.0)
    assert limiter.wait("a", now=2.0) == 0.0, "a was forgotten: a full bucket again"
    assert RequestLimiter(rate=0.0).wait("x") == 0.0, "0 turns it off"
