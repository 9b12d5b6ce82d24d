"""XeroAccounting keeps the AccountingSystem promises (connectors/accounting.py) against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.accounting import LedgerRow
from connectors.xero.accounting import XeroAccounting, ledger_row
from dealer_sync.models import CreditNoteStatus, InvoiceStatus
from sandbox.xero.api import finance_payment, record_credit
from tests.connectors.xero.support import World, credentials_for, world_on_loopback, xero_order

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen() -> Iterator[World]:
    with world_on_loopback(now=START, frozen=True) as served:
        yield served


def rows(pages: Iterator[list[LedgerRow]]) -> list[LedgerRow]:
    return [row for page in pages for row in page]


def test_changed_reads_what_changed_since_with_change_times_and_contacts(frozen: World):
    ledger = XeroAccounting(credentials_for(frozen))
    first = ledger.create_invoice(xero_order(frozen, "PO-1"))
    frozen.sandbox.clock.advance(10)  # under the scaled 30 s token life
    second = ledger.create_invoice(xero_order(frozen, "PO-2"))
    everything = rows(ledger.changed("invoice", None))
    assert [r.key for r in everything] == [first, second]
    recent = rows(ledger.changed("invoice", START + timedelta(seconds=5)))
    assert [r.key for r in recent] == [second]
    row = recent[0]
    assert row.changed_at == START + timedelta(seconds=10) and row.customer_id == frozen.contact_id
    assert row.problem is None and row.raw["InvoiceNumber"] == "DOC-PO-2"
    invoice = row.canonical("D1")
    assert invoice.dealer_id == "D1" and invoice.number == "DOC-PO-2" and invoice.reference == "PO-2"


def test_payments_and_credit_notes_change_too_and_name_their_contact(frozen: World):
    ledger = XeroAccounting(credentials_for(frozen))
    invoice_id = ledger.create_invoice(xero_order(frozen, "PO-3", tax_type=frozen.intra_18))
    frozen.sandbox.state.create_payment(finance_payment(invoice_id, "100.00"))
    record_credit(frozen.sandbox.state, invoice_id, Decimal("50"))
    (payment,) = rows(ledger.changed("payment", START))
    (note,) = rows(ledger.changed("credit_note", START))
    assert payment.customer_id == note.customer_id == frozen.contact_id
    assert payment.canonical(None).allocations[0].invoice_id == invoice_id
    assert note.canonical(None).invoice_id == invoice_id
    assert rows(ledger.changed("payment", START + timedelta(seconds=5))) == []


def test_an_unreadable_row_is_kept_with_its_problem_and_never_raises():
    broken = {"InvoiceID": "inv-1", "Contact": {"ContactID": "c-1"}, "UpdatedDateUTC": "yesterday"}
    row = ledger_row("invoice", broken)
    assert (row.key, row.customer_id, row.changed_at) == ("inv-1", "c-1", None)
    assert row.problem is not None and "UpdatedDateUTC" in row.problem and row.raw is broken
    with pytest.raises(ValueError):
        row.canonical(None)
    bad_money = {**broken, "UpdatedDateUTC": "/Date(1795341600000+0000)/", "Total": "lots"}
    readable_time = ledger_row("invoice", bad_money)
    assert readable_time.problem is None and readable_time.changed_at is not None
    with pytest.raises(ValueError):  # pydantic's ValidationError, for the caller to quarantine
        readable_time.canonical(None)
    keyless = ledger_row("payment", {"UpdatedDateUTC": "nonsense"})
    assert keyless.key == "?" and keyless.customer_id is None and keyless.problem


def test_canonical_invoice_totals_tax_and_balance_after_a_payment_and_a_credit_note(world: World):
    ledger = XeroAccounting(credentials_for(world))
    invoice_id = ledger.create_invoice(xero_order(world, "PO-4", tax_type=world.intra_18))
    calls = world.faults.counters()["total"]
    ledger.finalize_invoices([invoice_id])  # created AUTHORISED: nothing to send
    assert world.faults.counters()["total"] == calls
    world.sandbox.state.create_payment(finance_payment(invoice_id, "100.00"))
    record_credit(world.sandbox.state, invoice_id, Decimal("50"))
    (invoice,) = list(ledger.invoices_for_period(date(2026, 11, 1), date(2026, 11, 30)))
    assert (invoice.subtotal.amount, invoice.tax_total.amount, invoice.total.amount) == (
        Decimal("200.00"),
        Decimal("36.00"),
        Decimal("236.00"),
    )
    assert invoice.balance.amount == Decimal("77.00")  # 236 - 100 paid - 59 credited (50 + 18% GST)
    assert invoice.status is InvoiceStatus.PARTIALLY_PAID and invoice.due_date == date(2026, 12, 22)
    (payment,) = list(ledger.payments())
    assert payment.amount.amount == Decimal("100.00") and payment.unapplied.is_zero()
    (note,) = list(ledger.credit_notes())
    assert (note.total.amount, note.balance.amount, note.status) == (
        Decimal("59.00"),
        Decimal("0.00"),
        CreditNoteStatus.CLOSED,
    )
    world.sandbox.state.create_payment(finance_payment(invoice_id, "77.00"))
    (paid,) = list(ledger.invoices_for_period(date(2026, 11, 1), date(2026, 11, 30)))
    assert paid.status is InvoiceStatus.PAID and paid.balance.is_zero()
    assert ledger.find_invoices("DOC-PO-4") == [invoice_id]
    ledger.close()
