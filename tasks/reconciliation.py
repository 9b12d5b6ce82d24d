"""Snapshots for the nightly reconciliation: each system read once and normalised into frames.

Normalised: keys trimmed and case-folded, money as integer minor units, instants in UTC, every
external key passed through the mapping tables. The classifier (dealer_sync.reconcile) then
compares frames, never systems.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from dealer_sync.money import Money
from dealer_sync.report import Finding, ReconciliationReport, ReportFiles, write_report_files
from dealer_sync.store import MappingKind, OutboxStatus
from dealer_sync.timeutil import business_date
from tasks.environment import SyncEnvironment, delivery_settings
from tasks.policy import batch_task

INVENTORY = "zoho_inventory"


def key(value: Any) -> str | None:
    """How keys are compared across systems: trimmed and case-folded; empty means absent."""
    if value is None:
        return None
    text = str(value).strip().casefold()
    return text or None


def minor(amount: Decimal | None, currency: str) -> int | None:
    return None if amount is None else Money(amount=amount, currency=currency).minor_units


@dataclass(frozen=True)
class Window:
    """A reconciliation window: UTC instants, and the business dates they cover."""

    since: datetime
    until: datetime
    first_day: date
    last_day: date


@batch_task("snapshot_portal")
def snapshot_portal(env: SyncEnvironment, window: Window, invoice_refs: list[str]) -> dict[str, pl.DataFrame]:
    """Orders confirmed in the window (plus any an invoice refers to), their lines, dealer accounts."""
    heads, lines = env.portal.orders_for_reconciliation(window.since, window.until, invoice_refs)
    tz = env.settings.business_timezone
    number_of = {h["id"]: h["number"] for h in heads}
    orders = pl.DataFrame(
        [
            {
                "order_key": key(h["number"]),
                "dealer_key": key(h["dealer_code"]),
                "currency": h["currency"],
                "total_minor": minor(h["total"], h["currency"]),
                "tax_minor": minor(h["tax_total"], h["currency"]),
                "line_count": sum(1 for ln in lines if ln["order_id"] == h["id"]),
                "status": h["status"],
                "confirmed_at": h["confirmed_at"] or h["placed_at"],
                "business_date": business_date(h["confirmed_at"] or h["placed_at"], tz),
            }
            for h in heads
        ],
        schema=PORTAL_ORDERS,
    )
    order_lines = pl.DataFrame(
        [
            {
                "order_key": key(number_of[ln["order_id"]]),
                "sku": key(ln["sku"]),
                "quantity": float(ln["quantity"]),
            }
            for ln in lines
        ],
        schema=LINES("order_key"),
    )
    accounts = pl.DataFrame(
        [
            {
                "dealer_key": key(a["dealer_code"]),
                "currency": a["currency"],
                "outstanding_minor": minor(a["outstanding"], a["currency"]),
            }
            for a in env.portal.dealer_account_rows()
        ],
        schema={"dealer_key": pl.Utf8, "currency": pl.Utf8, "outstanding_minor": pl.Int64},
    )
    return {"portal_orders": orders, "portal_lines": order_lines, "portal_accounts": accounts}


@batch_task("snapshot_inventory")
def snapshot_inventory(env: SyncEnvironment, window: Window) -> dict[str, pl.DataFrame]:
    """Sales orders changed since a day before the window, with their lines (one detail call each)."""
    dealers = _reverse(env, MappingKind.DEALER_CUSTOMER, INVENTORY)
    heads: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for page in env.inventory.sales_order_pages(modified_since=window.since - timedelta(days=1)):
        for row in page:
            if row.get("status") == "void":
                continue
            detail = env.inventory.sales_order_detail(str(row["salesorder_id"]))
            so_key = key(detail.salesorder_number)
            heads.append(
                {
                    "so_key": so_key,
                    "order_key": key(detail.reference_number),
                    "dealer_key": key(dealers.get(str(detail.customer_id))),
                    "status": detail.status,
                }
            )
            lines += [
                {"so_key": so_key, "sku": key(ln.sku), "quantity": float(ln.quantity)}
                for ln in detail.line_items
            ]
    return {
        "sales_orders": pl.DataFrame(
            heads, schema={"so_key": pl.Utf8, "order_key": pl.Utf8, "dealer_key": pl.Utf8, "status": pl.Utf8}
        ),
        "sales_order_lines": pl.DataFrame(lines, schema=LINES("so_key")),
    }


@batch_task("snapshot_ledger")
def snapshot_ledger(env: SyncEnvironment, window: Window, late_days: int = 3) -> dict[str, pl.DataFrame]:
    """Invoices dated in the window (and a few days after, for late invoicing), payments, credits.

    Every open invoice counts for the dealers' outstanding, so the invoice list is read whole;
    the tax of the window's invoices comes from their detail (lists carry none).
    """
    dealers = _reverse(env, MappingKind.DEALER_CUSTOMER, env.ledger)
    invoices: list[dict[str, Any]] = []
    last = window.last_day + timedelta(days=late_days)
    number_of: dict[str, str] = {}  # invoice id -> number: credit notes name the invoice by id
    for invoice in env.accounting.invoices_for_period(window.first_day, last):
        c = invoice.currency
        number_of[invoice.id] = invoice.number
        invoices.append(
            {
                "invoice_key": key(invoice.number),
                "order_key": key(invoice.reference),
                "dealer_key": key(dealers.get(invoice.customer_id)),
                "currency": c,
                "total_minor": invoice.total.minor_units,
                "tax_minor": invoice.tax_total.minor_units if invoice.tax_total is not None else None,
                "balance_minor": invoice.balance.minor_units,
                "status": invoice.status.value,
                "issue_date": invoice.issue_date,
                "in_window": window.first_day <= invoice.issue_date <= last,
            }
        )
    payments = list(env.accounting.payments())
    notes = list(env.accounting.credit_notes())
    return {
        "invoices": pl.DataFrame(invoices, schema=INVOICES),
        "payments": pl.DataFrame(
            [
                {
                    "payment_key": key(p.id),
                    "dealer_key": key(dealers.get(p.customer_id)),
                    "currency": p.amount.currency,
                    "amount_minor": p.amount.minor_units,
                    "unapplied_minor": p.unapplied.minor_units,
                    "paid_on": p.paid_on,
                }
                for p in payments
            ],
            schema={
                "payment_key": pl.Utf8,
                "dealer_key": pl.Utf8,
                "currency": pl.Utf8,
                "amount_minor": pl.Int64,
                "unapplied_minor": pl.Int64,
                "paid_on": pl.Date,
            },
        ),
        "credit_notes": pl.DataFrame(
            [
                {
                    "credit_note_key": key(n.number),
                    "dealer_key": key(dealers.get(n.customer_id)),
                    "invoice_key": key(number_of.get(n.invoice_id or "", n.invoice_id)),
                    "currency": n.currency,
                    "total_minor": n.total.minor_units,
                    "balance_minor": n.balance.minor_units,
                }
                for n in notes
            ],
            schema={
                "credit_note_key": pl.Utf8,
                "dealer_key": pl.Utf8,
                "invoice_key": pl.Utf8,
                "currency": pl.Utf8,
                "total_minor": pl.Int64,
                "balance_minor": pl.Int64,
            },
        ),
    }


@batch_task("snapshot_availability")
def snapshot_availability(env: SyncEnvironment) -> pl.DataFrame:
    """Portal availability beside the inventory system's own (on hand - committed - reservations)."""
    skus = {item: sku for sku, item in env.store.mappings.table(MappingKind.SKU_ITEM, INVENTORY).items()}
    warehouses = env.store.mappings.table(MappingKind.WAREHOUSE, INVENTORY)
    in_inventory = env.store.outbox.source_ids(INVENTORY, "salesorder", OutboxStatus.DONE)
    reserved = env.portal.open_order_quantities(exclude_order_ids=in_inventory)
    item_ids = [c for page in env.inventory.item_pages() for c in (str(r["item_id"]) for r in page)]
    items, _ = env.inventory.item_details(item_ids)
    inventory: dict[tuple[str, str], float] = {}
    for item in items:
        for level in item.stock_levels(datetime.now().astimezone()):
            sku, warehouse = skus.get(level.item_id), warehouses.get(level.warehouse_id)
            if sku and warehouse:
                held = reserved.get((sku, warehouse), Decimal(0))
                inventory[(key(sku) or "", key(warehouse) or "")] = float(level.available_to_promise(held))
    portal = {
        (key(s) or "", key(w) or ""): float(r.available) for (s, w), r in env.portal.availability().items()
    }
    rows = [
        {
            "sku": sku,
            "warehouse_key": wh,
            "portal_available": portal.get((sku, wh)),
            "inventory_available": inventory.get((sku, wh)),
        }
        for sku, wh in sorted(portal.keys() | inventory.keys())
    ]
    return pl.DataFrame(
        rows,
        schema={
            "sku": pl.Utf8,
            "warehouse_key": pl.Utf8,
            "portal_available": pl.Float64,
            "inventory_available": pl.Float64,
        },
    )


def _reverse(env: SyncEnvironment, kind: MappingKind, system: str) -> dict[str, str]:
    return {target: source for source, target in env.store.mappings.table(kind, system).items()}


def refs_of(invoices: pl.DataFrame) -> list[str]:
    """Order keys (case-folded numbers) any invoice refers to: none may look orphaned wrongly."""
    return invoices["order_key"].drop_nulls().unique().to_list()


def LINES(key_column: str) -> dict[str, Any]:
    return {key_column: pl.Utf8, "sku": pl.Utf8, "quantity": pl.Float64}


PORTAL_ORDERS: dict[str, Any] = {
    "order_key": pl.Utf8,
    "dealer_key": pl.Utf8,
    "currency": pl.Utf8,
    "total_minor": pl.Int64,
    "tax_minor": pl.Int64,
    "line_count": pl.Int32,
    "status": pl.Utf8,
    "confirmed_at": pl.Datetime("us", "UTC"),
    "business_date": pl.Date,
}
INVOICES: dict[str, Any] = {
    "invoice_key": pl.Utf8,
    "order_key": pl.Utf8,
    "dealer_key": pl.Utf8,
    "currency": pl.Utf8,
    "total_minor": pl.Int64,
    "tax_minor": pl.Int64,
    "balance_minor": pl.Int64,
    "status": pl.Utf8,
    "issue_date": pl.Date,
    "in_window": pl.Boolean,
}


def to_report_findings(frame: pl.DataFrame) -> list[Finding]:
    """Classifier rows -> report findings (money back from minor units to exact amounts)."""
    findings = []
    for row in frame.iter_rows(named=True):
        currency = row.get("currency") or "INR"
        findings.append(
            Finding(
                category=row["category"],
                severity=row["severity"],
                currency=currency,
                money_at_stake=Money.from_minor(int(row.get("money_at_stake_minor") or 0), currency).amount,
                age_days=int(row.get("age_days") or 0),
                remedy=row.get("remedy") or "",
                detail=row.get("detail") or "",
                order_key=row.get("order_key"),
                invoice_key=row.get("invoice_key"),
                dealer_key=row.get("dealer_key"),
            )
        )
    return findings


@batch_task("store_findings")
def store_findings(env: SyncEnvironment, run_id: str, frame: pl.DataFrame, counts: dict[str, int]) -> int:
    """Keep findings and snapshot sizes as rows of our own: server retention may delete artifacts."""
    from sqlalchemy import insert

    from dealer_sync.store.schema import ReconFinding, ReconSnapshot

    rows = [
        {
            "run_id": run_id,
            "category": r["category"],
            "severity": r["severity"],
            "order_key": r.get("order_key"),
            "invoice_key": r.get("invoice_key"),
            "dealer_key": r.get("dealer_key"),
            "currency": r.get("currency"),
            "money_at_stake_minor": int(r.get("money_at_stake_minor") or 0),
            "age_days": r.get("age_days"),
            "remedy": r.get("remedy"),
            "detail": {"text": r.get("detail")},
        }
        for r in frame.iter_rows(named=True)
    ]
    with env.store.engine.begin() as connection:
        for source, count in counts.items():
            connection.execute(
                insert(ReconSnapshot).values(run_id=run_id, source=source, entity=source, row_count=count)
            )
        for start in range(0, len(rows), 1000):
            connection.execute(insert(ReconFinding), rows[start : start + 1000])
    return len(rows)


@batch_task("write_reconciliation_report")
def write_reconciliation_report(env: SyncEnvironment, report: ReconciliationReport) -> ReportFiles:
    return write_report_files(report, env.settings.resolved_reports_dir())


@batch_task("deliver_reconciliation_report")
def deliver_reconciliation_report(
    env: SyncEnvironment, report: ReconciliationReport, files: ReportFiles
) -> list[str]:
    """Email finance and post to Slack where configured; any failure fails the task (files are kept)."""
    from connectors.slack.client import SlackWebhook
    from connectors.smtp_email.client import SmtpMailer, build_finance_email

    delivered = []
    settings = delivery_settings(env.settings)
    smtp = settings.smtp
    if smtp.recipients:
        message = build_finance_email(report, smtp.sender, smtp.recipients)
        SmtpMailer.from_settings(smtp).send(message)
        delivered.append(f"email to {len(smtp.recipients)} recipient(s)")
    if settings.slack_webhook_url is not None:
        with SlackWebhook(settings.slack_webhook_url) as slack:
            slack.post_summary(report, str(files.html_path))
        delivered.append("slack")
    return delivered
