"""QuickBooksAccounting keeps the accounting protocol's promises (connectors/accounting.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from connectors.accounting import LedgerRow
from connectors.http.errors import ConnectorError, ErrorKind
from connectors.quickbooks.accounting import QuickBooksAccounting
from dealer_sync.models import CreditNoteStatus, Invoice, InvoiceStatus, Payment
from dealer_sync.money import Money
from tests.connectors.quickbooks.support import client_for, credentials, order


@pytest.fixture
def ledger(world):
    accounting = QuickBooksAccounting(client_for(world, page_size=2))
    yield accounting
    accounting.close()


def rows(ledger: QuickBooksAccounting, kind, since=None) -> list[LedgerRow]:
    return [row for page in ledger.changed(kind, since) for row in page]


def test_create_find_and_finalize(world, ledger):
    assert ledger.system == "quickbooks"
    mapped = order(world, "PO-A")
    invoice_id = ledger.create_invoice(mapped)
    assert ledger.find_invoices(mapped.document_number) == [invoice_id]
    assert ledger.find_invoices("INV-NOPE") == []
    ledger.finalize_invoices([invoice_id])  # nothing to do, and harmless to repeat
    ledger.finalize_invoices([invoice_id])
    with pytest.raises(ConnectorError) as caught:
        ledger.create_invoice(mapped)
    assert caught.value.kind is ErrorKind.DUPLICATE


def test_changed_rows_carry_what_the_caller_windows_and_routes_by(world, ledger):
    clock = world.sandbox.clock
    clock.freeze()
    ids = []
    for n in range(3):
        ids.append(ledger.create_invoice(order(world, f"PO-W{n}")))
        clock.advance(60)
    everything = rows(ledger, "invoice")
    assert [r.key for r in everything] == ids and all(r.problem is None for r in everything)
    assert all(r.customer_id == world.customer and r.raw["Id"] == r.key for r in everything)
    since = everything[1].changed_at
    assert since is not None and since.tzinfo is not None
    assert [r.key for r in rows(ledger, "invoice", since)] == ids[1:]

    clock.advance(60)
    after_payment = clock.now()
    world.sandbox.state.record_payment(ids[0], Decimal("100.00"))
    changed = rows(ledger, "invoice", after_payment)
    assert [r.key for r in changed] == [ids[0]]  # a payment changes the invoice it settles
    assert changed[0].changed_at is not None and changed[0].changed_at >= after_payment
    payment_rows = rows(ledger, "payment", after_payment)
    assert len(payment_rows) == 1 and isinstance(payment_rows[0].canonical("DLR042"), Payment)
    invoice = changed[0].canonical("DLR042")
    assert isinstance(invoice, Invoice) and invoice.dealer_id == "DLR042"


def test_a_malformed_document_becomes_a_row_with_a_problem_and_never_raises(world, ledger):
    good = ledger.create_invoice(order(world, "PO-GOOD"))
    broken = dict(world.sandbox.state.get("Invoice", good), Id="9999", TotalAmt="a lot", DocNumber="HAND-1")
    world.sandbox.state.records["Invoice"]["9999"] = broken  # an invoice the ledger holds badly
    read = {r.key: r for r in rows(ledger, "invoice")}
    assert read[good].problem is None
    bad = read["9999"]
    assert bad.problem and "TotalAmt" in bad.problem and bad.raw["DocNumber"] == "HAND-1"
    assert bad.customer_id == world.customer and bad.changed_at is None
    with pytest.raises(ValueError):
        bad.canonical(None)
    with pytest.raises(ConnectorError) as caught:  # a full read fails loudly, naming it
        list(ledger.invoices_for_period(date(2026, 11, 1), date(2026, 11, 30)))
    assert caught.value.kind is ErrorKind.BAD_REQUEST and "9999" in str(caught.value)


def test_canonical_documents_after_a_payment_and_a_credit_memo(world, ledger):
    mapped = order(world, "PO-C", lines=[("1450.00", 4, 18), ("99.45", 3, 18)])
    invoice_id = ledger.create_invoice(mapped)
    world.sandbox.state.record_payment(invoice_id, Decimal("1000.00"), reference="UTR-9")
    world.sandbox.state.record_credit_memo(invoice_id, Decimal("100.00"))  # 100 + 18 GST

    [invoice] = ledger.invoices_for_period(date(2026, 11, 1), date(2026, 11, 30))
    inr = lambda v: Money.of(v, "INR")  # noqa: E731
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        mapped.subtotal,
        mapped.tax_total,
        mapped.total,
    )
    assert invoice.balance == mapped.total - inr("1118.00")
    assert invoice.status is InvoiceStatus.PARTIALLY_PAID and invoice.reference == "PO-C"
    [payment] = ledger.payments()
    assert payment.amount == inr("1000") and payment.reference == "UTR-9"
    assert [(a.invoice_id, a.amount) for a in payment.allocations] == [(invoice_id, inr("1000"))]
    [note] = ledger.credit_notes()
    assert (note.total, note.balance, note.status) == (inr("118"), inr("0"), CreditNoteStatus.CLOSED)
    assert note.invoice_id == invoice_id and note.customer_id == world.customer


def test_a_zero_payment_that_only_links_credit_is_not_a_payment(world, ledger):
    world.sandbox.state.create("Payment", {"CustomerRef": {"value": world.customer}, "TotalAmt": 0})
    assert rows(ledger, "payment") == [] and list(ledger.payments()) == []


def test_built_from_credentials_too(world):
    accounting = QuickBooksAccounting(credentials(world))
    assert list(accounting.changed("credit_note", datetime(2026, 1, 1).astimezone())) == []
    accounting.close()
