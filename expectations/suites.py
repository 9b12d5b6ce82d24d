"""The suites mapped records pass before loading: inventory, order lines, invoices, payments."""

from __future__ import annotations

from expectations.spec import ExpectationSpec, SuiteSpec

# A null is not a failure of a range, set, regex or uniqueness check in GX: every column such a
# check reads also has a not-null check here (a test holds each suite to that).

# Three upper-case letters. `\Z`, not `$`: GX's pandas regex check is re.search, where `$` also
# matches before a trailing newline, so "INR\n" would pass.
CURRENCY_CODE = r"^[A-Z]{3}\Z"

# Column pairs skip a row where either side is null: that null is already reported, once, by
# the column's not-null check (GX's default would fail the pair too when only one side is null).
_PAIR_NULLS = "either_value_is_missing"


def not_null(column: str, name: str | None = None) -> ExpectationSpec:
    """The column must have a value; the name says what a null means when that is clearer."""
    return ExpectationSpec(
        expectation="ExpectColumnValuesToNotBeNull",
        kwargs={"column": column},
        name=name or f"{column} must not be null",
    )


def unique(column: str) -> ExpectationSpec:
    return ExpectationSpec(
        expectation="ExpectColumnValuesToBeUnique",
        kwargs={"column": column},
        name=f"{column} must be unique in the batch",
    )


def at_least(column: str, minimum: float, *, strict: bool = False) -> ExpectationSpec:
    return ExpectationSpec(
        expectation="ExpectColumnValuesToBeBetween",
        kwargs={"column": column, "min_value": minimum, "strict_min": strict},
        name=f"{column} must be {'>' if strict else '>='} {minimum:g}",
    )


def between(column: str, minimum: float, maximum: float) -> ExpectationSpec:
    return ExpectationSpec(
        expectation="ExpectColumnValuesToBeBetween",
        kwargs={"column": column, "min_value": minimum, "max_value": maximum},
        name=f"{column} must be between {minimum:g} and {maximum:g}",
    )


def currency_code(column: str = "currency") -> ExpectationSpec:
    return ExpectationSpec(
        expectation="ExpectColumnValuesToMatchRegex",
        kwargs={"column": column, "regex": CURRENCY_CODE},
        name=f"{column} must be a 3-letter code",
    )


def not_less_than(larger: str, smaller: str) -> ExpectationSpec:
    """`larger` >= `smaller` on every row where both are present."""
    return ExpectationSpec(
        expectation="ExpectColumnPairValuesAToBeGreaterThanB",
        kwargs={
            "column_A": larger,
            "column_B": smaller,
            "or_equal": True,
            "ignore_row_if": _PAIR_NULLS,
        },
        name=f"{smaller} must be <= {larger}",
    )


def equal(column_a: str, column_b: str) -> ExpectationSpec:
    return ExpectationSpec(
        expectation="ExpectColumnPairValuesToBeEqual",
        kwargs={"column_A": column_a, "column_B": column_b, "ignore_row_if": _PAIR_NULLS},
        name=f"{column_a} must equal {column_b}",
    )


INVENTORY_AVAILABILITY = SuiteSpec(
    name="inventory_availability",
    id_column="key",
    columns=(
        "key",
        "sku",
        "warehouse_code",
        "item_id",
        "on_hand",
        "committed",
        "reserved",
        "available",
    ),
    expectations=(
        not_null("key"),
        unique("key"),
        not_null("sku"),
        not_null("warehouse_code"),
        not_null("item_id", "item_id must be mapped (SKU has no inventory item)"),
        not_null("on_hand"),
        at_least("on_hand", 0),
        not_null("committed"),
        at_least("committed", 0),
        not_null("reserved"),
        at_least("reserved", 0),
        not_null("available"),
        not_less_than("on_hand", "available"),
    ),
)

ORDER_LINES = SuiteSpec(
    name="order_lines",
    id_column="line_key",
    columns=(
        "line_key",
        "order_id",
        "dealer_id",
        "customer_id",
        "sku",
        "item_id",
        "quantity",
        "unit_price",
        "list_price",
        "tax_rate",
        "tax_code",
        "currency",
    ),
    expectations=(
        not_null("line_key"),
        unique("line_key"),
        not_null("order_id"),
        not_null("dealer_id"),
        not_null("customer_id", "customer_id must be mapped (dealer has no customer)"),
        not_null("sku"),
        not_null("item_id", "item_id must be mapped (SKU has no inventory item)"),
        not_null("quantity"),
        at_least("quantity", 0, strict=True),
        not_null("unit_price"),
        at_least("unit_price", 0),
        not_null("list_price", "list_price must not be null (SKU not on the price list)"),
        equal("unit_price", "list_price"),
        not_null("tax_rate"),
        # Any rate from 0 to 30 %: GST slabs (0, 0.1, 0.25, 1, 1.5, 3, 5, 6, 12, 18, 28) and VAT.
        between("tax_rate", 0, 30),
        not_null("tax_code", "tax_code must be mapped (the target has no tax for this treatment and rate)"),
        not_null("currency"),
        currency_code(),
    ),
)

INVOICES = SuiteSpec(
    name="invoices",
    id_column="invoice_id",
    columns=("invoice_id", "customer_id", "dealer_id", "total", "balance", "currency"),
    expectations=(
        not_null("invoice_id"),
        unique("invoice_id"),
        not_null("customer_id"),
        not_null("dealer_id", "dealer_id must be mapped (customer has no dealer)"),
        not_null("total"),
        at_least("total", 0),
        not_null("balance"),
        at_least("balance", 0),
        not_less_than("total", "balance"),
        not_null("currency"),
        currency_code(),
    ),
)

PAYMENTS = SuiteSpec(
    name="payments",
    id_column="payment_id",
    columns=("payment_id", "customer_id", "dealer_id", "amount", "allocated"),
    expectations=(
        not_null("payment_id"),
        unique("payment_id"),
        not_null("customer_id"),
        not_null("dealer_id", "dealer_id must be mapped (customer has no dealer)"),
        not_null("amount"),
        at_least("amount", 0, strict=True),
        not_null("allocated"),
        not_less_than("amount", "allocated"),
    ),
)

ALL_SUITES: tuple[SuiteSpec, ...] = (INVENTORY_AVAILABILITY, ORDER_LINES, INVOICES, PAYMENTS)
