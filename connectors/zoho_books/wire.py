"""Zoho Books payloads as read (tolerant), and their canonical forms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import Field

from connectors.zoho.wire import ZohoDecimal, ZohoId, ZohoRecord, ZohoTime
from dealer_sync.models import (
    Allocation,
    CreditNote,
    CreditNoteStatus,
    Invoice,
    InvoiceStatus,
    Payment,
)
from dealer_sync.money import Money

_INVOICE_STATUS = {
    "draft": InvoiceStatus.DRAFT,
    "sent": InvoiceStatus.SENT,
    "viewed": InvoiceStatus.SENT,
    "unpaid": InvoiceStatus.SENT,
    "partially_paid": InvoiceStatus.PARTIALLY_PAID,
    "paid": InvoiceStatus.PAID,
    "overdue": InvoiceStatus.OVERDUE,
    "void": InvoiceStatus.VOID,
}


class ZohoInvoice(ZohoRecord):
    invoice_id: ZohoId
    invoice_number: str
    reference_number: str | None = None
    customer_id: ZohoId
    status: str
    date: dt.date
    due_date: dt.date | None = None
    currency_code: str = "INR"
    sub_total: ZohoDecimal | None = None  # list responses leave these out
    tax_total: ZohoDecimal | None = None
    adjustment: ZohoDecimal | None = None
    total: ZohoDecimal
    balance: ZohoDecimal
    last_modified_time: ZohoTime

    def canonical(self, dealer_id: str | None) -> Invoice:
        c = self.currency_code

        def money(value: object) -> Money:
            return Money(amount=value, currency=c)

        adjustment = Decimal(0)
        if self.sub_total is not None and self.tax_total is not None:
            adjustment = self.total - self.sub_total - self.tax_total
        return Invoice(
            id=self.invoice_id,
            number=self.invoice_number,
            customer_id=self.customer_id,
            dealer_id=dealer_id,
            reference=self.reference_number,
            status=_INVOICE_STATUS.get(self.status, InvoiceStatus.SENT),
            issue_date=self.date,
            due_date=self.due_date or self.date,
            currency=c,
            subtotal=money(self.sub_total) if self.sub_total is not None else None,
            tax_total=money(self.tax_total) if self.tax_total is not None else None,
            adjustment=money(adjustment) if adjustment else None,
            total=money(self.total),
            balance=money(self.balance),
            updated_at=self.last_modified_time,
        )


class ZohoAppliedInvoice(ZohoRecord):
    invoice_id: ZohoId
    amount_applied: ZohoDecimal


class ZohoPayment(ZohoRecord):
    payment_id: ZohoId
    customer_id: ZohoId
    amount: ZohoDecimal
    date: dt.date
    reference_number: str | None = None
    payment_mode: str | None = None
    currency_code: str = "INR"
    invoices: list[ZohoAppliedInvoice] = Field(default_factory=list)  # detail responses only
    unused_amount: ZohoDecimal | None = None  # list responses carry this instead
    last_modified_time: ZohoTime

    def canonical(self, dealer_id: str | None) -> Payment:
        c = self.currency_code
        return Payment(
            id=self.payment_id,
            customer_id=self.customer_id,
            dealer_id=dealer_id,
            amount=Money(amount=self.amount, currency=c),
            paid_on=self.date,
            reference=self.reference_number,
            mode=self.payment_mode,
            allocations=tuple(
                Allocation(invoice_id=a.invoice_id, amount=Money(amount=a.amount_applied, currency=c))
                for a in self.invoices
                if a.amount_applied
            ),
            unused=Money(amount=self.unused_amount, currency=c) if self.unused_amount is not None else None,
            updated_at=self.last_modified_time,
        )


class ZohoCreditNote(ZohoRecord):
    creditnote_id: ZohoId
    creditnote_number: str
    customer_id: ZohoId
    status: str
    date: dt.date
    currency_code: str = "INR"
    total: ZohoDecimal
    balance: ZohoDecimal
    invoice_id: ZohoId | None = None
    reference_invoice_id: ZohoId | None = None
    last_modified_time: ZohoTime

    def canonical(self, dealer_id: str | None) -> CreditNote:
        c = self.currency_code
        status = {"open": CreditNoteStatus.OPEN, "closed": CreditNoteStatus.CLOSED}.get(
            self.status, CreditNoteStatus.VOID if self.status == "void" else CreditNoteStatus.OPEN
        )
        return CreditNote(
            id=self.creditnote_id,
            number=self.creditnote_number,
            customer_id=self.customer_id,
            dealer_id=dealer_id,
            invoice_id=self.invoice_id or self.reference_invoice_id,
            status=status,
            issued_on=self.date,
            currency=c,
            total=Money(amount=self.total, currency=c),
            balance=Money(amount=self.balance, currency=c),
            updated_at=self.last_modified_time,
        )
