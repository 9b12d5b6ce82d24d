"""Hand-built snapshot worlds for edge cases: one consistent order at a time, then one change."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from dealer_sync.reconcile.snapshot import SCHEMAS, Snapshots

AS_OF = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
_UNSET: Any = object()


@dataclass
class World:
    """Rows per snapshot frame; ``order`` adds a fully matched order unless told otherwise."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {name: [] for name in SCHEMAS})

    def add(self, frame: str, **row: Any) -> World:
        self.rows[frame].append(row)
        return self

    def order(
        self,
        key: str,
        *,
        dealer: str = "d1",
        currency: str = "INR",
        total: int = 11_800,
        tax: int = 1_800,
        lines: tuple[tuple[str, float], ...] = (("sku1", 2.0),),
        status: str = "invoiced",
        confirmed_at: datetime | None = None,
        business_date: date | None = None,
        invoice: bool = True,
        sales_order: bool = True,
        invoice_key: str | None = None,
        invoice_total: int | None = None,
        invoice_tax: int | None = None,
        invoice_dealer: Any = _UNSET,
        invoice_currency: str | None = None,
        invoice_status: str = "sent",
        balance: int | None = None,
        issue_date: date | None = None,
    ) -> World:
        confirmed = confirmed_at or AS_OF - timedelta(days=3)
        self.add(
            "portal_orders",
            order_key=key,
            dealer_key=dealer,
            currency=currency,
            total_minor=total,
            tax_minor=tax,
            line_count=len(lines),
            status=status,
            confirmed_at=confirmed,
            business_date=business_date or confirmed.date(),
        )
        for sku, quantity in lines:
            self.add("portal_lines", order_key=key, sku=sku, quantity=quantity)
        if sales_order:
            self.add("sales_orders", so_key=f"s-{key}", order_key=key, dealer_key=dealer, status="open")
            for sku, quantity in lines:
                self.add("sales_order_lines", so_key=f"s-{key}", sku=sku, quantity=quantity)
        if invoice:
            billed = invoice_total if invoice_total is not None else total
            self.add(
                "invoices",
                invoice_key=invoice_key or f"i-{key}",
                order_key=key,
                dealer_key=dealer if invoice_dealer is _UNSET else invoice_dealer,
                currency=invoice_currency or currency,
                total_minor=billed,
                tax_minor=invoice_tax if invoice_tax is not None else tax,
                balance_minor=billed if balance is None else balance,
                status=invoice_status,
                issue_date=issue_date or confirmed.date(),
            )
        return self

    def accounts_from_ledger(self) -> World:
        """Portal accounts equal to the ledger's open balances: what a fresh pullback leaves."""
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for row in self.rows["invoices"]:
            if row["status"] not in ("void", "draft") and row["dealer_key"] is not None:
                totals[(row["dealer_key"], row["currency"])] += row["balance_minor"]
        self.rows["portal_accounts"] = [
            {"dealer_key": dealer, "currency": currency, "outstanding_minor": amount}
            for (dealer, currency), amount in sorted(totals.items())
        ]
        return self

    def snapshots(self) -> Snapshots:
        return Snapshots(
            **{name: pl.DataFrame(self.rows[name], schema=dict(schema)) for name, schema in SCHEMAS.items()}
        )
