"""Combos, kits and add-ons (the catalog seed's ``"ProductBundler"``): what a bundle can offer and what it consumes.

A variant is a *bundle* when it has live ``000_COMBO`` rows as their ``leadVariantId`` (each ``relatedVariantId`` a
component, ``quantity`` of it per bundle), or when its type is ``301_COMBO`` or ``300_KIT`` (whose components the
seed keeps elsewhere, so nfsync reads them from the same rows and refuses a kit without any). A component may itself
be a bundle. A bundle holds no stock of its own: its own ``"StockLevel"`` row is never read nor moved.

What one unit of a bundle uses is flattened to the stocked variants at its leaves (a leaf reached through two paths
counts twice), so the offer is exact for nested bundles too: for each leaf, floor(available / units per bundle), and
the smallest of those. A deactivated component anywhere makes the bundle 0.

``100_ADDON`` rows give a free add-on to every unit of the host variant sold: an order line of the host also reserves
and deducts ``quantity`` add-on units per unit. ``200_FBT`` rows are recommendations and change nothing.

Everything here is pure (no I/O): ``workers/crm.py`` reads the rows and the stock, this module does the arithmetic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from nfsync.connectors.base.errors import ValidationFailed

BUNDLE_TYPES = frozenset({"300_KIT", "301_COMBO"})
MAX_DEPTH = 16  # bundles nested deeper than this are refused like a cycle


class BundleInvalid(ValidationFailed):
    """The bundle is malformed (a cycle, a component quantity at or below zero, or no components)."""


@dataclass(frozen=True)
class Part:
    """One ``"ProductBundler"`` row: ``quantity`` of ``variant_id`` per unit of its lead."""

    variant_id: str
    quantity: Decimal


@dataclass(frozen=True)
class Stocked:
    """A variant's stock as a component sees it: available = on hand - reserved (not floored), and whether it sells."""

    variant_id: str
    sku: str | None
    available: Decimal
    active: bool
    by_location: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class BundleOffer:
    """What a bundle can offer: whole units (and per stock location when asked), the leaf that limits it, or why it
    cannot be sold (``error``; the offer is then 0)."""

    available: int
    by_location: dict[str, int] = field(default_factory=dict)
    limited_by: str | None = None
    limited_by_sku: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class BundleRow:
    """A live ``"ProductBundler"`` row as read from the CRM."""

    kind: str  # 000_COMBO, 100_ADDON (FBT rows are never read)
    lead: str
    related: str
    quantity: Decimal


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


class Bundles:
    """The bundle rows and the component stock around some variants, and the arithmetic over them."""

    def __init__(
        self,
        rows: Iterable[BundleRow] = (),
        typed: Iterable[str] = (),
        stock: Mapping[str, Stocked] | None = None,
    ) -> None:
        self.combos: dict[str, list[Part]] = defaultdict(list)
        self.addons: dict[str, list[Part]] = defaultdict(list)
        for row in rows:
            target = self.combos if row.kind == "000_COMBO" else self.addons
            target[row.lead].append(Part(row.related, row.quantity))
        self.typed = frozenset(typed)
        self.stock = dict(stock or {})

    def __bool__(self) -> bool:
        return bool(self.combos or self.addons or self.typed)

    def is_bundle(self, variant_id: str) -> bool:
        return variant_id in self.combos or variant_id in self.typed

    def leaves(self, variant_id: str) -> dict[str, Decimal]:
        """Stocked variant -> units used by one unit of the bundle. Raises :class:`BundleInvalid`."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        self._walk(variant_id, Decimal(1), (), out)
        return dict(out)

    def _walk(self, variant_id: str, times: Decimal, path: tuple[str, ...], out: dict[str, Decimal]) -> None:
        if variant_id in path:
            cycle = " -> ".join([*path[path.index(variant_id) :], variant_id])
            raise BundleInvalid(f"bundle cycle: {cycle}")
        if len(path) >= MAX_DEPTH:
            raise BundleInvalid(f"bundle {path[0]} is nested more than {MAX_DEPTH} deep")
        parts = self.combos.get(variant_id, [])
        if not parts:
            raise BundleInvalid(f"combo {variant_id} has no components")
        for part in parts:
            if part.quantity <= 0:
                raise BundleInvalid(f"combo {variant_id}: component {part.variant_id} has quantity {part.quantity}")
            if self.is_bundle(part.variant_id):
                self._walk(part.variant_id, times * part.quantity, (*path, variant_id), out)
            else:
                out[part.variant_id] += times * part.quantity

    def inactive_inside(self, variant_id: str) -> str | None:
        """A deactivated variant among the bundle's components (at any depth), if any."""
        seen: set[str] = set()
        todo = [p.variant_id for p in self.combos.get(variant_id, [])]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            state = self.stock.get(current)
            if state is None or not state.active:
                return current
            todo += [p.variant_id for p in self.combos.get(current, [])]
        return None

    def offer(self, variant_id: str, *, per_location: bool = False) -> BundleOffer:
        """Whole units of the bundle its components can make (before the shop's rules)."""
        try:
            leaves = self.leaves(variant_id)
        except BundleInvalid as exc:
            return BundleOffer(0, error=str(exc))
        off = self.inactive_inside(variant_id)
        if off is not None:
            return BundleOffer(0, limited_by=off, limited_by_sku=self._sku(off))
        units = {leaf: _floor(max(self._available(leaf), Decimal(0)) / need) for leaf, need in leaves.items()}
        limited_by = min(units, key=lambda leaf: (units[leaf], leaf))
        locations = self._by_location(leaves) if per_location else {}
        return BundleOffer(units[limited_by], locations, limited_by, self._sku(limited_by))

    def _available(self, variant_id: str) -> Decimal:
        state = self.stock.get(variant_id)
        return state.available if state is not None else Decimal(0)

    def _sku(self, variant_id: str) -> str | None:
        state = self.stock.get(variant_id)
        return state.sku if state is not None else None

    def _by_location(self, leaves: Mapping[str, Decimal]) -> dict[str, int]:
        where = {loc for leaf in leaves if (s := self.stock.get(leaf)) for loc in s.by_location}
        out = {}
        for location in sorted(where):
            out[location] = min(
                _floor(max(self._at(leaf, location), Decimal(0)) / need) for leaf, need in leaves.items()
            )
        return out

    def _at(self, variant_id: str, location: str) -> Decimal:
        state = self.stock.get(variant_id)
        return Decimal(state.by_location.get(location, 0)) if state is not None else Decimal(0)

    def consumption(self, variant_id: str, quantity: Decimal) -> list[tuple[str, Decimal]]:
        """The stocked variants an order line of ``quantity`` units reserves and then deducts: a bundle's leaves
        (never its own row), a plain variant itself, plus each add-on of the variant sold. Raises
        :class:`BundleInvalid` (nothing of the line is then taken)."""
        used: dict[str, Decimal] = defaultdict(Decimal)
        self._consume(variant_id, quantity, used)
        for addon in self.addons.get(variant_id, []):
            if addon.quantity <= 0:
                raise BundleInvalid(f"add-on {addon.variant_id} of {variant_id} has quantity {addon.quantity}")
            self._consume(addon.variant_id, quantity * addon.quantity, used)
        return sorted(used.items())

    def _consume(self, variant_id: str, quantity: Decimal, used: dict[str, Decimal]) -> None:
        if not self.is_bundle(variant_id):
            used[variant_id] += quantity
            return
        for leaf, need in self.leaves(variant_id).items():
            used[leaf] += need * quantity


def merge(lines: Sequence[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    """(variant, quantity) summed per variant, sorted."""
    total: dict[str, Decimal] = defaultdict(Decimal)
    for variant, quantity in lines:
        total[variant] += quantity
    return sorted(total.items())
