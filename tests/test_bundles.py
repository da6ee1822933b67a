"""Bundle arithmetic (workers/bundles.py), against an independent model: making combos one at a time by taking their
parts from a stock, recursively. For random catalogs and random orders no shop is ever offered more combos than the
components can make, and the offer is the most they can make."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nfsync.workers.bundles import BundleInvalid, BundleRow, Bundles, Stocked
from nfsync.workers.sync.rules import StockRules

LEAVES = [f"leaf{i}" for i in range(5)]


def _take(rows: list[BundleRow], variant: str, quantity: Decimal, stock: dict[str, Decimal]) -> None:
    """The model: one bundle's parts taken from the stock, recursively (no flattening, no minimum)."""
    parts = [r for r in rows if r.kind == "000_COMBO" and r.lead == variant]
    if not parts:
        stock[variant] = stock.get(variant, Decimal(0)) - quantity
    for part in parts:
        _take(rows, part.related, quantity * part.quantity, stock)


def _can_make(rows: list[BundleRow], combo: str, count: int, stock: dict[str, Decimal]) -> bool:
    left = {variant: max(value, Decimal(0)) for variant, value in stock.items()}  # oversold stock offers nothing
    _take(rows, combo, Decimal(count), left)
    return all(value >= 0 for value in left.values())


@st.composite
def catalogs(draw: st.DrawFn) -> tuple[list[BundleRow], dict[str, Decimal], list[str]]:
    """Random acyclic catalogs: combos built over the leaves and the combos made before them."""
    rows: list[BundleRow] = []
    combos: list[str] = []
    for index in range(draw(st.integers(1, 5))):
        name = f"combo{index}"
        pool = LEAVES + combos
        chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
        for part in chosen:
            rows.append(BundleRow("000_COMBO", name, part, Decimal(draw(st.integers(1, 4)))))
        combos.append(name)
    stock = {leaf: Decimal(draw(st.integers(-3, 60))) for leaf in LEAVES}
    return rows, stock, combos


def _bundles(rows: list[BundleRow], stock: dict[str, Decimal], inactive: frozenset[str] = frozenset()) -> Bundles:
    everything = {r.lead for r in rows} | {r.related for r in rows} | set(stock)
    states = {v: Stocked(v, v.upper(), stock.get(v, Decimal(0)), v not in inactive) for v in everything}
    return Bundles(rows, (), states)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalogs())
def test_the_offer_is_what_the_components_can_make_and_no_more(
    catalog: tuple[list[BundleRow], dict[str, Decimal], list[str]],
) -> None:
    rows, stock, combos = catalog
    bundles = _bundles(rows, stock)
    for combo in combos:
        offer = bundles.offer(combo)
        assert offer.error is None
        assert _can_make(rows, combo, offer.available, stock)
        assert not _can_make(rows, combo, offer.available + 1, stock)
        assert offer.limited_by in LEAVES


@settings(max_examples=200, deadline=None)
@given(catalogs(), st.lists(st.tuples(st.integers(0, 9), st.integers(1, 5)), max_size=12), st.integers(0, 10))
def test_random_orders_taking_what_is_offered_never_oversell(
    catalog: tuple[list[BundleRow], dict[str, Decimal], list[str]],
    orders: list[tuple[int, int]],
    buffer: int,
) -> None:
    """Each order buys up to what the shop is offered after its rules, then reserves what the line consumes."""
    rows, stock, combos = catalog
    stock = {leaf: max(value, Decimal(0)) for leaf, value in stock.items()}
    sellable = combos + LEAVES
    rules = StockRules(safety_buffer=buffer, allocation_percent=80)
    for pick, wanted in orders:
        variant = sellable[pick % len(sellable)]
        bundles = _bundles(rows, stock)
        available = bundles.offer(variant).available if bundles.is_bundle(variant) else int(stock[variant])
        offered = rules.quantity(available)
        bought = min(wanted, offered)
        for used, quantity in bundles.consumption(variant, Decimal(bought)):
            stock[used] -= quantity
        assert all(value >= 0 for value in stock.values()), (variant, bought, stock)


def test_two_paths_to_one_leaf_count_twice() -> None:
    """A = B + C, B = 2 C: an A uses 3 C (the naive minimum over A's direct components would offer 4 of 9)."""
    rows = [
        BundleRow("000_COMBO", "A", "B", Decimal(1)),
        BundleRow("000_COMBO", "A", "C", Decimal(1)),
        BundleRow("000_COMBO", "B", "C", Decimal(2)),
    ]
    bundles = _bundles(rows, {"C": Decimal(9)})
    assert bundles.offer("B").available == 4
    assert bundles.offer("A").available == 3
    assert bundles.consumption("A", Decimal(2)) == [("C", Decimal(6))]


def test_a_deactivated_component_makes_the_combo_zero() -> None:
    rows = [BundleRow("000_COMBO", "A", "x", Decimal(1)), BundleRow("000_COMBO", "A", "y", Decimal(1))]
    offer = _bundles(rows, {"x": Decimal(5), "y": Decimal(5)}, frozenset({"y"})).offer("A")
    assert (offer.available, offer.limited_by, offer.error) == (0, "y", None)


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([BundleRow("000_COMBO", "A", "B", Decimal(1)), BundleRow("000_COMBO", "B", "A", Decimal(1))], "cycle"),
        ([BundleRow("000_COMBO", "A", "A", Decimal(1))], "cycle"),
        ([BundleRow("000_COMBO", "A", "x", Decimal(0))], "quantity 0"),
        ([BundleRow("000_COMBO", "A", "x", Decimal(-2))], "quantity -2"),
    ],
)
def test_malformed_bundles_are_refused_with_the_reason(rows: list[BundleRow], reason: str) -> None:
    bundles = _bundles(rows, {"x": Decimal(10)})
    offer = bundles.offer("A")
    assert offer.available == 0
    assert offer.error is not None and reason in offer.error
    with pytest.raises(BundleInvalid, match=reason):
        bundles.consumption("A", Decimal(1))


def test_a_typed_combo_without_components_is_refused() -> None:
    bundles = Bundles((), {"K"}, {"K": Stocked("K", "K", Decimal(50), True)})
    offer = bundles.offer("K")
    assert (offer.available, offer.error) == (0, "combo K has no components")


def test_add_ons_follow_their_host_and_fbt_rows_are_not_read() -> None:
    rows = [
        BundleRow("100_ADDON", "host", "gift", Decimal(2)),
        BundleRow("000_COMBO", "set", "host", Decimal(1)),
        BundleRow("000_COMBO", "set", "x", Decimal(3)),
    ]
    bundles = _bundles(rows, {"host": Decimal(5), "gift": Decimal(5), "x": Decimal(9)})
    assert bundles.consumption("host", Decimal(3)) == [("gift", Decimal(6)), ("host", Decimal(3))]
    assert bundles.consumption("set", Decimal(1)) == [("host", Decimal(1)), ("x", Decimal(3))]  # inside a combo: none
    assert not bundles.is_bundle("host")
    with pytest.raises(BundleInvalid, match="add-on gift of host has quantity 0"):
        _bundles([BundleRow("100_ADDON", "host", "gift", Decimal(0))], {}).consumption("host", Decimal(1))


@settings(max_examples=150, deadline=None)
@given(
    catalogs(),
    st.dictionaries(st.sampled_from(LEAVES), st.dictionaries(st.sampled_from(["hn", "hcm"]), st.integers(0, 40))),
)
def test_per_location_offers_are_made_at_each_location(
    catalog: tuple[list[BundleRow], dict[str, Decimal], list[str]], where: dict[str, dict[str, int]]
) -> None:
    rows, _, combos = catalog
    states = {
        leaf: Stocked(
            leaf,
            None,
            Decimal(sum(where.get(leaf, {}).values())),
            True,
            {loc: Decimal(n) for loc, n in where.get(leaf, {}).items()},
        )
        for leaf in LEAVES
    }
    bundles = Bundles(rows, (), {**states, **{c: Stocked(c, None, Decimal(0), True) for c in combos}})
    for combo in combos:
        offer = bundles.offer(combo, per_location=True)
        for location, units in offer.by_location.items():
            at = {leaf: Decimal(where.get(leaf, {}).get(location, 0)) for leaf in LEAVES}
            assert _can_make(rows, combo, units, at)
            assert not _can_make(rows, combo, units + 1, at)
        assert sum(offer.by_location.values()) <= offer.available or not offer.by_location
