"""Each shipped suite passes good rows and names exactly the rule each bad row breaks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from expectations.runner import ValidationReport, validate_frame
from expectations.spec import SuiteSpec
from expectations.suites import (
    ALL_SUITES,
    INVENTORY_AVAILABILITY,
    INVOICES,
    ORDER_LINES,
    PAYMENTS,
)
from tests.expectations.builders import (
    frame,
    inventory_row,
    invoice_row,
    order_line_row,
    payment_row,
)

pytestmark = pytest.mark.usefixtures("gx_ready")

Row = dict[str, Any]


def run(suite: SuiteSpec, good: list[Row], bad: list[tuple[Row, list[str]]]) -> ValidationReport:
    """Validate good and bad rows together, as one batch, and check every id's outcome exactly."""
    rows = good + [row for row, _ in bad]
    report = validate_frame(frame(rows), suite)
    expected = {row[suite.id_column]: names for row, names in bad}
    assert report.failures == expected
    assert report.passed_ids == [row[suite.id_column] for row in good]
    assert report.table_failures == []
    assert report.evaluated == len(rows)
    passed, failed = report.split(rows)
    assert passed == good
    assert [(row[suite.id_column], reasons) for row, reasons in failed] == [
        (row[suite.id_column], names) for row, names in bad
    ]
    return report


@pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda suite: suite.name)
def test_every_checked_column_is_also_checked_for_nulls(suite: SuiteSpec) -> None:
    # GX passes a null through range, set, regex, uniqueness and (in our suites) pair checks,
    # so a column those checks read must have its own not-null check or nulls would load.
    not_null = {
        spec.kwargs["column"]
        for spec in suite.expectations
        if spec.expectation == "ExpectColumnValuesToNotBeNull"
    }
    checked = {column for spec in suite.expectations for column in spec.columns()}
    assert checked <= not_null
    assert suite.id_column in not_null
    assert any(
        spec.expectation == "ExpectColumnValuesToBeUnique"
        and spec.kwargs["column"] == suite.id_column
        for spec in suite.expectations
    )


def test_inventory_availability() -> None:
    good = [
        inventory_row("BP-220@PUNE"),
        inventory_row("BP-221@PUNE", available=Decimal("40")),  # available == on_hand is fine
        inventory_row(
            "BP-222@DELHI",
            on_hand=Decimal(0),
            committed=Decimal(0),
            reserved=Decimal(0),
            available=Decimal(0),
        ),
    ]
    bad = [
        (inventory_row("NOSKU@PUNE", sku=None), ["sku must not be null"]),
        (inventory_row("NOWH@PUNE", warehouse_code=None), ["warehouse_code must not be null"]),
        (
            inventory_row("UNMAPPED@PUNE", item_id=None),
            ["item_id must be mapped (SKU has no inventory item)"],
        ),
        # The pair check skips a row with a null side: the null is reported once.
        (inventory_row("NOHAND@PUNE", on_hand=None), ["on_hand must not be null"]),
        (
            inventory_row("NEGHAND@PUNE", on_hand=Decimal(-1), available=Decimal(-1)),
            ["on_hand must be >= 0"],
        ),
        (inventory_row("NOCOMMIT@PUNE", committed=None), ["committed must not be null"]),
        (inventory_row("NEGCOMMIT@PUNE", committed=Decimal(-2)), ["committed must be >= 0"]),
        (inventory_row("NORES@PUNE", reserved=None), ["reserved must not be null"]),
        (inventory_row("NEGRES@PUNE", reserved=Decimal("-0.5")), ["reserved must be >= 0"]),
        (inventory_row("NOAVAIL@PUNE", available=None), ["available must not be null"]),
        (inventory_row("OVER@PUNE", available=Decimal("41")), ["available must be <= on_hand"]),
        (
            inventory_row("TWO@PUNE", committed=Decimal(-1), available=Decimal(50)),
            ["committed must be >= 0", "available must be <= on_hand"],
        ),
        # Both rows sharing a key fail; neither can be told apart from the other by id.
        (inventory_row("DUP@PUNE"), ["key must be unique in the batch"]),
        (inventory_row("DUP@PUNE"), ["key must be unique in the batch"]),
    ]
    run(INVENTORY_AVAILABILITY, good, bad)


def test_order_lines() -> None:
    good = [
        order_line_row("ORD-1#1"),
        order_line_row("ORD-1#2", tax_rate=Decimal("0.1")),  # a GST slab; 0.1 != Decimal("0.1")
        order_line_row("ORD-1#3", tax_rate=Decimal(0)),
        order_line_row(
            "ORD-2#1",
            tax_rate=Decimal("30"),
            unit_price=Decimal("12.50"),
            list_price=Decimal("12.5"),
        ),
        order_line_row("ORD-2#2", tax_rate=Decimal("28"), currency="USD"),
    ]
    bad = [
        (order_line_row("ORD-3#1", order_id=None), ["order_id must not be null"]),
        (order_line_row("ORD-3#2", dealer_id=None), ["dealer_id must not be null"]),
        (
            order_line_row("ORD-3#3", customer_id=None),
            ["customer_id must be mapped (dealer has no customer)"],
        ),
        (order_line_row("ORD-3#4", sku=None), ["sku must not be null"]),
        (
            order_line_row("ORD-3#5", item_id=None),
            ["item_id must be mapped (SKU has no inventory item)"],
        ),
        (order_line_row("ORD-3#6", quantity=Decimal(0)), ["quantity must be > 0"]),
        (order_line_row("ORD-3#7", quantity=None), ["quantity must not be null"]),
        (
            order_line_row("ORD-3#8", unit_price=Decimal(-1), list_price=Decimal(-1)),
            ["unit_price must be >= 0"],
        ),
        (
            order_line_row("ORD-3#9", unit_price=Decimal("1200.00")),
            ["unit_price must equal list_price"],
        ),
        (
            order_line_row("ORD-3#10", list_price=None),
            ["list_price must not be null (SKU not on the price list)"],
        ),
        (order_line_row("ORD-3#11", tax_rate=None), ["tax_rate must not be null"]),
        (order_line_row("ORD-3#12", tax_rate=Decimal(31)), ["tax_rate must be between 0 and 30"]),
        (order_line_row("ORD-3#13", tax_rate=Decimal(-5)), ["tax_rate must be between 0 and 30"]),
        (order_line_row("ORD-3#14", currency=None), ["currency must not be null"]),
        (order_line_row("ORD-3#15", currency="inr"), ["currency must be a 3-letter code"]),
        (order_line_row("ORD-3#16", currency="INR\n"), ["currency must be a 3-letter code"]),
        (order_line_row("ORD-3#17", currency="EURO"), ["currency must be a 3-letter code"]),
        (
            order_line_row("ORD-5#1", quantity=Decimal(-1), currency=""),
            ["quantity must be > 0", "currency must be a 3-letter code"],
        ),
    ]
    run(ORDER_LINES, good, bad)


def test_order_lines_duplicate_key() -> None:
    rows = [order_line_row("ORD-1#1"), order_line_row("ORD-4#1"), order_line_row("ORD-4#1")]
    report = validate_frame(frame(rows), ORDER_LINES)
    assert report.failures == {"ORD-4#1": ["line_key must be unique in the batch"]}
    assert report.passed_ids == ["ORD-1#1"]
    passed, failed = report.split(rows)
    assert passed == rows[:1]
    assert [reasons for _, reasons in failed] == [["line_key must be unique in the batch"]] * 2


def test_invoices() -> None:
    good = [
        invoice_row("INV-1"),
        invoice_row("INV-2", balance=Decimal(0)),
        invoice_row("INV-3", balance=Decimal("4425.00")),
        invoice_row("INV-4", total=Decimal(0), balance=Decimal(0), currency="EUR"),
    ]
    bad = [
        (invoice_row("INV-10", customer_id=None), ["customer_id must not be null"]),
        (
            invoice_row("INV-11", dealer_id=None),
            ["dealer_id must be mapped (customer has no dealer)"],
        ),
        (invoice_row("INV-12", total=None), ["total must not be null"]),
        (invoice_row("INV-13", balance=None), ["balance must not be null"]),
        (invoice_row("INV-14", balance=Decimal("-0.01")), ["balance must be >= 0"]),
        (invoice_row("INV-15", balance=Decimal("4425.01")), ["balance must be <= total"]),
        (invoice_row("INV-16", currency=None), ["currency must not be null"]),
        (invoice_row("INV-17", currency="Rs."), ["currency must be a 3-letter code"]),
        (
            invoice_row("INV-18", total=Decimal(-1), balance=Decimal(-1)),
            ["total must be >= 0", "balance must be >= 0"],
        ),
    ]
    run(INVOICES, good, bad)
    rows = [invoice_row("INV-1"), invoice_row("INV-1")]
    assert validate_frame(frame(rows), INVOICES).failures == {
        "INV-1": ["invoice_id must be unique in the batch"]
    }


def test_payments() -> None:
    good = [
        payment_row("PAY-1"),
        payment_row("PAY-2", allocated=Decimal(0)),
        payment_row("PAY-3", allocated=Decimal("120.55")),
    ]
    bad = [
        (payment_row("PAY-10", customer_id=None), ["customer_id must not be null"]),
        (
            payment_row("PAY-11", dealer_id=None),
            ["dealer_id must be mapped (customer has no dealer)"],
        ),
        (payment_row("PAY-12", amount=None), ["amount must not be null"]),
        (payment_row("PAY-13", amount=Decimal(0), allocated=Decimal(0)), ["amount must be > 0"]),
        (payment_row("PAY-14", amount=Decimal(-5), allocated=Decimal(-5)), ["amount must be > 0"]),
        (payment_row("PAY-15", allocated=None), ["allocated must not be null"]),
        (payment_row("PAY-16", allocated=Decimal("500.01")), ["allocated must be <= amount"]),
        (
            payment_row("PAY-17", dealer_id=None, allocated=Decimal(600)),
            ["dealer_id must be mapped (customer has no dealer)", "allocated must be <= amount"],
        ),
    ]
    run(PAYMENTS, good, bad)
    rows = [payment_row("PAY-1"), payment_row("PAY-1"), payment_row("PAY-2")]
    report = validate_frame(frame(rows), PAYMENTS)
    assert report.failures == {"PAY-1": ["payment_id must be unique in the batch"]}
    assert report.passed_ids == ["PAY-2"]
