"""Planning Shopify GraphQL calls by their requested cost (docs/platforms/shopify.md, "every call: cost & throttle").

Shopify keeps a leaky bucket of cost points per app and shop (SD-RATE, SD-RATE-OLD): a query runs only when the
bucket holds its **requested** cost, the difference to the actual cost is refunded after it ran, and the bucket
refills at ``restoreRate`` points a second. Every answer reports the bucket in ``extensions.cost.throttleStatus``
(``maximumAvailable``, ``currentlyAvailable``, ``restoreRate``); a call the bucket cannot pay is answered HTTP 200
``THROTTLED`` with ``actualQueryCost: null``.

``CostBucket`` is this process's model of that bucket for one shop:

- ``reserve(cost, expected)`` before a call says how long to wait until the model holds the requested ``cost``
  (nothing while it does, else ``(cost - level) / restoreRate``) and charges the model the call's *expected* actual
  cost (the operation's last actual cost, the requested one before any): Shopify admits on the requested cost and
  refunds the rest at once, so charging the requested cost for calls in flight would wait for points that come
  back anyway. Reservations may run the model into debt, so concurrent callers queue behind each other.
- ``settle(cost, answer)`` after the call adopts the bucket Shopify reported (its refund of requested - actual
  included) minus what this process still has in flight; an answer without ``throttleStatus`` but with
  ``actualQueryCost`` hands back ``requested - actual`` to the model itself.
- ``release(cost)`` after a call without an answer (lost): the points stay spent (the call may have run).
- ``throttle_wait(answer)`` for a THROTTLED answer: how long until the bucket holds the requested cost again.

Nothing is hard-coded beyond the start: until the first answer the model assumes ``restoreRate`` 50/s and a bucket of
1000 (SD-RATE-OLD, the stricter reading; current plans restore faster, SD-RATE) and then follows what Shopify says.
The model is per process (``bucket_for``): several processes calling one shop each learn the real level from every
answer, and a THROTTLED answer pauses the shop's key in the global limiter for everyone (BaseClient._attempt).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nfsync.connectors.base.errors import PermanentError

DEFAULT_RESTORE_RATE = 50.0  # points/s before the first answer (SD-RATE-OLD leak 50/s; sandbox_bucket in the contract)
DEFAULT_MAXIMUM = 1000.0  # points (SD-RATE-OLD bucket 1000; current plans may hold more: 3P-COST, UNCONFIRMED)


@dataclass(frozen=True)
class ThrottleStatus:
    maximum: float
    available: float
    restore_rate: float


@dataclass(frozen=True)
class CallCost:
    """``extensions.cost`` of one answer; ``actual`` is None when the call did not run (THROTTLED)."""

    requested: float | None
    actual: float | None
    status: ThrottleStatus | None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def cost_of(body: Any) -> CallCost | None:
    """The ``extensions.cost`` of a GraphQL answer (None when the answer has none: HTTP errors, a 401)."""
    extensions = body.get("extensions") if isinstance(body, Mapping) else None
    cost = extensions.get("cost") if isinstance(extensions, Mapping) else None
    if not isinstance(cost, Mapping):
        return None
    raw = cost.get("throttleStatus")
    status = None
    if isinstance(raw, Mapping):
        maximum, available, rate = (
            _number(raw.get(k)) for k in ("maximumAvailable", "currentlyAvailable", "restoreRate")
        )
        if maximum is not None and available is not None and rate is not None and rate > 0:
            status = ThrottleStatus(maximum, available, rate)
    return CallCost(_number(cost.get("requestedQueryCost")), _number(cost.get("actualQueryCost")), status)


@dataclass
class CostBucket:
    maximum: float = DEFAULT_MAXIMUM
    restore_rate: float = DEFAULT_RESTORE_RATE
    available: float = DEFAULT_MAXIMUM  # at ``stamp``; negative = reserved ahead (debt)
    stamp: float | None = None
    unnamed_in_flight: float = 0.0  # charges of calls in flight reserved without an operation name
    waits: list[float] = field(default_factory=list)  # the waits reserve() asked for (tests, stats)
    actuals: dict[str, float] = field(default_factory=dict)  # operation name -> its last actual cost
    pending: dict[str, list[float]] = field(default_factory=dict)  # operation name -> requested costs in flight

    @property
    def in_flight(self) -> float:
        """What the calls in flight will likely cost, re-estimated from the latest actual costs: a first wave of calls
        charged their requested cost stops weighing on the model once one of them reports its actual cost."""
        named = sum(self.expected(name, cost) for name, costs in self.pending.items() for cost in costs)
        return self.unnamed_in_flight + named

    def level(self, now: float) -> float:
        if self.stamp is None:
            return self.available
        return min(self.maximum, self.available + (now - self.stamp) * self.restore_rate)

    def expected(self, name: str, requested: float) -> float:
        """What a call of operation ``name`` will really cost: its last actual cost (the requested cost before one)."""
        return min(self.actuals.get(name, requested), requested)

    def reserve(self, cost: float, now: float, expected: float | None = None, name: str | None = None) -> float:
        """Admit a call of requested ``cost``: the seconds to wait until the model holds ``cost`` points (Shopify admits
        a query only then). The model is charged ``expected`` (the likely actual cost; ``cost`` when unknown), since
        Shopify refunds the rest as soon as the query ran: concurrent callers queue behind what really goes out."""
        if cost > self.maximum:
            raise PermanentError(
                f"shopify: a call of requested cost {cost:g} can never run in a bucket of {self.maximum:g} points",
                code="MAX_COST_EXCEEDED",
            )
        charge = cost if expected is None else expected
        level = self.level(now)
        wait = 0.0 if level >= cost else (cost - level) / self.restore_rate
        self.available, self.stamp = level - charge, now
        self._add(name, cost, charge)
        self.waits.append(wait)
        return wait

    def still_to_wait(self, cost: float, now: float, name: str | None = None) -> float:
        """For a call already reserved: how long until the model holds its requested ``cost``, its own (re-estimated)
        charge set aside. Waiters re-plan with this as answers arrive, so a first wave charged its requested cost
        stops waiting once one call reports what they really cost."""
        own = cost if name is None else self.expected(name, cost)
        level = self.level(now) + own
        return 0.0 if level >= cost else (cost - level) / self.restore_rate

    def _add(self, name: str | None, cost: float, charge: float) -> None:
        if name is None:
            self.unnamed_in_flight += charge
        else:
            self.pending.setdefault(name, []).append(cost)

    def _done(self, name: str | None, cost: float, charge: float) -> None:
        if name is None:
            self.unnamed_in_flight = max(0.0, self.unnamed_in_flight - charge)
        elif cost in self.pending.get(name, []):
            self.pending[name].remove(cost)

    def settle(
        self, cost: float, answer: CallCost | None, now: float, expected: float | None = None, name: str | None = None
    ) -> None:
        """The call reserved with ``cost`` (charged ``expected``) has its answer."""
        charge = cost if expected is None else expected
        self._done(name, cost, charge)
        if answer is None:
            return  # no cost reported (an HTTP error): the points stay spent
        if name is not None and answer.actual is not None:
            self.actuals[name] = answer.actual
        if answer.status is not None:
            status = answer.status
            self.maximum, self.restore_rate = status.maximum, status.restore_rate
            self.available, self.stamp = status.available - self.in_flight, now
            return
        if answer.actual is not None and answer.actual < charge:
            self.available = self.level(now) + (charge - answer.actual)  # hand back what was charged beyond actual
            self.stamp = now

    def release(self, cost: float, expected: float | None = None, name: str | None = None) -> None:
        """A call reserved with ``cost`` got no answer: it may have run, so its points stay spent."""
        self._done(name, cost, cost if expected is None else expected)


def throttle_wait(answer: CallCost | None, cost: float | None = None) -> float | None:
    """Seconds until the bucket holds the requested cost again, from a THROTTLED answer's ``throttleStatus``."""
    if answer is None or answer.status is None:
        return None
    requested = answer.requested if answer.requested is not None else cost
    if requested is None:
        return None
    return max(0.0, (requested - answer.status.available) / answer.status.restore_rate)


BUCKETS: dict[str, CostBucket] = {}
"""This process's model of each shop's bucket, by limiter key (platform:app:shop:graphql)."""


def bucket_for(key: str) -> CostBucket:
    bucket = BUCKETS.get(key)
    if bucket is None:
        bucket = BUCKETS[key] = CostBucket()
    return bucket
