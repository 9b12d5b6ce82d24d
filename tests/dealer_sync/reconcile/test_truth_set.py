"""The classifier against generated worlds: exactly the injected differences, no more, no fewer."""

from __future__ import annotations

import polars as pl
import pytest

from dealer_sync.reconcile.categories import FINDING_CATEGORIES
from dealer_sync.reconcile.classify import FINDING_SCHEMA, classify
from dealer_sync.reconcile.truth import TRUTH_AS_OF, injection_count, make_truth_set
from tests.dealer_sync.reconcile.support import AS_OF, World


@pytest.mark.parametrize(
    ("n_orders", "per_category", "seed"),
    [(2_000, 5, 1), (2_000, 5, 2), (2_000, 5, 3), (20_000, 0.001, 7), (20_000, 0.001, 8), (1_400, 100, 4)],
)
def test_classify_finds_exactly_the_injected_counts(n_orders, per_category, seed):
    snapshots, expected = make_truth_set(n_orders, per_category, seed)
    findings = classify(snapshots, as_of=TRUTH_AS_OF)
    assert set(expected) == {category.value for category in FINDING_CATEGORIES}
    assert findings.counts() == {category: count for category, count in expected.items() if count}


def records_in_no_finding(snapshots, findings) -> dict[str, int]:
    """``Findings.matched`` by its definition, over the whole frames: records whose key no finding names."""

    def unfound(name: str, column: str, live: pl.Expr) -> int:
        keys = findings.frame[column].drop_nulls().unique().implode()
        frame = snapshots.lazy(name).filter(live).collect()
        return frame.height - frame.filter(pl.col(column).is_in(keys)).height

    def unfound_pairs(name: str, categories: list[str], columns: list[str]) -> int:
        named = findings.frame.filter(pl.col("category").is_in(categories)).select(columns)
        return (
            snapshots.lazy(name).join(named.lazy(), on=columns, how="anti", nulls_equal=True).collect().height
        )

    return {
        "portal": unfound("portal_orders", "order_key", pl.lit(True)),
        "inventory": unfound(
            "sales_orders", "so_key", ~pl.col("status").is_in(["cancelled", "void"]).fill_null(False)
        ),
        "ledger": unfound("invoices", "invoice_key", ~pl.col("status").is_in(["void"]).fill_null(False)),
        "availability": unfound_pairs(
            "availability", ["stale_availability", "negative_availability"], ["sku", "warehouse_key"]
        ),
        "accounts": unfound_pairs("portal_accounts", ["outstanding_mismatch"], ["dealer_key", "currency"]),
    }


@pytest.mark.parametrize(("n_orders", "per_category", "seed"), [(2_000, 5, 1), (1_400, 100, 4)])
def test_matched_counts_the_records_no_finding_names(n_orders, per_category, seed):
    snapshots, _ = make_truth_set(n_orders, per_category, seed)
    findings = classify(snapshots, as_of=TRUTH_AS_OF)
    assert dict(findings.matched) == records_in_no_finding(snapshots, findings)
    assert findings.matched["portal"] < n_orders  # some orders are named: the count has teeth


def test_an_invoice_credited_by_an_unapplied_note_is_not_matched():
    """The one finding that names a record the screen may pass as clean: its credited invoice."""
    world = World().order("o1").order("o2")
    invoice = world.rows["invoices"][0]
    world.add(
        "credit_notes",
        credit_note_key="cn1",
        dealer_key=invoice["dealer_key"],
        invoice_key=invoice["invoice_key"],
        currency=invoice["currency"],
        total_minor=500,
        balance_minor=500,
    )
    snapshots = world.accounts_from_ledger().snapshots()
    findings = classify(snapshots, as_of=AS_OF)
    assert findings.counts() == {"unapplied_credit": 1}
    assert findings.matched["ledger"] == 1
    assert findings.matched["portal"] == 2
    assert dict(findings.matched) == records_in_no_finding(snapshots, findings)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_clean_world_yields_no_findings_and_everything_matches(seed):
    snapshots, expected = make_truth_set(3_000, 0, seed)
    findings = classify(snapshots, as_of=TRUTH_AS_OF)
    assert set(expected.values()) == {0}
    assert len(findings) == 0
    assert findings.summary().height == 0
    live_sales_orders = snapshots.sales_orders.lazy().filter(pl.col("status") != "cancelled").collect()
    live_invoices = snapshots.invoices.lazy().filter(pl.col("status") != "void").collect()
    assert dict(findings.matched) == {
        "portal": 3_000,
        "inventory": live_sales_orders.height,
        "ledger": live_invoices.height,
        "availability": snapshots.availability.lazy().collect().height,
        "accounts": snapshots.portal_accounts.lazy().collect().height,
    }


def test_every_finding_names_its_money_and_remedy_correctly():
    snapshots, _ = make_truth_set(2_000, 5, 11)
    frame = classify(snapshots, as_of=TRUTH_AS_OF).frame
    assert frame.schema == FINDING_SCHEMA
    assert frame["money_at_stake_minor"].null_count() == 0
    assert frame["money_at_stake_minor"].min() >= 0
    assert frame.filter(pl.col("age_days") < 0).height == 0
    assert frame.filter(pl.col("remedy").is_null() | pl.col("detail").is_null()).height == 0
    commands = {
        "missing_invoice": "dealer-sync run order-to-invoice --order-id ",
        "missing_sales_order": "dealer-sync run order-to-invoice --order-id ",
    }
    for category, command in commands.items():
        rows = frame.filter(pl.col("category") == category)
        assert rows.height == 5
        assert (rows["remedy"] == command + rows["order_key"]).all()
        # money at stake is the whole order total, read back from the portal order
        assert (rows["money_at_stake_minor"] == rows["portal_minor"]).all()
    for category, command in {
        "stale_availability": "dealer-sync run inventory-refresh --full",
        "outstanding_mismatch": "dealer-sync run invoice-payment-pullback",
    }.items():
        assert set(frame.filter(pl.col("category") == category)["remedy"]) == {command}
    duplicates = frame.filter(pl.col("category") == "duplicate_invoice")
    assert (duplicates["money_at_stake_minor"] == duplicates["ledger_minor"]).all()
    assert duplicates["invoice_key"].str.ends_with("-d").all()


def test_findings_are_sorted_severity_then_money():
    snapshots, _ = make_truth_set(2_000, 5, 12)
    frame = classify(snapshots, as_of=TRUTH_AS_OF).frame
    rank = frame["severity"].replace_strict({"high": 0, "medium": 1, "low": 2}, return_dtype=pl.Int8)
    assert rank.is_sorted()
    high = frame.filter(pl.col("severity") == "high")["money_at_stake_minor"]
    assert high.is_sorted(descending=True)


def test_summary_adds_money_per_category_and_currency():
    snapshots, _ = make_truth_set(2_000, 5, 13)
    findings = classify(snapshots, as_of=TRUTH_AS_OF)
    summary = findings.summary()
    assert summary["count"].sum() == len(findings)
    assert summary["money_at_stake_minor"].sum() == findings.frame["money_at_stake_minor"].sum()
    missing = summary.filter(pl.col("category") == "missing_invoice")
    assert missing["count"].sum() == 5
    assert set(summary.columns) == {
        "category",
        "severity",
        "currency",
        "count",
        "money_at_stake_minor",
        "oldest_age_days",
    }


def test_generation_is_deterministic_per_seed():
    first, _ = make_truth_set(1_000, 3, 5)
    again, _ = make_truth_set(1_000, 3, 5)
    other, _ = make_truth_set(1_000, 3, 6)
    assert first.invoices.equals(again.invoices)
    assert first.portal_lines.equals(again.portal_lines)
    assert not first.invoices.equals(other.invoices)


def test_generated_frames_pass_the_schema_check_and_keys_are_unique():
    snapshots, _ = make_truth_set(5_000, 0.002, 9)
    classify(snapshots, as_of=TRUTH_AS_OF)  # validates the schemas first
    for name, key in [
        ("portal_orders", "order_key"),
        ("invoices", "invoice_key"),
        ("sales_orders", "so_key"),
        ("payments", "payment_key"),
    ]:
        frame = getattr(snapshots, name)
        assert frame[key].is_unique().all(), name


def test_injection_count_reads_ints_and_fractions():
    assert injection_count(5, 2_000) == 5
    assert injection_count(0.001, 20_000) == 20
    assert injection_count(0.0, 20_000) == 0
    with pytest.raises(TypeError):
        injection_count(True, 100)
    with pytest.raises(ValueError, match="negative"):
        injection_count(-1, 100)


def test_too_many_injections_for_the_orders_are_refused():
    with pytest.raises(ValueError, match="need at least"):
        make_truth_set(100, 10, 1)
