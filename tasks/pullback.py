"""Prefect tasks of the pullback: ledger documents -> dealers' account pages and positions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from pydantic import ValidationError

from connectors.accounting import DocumentKind
from dealer_sync.models import CreditNote, DealerAccount, Invoice, Payment
from dealer_sync.money import Money
from dealer_sync.records import describe
from dealer_sync.store import MappingKind, QuarantineItem
from dealer_sync.timeutil import business_date, utcnow
from expectations.suites import INVOICES, PAYMENTS
from tasks.environment import SyncEnvironment
from tasks.policy import batch_task

FLOW = "invoice_payment_pullback"
CLOSED_STATUSES = ("void", "draft")
SUITES = {"invoice": INVOICES, "payment": PAYMENTS}


@dataclass
class PulledDocuments:
    entity: str
    read: list[str] = field(default_factory=list)
    synced: list[str] = field(default_factory=list)
    quarantined: list[QuarantineItem] = field(default_factory=list)
    dealers: set[str] = field(default_factory=set)
    newest: datetime | None = None


def _in_window(stamp: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or stamp >= since) and (until is None or stamp < until)


def _frame_row(document: Invoice | Payment | CreditNote) -> dict[str, Any] | None:
    """The row the document's expectation suite checks (credit notes have no suite)."""
    if isinstance(document, Invoice):
        return {
            "invoice_id": document.id,
            "customer_id": document.customer_id,
            "dealer_id": document.dealer_id,
            "total": document.total.amount,
            "balance": document.balance.amount,
            "currency": document.currency,
        }
    if isinstance(document, Payment):
        return {
            "payment_id": document.id,
            "customer_id": document.customer_id,
            "dealer_id": document.dealer_id,
            "amount": document.amount.amount,
            "allocated": document.allocated.amount,
        }
    return None


def _validated(
    entity: str, documents: list[Any], rows: dict[str, dict[str, Any]]
) -> tuple[list[Any], list[QuarantineItem]]:
    """Run the entity's suite over the page; failing documents go to quarantine by name."""
    suite = SUITES.get(entity)
    if suite is None or not documents:
        return documents, []
    from expectations.runner import validate_frame  # GX is slow to import: only here

    report = validate_frame(pd.DataFrame([_frame_row(d) for d in documents]), suite)
    if report.batch_failed:
        raise RuntimeError(f"{entity} expectations failed for the whole page: {report.table_failures}")
    failed = [
        QuarantineItem(entity, key, rows[key], "; ".join(names), names[0])
        for key, names in report.failures.items()
    ]
    return [d for d in documents if d.id not in report.failures], failed


def _pull(
    env: SyncEnvironment,
    run_id: str,
    entity: DocumentKind,
    since: datetime | None,
    until: datetime | None,
) -> PulledDocuments:
    """Read pages, map customers to dealers, validate, upsert each page; failures quarantined.

    A row without a change time (a ledger that keeps none) is always taken: upserts are
    idempotent, so reading more than changed costs time, never correctness.
    """
    dealers = {c: d for d, c in env.store.mappings.table(MappingKind.DEALER_CUSTOMER, env.ledger).items()}
    result = PulledDocuments(entity)
    for page in env.accounting.changed(entity, since):
        candidates: list[Any] = []
        rows: dict[str, dict[str, Any]] = {}
        for row in page:
            raw = dict(row.raw)
            if row.problem is not None:
                result.read.append(row.key)
                result.quarantined.append(
                    QuarantineItem(entity, row.key, raw, row.problem, "document is well-formed")
                )
                continue
            if row.changed_at is not None and not _in_window(row.changed_at, since, until):
                continue
            result.read.append(row.key)
            if row.changed_at is not None:
                result.newest = max(result.newest or row.changed_at, row.changed_at)
            dealer = dealers.get(str(row.customer_id))
            if dealer is None and entity not in SUITES:
                reason = f"customer {row.customer_id} is not mapped to a dealer"
                result.quarantined.append(QuarantineItem(entity, row.key, raw, reason, "customer mapped"))
                continue
            try:
                candidates.append(row.canonical(dealer))
                rows[row.key] = raw
            except ValueError as exc:  # pydantic's ValidationError, or a document that makes no sense
                reason = describe(exc) if isinstance(exc, ValidationError) else str(exc)
                result.quarantined.append(
                    QuarantineItem(entity, row.key, raw, reason, "document is well-formed")
                )
        good, failed = _validated(entity, candidates, rows)
        result.quarantined += failed
        invoices = [d for d in good if isinstance(d, Invoice)]
        payments = [d for d in good if isinstance(d, Payment)]
        notes = [d for d in good if isinstance(d, CreditNote)]
        env.portal.upsert_account(invoices, payments, notes)
        result.synced += [d.id for d in good]
        result.dealers |= {d.dealer_id for d in good if d.dealer_id}
    env.store.quarantine.add(FLOW, run_id, result.quarantined)
    env.store.quarantine.resolve_keys(FLOW, entity, result.synced, run_id)
    return result


@batch_task("pull_invoices")
def pull_invoices(
    env: SyncEnvironment, run_id: str, since: datetime | None, until: datetime | None
) -> PulledDocuments:
    return _pull(env, run_id, "invoice", since, until)


@batch_task("pull_payments")
def pull_payments(
    env: SyncEnvironment, run_id: str, since: datetime | None, until: datetime | None
) -> PulledDocuments:
    return _pull(env, run_id, "payment", since, until)


@batch_task("pull_credit_notes")
def pull_credit_notes(
    env: SyncEnvironment, run_id: str, since: datetime | None, until: datetime | None
) -> PulledDocuments:
    return _pull(env, run_id, "credit_note", since, until)


def dealer_position(
    dealer_id: str, credit_limit: Money, documents: dict[str, list[dict[str, Any]]], today: date
) -> DealerAccount:
    """Outstanding, overdue and available credit from the dealer's account documents."""
    currency = credit_limit.currency
    outstanding = overdue = unapplied = Decimal(0)
    for invoice in documents["invoices"]:
        if invoice["status"] in CLOSED_STATUSES:
            continue
        outstanding += invoice["balance"]
        if invoice["balance"] > 0 and invoice["due_date"] < today:
            overdue += invoice["balance"]
    unapplied += sum((p["unapplied"] for p in documents["payments"]), Decimal(0))
    unapplied += sum((c["balance"] for c in documents["credit_notes"] if c["status"] == "open"), Decimal(0))

    def money(amount: Decimal) -> Money:
        return Money(amount=amount, currency=currency)

    return DealerAccount(
        dealer_id=dealer_id,
        currency=currency,
        credit_limit=credit_limit,
        outstanding=money(outstanding),
        overdue=money(overdue),
        unapplied_credit=money(unapplied),
        available_credit=credit_limit - money(outstanding) + money(unapplied),
        as_of=utcnow(),
    )


@batch_task("update_dealer_accounts")
def update_dealer_accounts(env: SyncEnvironment, dealer_ids: list[str]) -> int:
    """Recompute the position of every dealer whose documents changed."""
    if not dealer_ids:
        return 0
    dealers, _ = env.portal.dealers()
    today = business_date(utcnow(), env.settings.business_timezone)
    documents = env.portal.account_documents(dealer_ids)
    accounts = [
        dealer_position(d, dealers[d].credit_limit, documents[d], today) for d in dealer_ids if d in dealers
    ]
    return env.portal.upsert_dealer_accounts(accounts)
