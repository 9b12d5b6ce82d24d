"""The normalised snapshot frames the reconciliation reads, their schemas and the check that enforces them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Final

import polars as pl

Frame = pl.DataFrame | pl.LazyFrame
"""A snapshot frame: eager when built in memory, lazy when scanned from Parquet by a large run."""

UTC_DATETIME: Final = pl.Datetime("us", "UTC")
"""The canonical instant type; any time unit and any aware time zone are accepted and converted."""

PORTAL_ORDERS: Final[Mapping[str, pl.DataType]] = {
    "order_key": pl.String(),
    "dealer_key": pl.String(),
    "currency": pl.String(),
    "total_minor": pl.Int64(),
    "tax_minor": pl.Int64(),
    "line_count": pl.Int32(),
    "status": pl.String(),
    "confirmed_at": UTC_DATETIME,
    "business_date": pl.Date(),
}
PORTAL_LINES: Final[Mapping[str, pl.DataType]] = {
    "order_key": pl.String(),
    "sku": pl.String(),
    "quantity": pl.Float64(),
}
SALES_ORDERS: Final[Mapping[str, pl.DataType]] = {
    "so_key": pl.String(),
    "order_key": pl.String(),
    "dealer_key": pl.String(),
    "status": pl.String(),
}
SALES_ORDER_LINES: Final[Mapping[str, pl.DataType]] = {
    "so_key": pl.String(),
    "sku": pl.String(),
    "quantity": pl.Float64(),
}
INVOICES: Final[Mapping[str, pl.DataType]] = {
    "invoice_key": pl.String(),
    "order_key": pl.String(),
    "dealer_key": pl.String(),
    "currency": pl.String(),
    "total_minor": pl.Int64(),
    "tax_minor": pl.Int64(),
    "balance_minor": pl.Int64(),
    "status": pl.String(),
    "issue_date": pl.Date(),
}
PAYMENTS: Final[Mapping[str, pl.DataType]] = {
    "payment_key": pl.String(),
    "dealer_key": pl.String(),
    "currency": pl.String(),
    "amount_minor": pl.Int64(),
    "unapplied_minor": pl.Int64(),
    "paid_on": pl.Date(),
}
CREDIT_NOTES: Final[Mapping[str, pl.DataType]] = {
    "credit_note_key": pl.String(),
    "dealer_key": pl.String(),
    "invoice_key": pl.String(),
    "currency": pl.String(),
    "total_minor": pl.Int64(),
    "balance_minor": pl.Int64(),
}
PORTAL_ACCOUNTS: Final[Mapping[str, pl.DataType]] = {
    "dealer_key": pl.String(),
    "currency": pl.String(),
    "outstanding_minor": pl.Int64(),
}
AVAILABILITY: Final[Mapping[str, pl.DataType]] = {
    "sku": pl.String(),
    "warehouse_key": pl.String(),
    "portal_available": pl.Float64(),
    "inventory_available": pl.Float64(),
}

SCHEMAS: Final[Mapping[str, Mapping[str, pl.DataType]]] = {
    "portal_orders": PORTAL_ORDERS,
    "portal_lines": PORTAL_LINES,
    "sales_orders": SALES_ORDERS,
    "sales_order_lines": SALES_ORDER_LINES,
    "invoices": INVOICES,
    "payments": PAYMENTS,
    "credit_notes": CREDIT_NOTES,
    "portal_accounts": PORTAL_ACCOUNTS,
    "availability": AVAILABILITY,
}
"""Required columns per frame. Extra columns are allowed (and ignored): the flow may carry more."""


class SnapshotSchemaError(ValueError):
    """A snapshot frame lacks a required column or carries it with the wrong type."""


@dataclass(frozen=True)
class Snapshots:
    """One reconciliation's inputs: the three systems' state, normalised by the snapshot flow.

    Keys are trimmed and case-folded, money is Int64 minor units of ``currency``, instants are UTC and
    dates are business dates. The classifier assumes each record key is unique in its own frame
    (``order_key`` in ``portal_orders``, ``invoice_key`` in ``invoices``, ``so_key`` in ``sales_orders``,
    ``(sku, warehouse_key)`` in ``availability``); the snapshot flow guarantees that.
    """

    portal_orders: Frame
    portal_lines: Frame
    sales_orders: Frame
    sales_order_lines: Frame
    invoices: Frame
    payments: Frame
    credit_notes: Frame
    portal_accounts: Frame
    availability: Frame

    def lazy(self, name: str) -> pl.LazyFrame:
        """The named frame as a LazyFrame, so every check runs in one optimised query."""
        frame: Frame = getattr(self, name)
        return frame.lazy()

    def frames(self) -> dict[str, Frame]:
        """Every frame by its field name, in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _schema_of(frame: Frame) -> pl.Schema:
    return frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema


def _dtype_ok(actual: pl.DataType, expected: pl.DataType) -> bool:
    if isinstance(expected, pl.Datetime):
        # Any unit, any aware zone: the classifier converts to UTC microseconds. A naive column is
        # refused because its zone would be a guess (the same rule as ``timeutil.require_utc``).
        return isinstance(actual, pl.Datetime) and actual.time_zone is not None
    return actual == expected


def _describe(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        return "naive Datetime (no time zone)"
    return str(dtype)


def validate_schemas(snapshots: Snapshots) -> None:
    """Refuse frames the classifier cannot trust, naming every missing or mistyped column at once.

    Raises:
        SnapshotSchemaError: listing ``frame.column`` with the expected and the actual type.
    """
    problems: list[str] = []
    for name, expected_schema in SCHEMAS.items():
        frame = getattr(snapshots, name)
        if not isinstance(frame, pl.DataFrame | pl.LazyFrame):
            problems.append(f"{name}: expected a polars DataFrame or LazyFrame, got {type(frame).__name__}")
            continue
        actual_schema = _schema_of(frame)
        for column, expected in expected_schema.items():
            if column not in actual_schema:
                problems.append(f"{name}.{column}: missing column (expected {expected})")
            elif not _dtype_ok(actual_schema[column], expected):
                wanted = "Datetime with a time zone (UTC)" if isinstance(expected, pl.Datetime) else expected
                problems.append(f"{name}.{column}: expected {wanted}, got {_describe(actual_schema[column])}")
    if problems:
        raise SnapshotSchemaError("snapshot schema check failed: " + "; ".join(problems))


def empty_snapshots() -> Snapshots:
    """Snapshots with every frame empty but correctly typed: a base for tests and partial runs."""
    return Snapshots(**{name: pl.DataFrame(schema=dict(schema)) for name, schema in SCHEMAS.items()})
