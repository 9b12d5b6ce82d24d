"""Valid rows for each suite's frame; a test overrides the fields it wants to break."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd


def inventory_row(key: str, **overrides: Any) -> dict[str, Any]:
    sku, _, warehouse = key.partition("@")
    row: dict[str, Any] = {
        "key": key,
        "sku": sku,
        "warehouse_code": warehouse,
        "item_id": f"ITEM-{sku}",
        "on_hand": Decimal("40"),
        "committed": Decimal("10"),
        "reserved": Decimal("5"),
        "available": Decimal("25"),
    }
    return row | overrides


def order_line_row(line_key: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "line_key": line_key,
        "order_id": line_key.partition("#")[0],
        "dealer_id": "D-100",
        "customer_id": "CUST-100",
        "sku": "BP-220",
        "item_id": "ITEM-BP-220",
        "quantity": Decimal("3"),
        "unit_price": Decimal("1250.00"),
        "list_price": Decimal("1250.00"),
        "tax_rate": Decimal("18"),
        "tax_code": "TAX-GST-18",
        "currency": "INR",
    }
    return row | overrides


def invoice_row(invoice_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "invoice_id": invoice_id,
        "customer_id": "CUST-100",
        "dealer_id": "D-100",
        "total": Decimal("4425.00"),
        "balance": Decimal("1000.00"),
        "currency": "INR",
    }
    return row | overrides


def payment_row(payment_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "payment_id": payment_id,
        "customer_id": "CUST-100",
        "dealer_id": "D-100",
        "amount": Decimal("500.00"),
        "allocated": Decimal("500.00"),
    }
    return row | overrides


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The frame the mapping code would hand to validation: one row per record."""
    return pd.DataFrame(rows)
