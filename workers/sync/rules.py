"""Per-shop sync rules from the integration's ``config`` (with per-shop overrides), and filter parsing.

``config["inventory"]``: ``safety_buffer`` (units held back, default 0), ``allocation_percent`` (share of the rest
offered on this shop, default 100), ``zero_below`` (push 0 when the result is below it, default 0), ``warehouses``
(CRM stock location id -> platform warehouse or location id; unset: every location's stock goes to the listing's one
warehouse; set: each platform warehouse gets the rules applied to the locations mapped to it, and locations not
mapped are not offered on this shop).
``config["catalog"]``: ``locale`` (default "vi"), ``category_map`` (CRM category id -> platform category id),
``default_category_id``. ``config["orders"]``: ``initial_days`` (first incremental window, default 7),
``overlap_seconds`` (re-read before the cursor, default 300).
Each section may hold ``"shops": {"<shop uuid or platform shop id>": {...overrides}}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from nfsync.connectors.base.errors import PermanentError
from nfsync.workers.crm import CatalogFilter
from nfsync.workers.engine.filters import OrderSyncFilter, ProductSyncFilter
from nfsync.workers.engine.models import to_utc_naive


@dataclass(frozen=True)
class StockRules:
    safety_buffer: int = 0
    allocation_percent: float = 100.0
    zero_below: int = 0
    warehouses: dict[str, str] = field(default_factory=dict)  # CRM location -> platform warehouse

    @classmethod
    def parse(cls, rules: dict[str, Any]) -> StockRules:
        try:
            made = cls(
                int(rules.get("safety_buffer", 0)),
                float(rules.get("allocation_percent", 100)),
                int(rules.get("zero_below", 0)),
                _warehouses(rules.get("warehouses")),
            )
        except (TypeError, ValueError) as exc:
            raise PermanentError(f"config.inventory is invalid: {exc}") from None
        if made.safety_buffer < 0 or made.zero_below < 0 or not 0 <= made.allocation_percent <= 100:
            raise PermanentError(
                "config.inventory: safety_buffer and zero_below must be >= 0, allocation_percent between 0 and 100"
            )
        return made

    def quantity(self, available: int) -> int:
        """What this shop is offered out of ``available``."""
        rest = max(0, available - self.safety_buffer)
        offered = math.floor(rest * self.allocation_percent / 100)
        return 0 if offered < self.zero_below else offered

    def offer(self, available: int, by_location: dict[str, int]) -> tuple[int, dict[str, int]]:
        """(total, per platform warehouse) this shop is offered; the split is empty without a warehouse map."""
        if not self.warehouses:
            return self.quantity(available), {}
        pooled = dict.fromkeys(self.warehouses.values(), 0)
        for location, units in by_location.items():
            if location in self.warehouses:
                pooled[self.warehouses[location]] += max(0, units)
        split = {warehouse: self.quantity(units) for warehouse, units in pooled.items()}
        return sum(split.values()), split

    def nothing(self) -> dict[str, int]:
        """The zero split (a delisted variant) in the shop's warehouses."""
        return dict.fromkeys(self.warehouses.values(), 0)


def _warehouses(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items()
    ):
        raise ValueError("warehouses must map CRM stock location ids to platform warehouse ids (non-empty strings)")
    return dict(value)


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
        return cls(
            str(rules.get("locale") or "vi"),
            {str(k): str(v) for k, v in (mapping or {}).items()},
            None if default is None else str(default),
            content,
        )

    def platform_category(self, crm_category: str | None) -> str | None:
        if crm_category and self.category_map and crm_category in self.category_map:
            return self.category_map[crm_category]
        return self.default_category_id


def money(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))


def catalog_filter(filters: ProductSyncFilter) -> CatalogFilter:
    """The CRM query's view of a product sync's filter (categories and category_ids narrow together)."""
    return CatalogFilter(
        product_ids=filters.product_ids,
        variant_ids=filters.variant_ids,
        category_ids=filters.categories or filters.category_ids,
        updated_after=filters.updated_after,
        statuses=filters.statuses,
    )


def order_window(filters: OrderSyncFilter) -> tuple[datetime | None, datetime | None]:
    start, end = filters.updated_from or filters.updated_after, filters.updated_to
    return (None if start is None else to_utc_naive(start)), (None if end is None else to_utc_naive(end))
