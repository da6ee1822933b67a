"""Per-shop sync rules from the integration's ``config`` (with per-shop overrides), and filter parsing.

``config["inventory"]``: ``safety_buffer`` (units held back, default 0), ``allocation_percent`` (share of the rest
offered on this shop, default 100), ``zero_below`` (push 0 when the result is below it, default 0).
``config["catalog"]``: ``locale`` (default "vi"), ``category_map`` (CRM category id -> platform category id),
``default_category_id``. ``config["orders"]``: ``initial_days`` (first incremental window, default 7),
``overlap_seconds`` (re-read before the cursor, default 300).
Each section may hold ``"shops": {"<shop uuid or platform shop id>": {...overrides}}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors.base.errors import PermanentError
from workers.crm import CatalogFilter
from workers.engine.models import to_utc_naive


@dataclass(frozen=True)
class StockRules:
    safety_buffer: int = 0
    allocation_percent: float = 100.0
    zero_below: int = 0

    @classmethod
    def parse(cls, rules: dict[str, Any]) -> StockRules:
        try:
            made = cls(int(rules.get("safety_buffer", 0)), float(rules.get("allocation_percent", 100)),
                       int(rules.get("zero_below", 0)))  # fmt: skip
        except (TypeError, ValueError) as exc:
            raise PermanentError(f"config.inventory is invalid: {exc}") from None
        if made.safety_buffer < 0 or made.zero_below < 0 or not 0 <= made.allocation_percent <= 100:
            raise PermanentError("config.inventory: safety_buffer and zero_below must be >= 0, "
                                 "allocation_percent between 0 and 100")  # fmt: skip
        return made

    def quantity(self, available: int) -> int:
        """What this shop is offered out of ``available``."""
        rest = max(0, available - self.safety_buffer)
        offered = math.floor(rest * self.allocation_percent / 100)
        return 0 if offered < self.zero_below else offered


CONTENT_OWNERS = ("link", "crm")


@dataclass(frozen=True)
class CatalogRules:
    locale: str = "vi"
    category_map: dict[str, str] | None = None
    default_category_id: str | None = None
    # who owns listing content: "link" (stock and price only), "crm" (read-modify-write of the content), or None:
    # per listing, the CRM for listings nfsync created and "link" for those it adopted or pulled
    content: str | None = None

    @classmethod
    def parse(cls, rules: dict[str, Any]) -> CatalogRules:
        mapping = rules.get("category_map")
        if mapping is not None and not isinstance(mapping, dict):
            raise PermanentError("config.catalog.category_map must be an object of CRM id -> platform id")
        content = rules.get("content")
        if content not in (None, *CONTENT_OWNERS):
            raise PermanentError(f"config.catalog.content must be one of {', '.join(CONTENT_OWNERS)}: {content!r}")
        default = rules.get("default_category_id")
        return cls(str(rules.get("locale") or "vi"), {str(k): str(v) for k, v in (mapping or {}).items()},
                   None if default is None else str(default), content)  # fmt: skip

    def platform_category(self, crm_category: str | None) -> str | None:
        if crm_category and self.category_map and crm_category in self.category_map:
            return self.category_map[crm_category]
        return self.default_category_id


def money(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def _ids(filters: dict[str, Any], key: str) -> list[str] | None:
    values = filters.get(key)
    return [str(v) for v in values] if isinstance(values, list) else None


def _time(filters: dict[str, Any], key: str) -> datetime | None:
    value = filters.get(key)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise PermanentError(f"filter {key!r} is not an ISO 8601 time: {value!r}") from None


def catalog_filter(filters: dict[str, Any] | None) -> CatalogFilter:
    """``filter_criteria`` of a CRM -> marketplace sync: product_ids, variant_ids, categories (or category_ids),
    updated_after, statuses (product status, e.g. ["ACTIVATED"])."""
    f = filters or {}
    return CatalogFilter(
        product_ids=_ids(f, "product_ids"), variant_ids=_ids(f, "variant_ids"),
        category_ids=_ids(f, "categories") or _ids(f, "category_ids"), updated_after=_time(f, "updated_after"),
        statuses=[s.upper() for s in _ids(f, "statuses") or []] or None,
    )  # fmt: skip


def order_window(filters: dict[str, Any] | None) -> tuple[datetime | None, datetime | None]:
    f = filters or {}
    start, end = _time(f, "updated_from") or _time(f, "updated_after"), _time(f, "updated_to")
    return (None if start is None else to_utc_naive(start)), (None if end is None else to_utc_naive(end))


def ids(filters: dict[str, Any] | None, key: str) -> list[str]:
    return _ids(filters or {}, key) or []
