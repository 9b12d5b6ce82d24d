"""Tolerant readers of QBO payloads (shapes from apis.md 2.2) and their canonical forms."""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from connectors.quickbooks.wire import QboCreditMemo, QboInvoice, QboPayment
from dealer_sync.models import CreditNoteStatus, InvoiceStatus
from dealer_sync.money import Money

# apis.md 2.2's invoice as returned (the Intuit PHP SDK doc's example), read as the transport
# reads it: fractional numbers as Decimal.
INVOICE = json.loads(
    """{ "domain": "QBO", "sparse": false, "Id": "130", "SyncToken": "0",
    "MetaData": { "CreateTime": "2026-11-22T10:08:51-08:00", "LastUpdatedTime": "2026-11-22T10:08:51-08:00" },
    "CustomField": [], "DocNumber": "INV-DLR042-000123", "TxnDate": "2026-11-22",
    "CurrencyRef": { "value": "USD", "name": "United States Dollar" }, "LinkedTxn": [],
    "Line": [
      { "Id": "1", "LineNum": 1, "Description": "Brake Pad Set BP-220", "Amount": 5800.0,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": { "ItemRef": { "value": "21", "name": "BP-220" }, "UnitPrice": 1450,
                                 "Qty": 4, "TaxCodeRef": { "value": "TAX" } } },
      { "Amount": 5800.0, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {} } ],
    "TxnTaxDetail": { "TotalTax": 464.0,
      "TaxLine": [ { "Amount": 464.0, "DetailType": "TaxLineDetail",
        "TaxLineDetail": { "TaxRateRef": { "value": "3" }, "PercentBased": true, "TaxPercent": 8,
                           "NetAmountTaxable": 5800.0 } } ] },
    "CustomerRef": { "value": "58", "name": "Shree Auto Parts" },
    "SalesTermRef": { "value": "3" }, "DueDate": "2026-12-22",
    "GlobalTaxCalculation": "TaxExcluded", "TotalAmt": 6264.0,
    "PrintStatus": "NotSet", "EmailStatus": "NotSet", "Balance": 6264.0 }""",
    parse_float=Decimal,
)
PAYMENT = {
    "Id": "140", "TotalAmt": Decimal("6264.00"), "UnappliedAmt": 0, "TxnDate": "2026-11-30",
    "PaymentRefNum": "UTR-SBIN1234567", "CustomerRef": {"value": "58"},
    "PaymentMethodRef": {"value": "2", "name": "NEFT"},
    "Line": [{"Amount": Decimal("6264.00"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}],
    "MetaData": {"LastUpdatedTime": "2026-11-30T09:00:00+05:30"}, "CurrencyRef": {"value": "INR"},
}  # fmt: skip


def test_the_reference_invoice_reads_whole():
    invoice = QboInvoice.model_validate(INVOICE).canonical("DLR042")
    usd = lambda v: Money.of(v, "USD")  # noqa: E731
    assert (invoice.id, invoice.number, invoice.customer_id, invoice.dealer_id) == (
        "130", "INV-DLR042-000123", "58", "DLR042"
    )  # fmt: skip
    assert (invoice.subtotal, invoice.tax_total, invoice.total, invoice.balance) == (
        usd("5800"), usd("464"), usd("6264"), usd("6264")
    )  # fmt: skip
    assert invoice.status is InvoiceStatus.SENT and invoice.reference is None
    assert invoice.updated_at == datetime(2026, 11, 22, 18, 8, 51, tzinfo=UTC)
    assert [(line.item_id, line.quantity, line.amount) for line in invoice.lines] == [("21", 4, usd("5800"))]


def test_status_follows_balance_and_voiding():
    paid = {**INVOICE, "Balance": 0}
    part = {**INVOICE, "Balance": Decimal("264.00")}
    void = {**INVOICE, "TotalAmt": 0, "Balance": 0, "PrivateNote": "Voided", "TxnTaxDetail": {"TotalTax": 0}}
    void["Line"] = [line for line in INVOICE["Line"] if line["DetailType"] != "SalesItemLineDetail"]
    statuses = [QboInvoice.model_validate(p).canonical(None).status for p in (paid, part, void)]
    assert statuses == [InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.VOID]


def test_unknown_fields_are_ignored_and_a_discount_is_an_adjustment():
    invoice = deepcopy(INVOICE)
    invoice["SomethingNew"] = {"x": 1}
    invoice["Line"].append({"Amount": 100, "DetailType": "DiscountLineDetail", "DiscountLineDetail": {}})
    invoice["TotalAmt"] = invoice["Balance"] = Decimal("6164.0")
    invoice["PrivateNote"] = "Dealer portal order PORTAL-ORD-8812"
    read = QboInvoice.model_validate(invoice).canonical(None)
    assert read.adjustment == Money.of("-100", "USD") and read.reference == "PORTAL-ORD-8812"


@pytest.mark.parametrize(
    "change",
    [{"TotalAmt": "lots"}, {"MetaData": {"LastUpdatedTime": "2026-11-22T10:08:51"}}, {"CustomerRef": None}],
)
def test_what_cannot_be_read_raises(change):
    with pytest.raises(ValidationError):
        QboInvoice.model_validate({**INVOICE, **change})


def test_a_payment_reads_its_allocations_and_unapplied_amount():
    payment = QboPayment.model_validate(PAYMENT).canonical("DLR042")
    assert payment.amount == Money.of("6264", "INR") and payment.mode == "NEFT"
    assert payment.reference == "UTR-SBIN1234567" and payment.unapplied.is_zero()
    assert [(a.invoice_id, a.amount) for a in payment.allocations] == [("130", Money.of("6264", "INR"))]


def test_a_payment_that_spends_credit_lists_no_allocations():
    spends_credit = deepcopy(PAYMENT)
    spends_credit["TotalAmt"] = Decimal("6164.00")
    spends_credit["Line"].append({"Amount": 100, "LinkedTxn": [{"TxnId": "150", "TxnType": "CreditMemo"}]})
    payment = QboPayment.model_validate(spends_credit).canonical(None)
    assert payment.allocations == () and payment.unapplied.is_zero()


def test_a_credit_memo_reads_its_remaining_credit_and_invoice():
    memo = {
        "Id": "150", "DocNumber": "1001", "TxnDate": "2026-12-01", "CustomerRef": {"value": "58"},
        "TotalAmt": Decimal("118.00"), "Balance": Decimal("18.00"), "RemainingCredit": Decimal("18.00"),
        "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}], "PrivateNote": "damaged in transit",
        "MetaData": {"LastUpdatedTime": "2026-12-01T09:00:00+05:30"},
    }  # fmt: skip
    note = QboCreditMemo.model_validate(memo).canonical("DLR042")
    assert (note.invoice_id, note.status, note.reason) == ("130", CreditNoteStatus.OPEN, "damaged in transit")
    assert (note.total, note.balance) == (Money.of("118", "INR"), Money.of("18", "INR"))
    closed = QboCreditMemo.model_validate({**memo, "RemainingCredit": 0, "Balance": 0}).canonical(None)
    assert closed.status is CreditNoteStatus.CLOSED
