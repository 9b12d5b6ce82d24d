"""Schema checks name the column at fault; category templates render and name real commands."""

from __future__ import annotations

import dataclasses
import re

import polars as pl
import pytest

from dealer_sync.reconcile.categories import CATEGORIES, FINDING_CATEGORIES, Category, severity_of
from dealer_sync.reconcile.classify import FINDING_SCHEMA, classify, render
from dealer_sync.reconcile.snapshot import SCHEMAS, SnapshotSchemaError, empty_snapshots, validate_schemas
from tests.dealer_sync.reconcile.support import AS_OF, World


def test_empty_snapshots_are_valid_and_yield_nothing():
    snapshots = empty_snapshots()
    validate_schemas(snapshots)
    findings = classify(snapshots, as_of=AS_OF)
    assert len(findings) == 0
    assert findings.frame.schema == FINDING_SCHEMA
    assert set(findings.matched.values()) == {0}


def test_a_missing_column_is_named():
    snapshots = World().order("o1").snapshots()
    broken = dataclasses.replace(snapshots, invoices=snapshots.invoices.drop("balance_minor"))
    with pytest.raises(SnapshotSchemaError, match=r"invoices\.balance_minor: missing column"):
        classify(broken, as_of=AS_OF)


def test_a_mistyped_column_is_named_with_both_types():
    snapshots = World().order("o1").snapshots()
    broken = dataclasses.replace(
        snapshots, portal_orders=snapshots.portal_orders.with_columns(pl.col("total_minor").cast(pl.Float64))
    )
    with pytest.raises(SnapshotSchemaError, match=r"portal_orders\.total_minor: expected Int64, got Float64"):
        validate_schemas(broken)


def test_every_problem_is_listed_at_once():
    snapshots = World().order("o1").snapshots()
    broken = dataclasses.replace(
        snapshots,
        portal_lines=snapshots.portal_lines.drop("sku"),
        availability=snapshots.availability.with_columns(pl.col("portal_available").cast(pl.Int64)),
    )
    with pytest.raises(SnapshotSchemaError) as raised:
        validate_schemas(broken)
    assert "portal_lines.sku" in str(raised.value)
    assert "availability.portal_available" in str(raised.value)


def test_a_naive_timestamp_is_refused_and_other_zones_and_units_are_accepted():
    snapshots = World().order("o1", invoice=False).snapshots()
    naive = snapshots.portal_orders.with_columns(pl.col("confirmed_at").dt.replace_time_zone(None))
    with pytest.raises(SnapshotSchemaError, match=r"portal_orders\.confirmed_at: .*time zone.*naive"):
        validate_schemas(dataclasses.replace(snapshots, portal_orders=naive))
    elsewhere = snapshots.portal_orders.with_columns(
        pl.col("confirmed_at").dt.convert_time_zone("Asia/Kolkata").dt.cast_time_unit("ns")
    )
    findings = classify(dataclasses.replace(snapshots, portal_orders=elsewhere), as_of=AS_OF)
    assert findings.counts() == {"missing_invoice": 1}
    assert findings.frame["age_days"].to_list() == [3]


def test_extra_columns_are_ignored():
    snapshots = World().order("o1").accounts_from_ledger().snapshots()
    wider = dataclasses.replace(
        snapshots, invoices=snapshots.invoices.with_columns(pl.lit(True).alias("in_window"))
    )
    assert len(classify(wider, as_of=AS_OF)) == 0


def test_something_that_is_not_a_frame_is_named():
    snapshots = dataclasses.replace(empty_snapshots(), payments={"payment_key": []})
    with pytest.raises(SnapshotSchemaError, match="payments: expected a polars DataFrame"):
        validate_schemas(snapshots)


def test_schemas_cover_every_snapshot_field():
    assert list(SCHEMAS) == [f.name for f in dataclasses.fields(empty_snapshots())]


def test_every_category_but_matched_has_a_severity_and_templates():
    assert Category.MATCHED not in CATEGORIES
    assert set(FINDING_CATEGORIES) == set(Category) - {Category.MATCHED}
    for category, info in CATEGORIES.items():
        assert severity_of(category) == info.severity in ("high", "medium", "low")
        assert info.remedy and info.detail and info.meaning
        for template in (*info.remedies.values(), info.detail):
            assert template.count("{") == template.count("}"), (category, template)


def test_commands_in_remedies_are_real_dealer_sync_commands():
    known = {
        "dealer-sync run order-to-invoice --order-id",
        "dealer-sync run inventory-refresh --full",
        "dealer-sync run invoice-payment-pullback",
    }
    for info in CATEGORIES.values():
        for template in info.remedies.values():
            for command in re.findall(r"dealer-sync run [a-z-]+(?: --[a-z-]+)?", template):
                assert command in known, command
    assert (
        CATEGORIES[Category.MISSING_INVOICE].remedy
        == "dealer-sync run order-to-invoice --order-id {order_key:shell}"
    )


def test_render_fills_columns_fields_and_nulls():
    frame = pl.DataFrame({"order_key": ["o1", None, "a b"], "n": [1, 2, 3]})
    rendered = frame.select(
        render("{order_key} has {n} ({extra}); run x {order_key:shell}", {"extra": pl.col("n") * 2}).alias(
            "text"
        )
    )["text"].to_list()
    assert rendered == [
        "o1 has 1 (2); run x o1",
        "(none) has 2 (4); run x '(none)'",
        "a b has 3 (6); run x 'a b'",
    ]
