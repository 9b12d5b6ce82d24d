"""Edge cases and precedence of the classifier, each on a small hand-built world."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dealer_sync.reconcile.classify import Findings, classify
from dealer_sync.timeutil import business_date
from tests.dealer_sync.reconcile.support import AS_OF, World


def run(world: World, **options) -> Findings:
    return classify(world.snapshots(), **{"as_of": AS_OF, **options})


def only(findings: Findings) -> dict:
    assert len(findings) == 1, findings.frame.select("category", "detail").to_dicts()
    return findings.frame.row(0, named=True)


def test_a_matched_world_has_no_findings():
    findings = run(World().order("o1").order("o2", lines=(("a", 1), ("b", 2.5))).accounts_from_ledger())
    assert len(findings) == 0
    assert findings.matched["portal"] == 2
    assert findings.matched["ledger"] == 2
    assert findings.matched["inventory"] == 2


# --- an order confirmed late in the evening, local time, is the next day in UTC -------------------

CHICAGO = ZoneInfo("America/Chicago")
LATE = datetime(2026, 11, 2, 23, 30, tzinfo=CHICAGO)  # 05:30 UTC on 3 November


def late_order(**kwargs) -> World:
    confirmed = LATE.astimezone(UTC)
    assert confirmed.date() == date(2026, 11, 3)
    local_day = business_date(confirmed, "America/Chicago")
    assert local_day == date(2026, 11, 2)
    return World().order("late", confirmed_at=confirmed, business_date=local_day, **kwargs)


def test_late_local_order_inside_the_window_is_in_flight_not_missing():
    as_of = LATE.astimezone(UTC) + timedelta(minutes=90)
    finding = only(classify(late_order(invoice=False).snapshots(), as_of=as_of))
    assert finding["category"] == "in_flight"
    assert finding["severity"] == "low"
    assert finding["age_days"] == 0
    assert "90 min" in finding["detail"]


def test_late_local_order_past_the_window_is_missing_and_aged_from_utc_not_the_business_date():
    as_of = LATE.astimezone(UTC) + timedelta(hours=2, minutes=30)
    finding = only(classify(late_order(invoice=False).snapshots(), as_of=as_of))
    assert finding["category"] == "missing_invoice"
    assert finding["age_days"] == 0  # from the business date it would look a day old
    assert finding["remedy"] == "dealer-sync run order-to-invoice --order-id late"


def test_late_local_order_with_its_invoice_on_the_business_date_is_matched():
    world = late_order(issue_date=date(2026, 11, 2)).accounts_from_ledger()
    assert len(classify(world.snapshots(), as_of=LATE.astimezone(UTC) + timedelta(hours=8))) == 0


def test_in_flight_names_everything_still_missing_once():
    world = World().order("new", invoice=False, sales_order=False, confirmed_at=AS_OF - timedelta(minutes=5))
    finding = only(run(world))
    assert finding["category"] == "in_flight"
    assert "no invoice and no sales order yet" in finding["detail"]


def test_in_flight_window_is_a_parameter():
    world = World().order("o1", invoice=False, confirmed_at=AS_OF - timedelta(hours=3))
    assert only(run(world))["category"] == "missing_invoice"
    assert only(run(world, in_flight=timedelta(hours=4)))["category"] == "in_flight"


# --- rounding tolerance: one minor unit per order line ----------------------------------------------


@pytest.mark.parametrize(
    ("lines", "difference", "category"),
    [
        (1, 1, "rounding_difference"),
        (1, -1, "rounding_difference"),
        (1, 2, "amount_mismatch"),
        (3, 1, "rounding_difference"),
        (3, 3, "rounding_difference"),
        (3, -3, "rounding_difference"),
        (3, 4, "amount_mismatch"),
        (3, -4, "amount_mismatch"),
    ],
)
def test_rounding_is_told_apart_from_a_real_difference_at_the_boundary(lines, difference, category):
    skus = tuple((f"sku{n}", 1.0) for n in range(lines))
    world = World().order("o1", lines=skus, invoice_total=11_800 + difference).accounts_from_ledger()
    finding = only(run(world))
    assert finding["category"] == category
    assert finding["money_at_stake_minor"] == abs(difference)
    assert finding["severity"] == ("low" if category == "rounding_difference" else "high")


def test_a_one_paisa_difference_is_shown_in_rupees():
    finding = only(run(World().order("o1", invoice_total=11_801).accounts_from_ledger()))
    assert "INR 118.01" in finding["detail"] and "INR 0.01" in finding["detail"]


def test_amounts_use_each_currencys_minor_unit():
    world = World().order("o1", currency="JPY", total=5_000, tax=0, invoice_total=5_100)
    world.order("o2", dealer="d2", currency="KWD", total=12_345, tax=0, invoice_total=12_445)
    details = run(world.accounts_from_ledger()).frame.sort("order_key")["detail"].to_list()
    assert "JPY 5100" in details[0] and "JPY 100" in details[0]
    assert "KWD 12.445" in details[1] and "KWD 0.100" in details[1]


def test_underbilling_asks_for_a_supplementary_invoice():
    finding = only(run(World().order("o1", invoice_total=10_000).accounts_from_ledger()))
    assert finding["category"] == "amount_mismatch"
    assert finding["remedy"].startswith("issue a supplementary invoice of INR 18.00")
    assert "underbilled" in finding["detail"]


def test_tax_split_difference_with_equal_totals_is_a_tax_mismatch():
    finding = only(run(World().order("o1", invoice_tax=2_000).accounts_from_ledger()))
    assert finding["category"] == "tax_mismatch"
    assert finding["money_at_stake_minor"] == 200
    assert "totals agree" in finding["detail"]


def test_wrong_tax_rate_moving_the_total_is_a_tax_mismatch_not_an_amount_mismatch():
    world = World().order("o1", invoice_total=12_000, invoice_tax=2_000).accounts_from_ledger()
    finding = only(run(world))
    assert finding["category"] == "tax_mismatch"
    assert "net amounts agree" in finding["detail"]


def test_a_tax_rounding_of_one_unit_is_a_rounding_difference():
    finding = only(run(World().order("o1", invoice_tax=1_801).accounts_from_ledger()))
    assert finding["category"] == "rounding_difference"
    assert "in tax" in finding["detail"]


# --- balances: partial payments and credit notes -------------------------------------------------


def test_a_partially_paid_invoice_is_not_a_finding():
    world = World().order("o1", invoice_status="partially_paid", balance=5_000).accounts_from_ledger()
    world.add(
        "payments",
        payment_key="p1",
        dealer_key="d1",
        currency="INR",
        amount_minor=6_800,
        unapplied_minor=0,
        paid_on=date(2026, 11, 1),
    )
    assert world.rows["portal_accounts"] == [
        {"dealer_key": "d1", "currency": "INR", "outstanding_minor": 5_000}
    ]
    assert len(run(world)) == 0


def credited_world(portal_outstanding: int) -> World:
    world = World().order("o1", balance=11_800 - 3_000)
    world.add(
        "credit_notes",
        credit_note_key="c1",
        dealer_key="d1",
        invoice_key="i-o1",
        currency="INR",
        total_minor=3_000,
        balance_minor=0,
    )
    return world.add("portal_accounts", dealer_key="d1", currency="INR", outstanding_minor=portal_outstanding)


def test_a_credit_note_against_an_invoice_is_not_a_finding_when_the_portal_agrees():
    assert len(run(credited_world(8_800))) == 0


def test_a_portal_that_missed_the_credit_note_is_an_outstanding_mismatch():
    finding = only(run(credited_world(11_800)))
    assert finding["category"] == "outstanding_mismatch"
    assert finding["money_at_stake_minor"] == 3_000
    assert finding["remedy"] == "dealer-sync run invoice-payment-pullback"


def test_void_and_draft_invoices_do_not_count_in_the_outstanding():
    world = World().order("o1", invoice_status="draft").accounts_from_ledger()
    world.add(
        "invoices",
        invoice_key="i-old",
        order_key="o1",
        dealer_key="d1",
        currency="INR",
        total_minor=11_800,
        tax_minor=1_800,
        balance_minor=11_800,
        status="void",
        issue_date=date(2026, 10, 30),
    )
    assert world.rows["portal_accounts"] == []
    assert len(run(world)) == 0


def test_unapplied_payments_and_credits_are_reported_with_their_open_amount():
    world = World().order("o1").accounts_from_ledger()
    world.add(
        "payments",
        payment_key="p9",
        dealer_key="d1",
        currency="INR",
        amount_minor=50_000,
        unapplied_minor=20_000,
        paid_on=date(2026, 10, 24),
    )
    world.add(
        "credit_notes",
        credit_note_key="c9",
        dealer_key="d1",
        invoice_key="i-o1",
        currency="INR",
        total_minor=4_000,
        balance_minor=1_500,
    )
    frame = run(world).frame.sort("category")
    assert frame["category"].to_list() == ["unapplied_credit", "unapplied_payment"]
    assert frame["money_at_stake_minor"].to_list() == [1_500, 20_000]
    assert frame["severity"].to_list() == ["low", "medium"]
    assert frame["age_days"].to_list() == [3, 10]  # credit: from the credited invoice's issue date
    assert frame["payment_key"].to_list() == [None, "p9"]


# --- precedence: one difference, one finding ---------------------------------------------------------


def test_a_duplicate_invoice_is_not_also_an_amount_mismatch():
    world = World().order("o1")
    world.add(
        "invoices",
        invoice_key="i-o1-again",
        order_key="o1",
        dealer_key="d1",
        currency="INR",
        total_minor=99_999,
        tax_minor=1_800,
        balance_minor=99_999,
        status="sent",
        issue_date=date(2026, 11, 2),
    )
    finding = only(run(world.accounts_from_ledger()))
    assert finding["category"] == "duplicate_invoice"
    assert finding["invoice_key"] == "i-o1-again"
    assert finding["money_at_stake_minor"] == 99_999
    assert "invoice i-o1" in finding["detail"]


def test_the_primary_invoice_is_the_one_that_matches_the_order():
    world = World().order("o1", invoice_key="b-right")
    world.add(
        "invoices",
        invoice_key="a-wrong",
        order_key="o1",
        dealer_key="d1",
        currency="INR",
        total_minor=5_000,
        tax_minor=800,
        balance_minor=0,
        status="paid",
        issue_date=date(2026, 10, 30),
    )
    finding = only(run(world.accounts_from_ledger()))
    assert finding["category"] == "duplicate_invoice"
    assert finding["invoice_key"] == "a-wrong"
    assert finding["remedy"].startswith("issue a credit note against duplicate invoice a-wrong")


def test_a_currency_mismatch_suppresses_the_amount_comparison():
    world = World().order("o1", invoice_currency="USD", invoice_total=142).accounts_from_ledger()
    finding = only(run(world))
    assert finding["category"] == "currency_mismatch"
    assert finding["currency"] == "USD"
    assert finding["money_at_stake_minor"] == 142


def test_an_unmapped_dealer_is_a_dealer_mismatch_with_the_mapping_remedy():
    # The pullback cannot attribute an unmapped invoice either, so the portal shows nothing owed.
    world = World().order("o1", invoice_dealer=None).accounts_from_ledger()
    assert world.rows["portal_accounts"] == []
    finding = only(run(world))
    assert finding["category"] == "dealer_mismatch"
    assert finding["dealer_key"] == "d1"
    assert "(unmapped)" in finding["detail"]
    assert finding["remedy"].startswith("map the accounting customer of invoice i-o1 to dealer d1")


def test_an_invoice_on_another_dealer_is_reported_once_even_if_the_amount_is_also_off_by_rounding():
    world = World().order("o1", invoice_dealer="d2", invoice_total=11_801).accounts_from_ledger()
    categories = sorted(run(world).frame["category"])
    assert categories == ["dealer_mismatch", "rounding_difference"]  # two facts, two findings


def test_a_cancelled_order_with_a_live_invoice_and_sales_order():
    frame = run(World().order("o1", status="cancelled").accounts_from_ledger()).frame.sort("remedy")
    assert frame["category"].to_list() == ["cancelled_order_posted"] * 2
    assert frame["remedy"][0].startswith("cancel sales order s-o1")
    assert frame["remedy"][1].startswith("void invoice i-o1")


def test_a_cancelled_order_without_documents_is_matched():
    findings = run(World().order("o1", status="cancelled", invoice=False, sales_order=False))
    assert len(findings) == 0
    assert findings.matched["portal"] == 1


def test_an_order_with_only_a_void_invoice_is_missing_its_invoice():
    world = World().order("o1", invoice_status="void", balance=0)
    assert only(run(world))["category"] == "missing_invoice"


def test_orphan_invoices_null_unknown_and_void():
    world = World().order("o1").accounts_from_ledger()
    for key, reference, status in [("x1", None, "sent"), ("x2", "nope", "paid"), ("x3", "gone", "void")]:
        world.add(
            "invoices",
            invoice_key=key,
            order_key=reference,
            dealer_key="d9",
            currency="INR",
            total_minor=700,
            tax_minor=0,
            balance_minor=0 if status != "sent" else 700,
            status=status,
            issue_date=date(2026, 11, 1),
        )
    world.add("portal_accounts", dealer_key="d9", currency="INR", outstanding_minor=700)
    frame = run(world).frame.sort("invoice_key")
    assert frame["category"].to_list() == ["orphan_invoice"] * 3
    assert frame["severity"].to_list() == ["high", "high", "low"]
    assert frame["money_at_stake_minor"].to_list() == [700, 700, 0]
    assert "empty reference number" in frame["detail"][0]
    assert "references order nope" in frame["detail"][1]
    assert "credit note" in frame["remedy"][1]


def test_sales_order_duplicates_orphans_and_quantities():
    world = World().order("o1", lines=(("a", 2.0), ("b", 1.0), ("c", 1.0))).accounts_from_ledger()
    world.rows["sales_order_lines"] = [
        {"so_key": "s-o1", "sku": "a", "quantity": 3.0},  # changed
        {"so_key": "s-o1", "sku": "b", "quantity": 0.5},  # split across two lines: 0.5 + 0.5 = 1
        {"so_key": "s-o1", "sku": "b", "quantity": 0.5},
        {"so_key": "s-o1", "sku": "z", "quantity": 4.0},  # only on the sales order; "c" is missing
    ]
    world.add("sales_orders", so_key="s-o1-2", order_key="o1", dealer_key="d1", status="open")
    world.add("sales_orders", so_key="s-dead", order_key="o1", dealer_key="d1", status="cancelled")
    world.add("sales_orders", so_key="y1", order_key=None, dealer_key="d1", status="open")
    frame = run(world).frame
    counts = dict(zip(*frame.group_by("category").len().to_dict(as_series=False).values(), strict=True))
    assert counts == {"quantity_mismatch": 3, "duplicate_sales_order": 1, "orphan_sales_order": 1}
    quantities = frame.filter(pl.col("category") == "quantity_mismatch").sort("sku")
    assert quantities["sku"].to_list() == ["a", "c", "z"]
    assert quantities["portal_value"].to_list() == [2.0, 1.0, None]
    assert quantities["inventory_value"].to_list() == [3.0, None, 4.0]
    assert quantities["remedy"].to_list() == [
        "set the quantity of sku a on sales order s-o1 to 2 in the inventory system",
        "add sku c x 1 to sales order s-o1 in the inventory system",
        "remove sku z from sales order s-o1 in the inventory system (order o1 does not have it)",
    ]
    duplicate = frame.filter(pl.col("category") == "duplicate_sales_order").row(0, named=True)
    assert duplicate["so_key"] == "s-o1-2"


def test_availability_negative_wins_over_stale_and_tolerance_applies():
    world = World()
    for sku, portal, inventory in [
        ("ok", 10.0, 10.0),
        ("near", 10.0, 10.4),
        ("far", 10.0, 12.0),
        ("gone", None, 5.0),
        ("new", 5.0, None),
        ("over", -3.0, -3.0),
        ("neg", -2.0, 7.0),
    ]:
        world.add(
            "availability",
            sku=sku,
            warehouse_key="w1",
            portal_available=portal,
            inventory_available=inventory,
        )
    frame = run(world, availability_tolerance=0.5).frame.sort("sku")
    assert dict(zip(frame["sku"], frame["category"], strict=True)) == {
        "far": "stale_availability",
        "gone": "stale_availability",
        "neg": "negative_availability",
        "new": "stale_availability",
        "over": "negative_availability",
    }
    remedies = dict(zip(frame["sku"], frame["remedy"], strict=True))
    assert remedies["far"] == "dealer-sync run inventory-refresh --full"
    assert remedies["neg"] == "dealer-sync run inventory-refresh --full"
    assert remedies["over"].startswith("release or correct the over-committed stock of sku over")
    assert (frame["money_at_stake_minor"] == 0).all()
    assert run(world).frame.filter(pl.col("sku") == "near").height == 1  # default tolerance 0


def test_a_key_a_shell_would_split_is_quoted_in_the_command():
    world = World().order("po 7#b", invoice=False).order("it's", invoice=False)
    remedies = sorted(run(world).frame["remedy"])
    assert remedies == [
        "dealer-sync run order-to-invoice --order-id 'it'\"'\"'s'",
        "dealer-sync run order-to-invoice --order-id 'po 7#b'",
    ]


def test_as_of_must_be_aware_and_options_sane():
    world = World().order("o1")
    with pytest.raises(ValueError, match="timezone"):
        classify(world.snapshots(), as_of=datetime(2026, 11, 3, 8, 0))
    with pytest.raises(ValueError, match="in_flight"):
        run(world, in_flight=timedelta(hours=-1))
    with pytest.raises(ValueError, match="availability_tolerance"):
        run(world, availability_tolerance=-0.1)


def test_lazy_frames_are_accepted():
    snapshots = World().order("o1", invoice=False).snapshots()
    lazy = type(snapshots)(**{name: frame.lazy() for name, frame in snapshots.frames().items()})
    assert only(classify(lazy, as_of=AS_OF))["category"] == "missing_invoice"
