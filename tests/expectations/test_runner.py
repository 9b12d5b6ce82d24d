"""The runner: failing rows by id, table-level failures, build errors, and concurrent use."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from expectations.runner import SuiteBuildError, ValidationReport, validate_frame, warm_up
from expectations.spec import ExpectationSpec, SuiteSpec
from expectations.suites import INVENTORY_AVAILABILITY, ORDER_LINES
from tests.expectations.builders import frame, inventory_row, order_line_row

pytestmark = pytest.mark.usefixtures("gx_ready")


def rule(expectation: str, name: str, **kwargs: Any) -> ExpectationSpec:
    return ExpectationSpec(expectation=expectation, kwargs=kwargs, name=name)


def suite_of(*rules: ExpectationSpec, id_column: str = "id") -> SuiteSpec:
    return SuiteSpec(name="adhoc", id_column=id_column, expectations=rules)


# --- Edge cases of the input ---------------------------------------------------------------


def test_empty_frame_reports_nothing() -> None:
    report = validate_frame(pd.DataFrame(columns=list(ORDER_LINES.columns)), ORDER_LINES)
    assert report == ValidationReport(suite="order_lines", id_column="line_key", evaluated=0)
    assert report.ok
    assert report.split([]) == ([], [])


def test_a_row_without_an_id_fails_the_batch_and_the_others_are_still_named() -> None:
    rows = [
        order_line_row("ORD-1#1"),
        order_line_row("ORD-1#2", quantity=Decimal(0)),
        order_line_row("ORD-1#3", quantity=Decimal(0)) | {"line_key": None},
    ]
    report = validate_frame(frame(rows), ORDER_LINES)
    assert report.table_failures == ["line_key is missing on 1 row(s)"]
    assert report.batch_failed
    assert report.failures == {"ORD-1#2": ["quantity must be > 0"]}
    assert report.passed_ids == ["ORD-1#1"]


def test_a_missing_column_fails_the_batch() -> None:
    rows = [inventory_row("A@PUNE"), inventory_row("B@PUNE", sku=None)]
    report = validate_frame(frame(rows).drop(columns=["reserved"]), INVENTORY_AVAILABILITY)
    assert report.table_failures == [
        "frame lacks column(s) ['reserved']",
        'reserved must not be null: could not be evaluated: Error: The column "reserved" in '
        "BatchData does not exist.",
        'reserved must be >= 0: could not be evaluated: Error: The column "reserved" in '
        "BatchData does not exist.",
    ]
    assert report.failures == {"B@PUNE": ["sku must not be null"]}


def test_a_frame_without_the_id_column_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="no id column 'line_key'"):
        validate_frame(pd.DataFrame({"quantity": [1]}), ORDER_LINES)


def test_the_frame_index_does_not_matter() -> None:
    # A named index would make GX report index values instead of ids; duplicates would misalign.
    rows = [order_line_row("ORD-1#1"), order_line_row("ORD-1#2", currency="rupees")]
    indexed = frame(rows).set_axis(pd.Index([7, 7], name="line_key"), axis=0)
    report = validate_frame(indexed, ORDER_LINES)
    assert report.failures == {"ORD-1#2": ["currency must be a 3-letter code"]}


def test_ids_are_strings() -> None:
    suite = suite_of(
        rule("ExpectColumnValuesToBeBetween", "q must be >= 0", column="q", min_value=0)
    )
    rows = [{"id": 1, "q": 5}, {"id": 2, "q": -5}]
    report = validate_frame(frame(rows), suite)
    assert report.failures == {"2": ["q must be >= 0"]}
    assert report.passed_ids == ["1"]
    assert report.split(rows) == ([rows[0]], [(rows[1], ["q must be >= 0"])])


def test_decimals_are_compared_as_numbers() -> None:
    # In Python Decimal("0.1") != 0.1, so without conversion a GST slab would fail the set check.
    suite = suite_of(
        rule(
            "ExpectColumnValuesToBeInSet", "rate is a slab", column="rate", value_set=[0, 0.1, 18]
        ),
        rule("ExpectColumnPairValuesToBeEqual", "price is list price", column_A="p", column_B="lp"),
    )
    rows = [
        {"id": "a", "rate": Decimal("0.1"), "p": Decimal("12.50"), "lp": Decimal("12.5")},
        {"id": "b", "rate": Decimal("18.00"), "p": Decimal("1"), "lp": Decimal("1.00")},
        {"id": "c", "rate": Decimal("0.2"), "p": Decimal("1"), "lp": Decimal("1.01")},
    ]
    report = validate_frame(frame(rows), suite)
    assert report.failures == {"c": ["rate is a slab", "price is list price"]}


# --- GX semantics the suites rely on ---------------------------------------------------------


def test_gx_null_handling() -> None:
    suite = suite_of(
        rule("ExpectColumnValuesToBeBetween", "x must be >= 0", column="x", min_value=0),
        rule("ExpectColumnValuesToMatchRegex", "c is a code", column="c", regex="^[A-Z]{3}$"),
        rule(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            "x >= y (GX default)",
            column_A="x",
            column_B="y",
            or_equal=True,
        ),
        rule(
            "ExpectColumnPairValuesAToBeGreaterThanB",
            "x >= y (either missing skipped)",
            column_A="x",
            column_B="y",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
    )
    rows = [
        {"id": "x-null", "x": None, "y": 1, "c": None},
        {"id": "both-null", "x": None, "y": None, "c": "INR"},
        {"id": "y-null", "x": 1, "y": None, "c": "INR"},
    ]
    report = validate_frame(frame(rows), suite)
    # Value checks pass nulls; the default pair check fails a row with one null side.
    assert report.failures == {"x-null": ["x >= y (GX default)"], "y-null": ["x >= y (GX default)"]}
    assert report.passed_ids == ["both-null"]


def test_a_table_level_failure_cannot_be_pinned_on_a_row() -> None:
    suite = suite_of(
        rule("ExpectTableRowCountToBeBetween", "a batch has at least 5 rows", min_value=5),
        rule("ExpectColumnValuesToNotBeNull", "q must not be null", column="q"),
    )
    report = validate_frame(frame([{"id": "a", "q": 1}, {"id": "b", "q": None}]), suite)
    assert report.table_failures == ["a batch has at least 5 rows"]
    assert report.failures == {"b": ["q must not be null"]}
    assert report.batch_failed


def test_a_new_frame_is_not_judged_by_the_last_ones_results() -> None:
    # GX gives every dataframe batch the same id and caches metrics under it.
    first = validate_frame(frame([order_line_row("ORD-1#1", quantity=Decimal(0))]), ORDER_LINES)
    second = validate_frame(frame([order_line_row("ORD-1#1")]), ORDER_LINES)
    assert first.failures == {"ORD-1#1": ["quantity must be > 0"]}
    assert second.ok


# --- Building suites -----------------------------------------------------------------------


def test_an_unknown_class_name_is_named_in_the_error() -> None:
    suite = SuiteSpec(
        name="typo",
        id_column="id",
        expectations=[
            rule("ExpectColumnValuesToBeBetwen", "q must be >= 0", column="q", min_value=0)
        ],
    )
    message = (
        r"suite 'typo', expectation 'q must be >= 0': 'ExpectColumnValuesToBeBetwen' is not a "
        r"Great Expectations expectation class \(did you mean 'ExpectColumnValuesToBeBetween'\?\)"
    )
    with pytest.raises(SuiteBuildError, match=message):
        validate_frame(frame([{"id": "a", "q": 1}]), suite)
    with pytest.raises(SuiteBuildError, match=message):
        warm_up(suite)


def test_a_name_that_is_not_a_concrete_expectation_is_refused() -> None:
    for name in ("Expectation", "ExpectationConfiguration", "registry"):
        with pytest.raises(SuiteBuildError, match=f"'{name}' is not a Great Expectations"):
            warm_up(suite_of(rule(name, "n")))


def test_kwargs_the_class_rejects_are_named_in_the_error() -> None:
    suite = suite_of(rule("ExpectColumnValuesToBeBetween", "q >= 0", column="q", minimum=0))
    with pytest.raises(SuiteBuildError, match="'q >= 0': ExpectColumnValuesToBeBetween rejects"):
        warm_up(suite)


# --- Splitting records -----------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    line_key: str
    note: str


def test_split_reads_ids_from_attributes_or_a_key_function() -> None:
    rows = [order_line_row("ORD-1#1"), order_line_row("ORD-1#2", sku=None)]
    report = validate_frame(frame(rows), ORDER_LINES)
    records = [Line("ORD-1#2", "second"), Line("ORD-1#1", "first")]
    assert report.split(records) == ([records[1]], [(records[0], ["sku must not be null"])])
    wrapped = [{"line": record} for record in records]
    assert report.split(wrapped, key=lambda item: item["line"].line_key) == (
        [wrapped[1]],
        [(wrapped[0], ["sku must not be null"])],
    )


def test_split_refuses_a_record_that_was_not_validated() -> None:
    report = validate_frame(frame([order_line_row("ORD-1#1")]), ORDER_LINES)
    with pytest.raises(ValueError, match="'ORD-9#9' was not in the frame validated by suite"):
        report.split([order_line_row("ORD-1#1"), order_line_row("ORD-9#9")])


# --- Threads -----------------------------------------------------------------------------------


def test_four_threads_validating_at_once_each_get_their_own_results() -> None:
    def batch(thread: int) -> tuple[pd.DataFrame, dict[str, list[str]]]:
        rows, expected = [], {}
        for i in range(400):
            key = f"T{thread}-{i}#1"
            if i % (5 + thread) == 0:
                rows.append(order_line_row(key, quantity=Decimal(0)))
                expected[key] = ["quantity must be > 0"]
            elif i % (7 + thread) == 0:
                rows.append(order_line_row(key, unit_price=Decimal(1), currency="inr"))
                expected[key] = [
                    "unit_price must equal list_price",
                    "currency must be a 3-letter code",
                ]
            else:
                rows.append(order_line_row(key))
        return frame(rows), expected

    batches = [batch(thread) for thread in range(4)]
    start = threading.Barrier(4)

    def work(thread: int) -> list[ValidationReport]:
        start.wait()
        return [validate_frame(batches[thread][0], ORDER_LINES) for _ in range(2)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(4)))

    for thread, reports in enumerate(results):
        expected = batches[thread][1]
        for report in reports:
            assert report.failures == expected
            assert len(report.passed_ids) == 400 - len(expected)
            assert report.table_failures == []
