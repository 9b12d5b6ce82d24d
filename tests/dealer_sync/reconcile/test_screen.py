"""The screen (hash sums per order, grouped by sorting) and the exact comparison behind it.

Every suspect the screen keeps is compared exactly; these tests pin both paths: line sets that differ
only in ways a naive signature would miss, line sets whose signatures differ while the quantities
agree (the exact comparison must then find nothing), and a screen that keeps everything (every key
hash colliding) giving the same findings as the real one.
"""

from __future__ import annotations

import importlib

import numpy as np
import polars as pl
import pytest

from dealer_sync.reconcile import screen
from dealer_sync.reconcile.classify import classify
from dealer_sync.reconcile.snapshot import Snapshots
from dealer_sync.reconcile.truth import TRUTH_AS_OF, make_truth_set
from tests.dealer_sync.reconcile.support import AS_OF, World

classify_module = importlib.import_module("dealer_sync.reconcile.classify")


def u64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


def quantity_rows(world: World) -> list[tuple[str | None, float | None, float | None]]:
    findings = classify(world.accounts_from_ledger().snapshots(), as_of=AS_OF)
    assert set(findings.counts()) <= {"quantity_mismatch"}, findings.counts()
    frame = findings.of("quantity_mismatch").sort("sku")
    return list(zip(frame["sku"], frame["portal_value"], frame["inventory_value"], strict=True))


def with_sales_order_lines(world: World, *lines: tuple[str, float], so_key: str = "s-o1") -> World:
    world.rows["sales_order_lines"] = [
        row for row in world.rows["sales_order_lines"] if row["so_key"] != so_key
    ] + [{"so_key": so_key, "sku": sku, "quantity": quantity} for sku, quantity in lines]
    return world


# --- the screen itself ----------------------------------------------------------------------------


def test_group_by_hash_groups_equal_hashes_across_parts():
    groups = screen.group_by_hash([u64(5 << 40, 7 << 40, 5 << 40), u64(7 << 40, 9 << 40)])
    members = sorted(
        sorted(groups.rows[s : s + n].tolist()) for s, n in zip(groups.starts, groups.sizes, strict=True)
    )
    assert members == [[0, 2], [1, 3], [4]]
    assert groups.sums(u64(1, 10, 100, 1000, 10000)).tolist() == [101, 1010, 10000]


def test_hashes_equal_above_the_row_bits_share_a_group():
    """Only the high bits are compared: such keys are one group (an extra suspect, never a miss)."""
    groups = screen.group_by_hash([u64(1 << 40, (1 << 40) + 1)])
    assert groups.sizes.tolist() == [2]


def test_sums_per_key_gives_zero_to_keys_without_values():
    three, four, eight = 3 << 40, 4 << 40, 8 << 40  # hashes differ in their high bits
    summed = screen.Part(keys=[u64(three, four), u64(three)], weights=[u64(1, 2), u64(5)])
    found = screen.sums_per_key(summed, u64(four, three, eight))
    assert found.tolist() == [2, 6, 0]


def test_slices_on_threads_give_the_same_suspects():
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 2**63, 5_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    codes = rng.integers(0, 6, 5_000).astype(np.uint8)
    weights = rng.integers(0, 3, 5_000).astype(np.uint64)
    keys[1::3] = keys[::3][: len(keys[1::3])]  # some groups of several records
    part = screen.Part(
        keys=[keys[:2_000], keys[2_000:]],
        weights=[weights[:2_000], weights[2_000:]],
        codes=[codes[:2_000], codes[2_000:]],
    )
    one, two = (screen.suspect_rows([part], screen.SALES_ORDER, workers) for workers in (1, 2))
    assert one.positions[0].tolist() == two.positions[0].tolist()
    assert one.detail_differs[0].tolist() == two.detail_differs[0].tolist()
    found = screen.sums_per_key(part, keys[:100], workers=2)
    alone = screen.sums_per_key(screen.Part(keys=[keys], weights=[weights]), keys[:100])
    assert found.tolist() == alone.tolist()


def test_partition_lays_each_slice_out_whole_and_in_row_order():
    rng = np.random.default_rng(11)
    keys = rng.integers(0, 2**63, 3_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    weights = rng.integers(0, 2**63, 3_000, dtype=np.int64).astype(np.uint64)
    codes = rng.integers(0, 6, 3_000).astype(np.uint8)
    chunks = [slice(0, 1_000), slice(1_000, 1_001), slice(1_001, 3_000)]
    laid = screen.partition(
        screen.Part(
            keys=[keys[c] for c in chunks],
            weights=[weights[c] for c in chunks],
            codes=[codes[c] for c in chunks],
        )
    )
    slice_of_row = keys >> np.uint64(64 - screen.PARTITION_BITS)
    seen: list[int] = []
    for number in screen.SLICES:
        piece = laid.slice(number)
        expected_rows = np.flatnonzero(slice_of_row == number)
        assert piece.rows.tolist() == expected_rows.tolist()
        assert piece.keys.tolist() == keys[expected_rows].tolist()
        assert piece.weights.tolist() == weights[expected_rows].tolist()
        assert piece.codes.tolist() == codes[expected_rows].tolist()
        assert not piece.detail.any()  # no detail given: zeros
        seen += piece.rows.tolist()
    assert sorted(seen) == list(range(3_000))


def test_runs_of_equal_consecutive_keys_are_summed_per_chunk():
    a, b = 3 << 40, 5 << 40
    part, runs = screen.runs_of(
        [u64(a, a, b, b), u64(b, a)], [u64(1, 2, 10, 20), u64(100, 1000)], detail_is_weight=True
    )
    assert [k.tolist() for k in part.keys] == [[a, b], [b, a]]  # a run never spans two chunks
    assert [w.tolist() for w in part.weights] == [[3, 30], [100, 1000]]
    assert part.detail is part.weights
    assert runs.starts.tolist() == [0, 2, 4, 5]
    assert runs.rows(np.array([1, 3])).tolist() == [2, 3, 5]  # runs back to their source rows
    assert runs.rows(np.array([], dtype=np.int64)).tolist() == []
    # Summing a key split over runs again gives what its lines give.
    found = screen.sums_per_key(part, u64(a, b))
    assert (
        found.tolist()
        == screen.sums_per_key(
            screen.Part([u64(a, a, b, b, b, a)], [u64(1, 2, 10, 20, 100, 1000)]), u64(a, b)
        ).tolist()
    )


def test_sums_wrap_modulo_two_to_the_64():
    groups = screen.group_by_hash([u64(1 << 50, 1 << 50)])
    assert groups.sums(u64(2**64 - 1, 1)).tolist() == [0]


def suspects(codes: list[int], weights: list[int]) -> list[int]:
    keys = u64(*[(1 << 40) + 7] * len(codes))
    found = screen.suspect_rows(
        [
            screen.Part(
                keys=[keys[:1], keys[1:]],  # in two chunks, read as one
                weights=[
                    np.array(weights, dtype=np.int64).astype(np.uint64)[:1],
                    np.array(weights, dtype=np.int64).astype(np.uint64)[1:],
                ],
                codes=[np.array(codes, dtype=np.uint8)[:1], np.array(codes, dtype=np.uint8)[1:]],
            )
        ],
        detail_needs_one=screen.SALES_ORDER,
    )
    return found.positions[0].tolist()


def test_a_group_is_clean_only_as_one_of_each_with_cancelling_weights():
    order, invoice, sales_order = screen.BILLABLE_ORDER, screen.LIVE_INVOICE, screen.SALES_ORDER
    line = screen.LINE
    assert suspects([order, invoice, sales_order, line], [5, -3, -4, 2]) == []
    assert suspects([order, invoice, sales_order, line], [5, -3, -4, 3]) == [0, 1, 2, 3]
    assert suspects([order, invoice, sales_order, sales_order], [5, -5, 0, 0]) == [0, 1, 2, 3]
    assert suspects([order, invoice, screen.VOID_INVOICE, sales_order], [0, 0, 0, 0]) == [0, 1, 2, 3]
    assert suspects([order, sales_order], [0, 0]) == [0, 1]  # missing invoice
    assert suspects([invoice, sales_order], [0, 0]) == [0, 1]  # orphans
    assert suspects([screen.OTHER_ORDER, line], [0, 7]) == []  # cancelled, nothing posted
    assert suspects([screen.OTHER_ORDER, invoice], [0, 0]) == [0, 1]  # cancelled but posted
    assert suspects([order, invoice, sales_order, screen.IGNORED], [5, -5, 0, 0]) == []  # a dead one
    # a null key with an order, an invoice and a sales order that would cancel: never clean
    null = screen.NULL_KEY
    assert suspects([null, null, null], [0, 0, 0]) == [0, 1, 2]
    assert suspects([order, invoice, sales_order, null], [0, 0, 0, 0]) == [0, 1, 2, 3]


def test_a_group_too_large_to_count_exactly_is_a_suspect():
    size = screen.MAX_CLEAN_GROUP + 1
    codes = [screen.BILLABLE_ORDER, screen.LIVE_INVOICE, screen.SALES_ORDER] + [screen.LINE] * (size - 3)
    assert len(suspects(codes, [0] * size)) == size
    assert suspects(codes[:-1], [0] * (size - 1)) == []


# --- line sets: what a naive signature misses, and what the exact comparison forgives ---------------


def test_the_same_quantities_on_other_skus_differ():
    world = with_sales_order_lines(
        World().order("o1", lines=(("a", 1.0), ("b", 2.0))), ("a", 2.0), ("b", 1.0)
    )
    assert quantity_rows(world) == [("a", 1.0, 2.0), ("b", 2.0, 1.0)]


def test_a_duplicated_line_differs():
    world = with_sales_order_lines(World().order("o1", lines=(("a", 1.0), ("b", 3.0))), ("a", 1.0))
    world.add("sales_order_lines", so_key="s-o1", sku="a", quantity=1.0)
    world.add("sales_order_lines", so_key="s-o1", sku="b", quantity=3.0)
    assert quantity_rows(world) == [("a", 1.0, 2.0)]


def test_two_lines_of_one_sku_equal_to_one_line_of_their_sum_agree():
    world = with_sales_order_lines(World().order("o1", lines=(("a", 1.0), ("a", 1.0))), ("a", 2.0))
    assert quantity_rows(world) == []


def test_a_quantity_rounded_in_the_last_bit_agrees_and_a_real_change_does_not():
    assert 0.1 + 0.2 != 0.3
    world = with_sales_order_lines(World().order("o1", lines=(("a", 0.1 + 0.2),)), ("a", 0.3))
    assert quantity_rows(world) == []
    world = with_sales_order_lines(World().order("o1", lines=(("a", 2.0),)), ("a", 2.001))
    assert quantity_rows(world) == [("a", 2.0, 2.001)]


def test_lines_of_an_order_with_a_duplicate_sales_order_go_against_the_primary_one():
    """The duplicate has no lines: the sums of the order and of all its sales orders agree, yet the
    primary (booked to the order's dealer) is compared line by line."""
    world = World().order("o1", lines=(("a", 2.0),)).accounts_from_ledger()
    world.rows["sales_orders"][0]["dealer_key"] = "d9"  # s-o1 is then the duplicate
    world.add("sales_orders", so_key="s-o1-2", order_key="o1", dealer_key="d1", status="open")
    findings = classify(world.snapshots(), as_of=AS_OF)
    assert findings.counts() == {"duplicate_sales_order": 1, "quantity_mismatch": 1}
    row = findings.of("quantity_mismatch").row(0, named=True)
    assert (row["so_key"], row["sku"], row["portal_value"], row["inventory_value"]) == (
        "s-o1-2",
        "a",
        2.0,
        None,
    )


def test_matched_orders_pass_the_screen_and_count_as_matched():
    world = World()
    for number in range(50):
        world.order(f"o{number}", lines=((f"sku{number % 7}", 1.0 + number), ("x", 0.5)))
    findings = classify(world.accounts_from_ledger().snapshots(), as_of=AS_OF)
    assert len(findings) == 0
    assert dict(findings.matched) == {
        "portal": 50,
        "inventory": 50,
        "ledger": 50,
        "availability": 0,
        "accounts": 1,
    }


# --- a screen that keeps everything changes nothing -----------------------------------------------


@pytest.mark.parametrize("seed", [3, 4])
def test_every_key_hash_colliding_gives_the_same_findings(monkeypatch, seed):
    """With every key in one hash group the screen keeps every record; the exact rounds decide."""
    snapshots, _ = make_truth_set(3_000, 5, seed)
    expected = classify(snapshots, as_of=TRUTH_AS_OF)
    monkeypatch.setattr(classify_module, "_key_hash", lambda column: pl.lit(0, dtype=pl.UInt64))
    collided = classify(snapshots, as_of=TRUTH_AS_OF)
    columns = list(expected.frame.columns)
    assert collided.frame.sort(columns, nulls_last=True).equals(expected.frame.sort(columns, nulls_last=True))
    assert dict(collided.matched) == dict(expected.matched)


@pytest.mark.parametrize("seed", [3, 4])
def test_lines_in_any_order_give_the_same_findings(seed):
    """Lines are summed over runs of one document first; scattered lines (no runs) change nothing."""
    snapshots, _ = make_truth_set(3_000, 5, seed)
    expected = classify(snapshots, as_of=TRUTH_AS_OF)
    frames = snapshots.frames()
    shuffled = Snapshots(
        **{
            **frames,
            "portal_lines": frames["portal_lines"]
            .lazy()
            .collect()
            .sample(fraction=1.0, shuffle=True, seed=seed),
            "sales_order_lines": frames["sales_order_lines"]
            .lazy()
            .collect()
            .sample(fraction=1.0, shuffle=True, seed=seed),
        }
    )
    found = classify(shuffled, as_of=TRUTH_AS_OF)
    columns = list(expected.frame.columns)
    assert found.frame.sort(columns, nulls_last=True).equals(expected.frame.sort(columns, nulls_last=True))
    assert dict(found.matched) == dict(expected.matched)
