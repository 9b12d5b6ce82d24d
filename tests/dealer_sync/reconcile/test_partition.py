"""Partitioned classification: the findings of the parts, put together, are the findings of the whole."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from dealer_sync.reconcile.classify import Findings, classify
from dealer_sync.reconcile.partition import (
    PARTITION_SEED,
    PartitionFindings,
    assign_partitions,
    classify_accounts,
    classify_part,
    classify_partitioned,
    combine,
    split,
)
from dealer_sync.reconcile.snapshot import Snapshots
from dealer_sync.reconcile.truth import TRUTH_AS_OF, make_truth_set
from tests.dealer_sync.reconcile.support import AS_OF, World

ROOT = Path(__file__).resolve().parents[3]


def rows(findings: Findings) -> pl.DataFrame:
    """The findings as a set of rows: every column, in one canonical order."""
    return findings.frame.sort(pl.all(), nulls_last=True)


def assert_same(partitioned: Findings, whole: Findings) -> None:
    assert partitioned.counts() == whole.counts()
    assert dict(partitioned.matched) == dict(whole.matched)
    assert rows(partitioned).equals(rows(whole))


@pytest.fixture(scope="module")
def truth() -> tuple[Snapshots, Findings]:
    snapshots, expected = make_truth_set(20_000, 0.005, 5)
    whole = classify(snapshots, as_of=TRUTH_AS_OF)
    assert whole.counts() == expected  # 100 of every category: the comparison below has teeth
    return snapshots, whole


@pytest.mark.parametrize("partitions", [1, 2, 3, 7])
def test_partitioned_findings_equal_the_whole_on_the_truth_set(truth, partitions):
    snapshots, whole = truth
    assert_same(classify_partitioned(snapshots, as_of=TRUTH_AS_OF, partitions=partitions), whole)


def test_partitions_are_balanced_and_every_row_is_placed_once(truth):
    snapshots, _ = truth
    pieces = split(snapshots, 7)
    for name, frame in snapshots.frames().items():
        heights = [piece.frames()[name].height for piece in pieces]
        if name == "portal_accounts":
            assert heights == [0] * 7  # the global part has them
            continue
        assert sum(heights) == frame.lazy().collect().height, name
        if frame.lazy().collect().height >= 7_000:
            assert min(heights) > 0.8 * max(heights), (name, heights)


def test_splitting_invoices_by_their_own_key_instead_gives_different_findings(truth):
    """The sanity check: the comparison above fails when a document leaves its order's partition."""
    snapshots, whole = truth
    pieces = split(snapshots, 4)
    invoices = pl.concat([piece.invoices for piece in pieces])
    wrong = (invoices["invoice_key"].hash(PARTITION_SEED) % 4).to_numpy()
    scattered = [replace(piece, invoices=invoices.filter(wrong == p)) for p, piece in enumerate(pieces)]
    findings = combine(
        [classify_part(piece, as_of=TRUTH_AS_OF) for piece in scattered],
        classify_accounts(snapshots, as_of=TRUTH_AS_OF),
    )
    assert findings.counts() != whole.counts()
    assert findings.counts()["orphan_invoice"] > 1_000  # most invoices lost their order


def cross_partition_world() -> World:
    """Everything that joins across frames, with keys chosen to fall into different partitions."""
    world = World()
    for n in range(30):
        world.order(f"o{n:02}", dealer="d1" if n % 2 else "d2", balance=5_000 + n)
    world.accounts_from_ledger()
    world.rows["portal_accounts"][0]["outstanding_minor"] += 700  # d1's portal copy is stale
    # A duplicate and a void first attempt beside two orders' invoices; orphans with and without a reference.
    world.add("invoices", **{**world.rows["invoices"][3], "invoice_key": "i-o03-dup", "status": "sent"})
    world.add("invoices", **{**world.rows["invoices"][4], "invoice_key": "i-o04-v", "status": "void"})
    world.add("invoices", **{**world.rows["invoices"][5], "invoice_key": "i-ghost", "order_key": "ghost"})
    world.add("invoices", **{**world.rows["invoices"][6], "invoice_key": "i-null", "order_key": None})
    # A credit note of dealer d9 against o07's invoice (the note is routed by the invoice, not d9).
    world.add(
        "credit_notes",
        credit_note_key="c1",
        dealer_key="d9",
        invoice_key="i-o07",
        currency="INR",
        total_minor=900,
        balance_minor=400,
    )
    world.add(
        "credit_notes",
        credit_note_key="c2",
        dealer_key="d2",
        invoice_key=None,
        currency="INR",
        total_minor=300,
        balance_minor=300,
    )
    world.add(
        "payments",
        payment_key="p1",
        dealer_key="d2",
        currency="INR",
        amount_minor=1_000,
        unapplied_minor=250,
        paid_on=AS_OF.date(),
    )
    # A second sales order for o09 with other lines, a changed quantity on o11, orphan sales orders.
    world.add("sales_orders", so_key="s-o09-b", order_key="o09", dealer_key="d1", status="open")
    world.add("sales_order_lines", so_key="s-o09-b", sku="sku9", quantity=1.0)
    world.add("sales_order_lines", so_key="s-o11", sku="extra", quantity=3.0)
    world.add("sales_orders", so_key="s-ghost", order_key="ghost2", dealer_key="d1", status="open")
    world.add("sales_orders", so_key="s-null", order_key=None, dealer_key="d1", status="open")
    world.add("sales_order_lines", so_key="s-null", sku="sku1", quantity=1.0)
    # Two portal orders without a key, neither posted; availability rows of every kind.
    for _ in range(2):
        world.order(None, invoice=False, sales_order=False)
    for sku, portal, inventory in [("a", 5.0, 5.0), ("b", -1.0, 3.0), ("c", 4.0, 9.0), ("d", None, 2.0)]:
        for warehouse in ("w1", "w2"):
            world.add(
                "availability",
                sku=sku,
                warehouse_key=warehouse,
                portal_available=portal,
                inventory_available=inventory,
            )
    return world


@pytest.mark.parametrize("partitions", [2, 3, 5, 8])
def test_cross_frame_cases_land_together(partitions):
    snapshots = cross_partition_world().snapshots()
    whole = classify(snapshots, as_of=AS_OF)
    assert set(whole.counts()) >= {
        "outstanding_mismatch",
        "unapplied_credit",
        "unapplied_payment",
        "duplicate_invoice",
        "orphan_invoice",
        "orphan_sales_order",
        "duplicate_sales_order",
        "quantity_mismatch",
        "negative_availability",
        "stale_availability",
        "missing_invoice",
    }
    assigned = assign_partitions(snapshots, partitions)
    d1 = assigned["invoices"].filter(pl.col("dealer_key") == "d1")
    assert d1["__partition"].n_unique() > 1  # d1's outstanding really spans partitions
    [note] = assigned["credit_notes"].filter(pl.col("credit_note_key") == "c1").rows(named=True)
    [credited] = assigned["invoices"].filter(pl.col("invoice_key") == "i-o07").rows(named=True)
    assert note["__partition"] == credited["__partition"]
    assert_same(classify_partitioned(snapshots, as_of=AS_OF, partitions=partitions), whole)


def test_options_reach_every_partition():
    snapshots = cross_partition_world().snapshots()
    options = {"in_flight": timedelta(days=30), "availability_tolerance": 5.0}
    whole = classify(snapshots, as_of=AS_OF, **options)
    assert "in_flight" in whole.counts()
    assert_same(classify_partitioned(snapshots, as_of=AS_OF, partitions=3, **options), whole)


def test_lazy_frames_are_split_too():
    snapshots = cross_partition_world().snapshots()
    lazy = Snapshots(**{name: frame.lazy() for name, frame in snapshots.frames().items()})
    assert_same(classify_partitioned(lazy, as_of=AS_OF, partitions=3), classify(snapshots, as_of=AS_OF))


def test_partition_findings_pickle_where_findings_do_not():
    part = classify_part(split(cross_partition_world().snapshots(), 2)[0], as_of=AS_OF, partition=0)
    copy = pickle.loads(pickle.dumps(part))
    assert isinstance(copy, PartitionFindings)
    assert copy.frame.equals(part.frame) and copy.matched == part.matched
    assert copy.ran_on.endswith(f":{os.getpid()}")
    with pytest.raises(TypeError, match="mappingproxy"):
        pickle.dumps(classify(cross_partition_world().snapshots(), as_of=AS_OF))


def test_at_least_one_partition():
    with pytest.raises(ValueError, match="at least 1"):
        split(cross_partition_world().snapshots(), 0)


_ASSIGN = """
import json
from dealer_sync.reconcile.partition import assign_partitions
from dealer_sync.reconcile.truth import make_truth_set
assigned = assign_partitions(make_truth_set(2_000, 5, 9)[0], 7)
print(json.dumps({name: frame["__partition"].to_list() for name, frame in assigned.items()}))
"""


def test_partitions_do_not_depend_on_pythons_hash_seed():
    from dealer_sync.reconcile.truth import make_truth_set

    here = {
        name: frame["__partition"].to_list()
        for name, frame in assign_partitions(make_truth_set(2_000, 5, 9)[0], 7).items()
    }
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", _ASSIGN],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
        )
        assert json.loads(done.stdout) == here
